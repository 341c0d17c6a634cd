package bolt_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/store/bolt"
)

// TestHostileOpenRefusesDamagedNewestMeta (hostile probe): docs/security.md
// says that before bbolt opens the file Nectar reads it and damage becomes
// "database file is damaged". A file whose newest meta page has a bad magic
// number is opened without a word: bbolt falls back to the other meta page,
// so the last transaction is silently lost (an account created last
// disappears), and the next commit rewrites the damaged page, after which
// nectar store check reports the file as sound.
func TestHostileOpenRefusesDamagedNewestMeta(t *testing.T) {
	dir := t.TempDir()
	st, err := bolt.Open(dir, bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(t.Context(), "accounts", "first", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(t.Context(), "accounts", "last", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, bolt.FileName)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The meta page with the higher txid is the newest; break its magic.
	txid := func(pg int64) uint64 {
		b := make([]byte, 8)
		if _, err := f.ReadAt(b, pg*pageSize+16+48); err != nil {
			t.Fatal(err)
		}
		return binary.LittleEndian.Uint64(b)
	}
	newest := int64(0)
	if txid(1) > txid(0) {
		newest = 1
	}
	if _, err := f.WriteAt([]byte{0, 0, 0, 0}, newest*pageSize+16); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := bolt.Check(path); err == nil {
		t.Fatal("store check finds nothing wrong with a damaged meta page")
	}
	st, err = bolt.Open(dir, bolt.WithNoSync())
	if err == nil {
		_, gerr := st.Get(t.Context(), "accounts", "last")
		st.Close()
		t.Fatalf("a store whose newest meta page is damaged opened without an error; the last write is gone (Get: %v), and store check now says: %v",
			gerr, bolt.Check(path))
	}
	if !errors.Is(err, bolt.ErrCorrupt) {
		t.Fatalf("open: %v, want a damage error", err)
	}
}

// TestOpenRefusesEmptyFile: an existing nectar.db of 0 bytes (truncated by
// a bad copy or a full disk) is not taken for a new store; Open and Check
// say it is empty and what to do, and the file stays as it is.
func TestOpenRefusesEmptyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, bolt.FileName)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(dir, bolt.WithNoSync())
	if err == nil {
		st.Close()
		t.Fatal("an empty nectar.db opened as a new store")
	}
	for _, e := range []error{err, bolt.Check(path)} {
		if !errors.Is(e, bolt.ErrCorrupt) || !strings.Contains(e.Error(), path+" is empty") ||
			!strings.Contains(e.Error(), "delete it to start a new store") {
			t.Errorf("got %v, want ErrCorrupt saying %s is empty", e, path)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Errorf("the empty file was changed: %v, %v", fi, err)
	}
}

// TestAcceptPreviousCommit: the newest meta page is damaged; Open refuses,
// naming the way out; Open with WithAcceptPreviousCommit opens at the
// previous commit (the last write is gone, as the user accepted), rewrites
// the damaged page, and the file is sound again.
func TestAcceptPreviousCommit(t *testing.T) {
	dir := t.TempDir()
	st, err := bolt.Open(dir, bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	st.Put(t.Context(), "accounts", "first", []byte("v1"))
	st.Put(t.Context(), "accounts", "last", []byte("v2"))
	st.Close()
	path := filepath.Join(dir, bolt.FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	newest := int64(0)
	if binary.LittleEndian.Uint64(b[pageSize+16+48:]) > binary.LittleEndian.Uint64(b[16+48:]) {
		newest = 1
	}
	copy(b[newest*pageSize+16:], []byte{0, 0, 0, 0})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = bolt.Open(dir, bolt.WithNoSync())
	if !errors.Is(err, bolt.ErrCorrupt) || !strings.Contains(err.Error(), "--accept-previous-commit") {
		t.Fatalf("Open: %v, want ErrCorrupt naming --accept-previous-commit", err)
	}
	if err := bolt.Check(path); err == nil || !strings.Contains(err.Error(), "--accept-previous-commit") {
		t.Fatalf("Check: %v, want the damage and --accept-previous-commit", err)
	}
	st, err = bolt.Open(dir, bolt.WithNoSync(), bolt.WithAcceptPreviousCommit())
	if err != nil {
		t.Fatalf("Open with WithAcceptPreviousCommit: %v", err)
	}
	if v, err := st.Get(t.Context(), "accounts", "first"); err != nil || string(v.Value) != "v1" {
		t.Errorf("the previous commit's record: %v, %v", v, err)
	}
	st.Close()
	if err := bolt.Check(path); err != nil {
		t.Fatalf("Check after accepting the previous commit: %v", err)
	}
	st, err = bolt.Open(dir, bolt.WithNoSync())
	if err != nil {
		t.Fatalf("Open after accepting the previous commit: %v", err)
	}
	st.Close()
}
