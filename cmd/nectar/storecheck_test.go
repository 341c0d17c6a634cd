package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/store/bolt"
)

// damageStore writes a bbolt store with some records in dataDir, then
// overwrites the header of every page but the two meta pages (bbolt's pages
// are 4096 bytes; pages 0 and 1 are the meta pages). It returns the file.
func damageStore(t *testing.T, dataDir string, damage bool) string {
	t.Helper()
	st, err := bolt.Open(dataDir, bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, err := st.Put(t.Context(), "things", fmt.Sprintf("k%05d", i), []byte(strings.Repeat("v", 200))); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	path := filepath.Join(dataDir, bolt.FileName)
	if !damage {
		return path
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	for pg := int64(2); pg < fi.Size()/4096; pg++ {
		if _, err := f.WriteAt([]byte(strings.Repeat("\xa5", 64)), pg*4096); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestStoreCheck: nectar store check passes a sound file and reports a
// damaged one; a command that opens the damaged store fails with the file
// named and what to do, not a panic.
func TestStoreCheck(t *testing.T) {
	good := t.TempDir()
	path := damageStore(t, good, false)
	out, errOut, code := nectar(t, "", "--data-dir", good, "store", "check")
	if code != 0 || !strings.Contains(out, path+": ok") {
		t.Fatalf("store check of a sound file: exit %d\n%s%s", code, out, errOut)
	}

	bad := t.TempDir()
	path = damageStore(t, bad, true)
	out, errOut, code = nectar(t, "", "--data-dir", bad, "store", "check")
	if code == 0 || !strings.Contains(errOut, path) || !strings.Contains(errOut, "damaged") || !strings.Contains(errOut, "restore it from a backup") {
		t.Fatalf("store check of a damaged file: exit %d\n%s%s", code, out, errOut)
	}

	_, errOut, code = nectar(t, "", "--data-dir", bad, "executions", "list")
	for _, w := range []string{path, "damaged", "restore it from a backup", "nectar store check --data-dir " + bad} {
		if !strings.Contains(errOut, w) {
			t.Errorf("executions list of a damaged store: stderr lacks %q:\n%s", w, errOut)
		}
	}
	if code == 0 || code == 70 || strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
		t.Errorf("executions list of a damaged store: exit %d\n%s", code, errOut)
	}
}
