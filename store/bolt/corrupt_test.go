package bolt_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
)

// bbolt's file layout: pages of 4096 bytes (the OS page size here); pages 0
// and 1 are the two meta pages. A page starts with a 16-byte header (id,
// flags, count, overflow); a meta page's body holds magic, version, page
// size, flags, then the root bucket's page id.
const pageSize = 4096

// goodFile writes a bbolt store with enough records for a tree of several
// pages, closes it and returns its directory and file.
func goodFile(t *testing.T) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	st, err := bolt.Open(dir, bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	val := []byte(strings.Repeat("v", 200))
	for i := range 500 {
		if _, err := st.Put(t.Context(), "things", fmt.Sprintf("k%05d", i), val); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, filepath.Join(dir, bolt.FileName)
}

// overwrite writes garbage over n bytes of page pg, from offset off.
func overwrite(t *testing.T, path string, pg, off, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	junk := make([]byte, n)
	for i := range junk {
		junk[i] = byte(0xA5 ^ i)
	}
	if _, err := f.WriteAt(junk, int64(pg*pageSize+off)); err != nil {
		t.Fatal(err)
	}
}

// rootPage returns the page of the root bucket, from the newer meta page.
func rootPage(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(b[16+8:]); got != pageSize {
		t.Fatalf("page size %d; the test assumes %d", got, pageSize)
	}
	txid := func(pg int) uint64 { return binary.LittleEndian.Uint64(b[pg*pageSize+16+48:]) }
	pg := 0
	if txid(1) > txid(0) {
		pg = 1
	}
	return int(binary.LittleEndian.Uint64(b[pg*pageSize+16+16:]))
}

// TestOpenCorruptFile opens damaged files the way nectar serve does: each
// must give an error that names the file and says what to do, never a
// panic; and Check must report the damage of each and pass a good file.
func TestOpenCorruptFile(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, path string)
		// Only one meta page is damaged: bbolt would fall back to the
		// other, so Open refuses unless told to accept the previous commit.
		previous bool
	}{
		{name: "header of the root page", corrupt: func(t *testing.T, path string) {
			overwrite(t, path, rootPage(t, path), 0, 16)
		}},
		{name: "body of the root page", corrupt: func(t *testing.T, path string) {
			overwrite(t, path, rootPage(t, path), 16, 512)
		}},
		{name: "every non-meta page", corrupt: func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			for pg := 2; pg < int(fi.Size())/pageSize; pg++ {
				overwrite(t, path, pg, 0, 64)
			}
		}},
		{name: "both meta pages", corrupt: func(t *testing.T, path string) {
			overwrite(t, path, 0, 16, 64)
			overwrite(t, path, 1, 16, 64)
		}},
		{name: "one meta page", previous: true, corrupt: func(t *testing.T, path string) {
			overwrite(t, path, 0, 16+32, 8) // meta 0's root page id
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, path := goodFile(t)
			if err := bolt.Check(path); err != nil {
				t.Fatalf("Check of the good file: %v", err)
			}
			tt.corrupt(t, path)

			err := bolt.Check(path)
			if !errors.Is(err, bolt.ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Errorf("Check = %v; want ErrCorrupt naming %s", err, path)
			}

			st, err := bolt.Open(dir)
			if err == nil {
				st.Close()
				t.Fatal("Open of a corrupt file succeeded")
			}
			want := []string{path, "damaged", "restore it from a backup"}
			if tt.previous {
				want = append(want, "--accept-previous-commit")
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open error lacks %q: %v", w, err)
				}
			}
			if !errors.Is(err, bolt.ErrCorrupt) {
				t.Errorf("Open error does not wrap ErrCorrupt: %v", err)
			}
			if !tt.previous {
				return
			}
			// The user's explicit choice: open at the previous commit. The
			// first commit rewrites the damaged page, and the file is sound.
			st, err = bolt.Open(dir, bolt.WithAcceptPreviousCommit())
			if err != nil {
				t.Fatalf("Open with WithAcceptPreviousCommit: %v", err)
			}
			st.Close()
			if err := bolt.Check(path); err != nil {
				t.Fatalf("Check after accepting the previous commit: %v", err)
			}
			if st, err = bolt.Open(dir); err != nil {
				t.Fatalf("Open after accepting the previous commit: %v", err)
			}
			st.Close()
		})
	}
}

// TestReadCorruptPage damages the file under an open store: a read that
// meets the damaged page returns ErrCorrupt naming the file; no panic.
func TestReadCorruptPage(t *testing.T) {
	dir, path := goodFile(t)
	st, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fi, _ := os.Stat(path)
	for pg := 2; pg < int(fi.Size())/pageSize; pg++ {
		overwrite(t, path, pg, 0, 64) // the file is mapped shared: the store sees it
	}
	_, err = st.List(t.Context(), "things", store.ListOptions{})
	if !errors.Is(err, bolt.ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "restore it from a backup") {
		t.Fatalf("List of a damaged file: %v", err)
	}
}
