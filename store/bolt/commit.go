package bolt

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/nectar-run/nectar/store"
)

// committer groups concurrent writes into shared transactions. The first
// writer to find no commit running becomes the leader and commits alone at
// once; writers arriving meanwhile queue up, and when the leader is done the
// first of them leads the next commit with all of the queue. Each write
// function must be safe to run again: when a shared transaction fails, every
// function in it is rerun in a transaction of its own, so one failing write
// cannot fail the others.
type committer struct {
	db      *bbolt.DB
	path    string     // for errors
	cache   *readCache // made stale by every write transaction
	mu      sync.Mutex
	running bool
	queue   []*pending

	// The last commit the file refused (a full disk, an I/O error), until
	// a commit succeeds: Ping reports it.
	failMu   sync.Mutex
	failedAt time.Time
	failErr  error
}

// note keeps track of commits the file refuses: err is a commit's result.
func (c *committer) note(err error) error {
	switch {
	case err == nil:
		c.failMu.Lock()
		c.failedAt, c.failErr = time.Time{}, nil
		c.failMu.Unlock()
	case errors.Is(err, store.ErrUnavailable):
		c.failMu.Lock()
		c.failedAt, c.failErr = time.Now(), err
		c.failMu.Unlock()
	}
	return err
}

// lastFailure returns the error of the last refused commit when no commit
// succeeded since and it is recent (within d).
func (c *committer) lastFailure(d time.Duration) error {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	if c.failErr != nil && time.Since(c.failedAt) < d {
		return c.failErr
	}
	return nil
}

type pending struct {
	fn   func(*bbolt.Tx) error
	done chan error // receives the result, or errLead
}

// errLead tells a queued writer that it leads the next commit.
var errLead = errors.New("bolt: lead the next commit")

func (c *committer) run(fn func(*bbolt.Tx) error) error {
	p := &pending{fn: fn, done: make(chan error, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, p)
	if c.running {
		c.mu.Unlock()
		if err := <-p.done; err != errLead {
			return err
		}
		c.mu.Lock()
	}
	c.running = true
	batch := c.queue
	c.queue = nil
	c.mu.Unlock()

	c.commit(batch)

	c.mu.Lock()
	if len(c.queue) > 0 {
		c.queue[0].done <- errLead // running stays true: leadership passes on
	} else {
		c.running = false
	}
	c.mu.Unlock()
	return <-p.done
}

// commit runs batch in one transaction and hands each writer its result.
func (c *committer) commit(batch []*pending) {
	if len(batch) == 1 {
		batch[0].done <- c.update(safely(batch[0].fn))
		return
	}
	err := c.update(func(tx *bbolt.Tx) error {
		for _, p := range batch {
			if err := safely(p.fn)(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		c.note(nil)
		for _, p := range batch {
			p.done <- nil
		}
		return
	}
	for _, p := range batch {
		p.done <- c.update(safely(p.fn))
	}
}

// update runs fn in a write transaction; a panic of bbolt's on a damaged
// page (while committing, say) is an error wrapping ErrCorrupt.
func (c *committer) update(fn func(*bbolt.Tx) error) error {
	err := guard(func() error { return c.db.Update(fn) })
	if c.cache != nil {
		c.cache.written() // once committed (or rolled back): see readCache
	}
	return c.note(wrap(damaged(c.path, err)))
}

// safely turns a panic in fn into an error, so that the leader goes on to
// hand leadership to the next writer.
func safely(fn func(*bbolt.Tx) error) func(*bbolt.Tx) error {
	return func(tx *bbolt.Tx) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic in a write: %v", p)
			}
		}()
		return fn(tx)
	}
}
