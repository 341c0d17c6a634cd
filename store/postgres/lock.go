package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nectar-run/nectar/store"
)

// lockChannel is the LISTEN/NOTIFY channel on which releases are
// announced; the payload is the lock name.
const lockChannel = "nectar_locks"

// maxPoll bounds the wait between attempts when no notification comes (the
// listener is reconnecting, or a lease expired without a release).
const maxPoll = 250 * time.Millisecond

// Lock implements store.Store with a lease row in nectar_locks. Taking it
// is one statement that inserts the row or takes over an expired one;
// waiters retry when a release is notified, when the lease runs out, or
// after a bounded poll.
func (s *Store) Lock(ctx context.Context, name string, ttl time.Duration) (func(), error) {
	if err := store.CheckLock(name, ttl, s.check(ctx)); err != nil {
		return nil, err
	}
	holder := token()
	poll := 2 * time.Millisecond
	for {
		// Take the wake-up channel before trying, so that a release between
		// a failed try and the wait is not missed.
		wake := s.waiter(name)
		var left time.Duration
		err := s.pool.QueryRow(ctx, `WITH took AS (
	INSERT INTO nectar_locks (name, holder, expires_at) VALUES ($1, $2, now() + $3 * interval '1 microsecond')
	ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
	WHERE nectar_locks.expires_at <= now()
	RETURNING holder)
SELECT coalesce((SELECT 0::bigint FROM took),
	(SELECT greatest(1, (extract(epoch FROM expires_at - now()) * 1000000)::bigint) FROM nectar_locks WHERE name = $1), 1)`,
			name, holder, ttl.Microseconds()).Scan(&left)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("store: lock %q: %w", name, ctx.Err())
			}
			return nil, fmt.Errorf("store: lock %q: %w", name, s.wrap(err))
		}
		if left == 0 {
			var once sync.Once
			return func() { once.Do(func() { s.release(name, holder) }) }, nil
		}
		wait := min(left*time.Microsecond, poll)
		poll = min(poll*2, maxPoll)
		if err := store.WaitLock(ctx, name, wake, wait, s.stop); err != nil {
			return nil, err
		}
	}
}

// release deletes the lease if it is still ours and tells every replica.
func (s *Store) release(name, holder string) {
	if s.closed.Load() {
		return // the lease expires by itself
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A failed release is not reported: the lease then expires after its
	// TTL, which is the guarantee callers rely on anyway.
	_, _ = s.pool.Exec(ctx, `WITH gone AS (DELETE FROM nectar_locks WHERE name = $1 AND holder = $2 RETURNING name)
SELECT pg_notify('`+lockChannel+`', name) FROM gone`, name, holder)
}

// waiter returns a channel closed at the next notification for name.
func (s *Store) waiter(name string) <-chan struct{} {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	ch, ok := s.waiters[name]
	if !ok {
		ch = make(chan struct{})
		s.waiters[name] = ch
	}
	return ch
}

func (s *Store) wake(name string) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if ch, ok := s.waiters[name]; ok {
		close(ch)
		delete(s.waiters, name)
	}
}

func (s *Store) wakeAll() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for name, ch := range s.waiters {
		close(ch)
		delete(s.waiters, name)
	}
}
