package storetest

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/nectar-run/nectar/store"
)

// Hung is a real store whose writes (Apply), once Hang is called, block
// until Release, whatever their context says (a disk stuck in a synced
// write, a driver that ignores cancellation), and then fail with
// store.ErrUnavailable. Reads go to the store.
type Hung struct {
	store.Store
	hang    atomic.Bool
	release chan struct{}
	once    sync.Once
}

// NewHung wraps st. (In a synctest bubble, call it inside the bubble.)
func NewHung(st store.Store) *Hung { return &Hung{Store: st, release: make(chan struct{})} }

// Hang makes the writes from now on block until Release.
func (h *Hung) Hang() { h.hang.Store(true) }

// Release lets every blocked write return (failed); safe to call twice.
func (h *Hung) Release() { h.once.Do(func() { close(h.release) }) }

func (h *Hung) Apply(ctx context.Context, ops ...store.Op) error {
	if h.hang.Load() {
		<-h.release
		return store.ErrUnavailable
	}
	return h.Store.Apply(ctx, ops...)
}
