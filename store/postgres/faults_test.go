package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/internal/nettest"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/postgres"
	"github.com/nectar-run/nectar/store/postgres/pgtest"
)

// TestOpenSilentServer: a server that accepts and never answers used to
// make Open wait forever, without a log line. Now the default connect
// timeout bounds it, the log says what Open waits for, and the error says
// what happened without the password.
func TestOpenSilentServer(t *testing.T) {
	t.Parallel()
	addr := nettest.Silent(t)
	var logs enginetest.Log
	log := slog.New(slog.NewTextHandler(&logs, nil))
	// The watchdog only keeps a regression from hanging the suite: it is far
	// beyond the default timeout, and the test fails if it is what ended Open.
	ctx, cancel := context.WithTimeout(context.Background(), 3*postgres.DefaultConnectTimeout)
	defer cancel()
	st, err := postgres.Open(ctx, "postgres://nectar:hunter2@"+addr+"/nectar?sslmode=disable", postgres.WithLogger(log))
	if err == nil {
		st.Close()
		t.Fatal("Open succeeded against a server that never answers")
	}
	if ctx.Err() != nil {
		t.Fatalf("Open waited until the test's watchdog: %v", err)
	}
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %q: want ErrUnavailable naming %s, without the password", err, addr)
	}
	if l := logs.String(); !strings.Contains(l, "connecting to PostgreSQL") || !strings.Contains(l, addr) ||
		!strings.Contains(l, "connect_timeout="+postgres.DefaultConnectTimeout.String()) || strings.Contains(l, "hunter2") {
		t.Fatalf("log %q: want a line naming the address and the timeout", l)
	}
}

// TestOpenFrozenServer freezes a real cluster (SIGSTOP on every server
// process): the DSN's connect_timeout overrides the default.
func TestOpenFrozenServer(t *testing.T) {
	t.Parallel()
	c, err := pgtest.StartCluster()
	if err != nil {
		if errors.Is(err, pgtest.ErrNoPostgres) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	if err := c.Freeze(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*postgres.DefaultConnectTimeout)
	defer cancel()
	st, err := postgres.Open(ctx, c.DSN+"&connect_timeout=1")
	if err == nil {
		st.Close()
		t.Fatal("Open succeeded against a frozen server")
	}
	if ctx.Err() != nil || !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "connect_timeout 1s") {
		t.Fatalf("error %q: want ErrUnavailable after connect_timeout 1s", err)
	}
	c.Thaw()
	st = pgtest.Open(t, c.DSN)
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("thawed server: Ping: %v", err)
	}
}

// TestPingOutage: Ping fails within its deadline while the server is down
// or frozen, and succeeds again when it is back.
func TestPingOutage(t *testing.T) {
	t.Parallel()
	c, err := pgtest.StartCluster()
	if err != nil {
		if errors.Is(err, pgtest.ErrNoPostgres) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	st := pgtest.Open(t, c.DSN)
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return st.Ping(ctx)
	}
	if err := ping(); err != nil {
		t.Fatal(err)
	}
	if err := c.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := ping(); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("frozen: Ping = %v; want ErrUnavailable", err)
	}
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := ping(); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("stopped: Ping = %v; want ErrUnavailable", err)
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := ping(); err != nil {
		t.Fatalf("restarted: Ping = %v", err)
	}
}
