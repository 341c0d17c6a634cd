package console_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nectar-run/nectar/console"
	"github.com/nectar-run/nectar/server"
	"github.com/nectar-run/nectar/store/postgres"
	"github.com/nectar-run/nectar/store/postgres/pgtest"
)

// TestHealthCountsReplicas runs two servers on one PostgreSQL database, as
// two replicas: each one's health page counts both.
func TestHealthCountsReplicas(t *testing.T) {
	dsn := pgtest.Start(t)
	ctx := context.Background()
	var replicas []*server.Server
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range 2 {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(ctx, server.Options{Store: st, AdminKey: adminKey, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		srv.Start()
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.Canceled) {
				t.Error(err)
			}
			st.Close()
		})
		replicas = append(replicas, srv)
	}
	first := replicas[0].ConsoleBackend(server.ConsoleOptions{StoreKind: "postgres"})
	second := replicas[1].ConsoleBackend(server.ConsoleOptions{StoreKind: "postgres"})
	for i, b := range []console.Backend{first, second} {
		h := b.Health(ctx)
		if h.Replicas != 2 || h.StoreKind != "postgres" || !h.Ready {
			t.Errorf("replica %d sees %+v", i, h)
		}
	}
}
