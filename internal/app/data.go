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

	store    lazy[store.Store]
	sealer   lazy[*secret.Sealer]
	accounts lazy[*accounts.Manager]
}

// lazy is a value made on first use: the value and the error of that one
// making are what every later get returns.
type lazy[T any] struct {
	once sync.Once
	v    T
	err  error
}

// get returns the value, calling mk on the first call only.
func (l *lazy[T]) get(mk func() (T, error)) (T, error) {
	l.once.Do(func() { l.v, l.err = mk() })
	return l.v, l.err
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
	return d.store.get(func() (store.Store, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st, _, err := open.Open(ctx, d.dir, d.dsn, open.WithLogger(d.log))
		if errors.Is(err, bolt.ErrCorrupt) {
			err = fmt.Errorf("%w (nectar store check --data-dir %s lists the damage)", err, d.dir)
		}
		if err != nil {
			return nil, fmt.Errorf("opening the store: %w", err)
		}
		return st, nil
	})
}

// Sealer returns the sealer of the master key (NECTAR_MASTER_KEY, or the
// key file in the data directory), loaded on first use and checked against
// the store: a key other than the one that sealed the store's accounts is
// refused, and a key file is generated only for a store that holds no
// sealed value (see open.Sealer).
func (d *Data) Sealer(ctx context.Context) (*secret.Sealer, error) {
	return d.sealer.get(func() (*secret.Sealer, error) {
		kind, _, err := open.Choose(d.dsn)
		if err != nil {
			return nil, err
		}
		st, err := d.Store(ctx)
		if err != nil {
			return nil, err
		}
		s, _, err := open.Sealer(ctx, st, kind, d.dir, accounts.SealedBuckets...)
		if err != nil {
			return nil, fmt.Errorf("loading the master key: %w", err)
		}
		return s, nil
	})
}

// Accounts returns the accounts manager over the store and the sealer,
// made on first use.
func (d *Data) Accounts(ctx context.Context) (*accounts.Manager, error) {
	return d.accounts.get(func() (*accounts.Manager, error) {
		// Sealer opens the store first: d.store.v is set when it succeeds.
		s, err := d.Sealer(ctx)
		if err != nil {
			return nil, err
		}
		return accounts.NewManager(d.store.v, s, accounts.WithLogger(d.log)), nil
	})
}

// Close closes the store if it was opened. Call it once, when nothing uses
// the store any more.
func (d *Data) Close() error {
	// Settle the Once: a Store call after Close opens nothing.
	st, _ := d.store.get(func() (store.Store, error) { return nil, store.ErrClosed })
	if st == nil {
		return nil
	}
	return st.Close()
}
