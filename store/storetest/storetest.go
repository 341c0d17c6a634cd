// Package storetest is the test suite every implementation of store.Store
// passes. An implementation's tests call Run with a function that opens a
// fresh, empty store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			st, err := bolt.Open(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return st
//		})
//	}
//
// The suite checks semantics, not speed: CRUD, revisions, compare-and-swap
// conflicts, atomic updates under contention, expiry, list order and
// pagination, batches, locks and the behaviour after Close.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nectar-run/nectar/store"
)

// Run runs the whole suite as subtests of t. open must return a new, empty
// store each time it is called; Run closes it (so Close must be safe to call
// twice, as the interface requires).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"invalid buckets and keys are refused", testInvalid},
		{"missing keys are not found", testMissing},
		{"put then get returns a private copy", testPutGet},
		{"buckets are separate", testBuckets},
		{"keys and values may hold any bytes", testBinary},
		{"revisions grow on every write", testRevisions},
		{"create refuses a live key", testCreate},
		{"compare and swap checks the revision", testCompareAndSwap},
		{"delete removes once", testDelete},
		{"update reads and writes", testUpdate},
		{"update is atomic under 32 goroutines", testUpdateConcurrent},
		{"compare and swap loses no increment", testCASConcurrent},
		{"exactly one concurrent create wins", testCreateConcurrent},
		{"expired keys are invisible", testExpired},
		{"expiry is kept, replaced or cleared", testExpiryKept},
		{"keys expire as time passes", testExpiresLater},
		{"list orders, filters and pages", testList},
		{"list pages through a bucket", testListPages},
		{"apply writes a batch", testApply},
		{"apply is all or nothing", testApplyAtomic},
		{"lock excludes under contention", testLockExclusion},
		{"lock waits until ctx is done", testLockTimeout},
		{"lock lease expires without release", testLockExpires},
		{"locks of different names are independent", testLockNames},
		{"a cancelled context stops calls", testCancelled},
		{"a closed store refuses calls", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() { _ = st.Close() })
			tt.fn(t, st)
		})
	}
}

func mustPut(t *testing.T, st store.Store, bucket, key, val string, opts ...store.WriteOption) uint64 {
	t.Helper()
	rev, err := st.Put(t.Context(), bucket, key, []byte(val), opts...)
	if err != nil {
		t.Fatalf("Put(%q, %q): %v", bucket, key, err)
	}
	if rev == 0 {
		t.Fatalf("Put(%q, %q) returned revision 0", bucket, key)
	}
	return rev
}

func mustGet(t *testing.T, st store.Store, bucket, key string) store.Item {
	t.Helper()
	it, err := st.Get(t.Context(), bucket, key)
	if err != nil {
		t.Fatalf("Get(%q, %q): %v", bucket, key, err)
	}
	return it
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func testInvalid(t *testing.T, st store.Store) {
	ctx := t.Context()
	long := string(bytes.Repeat([]byte("k"), store.MaxKeySize+1))
	cases := []struct{ name, bucket, key string }{
		{"empty bucket", "", "k"},
		{"empty key", "b", ""},
		{"key too long", "b", long},
		{"bucket with NUL", "b\x00c", "k"},
		{"bucket not UTF-8", "b\xff", "k"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := st.Put(ctx, c.bucket, c.key, []byte("v"))
			wantErr(t, "Put", err, store.ErrInvalid)
			_, err = st.Get(ctx, c.bucket, c.key)
			wantErr(t, "Get", err, store.ErrInvalid)
			err = st.Apply(ctx, store.PutOp(c.bucket, c.key, []byte("v")))
			wantErr(t, "Apply", err, store.ErrInvalid)
		})
	}
	if _, err := st.Put(ctx, "b", long[:store.MaxKeySize], []byte("v")); err != nil {
		t.Fatalf("Put of a key of MaxKeySize bytes: %v", err)
	}
	_, err := st.List(ctx, "", store.ListOptions{})
	wantErr(t, "List of empty bucket name", err, store.ErrInvalid)
	_, err = st.Lock(ctx, "l", 0)
	wantErr(t, "Lock with zero ttl", err, store.ErrInvalid)
}

