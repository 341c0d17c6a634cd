package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
)

// TestGetSeesEveryWrite: Get answers a key it read before from memory (the
// read cache); every kind of write to the key, done after that read, is
// seen by the next Get, and a key read once with an expiry is not found
// once it has expired.
func TestGetSeesEveryWrite(t *testing.T) {
	past := store.ExpireAt(time.Now().Add(-time.Second))
	tests := []struct {
		name  string
		write func(ctx context.Context, st *bolt.Store) error
		want  string // "" for not found
	}{
		{"Put", func(ctx context.Context, st *bolt.Store) error {
			_, err := st.Put(ctx, "b", "k", []byte("new"))
			return err
		}, "new"},
		{"Put of another key of the bucket", func(ctx context.Context, st *bolt.Store) error {
			_, err := st.Put(ctx, "b", "other", []byte("x"))
			return err
		}, "old"},
		{"CompareAndSwap", func(ctx context.Context, st *bolt.Store) error {
			it, err := st.Get(ctx, "b", "k")
			if err != nil {
				return err
			}
			_, err = st.CompareAndSwap(ctx, "b", "k", it.Rev, []byte("swapped"))
			return err
		}, "swapped"},
		{"Update", func(ctx context.Context, st *bolt.Store) error {
			_, err := st.Update(ctx, "b", "k", func(cur []byte, _ bool) ([]byte, error) { return append(cur, '!'), nil })
			return err
		}, "old!"},
		{"Delete", func(ctx context.Context, st *bolt.Store) error { return st.Delete(ctx, "b", "k") }, ""},
		{"Apply", func(ctx context.Context, st *bolt.Store) error {
			return st.Apply(ctx, store.PutOp("b", "k", []byte("applied")), store.PutOp("b", "j", []byte("too")))
		}, "applied"},
		{"Apply deleting", func(ctx context.Context, st *bolt.Store) error { return st.Apply(ctx, store.DeleteOp("b", "k")) }, ""},
		{"Put with an expiry gone by", func(ctx context.Context, st *bolt.Store) error {
			_, err := st.Put(ctx, "b", "k", []byte("expired"), past)
			return err
		}, ""},
		{"Purge after a Put that expired", func(ctx context.Context, st *bolt.Store) error {
			if _, err := st.Put(ctx, "b", "k", []byte("short"), store.ExpireAt(time.Now().Add(-time.Nanosecond))); err != nil {
				return err
			}
			_, err := st.Purge(ctx)
			return err
		}, ""},
	}
	for _, tc := range tests {
		for _, shared := range []bool{false, true} { // Get, and GetShared: the same answers
			t.Run(fmt.Sprintf("%s/shared=%v", tc.name, shared), func(t *testing.T) {
				getWriteSeen(t, tc.write, tc.want, shared)
			})
		}
	}
}

func getWriteSeen(t *testing.T, write func(ctx context.Context, st *bolt.Store) error, want string, shared bool) {
	st := openStore(t, bolt.WithNoSync())
	ctx := t.Context()
	get := st.Get
	if shared {
		get = st.GetShared
	}
	if _, err := st.Put(ctx, "b", "k", []byte("old")); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second is answered from memory
		if it, err := get(ctx, "b", "k"); err != nil || string(it.Value) != "old" {
			t.Fatalf("Get before the write: %q, %v", it.Value, err)
		}
	}
	if err := write(ctx, st); err != nil {
		t.Fatal(err)
	}
	it, err := get(ctx, "b", "k")
	switch {
	case want == "" && !errors.Is(err, store.ErrNotFound):
		t.Fatalf("Get after the write: %q, %v; want not found", it.Value, err)
	case want != "" && (err != nil || string(it.Value) != want):
		t.Fatalf("Get after the write: %q, %v; want %q", it.Value, err, want)
	}
}

// TestGetSharedBytesNeverChange: the bytes GetShared gives are the read
// cache's, which nothing writes into: a write replaces them (the bytes given
// before keep the old value), and changing what Get gave changes neither.
func TestGetSharedBytesNeverChange(t *testing.T) {
	st := openStore(t, bolt.WithNoSync())
	ctx := t.Context()
	if _, err := st.Put(ctx, "b", "k", []byte("old")); err != nil {
		t.Fatal(err)
	}
	before, err := st.GetShared(ctx, "b", "k")
	if err != nil {
		t.Fatal(err)
	}
	mine, err := st.Get(ctx, "b", "k")
	if err != nil {
		t.Fatal(err)
	}
	mine.Value[0] = 'X'
	if again, err := st.GetShared(ctx, "b", "k"); err != nil || string(again.Value) != "old" {
		t.Fatalf("GetShared after changing Get's copy: %q, %v; want old", again.Value, err)
	}
	if _, err := st.Put(ctx, "b", "k", []byte("new")); err != nil {
		t.Fatal(err)
	}
	after, err := st.GetShared(ctx, "b", "k")
	if err != nil || string(after.Value) != "new" {
		t.Fatalf("GetShared after the write: %q, %v; want new", after.Value, err)
	}
	if string(before.Value) != "old" {
		t.Fatalf("bytes given before the write became %q; want old", before.Value)
	}
}

// TestGetAfterWriteUnderLoad: while readers keep reading a key (filling
// the read cache), a writer writes it 200 times; after each write returns,
// a Get sees that write or a later one, never an older one. Go's race
// detector runs it too.
func TestGetAfterWriteUnderLoad(t *testing.T) {
	st := openStore(t, bolt.WithNoSync())
	ctx := t.Context()
	if _, err := st.Put(ctx, "b", "k", []byte("0")); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := st.Get(ctx, "b", "k"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	for i := 1; i <= 200; i++ {
		rev, err := st.Put(ctx, "b", "k", fmt.Appendf(nil, "%d", i))
		if err != nil {
			t.Fatal(err)
		}
		it, err := st.Get(ctx, "b", "k")
		if err != nil || it.Rev < rev {
			t.Fatalf("write %d (revision %d) returned; then Get gave %q at revision %d, %v", i, rev, it.Value, it.Rev, err)
		}
	}
}

// TestGetFromMemoryExpires: a key read (and kept in memory) while it was
// live is not found once its expiry has passed, with no write between.
func TestGetFromMemoryExpires(t *testing.T) {
	st := openStore(t, bolt.WithNoSync())
	ctx := t.Context()
	exp := time.Now().Add(50 * time.Millisecond)
	if _, err := st.Put(ctx, "b", "k", []byte("v"), store.ExpireAt(exp)); err != nil {
		t.Fatal(err)
	}
	if it, err := st.Get(ctx, "b", "k"); err != nil || string(it.Value) != "v" {
		t.Fatalf("Get while live: %q, %v", it.Value, err)
	}
	time.Sleep(time.Until(exp) + time.Millisecond)
	if it, err := st.Get(ctx, "b", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after the expiry: %q, %v; want not found", it.Value, err)
	}
}
