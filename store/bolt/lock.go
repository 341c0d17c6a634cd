package bolt

import (
	"context"
	"time"

	"github.com/nectar-run/nectar/store"
)

// lease is a held lock. freed is closed when it is released or replaced
// after expiring, which wakes the waiters to try again.
type lease struct {
	expires time.Time
	freed   chan struct{}
}

// Lock implements store.Store. bbolt allows one process on the file, so the
// lease lives in this process's memory; it still expires after ttl, as the
// PostgreSQL lease does, so code behaves the same on both stores.
func (s *Store) Lock(ctx context.Context, name string, ttl time.Duration) (func(), error) {
	if err := store.CheckLock(name, ttl, s.check(ctx)); err != nil {
		return nil, err
	}
	for {
		now := time.Now()
		s.lmu.Lock()
		cur := s.leases[name]
		if cur == nil || !now.Before(cur.expires) {
			if cur != nil {
				close(cur.freed) // expired: its holder's release will find it gone
			}
			l := &lease{expires: now.Add(ttl), freed: make(chan struct{})}
			s.leases[name] = l
			s.lmu.Unlock()
			return func() { s.release(name, l) }, nil
		}
		freed, wait := cur.freed, cur.expires.Sub(now)
		s.lmu.Unlock()

		if err := store.WaitLock(ctx, name, freed, wait, s.stop); err != nil {
			return nil, err
		}
	}
}

func (s *Store) release(name string, l *lease) {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.leases[name] == l {
		delete(s.leases, name)
		close(l.freed)
	}
}
