package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// listen holds the store's one listening connection, reconnecting after
// failures, until Close. It LISTENs on every channel the store and its bus
// use and hands each notification to its receiver by channel: a lock
// release wakes that lock's waiters (Lock), a published event wakes the
// bus's subscriptions of its name (Bus), a write of a declared bucket drops
// the key from the read cache and calls its watchers (cache.go). After a
// reconnection everyone is woken, since a notification may have been
// missed; the waiters' bounded polls cover the gap meanwhile. The read
// cache is emptied when the connection is lost and fills again only once
// it is back.
func (s *Store) listen() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-s.stop
		cancel()
	}()
	for ctx.Err() == nil {
		_ = s.listenOnce(ctx) // the waiters poll meanwhile; retry after a pause
		s.cache.reset(false)
		if ctx.Err() != nil {
			return
		}
		s.wakeEveryone()
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) listenOnce(ctx context.Context) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = listenerName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, ch := range []string{lockChannel, busChannel, cacheChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
	s.listenPID.Store(conn.PgConn().PID())
	s.listens.Add(1)
	s.cache.reset(true)
	s.wakeEveryone() // what was notified before LISTEN took effect
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		switch n.Channel {
		case lockChannel:
			s.wake(n.Payload)
		case busChannel:
			if b := s.bus.Load(); b != nil {
				b.wakeAll(n.Payload)
			}
		case cacheChannel:
			s.cache.notified(n.Payload)
		}
	}
}

// listenerName is the application_name of the listening connection, as
// pg_stat_activity shows it.
const listenerName = "nectar listener"

// wakeEveryone wakes every lock waiter, every subscription of the bus and
// every watcher of a declared bucket.
func (s *Store) wakeEveryone() {
	s.wakeAll()
	s.cache.notifyWatchers("")
	if b := s.bus.Load(); b != nil {
		b.wakeAll("")
	}
}