func testMissing(t *testing.T, st store.Store) {
	ctx := t.Context()
	_, err := st.Get(ctx, "nobucket", "k")
	wantErr(t, "Get from unknown bucket", err, store.ErrNotFound)
	mustPut(t, st, "b", "k", "v")
	_, err = st.Get(ctx, "b", "other")
	wantErr(t, "Get of unknown key", err, store.ErrNotFound)
	items, err := st.List(ctx, "nobucket", store.ListOptions{})
	if err != nil || len(items) != 0 {
		t.Fatalf("List of unknown bucket = %v, %v; want empty", items, err)
	}
}

func testPutGet(t *testing.T, st store.Store) {
	val := []byte(`{"name":"crm"}`)
	rev := mustPut(t, st, "accounts", "crm", string(val))
	in := bytes.Clone(val)
	rev2, err := st.Put(t.Context(), "accounts", "in", in)
	if err != nil {
		t.Fatal(err)
	}
	in[0] = 'X' // the store must have copied it
	it := mustGet(t, st, "accounts", "crm")
	if it.Key != "crm" || !bytes.Equal(it.Value, val) || it.Rev != rev || !it.ExpiresAt.IsZero() {
		t.Fatalf("Get = %+v; want key crm, value %s, rev %d, no expiry", it, val, rev)
	}
	it.Value[0] = 'Y' // the returned value is the caller's
	if again := mustGet(t, st, "accounts", "crm"); !bytes.Equal(again.Value, val) {
		t.Fatalf("modifying a returned value changed the store: %s", again.Value)
	}
	if got := mustGet(t, st, "accounts", "in"); !bytes.Equal(got.Value, val) || got.Rev != rev2 {
		t.Fatalf("modifying a put value after Put changed the store: %s", got.Value)
	}
}

func testBuckets(t *testing.T, st store.Store) {
	mustPut(t, st, "objects/a", "k", "a")
	mustPut(t, st, "objects/b", "k", "b")
	mustPut(t, st, "objects", "a/k", "plain")
	for bucket, want := range map[string]string{"objects/a": "a", "objects/b": "b"} {
		if got := mustGet(t, st, bucket, "k"); string(got.Value) != want {
			t.Fatalf("Get(%q, k) = %q; want %q", bucket, got.Value, want)
		}
	}
	items, err := st.List(t.Context(), "objects/a", store.ListOptions{})
	if err != nil || len(items) != 1 {
		t.Fatalf("List(objects/a) = %v, %v; want one item", items, err)
	}
}

