package bolt_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
	"github.com/nectar-run/nectar/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		st, err := bolt.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	st, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, bolt.FileName): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s has mode %v; want %v", path, fi.Mode(), want)
		}
	}
	if st.Path() != filepath.Join(dir, bolt.FileName) {
		t.Errorf("Path() = %s", st.Path())
	}
}

func TestOpenTwiceIsRefused(t *testing.T) {
	dir := t.TempDir()
	st, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// bbolt's flock is per open file description, so a second open in the
	// same process contends just as another process would.
	_, err = bolt.Open(dir, bolt.WithTimeout(50*time.Millisecond))
	if !errors.Is(err, bolt.ErrLocked) {
		t.Fatalf("second Open: %v; want ErrLocked", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	st, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := st.Put(ctx, "accounts", "crm", []byte("v1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	it, err := st.Get(ctx, "accounts", "crm")
	if err != nil || string(it.Value) != "v1" || it.Rev != rev {
		t.Fatalf("after reopen: %+v, %v", it, err)
	}
	rev2, err := st.Put(ctx, "accounts", "crm", []byte("v2"))
	if err != nil || rev2 <= rev {
		t.Fatalf("revision after reopen %d, not above %d (%v)", rev2, rev, err)
	}
}

func TestPurgeDeletesExpiredKeys(t *testing.T) {
	st, err := bolt.Open(t.TempDir(), bolt.WithPurgeInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	past := store.ExpireAt(time.Now().Add(-time.Second))
	for _, k := range []string{"a", "b", "c"} {
		if _, err := st.Put(ctx, "objects/x", k, []byte("v"), past); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Put(ctx, "objects/x", "live", []byte("v"), store.TTL(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Rewriting an expiring key must not leave a stale index entry behind.
	if _, err := st.Put(ctx, "objects/x", "c", []byte("v")); err != nil {
		t.Fatal(err)
	}
	n, err := st.Purge(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Purge = %d, %v; want 2", n, err)
	}
	if n, err := st.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("second Purge = %d, %v; want 0", n, err)
	}
	items, err := st.List(ctx, "objects/x", store.ListOptions{})
	if err != nil || len(items) != 2 {
		t.Fatalf("List after purge = %+v, %v", items, err)
	}
}

func TestUpdatePanicIsAnError(t *testing.T) {
	st, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Update(t.Context(), "b", "k", func([]byte, bool) ([]byte, error) { panic("boom") })
	if err == nil {
		t.Fatal("a panicking update function returned no error")
	}
	if _, err := st.Put(t.Context(), "b", "k", []byte("v")); err != nil {
		t.Fatalf("Put after a panicking update: %v", err)
	}
}
