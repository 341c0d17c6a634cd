package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/bolt"
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

// TestStoreCheckKey: nectar store check compares the master key with the
// store's sealed values, names the key ids, and never writes a key file.
func TestStoreCheckKey(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	t.Setenv("SC_TOKEN", "tok")
	data := t.TempDir()
	dd := "--data-dir=" + data
	out, errOut, code := nectar(t, "", dd, "store", "check")
	if code == 0 || !strings.Contains(errOut, "no store in "+data) {
		t.Fatalf("store check of an empty directory: exit %d\n%s%s", code, out, errOut)
	}
	st, err := bolt.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, errOut, code = nectar(t, "", dd, "store", "check")
	if code != 0 || !strings.Contains(out, "master key: none yet") {
		t.Fatalf("store check of a fresh directory: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, secret.KeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("store check wrote a key file: %v", err)
	}
	if out, errOut, code := nectar(t, "", dd, "accounts", "create", "crm", "--type", "bearer", "--token-env", "SC_TOKEN"); code != 0 {
		t.Fatalf("create: %s%s", out, errOut)
	}
	b, _ := os.ReadFile(filepath.Join(data, secret.KeyFile))
	key, _ := secret.ParseKey(string(b))
	s, _ := secret.NewSealer(key)
	out, errOut, code = nectar(t, "", dd, "store", "check")
	if code != 0 || !strings.Contains(out, "master key: ok, id "+s.KeyID()) {
		t.Fatalf("store check with the right key: exit %d\n%s%s", code, out, errOut)
	}
	wrong := secret.GenerateKey()
	ws, _ := secret.NewSealer(wrong)
	t.Setenv(secret.EnvKey, secret.EncodeKey(wrong))
	_, errOut, code = nectar(t, "", dd, "store", "check")
	if code == 0 || !strings.Contains(errOut, s.KeyID()) || !strings.Contains(errOut, ws.KeyID()) {
		t.Fatalf("store check with another key: exit %d\n%s", code, errOut)
	}
	os.Unsetenv(secret.EnvKey)
	os.Remove(filepath.Join(data, secret.KeyFile))
	_, errOut, code = nectar(t, "", dd, "store", "check")
	if code == 0 || !strings.Contains(errOut, s.KeyID()) {
		t.Fatalf("store check without the key: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, secret.KeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("store check wrote a key file: %v", err)
	}
}

// TestStoreDamagedNewestMeta: the meta page of the newest commit of
// nectar.db is damaged (its magic number overwritten). accounts list
// refuses the file rather than open it at the previous commit without a
// word; store check says so and names --accept-previous-commit, which
// opens the file at the previous commit and leaves it sound. An empty
// nectar.db is refused, not taken for a new store.
func TestStoreDamagedNewestMeta(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	t.Setenv("SC_TOKEN", "tok")
	data := t.TempDir()
	dd := "--data-dir=" + data
	for _, name := range []string{"first", "last"} {
		if out, errOut, code := nectar(t, "", dd, "accounts", "create", name, "--type", "bearer", "--token-env", "SC_TOKEN"); code != 0 {
			t.Fatalf("create: %s%s", out, errOut)
		}
	}
	path := filepath.Join(data, bolt.FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	txid := func(pg int) uint64 { return binary.LittleEndian.Uint64(b[pg*4096+16+48:]) }
	newest := 0
	if txid(1) > txid(0) {
		newest = 1
	}
	copy(b[newest*4096+16:], []byte{0, 0, 0, 0})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := nectar(t, "", dd, "accounts", "list")
	if code == 0 || !strings.Contains(errOut, path) || !strings.Contains(errOut, "damaged") || !strings.Contains(errOut, "--accept-previous-commit") {
		t.Fatalf("accounts list of a file whose newest meta page is damaged: exit %d\n%s%s", code, out, errOut)
	}
	if after, _ := os.ReadFile(path); string(after) != string(b) {
		t.Fatal("accounts list changed the damaged file (the evidence)")
	}
	out, errOut, code = nectar(t, "", dd, "store", "check")
	if code != 1 || !strings.Contains(errOut, "bad magic number") || !strings.Contains(errOut, "--accept-previous-commit") {
		t.Fatalf("store check: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = nectar(t, "", dd, "store", "check", "--accept-previous-commit")
	if code != 0 || !strings.Contains(out, "opened at the previous commit") || !strings.Contains(out, path+": ok") {
		t.Fatalf("store check --accept-previous-commit: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = nectar(t, "", dd, "accounts", "list")
	if code != 0 || !strings.Contains(out, "first") {
		t.Fatalf("accounts list after accepting the previous commit: exit %d\n%s%s", code, out, errOut)
	}

	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, bolt.FileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"accounts", "list"}, {"store", "check"}} {
		out, errOut, code = nectar(t, "", append([]string{"--data-dir=" + empty}, args...)...)
		if code == 0 || !strings.Contains(errOut, "is empty") || !strings.Contains(errOut, "delete it to start a new store") {
			t.Errorf("%v with an empty nectar.db: exit %d\n%s%s", args, code, out, errOut)
		}
	}
}
