package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/postgres"
	"github.com/nectar-run/nectar/store/postgres/pgtest"
	"github.com/nectar-run/nectar/store/storetest"
)

// cachedBucket is declared read-mostly for the tests of the read cache.
const cachedBucket = "cached-clients"

func init() { store.CacheReads(cachedBucket) }

// listening waits until st's listener is connected (the cache fills only
// then).
func listening(t *testing.T, st *postgres.Store, after uint64) {
	t.Helper()
	storetest.Eventually(t, "the listener to connect", func() bool { return postgres.Listens(st) > after })
}

// cacheKey reads key on st until st holds it in its cache. A read that
// overlaps the arrival of a notification (the write that made want, sent
// by another replica) does not fill the cache, so it may take a few.
func cacheKey(t *testing.T, st *postgres.Store, key, want string) {
	t.Helper()
	storetest.Eventually(t, key+" in the cache after a Get of a bucket declared with store.CacheReads", func() bool {
		it, err := st.Get(t.Context(), cachedBucket, key)
		if err != nil || string(it.Value) != want {
			t.Fatalf("Get %s = %q, %v; want %q", key, it.Value, err, want)
		}
		return postgres.Cached(st, cachedBucket, key)
	})
}

// TestCacheWriteSeenByReplicaAtOnce: two replicas on one database whose
// cache entries never expire by themselves (an hour), so that only the
// writing transaction's notification can make replica 2 see a write of
// replica 1. Every kind of write is announced: Put, Create, CompareAndSwap,
// Update, Delete and Apply (put and delete). The writer sees its own write
// at once, notification or not.
func TestCacheWriteSeenByReplicaAtOnce(t *testing.T) {
	dsn := pgtest.Database(t)
	r1 := pgtest.Open(t, dsn, postgres.WithCacheMaxAge(time.Hour))
	r2 := pgtest.Open(t, dsn, postgres.WithCacheMaxAge(time.Hour))
	listening(t, r1, 0)
	listening(t, r2, 0)
	ctx := t.Context()
	put := func(st store.Store, key, val string) {
		t.Helper()
		if _, err := st.Put(ctx, cachedBucket, key, []byte(val)); err != nil {
			t.Fatal(err)
		}
	}
	writes := []struct {
		name  string
		write func(key string) error
		want  string // "" for deleted
	}{
		{"Put", func(k string) error { _, err := r1.Put(ctx, cachedBucket, k, []byte("new")); return err }, "new"},
		{"CompareAndSwap", func(k string) error {
			it, err := r1.Get(ctx, cachedBucket, k)
			if err != nil {
				return err
			}
			_, err = r1.CompareAndSwap(ctx, cachedBucket, k, it.Rev, []byte("new"))
			return err
		}, "new"},
		{"Update", func(k string) error {
			_, err := r1.Update(ctx, cachedBucket, k, func([]byte, bool) ([]byte, error) { return []byte("new"), nil })
			return err
		}, "new"},
		{"Update DeleteKey", func(k string) error {
			_, err := r1.Update(ctx, cachedBucket, k, func([]byte, bool) ([]byte, error) { return nil, store.DeleteKey })
			return err
		}, ""},
		{"Delete", func(k string) error { return r1.Delete(ctx, cachedBucket, k) }, ""},
		{"Apply put", func(k string) error { return r1.Apply(ctx, store.PutOp(cachedBucket, k, []byte("new"))) }, "new"},
		{"Apply delete", func(k string) error { return r1.Apply(ctx, store.DeleteOp(cachedBucket, k)) }, ""},
		{"Create over an expired key", func(k string) error {
			// Create writes only over a missing or expired key.
			if _, err := r1.Put(ctx, cachedBucket, k, []byte("old"), store.ExpireAt(time.Now().Add(-time.Second))); err != nil {
				return err
			}
			_, err := r1.Create(ctx, cachedBucket, k, []byte("new"))
			return err
		}, "new"},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			key := "client/" + w.name
			put(r1, key, "old")
			cacheKey(t, r2, key, "old")
			cacheKey(t, r1, key, "old")
			if err := w.write(key); err != nil {
				t.Fatal(err)
			}
			check := func(st *postgres.Store) bool {
				it, err := st.Get(ctx, cachedBucket, key)
				if w.want == "" {
					return errors.Is(err, store.ErrNotFound)
				}
				return err == nil && string(it.Value) == w.want
			}
			if !check(r1) {
				t.Fatalf("the writer does not read its own write at once")
			}
			storetest.Eventually(t, "replica 2 to see the write", func() bool { return check(r2) })
		})
	}
}

