package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/engine/secret"
	"github.com/nectar-run/nectar/engine/store"
	"github.com/nectar-run/nectar/engine/store/open"
)

// opened is what a process opened from --data-dir: the store and the sealer,
// each opened at most once per globals and closed when the command ends.
type opened struct {
	storeOnce sync.Once
	st        store.Store
	desc      string // what was opened, for logs (passwords masked)
	stErr     error

	sealerOnce sync.Once
	sealer     *secret.Sealer
	sealerErr  error
}

var (
	openedMu sync.Mutex
	openedBy = map[*globals]*opened{}
)

func init() {
	// Every command closes what it opened when it ends (cobra runs
	// finalizers after each Execute), so a test calling Main many times in
	// one process does not leak bbolt files.
	cobra.OnFinalize(closeOpened)
}

func (g *globals) opened() *opened {
	openedMu.Lock()
	defer openedMu.Unlock()
	o := openedBy[g]
	if o == nil {
		o = &opened{}
		openedBy[g] = o
	}
	return o
}

// openStore returns the store in --data-dir (the bbolt file nectar.db),
// opening it on first use; later calls in the same process return the same
// store. It is closed when the command ends. Safe for concurrent use.
func (g *globals) openStore(ctx context.Context) (store.Store, error) {
	o := g.opened()
	o.storeOnce.Do(func() {
		if err := ctx.Err(); err != nil {
			o.stErr = err
			return
		}
		st, desc, err := open.Open(ctx, g.dataDir, g.storeDSN, open.WithLogger(g.logger()))
		if err != nil {
			o.stErr = fmt.Errorf("opening the store: %w", err)
			return
		}
		o.st, o.desc = st, desc
	})
	return o.st, o.stErr
}

// sealer returns the sealer for the master key (NECTAR_MASTER_KEY, or the
// key file in --data-dir, generated on first use), loaded once per process.
// Safe for concurrent use.
func (g *globals) sealer() (*secret.Sealer, error) {
	o := g.opened()
	o.sealerOnce.Do(func() {
		kind, _, err := open.Choose(g.storeDSN)
		if err != nil {
			o.sealerErr = err
			return
		}
		var s *secret.Sealer
		if kind == open.Postgres {
			// Replicas share one database, so they must share one key: the
			// sealer checks the key against the one recorded in the store.
			st, err := g.openStore(context.Background())
			if err != nil {
				o.sealerErr = err
				return
			}
			s, _, err = open.Sealer(context.Background(), st, kind, g.dataDir)
			if err != nil {
				o.sealerErr = fmt.Errorf("loading the master key: %w", err)
				return
			}
		} else if s, _, err = secret.Load(g.dataDir); err != nil {
			o.sealerErr = fmt.Errorf("loading the master key: %w", err)
			return
		}
		o.sealer = s
	})
	return o.sealer, o.sealerErr
}

// closeOpened closes every store opened by a command that has ended.
func closeOpened() {
	openedMu.Lock()
	all := openedBy
	openedBy = map[*globals]*opened{}
	openedMu.Unlock()
	for _, o := range all {
		if o.st != nil {
			_ = o.st.Close()
		}
	}
}
