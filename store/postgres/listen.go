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
// bus's subscriptions of its name (Bus). After a reconnection everyone is
// woken, since a notification may have been missed; the waiters' bounded
// polls cover the gap meanwhile.
func (s *Store) listen() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-s.stop
		cancel()
	}()
	for ctx.Err() == nil {
		_ = s.listenOnce(ctx) // the waiters poll meanwhile; retry after a pause
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
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, ch := range []string{lockChannel, busChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
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
		}
	}
}

// wakeEveryone wakes every lock waiter and every subscription of the bus.
func (s *Store) wakeEveryone() {
	s.wakeAll()
	if b := s.bus.Load(); b != nil {
		b.wakeAll("")
	}
}
