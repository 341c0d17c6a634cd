package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
	"github.com/nectar-run/nectar/store/open"
)

// Data is what a process opens from its data directory and store flags
// (--data-dir, --store): the store, the sealer of the master key that goes
// with it, and the accounts manager over both. Each is opened once, on
// first use, and Close closes what was opened. The commands that only read
// or write the store (accounts, consumers, executions, store check) use a
// Data alone; App opens one for the runtime. Safe for concurrent use.
type Data struct {
	dir, dsn string
	log      *slog.Logger

	storeOnce sync.Once
	st        store.Store
	stErr     error

	sealerOnce sync.Once
	sealer     *secret.Sealer
	sealerErr  error

	accountsOnce sync.Once
	accounts     *accounts.Manager
	accountsErr  error
}

// NewData returns the Data of dir (open.DefaultDataDir when empty) and dsn
// (the --store flag: empty for NECTAR_STORE, else bbolt in dir). Nothing is
// opened yet. log receives what opening says (never a password; nil: none).
func NewData(dir, dsn string, log *slog.Logger) *Data {
	if dir == "" {
		dir = open.DefaultDataDir
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Data{dir: dir, dsn: dsn, log: log}
}

// Dir is the data directory.
func (d *Data) Dir() string { return d.dir }

// Exists reports whether there is a store to open without creating one:
// the store is PostgreSQL, or the bbolt file is in the data directory.
// nectar run installs the accounts only then, so that it never creates a
// data directory for a pipeline without accounts.
func (d *Data) Exists() bool {
	if kind, _, err := open.Choose(d.dsn); err == nil && kind == open.Postgres {
		return true
	}
	_, err := os.Stat(filepath.Join(d.dir, bolt.FileName))
	return err == nil
}

// Store returns the store, opening it on first use (creating the bbolt
// file; see open.Open). A damaged bbolt file's error says which command
// lists the damage.
func (d *Data) Store(ctx context.Context) (store.Store, error) {
	d.storeOnce.Do(func() {
		if err := ctx.Err(); err != nil {
			d.stErr = err
			return
		}
		st, _, err := open.Open(ctx, d.dir, d.dsn, open.WithLogger(d.log))
		if errors.Is(err, bolt.ErrCorrupt) {
			err = fmt.Errorf("%w (nectar store check --data-dir %s lists the damage)", err, d.dir)
		}
		if err != nil {
			d.stErr = fmt.Errorf("opening the store: %w", err)
			return
		}
		d.st = st
	})
	return d.st, d.stErr
}

// Sealer returns the sealer of the master key (NECTAR_MASTER_KEY, or the
// key file in the data directory), loaded on first use and checked against
// the store: a key other than the one that sealed the store's accounts is
// refused, and a key file is generated only for a store that holds no
// sealed value (see open.Sealer).
func (d *Data) Sealer(ctx context.Context) (*secret.Sealer, error) {
	d.sealerOnce.Do(func() {
		kind, _, err := open.Choose(d.dsn)
		if err != nil {
			d.sealerErr = err
			return
		}
		st, err := d.Store(ctx)
		if err != nil {
			d.sealerErr = err
			return
		}
		s, _, err := open.Sealer(ctx, st, kind, d.dir, accounts.SealedBuckets...)
		if err != nil {
			d.sealerErr = fmt.Errorf("loading the master key: %w", err)
			return
		}
		d.sealer = s
	})
	return d.sealer, d.sealerErr
}

// Accounts returns the accounts manager over the store and the sealer,
// made on first use.
func (d *Data) Accounts(ctx context.Context) (*accounts.Manager, error) {
	d.accountsOnce.Do(func() {
		// Sealer opens the store first: d.st is set when it succeeds.
		s, err := d.Sealer(ctx)
		if err != nil {
			d.accountsErr = err
			return
		}
		d.accounts = accounts.NewManager(d.st, s, accounts.WithLogger(d.log))
	})
	return d.accounts, d.accountsErr
}

// Close closes the store if it was opened. Call it once, when nothing uses
// the store any more.
func (d *Data) Close() error {
	// Settle the Once: a Store call after Close opens nothing.
	d.storeOnce.Do(func() { d.stErr = store.ErrClosed })
	if d.st == nil {
		return nil
	}
	return d.st.Close()
}