// TestCacheBoundWithoutNotifications: replica 2 drops every notification,
// as if lost. A client deleted through replica 1 is still refused by
// replica 2 once the bound has passed since the delete returned: a Get that
// starts later never returns the cached copy.
func TestCacheBoundWithoutNotifications(t *testing.T) {
	const bound = 300 * time.Millisecond
	dsn := pgtest.Database(t)
	r1 := pgtest.Open(t, dsn, postgres.WithCacheMaxAge(bound))
	r2 := pgtest.Open(t, dsn, postgres.WithCacheMaxAge(bound))
	listening(t, r2, 0)
	postgres.DropNotifications(r2, true)
	ctx := t.Context()
	for round := range 3 { // a cached copy filled at any moment within the bound
		if _, err := r1.Put(ctx, cachedBucket, "client", []byte("secret-hash")); err != nil {
			t.Fatal(err)
		}
		cacheKey(t, r2, "client", "secret-hash")
		time.Sleep(bound * time.Duration(round) / 3)
		cacheKey(t, r2, "client", "secret-hash") // still the cached copy, or a fresh read
		if err := r1.Delete(ctx, cachedBucket, "client"); err != nil {
			t.Fatal(err)
		}
		deleted := time.Now()
		// Waiting for the bound is the point of the test, not a guess:
		// the guarantee is that any Get starting after it is refused.
		time.Sleep(time.Until(deleted.Add(bound)))
		if it, err := r2.Get(ctx, cachedBucket, "client"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("round %d: replica 2 reads the deleted client %q, %v, %s after the delete (bound %s)",
				round, it.Value, err, time.Since(deleted), bound)
		}
	}
}

// TestCacheEmptiedOnReconnect: the listening connection of a replica is
// killed by the server (pg_terminate_backend, as a failover or a network
// cut would): the notifications sent meanwhile are lost, so the replica's
// cache is emptied, and a write made while it was down is read at once
// once it is back, whatever the bound (an hour here).
func TestCacheEmptiedOnReconnect(t *testing.T) {
	dsn := pgtest.Database(t)
	r1 := pgtest.Open(t, dsn, postgres.WithCacheMaxAge(time.Hour))
	r2 := pgtest.Open(t, dsn, postgres.WithCacheMaxAge(time.Hour))
	listening(t, r2, 0)
	ctx := t.Context()
	if _, err := r1.Put(ctx, cachedBucket, "client", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	cacheKey(t, r2, "client", "v1")
	before := postgres.Listens(r2)

	// Lose the notification: replica 2 ignores it, then its connection dies.
	postgres.DropNotifications(r2, true)
	if _, err := r1.Put(ctx, cachedBucket, "client", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int(postgres.ListenerPID(r2))).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminating the listener: %v, %v", ok, err)
	}
	postgres.DropNotifications(r2, false)
	listening(t, r2, before)
	if n := postgres.CacheLen(r2); n != 0 {
		t.Fatalf("%d entries in the cache after the listener reconnected", n)
	}
	if it, err := r2.Get(ctx, cachedBucket, "client"); err != nil || string(it.Value) != "v2" {
		t.Fatalf("after the reconnect replica 2 reads %q, %v; want v2", it.Value, err)
	}
}

// TestStoreCached runs the store's suite with its buckets declared
// read-mostly: the cache keeps every semantics of the store within one
// process (a Get after a write returns what was written, expiry included).
func TestStoreCached(t *testing.T) {
	for _, b := range []string{"b", "counters", "nobucket"} {
		store.CacheReads(b)
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		st := pgtest.Open(t, pgtest.Database(t))
		listening(t, st, 0)
		return st
	})
}

// TestCacheReadOverlappingWrite: replica 2 reads a client, and before its
// read fills the cache, replica 1 deletes the client and the delete's
// notification reaches replica 2. The read came back with the client as it
// was; it must not be kept, else replica 2 would grant the deleted client
// for the whole bound (an hour here).
func TestCacheReadOverlappingWrite(t *testing.T) {
	dsn := pgtest.Database(t)
	r1 := pgtest.Open(t, dsn, postgres.WithCacheMaxAge(time.Hour))
	r2 := pgtest.Open(t, dsn, postgres.WithCacheMaxAge(time.Hour))
	listening(t, r2, 0)
	ctx := t.Context()
	if _, err := r1.Put(ctx, cachedBucket, "client", []byte("secret-hash")); err != nil {
		t.Fatal(err)
	}
	once := true
	postgres.AfterRead(r2, func() {
		if !once {
			return
		}
		once = false
		epoch := postgres.Epoch(r2)
		if err := r1.Delete(ctx, cachedBucket, "client"); err != nil {
			t.Error(err)
			return
		}
		storetest.Eventually(t, "replica 2 to receive the delete's notification", func() bool { return postgres.Epoch(r2) > epoch })
	})
	if it, err := r2.Get(ctx, cachedBucket, "client"); err != nil || string(it.Value) != "secret-hash" {
		t.Fatalf("the overlapping read returned %q, %v; want the client as it was when read", it.Value, err)
	}
	if postgres.Cached(r2, cachedBucket, "client") {
		t.Fatal("a read that overlapped the delete's notification filled the cache")
	}
	if _, err := r2.Get(ctx, cachedBucket, "client"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replica 2 reads the deleted client: %v", err)
	}
}
