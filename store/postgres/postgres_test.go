package postgres_test

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/postgres"
	"github.com/nectar-run/nectar/store/postgres/pgtest"
	"github.com/nectar-run/nectar/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return pgtest.Open(t, pgtest.Database(t)) })
}

// TestReplicas opens several stores on one database, as replicas do: they
// migrate at once without conflict, see each other's writes and exclude
// each other with Lock.
func TestReplicas(t *testing.T) {
	dsn := pgtest.Database(t)
	stores := make([]*postgres.Store, 3)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i] = pgtest.Open(t, dsn) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	ctx := t.Context()
	if _, err := stores[0].Put(ctx, "tokens", "crm", []byte("t1")); err != nil {
		t.Fatal(err)
	}
	if it, err := stores[2].Get(ctx, "tokens", "crm"); err != nil || string(it.Value) != "t1" {
		t.Fatalf("another replica reads %q, %v", it.Value, err)
	}

	// Each replica refreshes under the lock only when nobody did before:
	// exactly one refresh happens.
	refreshes := 0
	for _, st := range stores {
		wg.Go(func() {
			for range 5 {
				release, err := st.Lock(ctx, "refresh/crm", time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				it, err := st.Get(ctx, "tokens", "crm")
				if err == nil && string(it.Value) == "t1" {
					refreshes++ // guarded by the lock
					_, err = st.CompareAndSwap(ctx, "tokens", "crm", it.Rev, []byte("t2"))
				}
				release()
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if refreshes != 1 {
		t.Fatalf("%d refreshes; want 1", refreshes)
	}
}

func TestMigrationIsIdempotent(t *testing.T) {
	dsn := pgtest.Database(t)
	a := pgtest.Open(t, dsn)
	if _, err := a.Put(t.Context(), "b", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b := pgtest.Open(t, dsn)
	if it, err := b.Get(t.Context(), "b", "k"); err != nil || string(it.Value) != "v" {
		t.Fatalf("after reopening: %q, %v", it.Value, err)
	}
}

func TestPurge(t *testing.T) {
	st := pgtest.Open(t, pgtest.Database(t))
	ctx := t.Context()
	for _, k := range []string{"a", "b"} {
		if _, err := st.Put(ctx, "b", k, []byte("v"), store.ExpireAt(time.Now().Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Put(ctx, "b", "live", []byte("v"), store.TTL(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := st.Purge(ctx); err != nil || n != 2 {
		t.Fatalf("Purge = %d, %v; want 2", n, err)
	}
}

func TestOpenHidesPassword(t *testing.T) {
	_, err := postgres.Open(t.Context(), "postgres://u:hunter2@[bad/db")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Open error %v", err)
	}
}