func testBinary(t *testing.T, st store.Store) {
	keys := []string{"\x00", "\x00\x01", "a\x00b", "\xff\xfe", "é", "\xff"}
	for i, k := range keys {
		mustPut(t, st, "bin", k, string([]byte{0, byte(i), 0xff}))
	}
	mustPut(t, st, "bin", "empty", "")
	for i, k := range keys {
		if got := mustGet(t, st, "bin", k); !bytes.Equal(got.Value, []byte{0, byte(i), 0xff}) {
			t.Fatalf("Get(%q) = %q", k, got.Value)
		}
	}
	if got := mustGet(t, st, "bin", "empty"); len(got.Value) != 0 {
		t.Fatalf("Get(empty) = %q; want empty", got.Value)
	}
	items, err := st.List(t.Context(), "bin", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := keysOf(items)
	want := append(slices.Clone(keys), "empty")
	slices.Sort(want) // Go orders strings bytewise, as the store must
	if !slices.Equal(got, want) {
		t.Fatalf("List order = %q; want %q", got, want)
	}
}

func testRevisions(t *testing.T, st store.Store) {
	ctx := t.Context()
	r1 := mustPut(t, st, "b", "k", "1")
	r2 := mustPut(t, st, "b", "k", "2")
	if r2 <= r1 {
		t.Fatalf("second Put revision %d is not above %d", r2, r1)
	}
	if err := st.Delete(ctx, "b", "k"); err != nil {
		t.Fatal(err)
	}
	r3, err := st.Create(ctx, "b", "k", []byte("3"))
	if err != nil {
		t.Fatal(err)
	}
	if r3 <= r2 {
		t.Fatalf("revision after delete and create %d is not above %d", r3, r2)
	}
	it, err := st.Update(ctx, "b", "k", func(cur []byte, ok bool) ([]byte, error) { return []byte("4"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if it.Rev <= r3 {
		t.Fatalf("Update revision %d is not above %d", it.Rev, r3)
	}
	if got := mustGet(t, st, "b", "k"); got.Rev != it.Rev {
		t.Fatalf("Get revision %d; Update returned %d", got.Rev, it.Rev)
	}
	if err := st.Apply(ctx, store.PutOp("b", "k", []byte("5"))); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, st, "b", "k"); got.Rev <= it.Rev {
		t.Fatalf("Apply revision %d is not above %d", got.Rev, it.Rev)
	}
}

func testCreate(t *testing.T, st store.Store) {
	ctx := t.Context()
	rev, err := st.Create(ctx, "b", "k", []byte("first"))
	if err != nil || rev == 0 {
		t.Fatalf("Create = %d, %v", rev, err)
	}
	_, err = st.Create(ctx, "b", "k", []byte("second"))
	wantErr(t, "second Create", err, store.ErrExists)
	if got := mustGet(t, st, "b", "k"); string(got.Value) != "first" || got.Rev != rev {
		t.Fatalf("after refused Create: %q rev %d", got.Value, got.Rev)
	}
}

func testCompareAndSwap(t *testing.T, st store.Store) {
	ctx := t.Context()
	r0, err := st.CompareAndSwap(ctx, "b", "k", 0, []byte("a"))
	if err != nil {
		t.Fatalf("CompareAndSwap(rev 0) of a missing key: %v", err)
	}
	_, err = st.CompareAndSwap(ctx, "b", "k", 0, []byte("x"))
	wantErr(t, "CompareAndSwap(rev 0) of a present key", err, store.ErrConflict)
	r1, err := st.CompareAndSwap(ctx, "b", "k", r0, []byte("b"))
	if err != nil || r1 <= r0 {
		t.Fatalf("CompareAndSwap with the current revision = %d, %v", r1, err)
	}
	_, err = st.CompareAndSwap(ctx, "b", "k", r0, []byte("stale"))
	wantErr(t, "CompareAndSwap with a stale revision", err, store.ErrConflict)
	_, err = st.CompareAndSwap(ctx, "b", "missing", r1, []byte("x"))
	wantErr(t, "CompareAndSwap of a missing key", err, store.ErrConflict)
	if got := mustGet(t, st, "b", "k"); string(got.Value) != "b" || got.Rev != r1 {
		t.Fatalf("after refused swaps: %q rev %d; want b rev %d", got.Value, got.Rev, r1)
	}
	if _, err := st.Get(ctx, "b", "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused CompareAndSwap created the key: %v", err)
	}
}

func testDelete(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustPut(t, st, "b", "k", "v")
	mustPut(t, st, "b", "k2", "v")
	if err := st.Delete(ctx, "b", "k"); err != nil {
		t.Fatal(err)
	}
	_, err := st.Get(ctx, "b", "k")
	wantErr(t, "Get after Delete", err, store.ErrNotFound)
	wantErr(t, "second Delete", st.Delete(ctx, "b", "k"), store.ErrNotFound)
	wantErr(t, "Delete in unknown bucket", st.Delete(ctx, "nobucket", "k"), store.ErrNotFound)
	mustGet(t, st, "b", "k2")
}

func testUpdate(t *testing.T, st store.Store) {
	ctx := t.Context()
	var sawExists bool
	it, err := st.Update(ctx, "b", "k", func(cur []byte, ok bool) ([]byte, error) {
		sawExists = ok
		if cur != nil {
			return nil, fmt.Errorf("cur = %q for a missing key", cur)
		}
		return []byte("1"), nil
	})
	if err != nil || sawExists || string(it.Value) != "1" || it.Rev == 0 || it.Key != "k" {
		t.Fatalf("Update of a missing key = %+v, %v (exists %v)", it, err, sawExists)
	}
	it2, err := st.Update(ctx, "b", "k", func(cur []byte, ok bool) ([]byte, error) {
		if !ok || string(cur) != "1" {
			return nil, fmt.Errorf("cur = %q, %v", cur, ok)
		}
		return append(bytes.Clone(cur), '2'), nil
	})
	if err != nil || string(it2.Value) != "12" || it2.Rev <= it.Rev {
		t.Fatalf("Update of a present key = %+v, %v", it2, err)
	}

	t.Run("SkipWrite leaves the key", func(t *testing.T) {
		got, err := st.Update(ctx, "b", "k", func([]byte, bool) ([]byte, error) { return nil, store.SkipWrite })
		if err != nil || string(got.Value) != "12" || got.Rev != it2.Rev {
			t.Fatalf("Update(SkipWrite) = %+v, %v; want the current item", got, err)
		}
		got, err = st.Update(ctx, "b", "none", func([]byte, bool) ([]byte, error) { return nil, store.SkipWrite })
		if err != nil || got.Rev != 0 {
			t.Fatalf("Update(SkipWrite) of a missing key = %+v, %v; want a zero item", got, err)
		}
		_, err = st.Get(ctx, "b", "none")
		wantErr(t, "Get after skipped create", err, store.ErrNotFound)
	})
	t.Run("an error aborts", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := st.Update(ctx, "b", "k", func([]byte, bool) ([]byte, error) { return []byte("no"), boom })
		wantErr(t, "Update returning an error", err, boom)
		if got := mustGet(t, st, "b", "k"); string(got.Value) != "12" || got.Rev != it2.Rev {
			t.Fatalf("aborted Update wrote: %q rev %d", got.Value, got.Rev)
		}
	})
	t.Run("fn may return cur itself", func(t *testing.T) {
		mustPut(t, st, "b", "same", "unchanged")
		got, err := st.Update(ctx, "b", "same", func(cur []byte, ok bool) ([]byte, error) { return cur, nil })
		if err != nil {
			t.Fatal(err)
		}
		// Grow the store so that an implementation handing out its own
		// memory would show it: the returned value must stay intact.
		big := bytes.Repeat([]byte("x"), 64<<10)
		for i := range 64 {
			if _, err := st.Put(ctx, "grow", strconv.Itoa(i), big); err != nil {
				t.Fatal(err)
			}
		}
		if string(got.Value) != "unchanged" {
			t.Fatalf("Update returned %q after more writes", got.Value)
		}
	})
	t.Run("DeleteKey deletes", func(t *testing.T) {
		got, err := st.Update(ctx, "b", "k", func([]byte, bool) ([]byte, error) { return nil, store.DeleteKey })
		if err != nil || got.Rev != 0 {
			t.Fatalf("Update(DeleteKey) = %+v, %v", got, err)
		}
		_, err = st.Get(ctx, "b", "k")
		wantErr(t, "Get after Update(DeleteKey)", err, store.ErrNotFound)
		_, err = st.Update(ctx, "b", "k", func([]byte, bool) ([]byte, error) { return nil, store.DeleteKey })
		if err != nil {
			t.Fatalf("Update(DeleteKey) of a missing key: %v", err)
		}
	})
}

// counter increments the decimal counter in cur.
func counter(cur []byte, ok bool) ([]byte, error) {
	n := 0
	if ok {
		var err error
		if n, err = strconv.Atoi(string(cur)); err != nil {
			return nil, err
		}
	}
	return strconv.AppendInt(nil, int64(n+1), 10), nil
}

func testUpdateConcurrent(t *testing.T, st store.Store) {
	const workers, each = 32, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := st.Update(t.Context(), "counters", "n", counter); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := mustGet(t, st, "counters", "n"); string(got.Value) != strconv.Itoa(workers*each) {
		t.Fatalf("counter = %s; want %d", got.Value, workers*each)
	}
}

func testCASConcurrent(t *testing.T, st store.Store) {
	const workers, each = 8, 10
	ctx := t.Context()
	var wg sync.WaitGroup
	var conflicts atomic.Int64
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				for {
					var rev uint64
					var cur []byte
					it, err := st.Get(ctx, "counters", "cas")
					switch {
					case err == nil:
						rev, cur = it.Rev, it.Value
					case !errors.Is(err, store.ErrNotFound):
						errs <- err
						return
					}
					next, err := counter(cur, rev != 0)
					if err != nil {
						errs <- err
						return
					}
					_, err = st.CompareAndSwap(ctx, "counters", "cas", rev, next)
					if err == nil {
						break
					}
					if !errors.Is(err, store.ErrConflict) {
						errs <- err
						return
					}
					conflicts.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := mustGet(t, st, "counters", "cas"); string(got.Value) != strconv.Itoa(workers*each) {
		t.Fatalf("counter = %s; want %d (%d conflicts)", got.Value, workers*each, conflicts.Load())
	}
}

func testCreateConcurrent(t *testing.T, st store.Store) {
	const workers = 16
	var wg sync.WaitGroup
	var won, lost atomic.Int64
	errs := make(chan error, workers)
	for i := range workers {
		wg.Go(func() {
			_, err := st.Create(t.Context(), "ticks", "schedule@2024-01-01T00:00:00Z", []byte(strconv.Itoa(i)))
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, store.ErrExists):
				lost.Add(1)
			default:
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if won.Load() != 1 || lost.Load() != workers-1 {
		t.Fatalf("%d creates won and %d lost; want 1 and %d", won.Load(), lost.Load(), workers-1)
	}
}

func testExpired(t *testing.T, st store.Store) {
	ctx := t.Context()
	past := store.ExpireAt(time.Now().Add(-time.Hour))
	mustPut(t, st, "b", "a", "live")
	r := mustPut(t, st, "b", "gone", "old", past)
	mustPut(t, st, "b", "z", "live")

	_, err := st.Get(ctx, "b", "gone")
	wantErr(t, "Get of an expired key", err, store.ErrNotFound)
	items, err := st.List(ctx, "b", store.ListOptions{})
	if err != nil || !slices.Equal(keysOf(items), []string{"a", "z"}) {
		t.Fatalf("List = %q, %v; want [a z]", keysOf(items), err)
	}
	wantErr(t, "Delete of an expired key", st.Delete(ctx, "b", "gone"), store.ErrNotFound)

	mustPut(t, st, "b", "gone", "old", past)
	_, err = st.CompareAndSwap(ctx, "b", "gone", r, []byte("x"))
	wantErr(t, "CompareAndSwap of an expired key with its old revision", err, store.ErrConflict)
	if _, err := st.CompareAndSwap(ctx, "b", "gone", 0, []byte("cas")); err != nil {
		t.Fatalf("CompareAndSwap(rev 0) over an expired key: %v", err)
	}

	mustPut(t, st, "b", "gone", "old", past)
	rc, err := st.Create(ctx, "b", "gone", []byte("new"))
	if err != nil {
		t.Fatalf("Create over an expired key: %v", err)
	}
	if got := mustGet(t, st, "b", "gone"); string(got.Value) != "new" || got.Rev != rc || !got.ExpiresAt.IsZero() {
		t.Fatalf("after Create over an expired key: %+v", got)
	}

	mustPut(t, st, "b", "gone", "old", past)
	it, err := st.Update(ctx, "b", "gone", func(cur []byte, ok bool) ([]byte, error) {
		if ok || cur != nil {
			return nil, fmt.Errorf("update saw expired value %q", cur)
		}
		return []byte("fresh"), nil
	})
	if err != nil || !it.ExpiresAt.IsZero() {
		t.Fatalf("Update over an expired key = %+v, %v; want no expiry", it, err)
	}
}

// sameTime compares times to the microsecond, PostgreSQL's precision.
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

func testExpiryKept(t *testing.T, st store.Store) {
	ctx := t.Context()
	exp := time.Now().Add(time.Hour).Round(time.Microsecond)
	mustPut(t, st, "b", "k", "v", store.ExpireAt(exp))
	if got := mustGet(t, st, "b", "k"); !sameTime(got.ExpiresAt, exp) {
		t.Fatalf("ExpiresAt = %v; want %v", got.ExpiresAt, exp)
	}
	it, err := st.Update(ctx, "b", "k", counterOrZero)
	if err != nil || !sameTime(it.ExpiresAt, exp) {
		t.Fatalf("Update without option = %+v, %v; want the expiry kept", it, err)
	}
	if got := mustGet(t, st, "b", "k"); !sameTime(got.ExpiresAt, exp) {
		t.Fatalf("after Update ExpiresAt = %v; want %v", got.ExpiresAt, exp)
	}
	later := exp.Add(time.Hour)
	if it, err = st.Update(ctx, "b", "k", counterOrZero, store.ExpireAt(later)); err != nil || !sameTime(it.ExpiresAt, later) {
		t.Fatalf("Update with ExpireAt = %+v, %v", it, err)
	}
	if it, err = st.Update(ctx, "b", "k", counterOrZero, store.NoExpiry()); err != nil || !it.ExpiresAt.IsZero() {
		t.Fatalf("Update with NoExpiry = %+v, %v", it, err)
	}
	if got := mustGet(t, st, "b", "k"); !got.ExpiresAt.IsZero() {
		t.Fatalf("after NoExpiry ExpiresAt = %v", got.ExpiresAt)
	}
	mustPut(t, st, "b", "k", "v", store.ExpireAt(exp))
	mustPut(t, st, "b", "k", "v")
	if got := mustGet(t, st, "b", "k"); !got.ExpiresAt.IsZero() {
		t.Fatalf("Put without option kept expiry %v", got.ExpiresAt)
	}
	items, err := st.List(ctx, "b", store.ListOptions{})
	if err != nil || len(items) != 1 {
		t.Fatalf("List = %v, %v", items, err)
	}
	mustPut(t, st, "b", "k", "v", store.TTL(time.Hour))
	if items, _ := st.List(ctx, "b", store.ListOptions{}); len(items) != 1 || items[0].ExpiresAt.IsZero() {
		t.Fatalf("List does not report the expiry: %+v", items)
	}
}

func counterOrZero(cur []byte, ok bool) ([]byte, error) {
	if _, err := strconv.Atoi(string(cur)); ok && err != nil {
		return counter(nil, false)
	}
	return counter(cur, ok)
}

// Eventually polls cond until it holds or a generous deadline passes,
// failing t then. It waits for a state, it does not time anything: tests
// of stores shared by several processes use it to wait for what another
// process did.
func Eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testExpiresLater(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustPut(t, st, "b", "k", "v", store.TTL(50*time.Millisecond))
	mustPut(t, st, "b", "keep", "v", store.TTL(time.Hour))
	Eventually(t, "expiry", func() bool {
		_, err := st.Get(ctx, "b", "k")
		return errors.Is(err, store.ErrNotFound)
	})
	items, err := st.List(ctx, "b", store.ListOptions{})
	if err != nil || !slices.Equal(keysOf(items), []string{"keep"}) {
		t.Fatalf("List after expiry = %q, %v", keysOf(items), err)
	}
}

func keysOf(items []store.Item) []string {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.Key
	}
	return keys
}

func testList(t *testing.T, st store.Store) {
	ctx := t.Context()
	keys := []string{"a", "a/1", "a/2", "a/3", "ab", "a\xff", "a\xff\xff", "b", "b/1", "c"} // bytewise order
	for _, i := range rand.Perm(len(keys)) {
		mustPut(t, st, "list", keys[i], "v:"+keys[i])
	}
	mustPut(t, st, "other", "a/0", "v")
	cases := []struct {
		name string
		opts store.ListOptions
		want []string
	}{
		{"all ascending", store.ListOptions{}, keys},
		{"all descending", store.ListOptions{Reverse: true}, reversed(keys)},
		{"prefix", store.ListOptions{Prefix: "a/"}, []string{"a/1", "a/2", "a/3"}},
		{"prefix reversed", store.ListOptions{Prefix: "a/", Reverse: true}, []string{"a/3", "a/2", "a/1"}},
		{"prefix ending in 0xff", store.ListOptions{Prefix: "a\xff"}, []string{"a\xff", "a\xff\xff"}},
		{"prefix matching none", store.ListOptions{Prefix: "zz"}, []string{}},
		{"limit", store.ListOptions{Limit: 3}, []string{"a", "a/1", "a/2"}},
		{"limit reversed", store.ListOptions{Limit: 2, Reverse: true}, []string{"c", "b/1"}},
		{"after", store.ListOptions{After: "a\xff", Limit: 2}, []string{"a\xff\xff", "b"}},
		{"after a missing key", store.ListOptions{After: "a/25"}, []string{"a/3", "ab", "a\xff", "a\xff\xff", "b", "b/1", "c"}},
		{"after reversed", store.ListOptions{After: "b", Reverse: true, Limit: 2}, []string{"a\xff\xff", "a\xff"}},
		{"after with prefix ending in 0xff reversed", store.ListOptions{Prefix: "a\xff", After: "a\xff\xff", Reverse: true}, []string{"a\xff"}},
		{"after with prefix", store.ListOptions{Prefix: "a/", After: "a/1"}, []string{"a/2", "a/3"}},
		{"after with prefix reversed", store.ListOptions{Prefix: "a/", After: "a/3", Reverse: true}, []string{"a/2", "a/1"}},
		{"after before prefix", store.ListOptions{Prefix: "b", After: "a"}, []string{"b", "b/1"}},
		{"after past prefix", store.ListOptions{Prefix: "a/", After: "b"}, []string{}},
		{"after past prefix reversed", store.ListOptions{Prefix: "a/", After: "b", Reverse: true}, []string{"a/3", "a/2", "a/1"}},
		{"after the last", store.ListOptions{After: "c"}, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items, err := st.List(ctx, "list", c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := keysOf(items); !slices.Equal(got, c.want) {
				t.Fatalf("List(%+v) = %q; want %q", c.opts, got, c.want)
			}
			for _, it := range items {
				if string(it.Value) != "v:"+it.Key || it.Rev == 0 {
					t.Fatalf("item %q has value %q rev %d", it.Key, it.Value, it.Rev)
				}
			}
		})
	}
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func testListPages(t *testing.T, st store.Store) {
	ctx := t.Context()
	var want []string
	for i := range 25 {
		k := fmt.Sprintf("exec/%04d", i)
		want = append(want, k)
		mustPut(t, st, "executions", k, "{}")
	}
	for _, reverse := range []bool{false, true} {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			items, err := st.List(ctx, "executions", store.ListOptions{Prefix: "exec/", After: after, Limit: 7, Reverse: reverse})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) == 0 {
				break
			}
			got = append(got, keysOf(items)...)
			after = items[len(items)-1].Key
		}
		w := want
		if reverse {
			w = reversed(want)
		}
		if !slices.Equal(got, w) {
			t.Fatalf("pages (reverse %v) = %q; want %q", reverse, got, w)
		}
	}
}

func testApply(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustPut(t, st, "executions", "old", "x")
	ops := []store.Op{store.DeleteOp("executions", "old"), store.DeleteOp("executions", "never-was")}
	for i := range 100 {
		ops = append(ops, store.PutOp("executions", fmt.Sprintf("%03d", i), []byte(strconv.Itoa(i))))
	}
	ops = append(ops,
		store.PutOp("steps", "s", []byte("other bucket")),
		store.PutOp("steps", "expired", []byte("x"), store.ExpireAt(time.Now().Add(-time.Minute))),
		store.PutOp("steps", "ttl", []byte("x"), store.TTL(time.Hour)),
	)
	if err := st.Apply(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	items, err := st.List(ctx, "executions", store.ListOptions{})
	if err != nil || len(items) != 100 || items[0].Key != "000" || string(items[99].Value) != "99" {
		t.Fatalf("after Apply: %d items, %v", len(items), err)
	}
	steps, err := st.List(ctx, "steps", store.ListOptions{})
	if err != nil || !slices.Equal(keysOf(steps), []string{"s", "ttl"}) || steps[1].ExpiresAt.IsZero() {
		t.Fatalf("after Apply: steps %+v, %v", steps, err)
	}
	if err := st.Apply(ctx); err != nil {
		t.Fatalf("empty Apply: %v", err)
	}
	// Ops touching one key apply in order: the last one wins.
	err = st.Apply(ctx,
		store.PutOp("order", "put-then-delete", []byte("1")),
		store.PutOp("order", "put-twice", []byte("1")),
		store.DeleteOp("order", "put-then-delete"),
		store.PutOp("order", "put-twice", []byte("2")),
		store.DeleteOp("order", "delete-then-put"),
		store.PutOp("order", "delete-then-put", []byte("3")),
	)
	if err != nil {
		t.Fatal(err)
	}
	order, err := st.List(ctx, "order", store.ListOptions{})
	if err != nil || !slices.Equal(keysOf(order), []string{"delete-then-put", "put-twice"}) ||
		string(order[0].Value) != "3" || string(order[1].Value) != "2" {
		t.Fatalf("after ordered Apply: %q, %v", keysOf(order), err)
	}
}

func testApplyAtomic(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustPut(t, st, "b", "keep", "v")
	err := st.Apply(ctx,
		store.PutOp("b", "new", []byte("v")),
		store.DeleteOp("b", "keep"),
		store.PutOp("b", "", []byte("bad key")),
	)
	wantErr(t, "Apply with a bad op", err, store.ErrInvalid)
	if _, err := st.Get(ctx, "b", "new"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed Apply wrote a key: %v", err)
	}
	mustGet(t, st, "b", "keep")
}

func testLockExclusion(t *testing.T, st store.Store) {
	const workers, each = 8, 5
	var inside, total atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				release, err := st.Lock(t.Context(), "refresh/crm", time.Minute)
				if err != nil {
					errs <- err
					return
				}
				if n := inside.Add(1); n != 1 {
					errs <- fmt.Errorf("%d holders at once", n)
				}
				total.Add(1)
				time.Sleep(time.Millisecond) // widen the window a second holder would use
				inside.Add(-1)
				release()
				release() // twice is harmless
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if total.Load() != workers*each {
		t.Fatalf("%d critical sections ran; want %d", total.Load(), workers*each)
	}
}

func testLockTimeout(t *testing.T, st store.Store) {
	release, err := st.Lock(t.Context(), "l", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = st.Lock(ctx, "l", time.Minute)
	wantErr(t, "Lock of a held lock", err, context.DeadlineExceeded)
	release()
	again, err := st.Lock(t.Context(), "l", time.Minute)
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	again()
}

func testLockExpires(t *testing.T, st store.Store) {
	// The first holder never releases: think of a replica that died.
	stale, err := st.Lock(t.Context(), "l", 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	release, err := st.Lock(ctx, "l", time.Minute)
	if err != nil {
		t.Fatalf("Lock after the lease expired: %v", err)
	}
	stale() // the old holder's late release must not free the new lease
	short, cancel2 := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel2()
	if _, err := st.Lock(short, "l", time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a stale release freed the new holder's lease: %v", err)
	}
	release()
}

func testLockNames(t *testing.T, st store.Store) {
	a, err := st.Lock(t.Context(), "a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer a()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	b, err := st.Lock(ctx, "b", time.Minute)
	if err != nil {
		t.Fatalf("Lock(b) while a is held: %v", err)
	}
	b()
}

func testCancelled(t *testing.T, st store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := st.Get(ctx, "b", "k")
	wantErr(t, "Get", err, context.Canceled)
	_, err = st.Put(ctx, "b", "k", []byte("v"))
	wantErr(t, "Put", err, context.Canceled)
	_, err = st.Update(ctx, "b", "k", counter)
	wantErr(t, "Update", err, context.Canceled)
	wantErr(t, "Apply", st.Apply(ctx, store.PutOp("b", "k", nil)), context.Canceled)
	_, err = st.Lock(ctx, "l", time.Minute)
	wantErr(t, "Lock", err, context.Canceled)
	if _, err := st.Get(t.Context(), "b", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a cancelled call wrote: %v", err)
	}
}

func testClosed(t *testing.T, st store.Store) {
	ctx := t.Context()
	mustPut(t, st, "b", "k", "v")
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := st.Get(ctx, "b", "k"); return err }},
		{"Put", func() error { _, err := st.Put(ctx, "b", "k", nil); return err }},
		{"Create", func() error { _, err := st.Create(ctx, "b", "n", nil); return err }},
		{"CompareAndSwap", func() error { _, err := st.CompareAndSwap(ctx, "b", "k", 1, nil); return err }},
		{"Update", func() error { _, err := st.Update(ctx, "b", "k", counter); return err }},
		{"Delete", func() error { return st.Delete(ctx, "b", "k") }},
		{"List", func() error { _, err := st.List(ctx, "b", store.ListOptions{}); return err }},
		{"Apply", func() error { return st.Apply(ctx, store.PutOp("b", "k", nil)) }},
		{"Lock", func() error { _, err := st.Lock(ctx, "l", time.Minute); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.name+" after Close", c.call(), store.ErrClosed) })
	}
}
