package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
)

// TestRotateKeyResumes: a rotation interrupted after resealing some values
// (master.key still old, master.key.next holding the new key) finishes when
// run again, with the new key of the first run, and every account opens.
func TestRotateKeyResumes(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	t.Setenv("RK_TOKEN", "tok-1")
	data := t.TempDir()
	dd := "--data-dir=" + data
	for _, name := range []string{"a", "b"} {
		if out, errOut, code := nectar(t, "", dd, "accounts", "create", name, "--type", "bearer", "--token-env", "RK_TOKEN"); code != 0 {
			t.Fatalf("create: %s%s", out, errOut)
		}
	}
	oldKey, err := os.ReadFile(filepath.Join(data, secret.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := secret.ParseKey(string(oldKey))
	old, _ := secret.NewSealer(k)
	nextKey := secret.GenerateKey()
	next, _ := secret.NewSealer(nextKey)

	// What the first run left: account a resealed with the new key, which
	// waits in master.key.next.
	st, err := bolt.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	it, err := st.Get(t.Context(), "accounts", "a")
	if err != nil {
		t.Fatal(err)
	}
	blob, err := secret.Reseal(old, next, it.Value, []byte("accounts/a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(t.Context(), "accounts", "a", blob); err != nil {
		t.Fatal(err)
	}
	st.Close()
	os.WriteFile(filepath.Join(data, secret.KeyFile+".next"), []byte(secret.EncodeKey(nextKey)+"\n"), 0o600)

	out, errOut, code := nectar(t, "", dd, "accounts", "rotate-key")
	if code != 0 || !strings.Contains(out, "the master key is now "+next.KeyID()) {
		t.Fatalf("rotate-key again: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, secret.KeyFile+".next")); !os.IsNotExist(err) {
		t.Errorf("master.key.next left behind: %v", err)
	}
	if out, errOut, code := nectar(t, "", dd, "accounts", "list"); code != 0 || !strings.Contains(out, "a") || !strings.Contains(out, "b") {
		t.Fatalf("list after the rotation: exit %d\n%s%s", code, out, errOut)
	}
	st, err = bolt.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, b := range accounts.SealedBuckets {
		items, _ := st.List(t.Context(), b, store.ListOptions{})
		for _, it := range items {
			if id, _ := secret.BlobKeyID(it.Value); id != next.KeyID() {
				t.Errorf("%s/%s sealed with %s; want %s", b, it.Key, id, next.KeyID())
			}
		}
	}
}
