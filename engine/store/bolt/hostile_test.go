package bolt_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nectar-run/nectar/engine/store/bolt"
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
