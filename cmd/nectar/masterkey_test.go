package main_test

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/bolt"
)

// keyID is the id nectar prints for key.
func keyID(t *testing.T, key []byte) string {
	t.Helper()
	s, err := secret.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s.KeyID()
}

// readKey returns the key in dataDir/master.key.
func readKey(t *testing.T, dataDir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, secret.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	key, err := secret.ParseKey(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// runBin runs the nectar binary with env added and returns its output and
// exit code.
func runBin(t *testing.T, bin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// serveOnce runs the nectar binary's serve and returns its output and exit
// code once it exits. A serve that starts instead is stopped and reported.
func serveOnce(t *testing.T, bin, dataDir string, env ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--dir", t.TempDir(), "--data-dir", dataDir, "--addr", "127.0.0.1:0", "--reload-interval", "0")
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), `"nectar serving"`) {
			t.Errorf("nectar serve started:\n%s", out.String())
			cmd.Process.Kill()
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// TestMasterKeyMustMatchTheStore: a data directory whose account was sealed
// with one key is refused, by the commands that unseal and by nectar serve,
// when the key is another (in master.key or NECTAR_MASTER_KEY) or missing,
// with a message naming the key ids; a missing key is never regenerated.
func TestMasterKeyMustMatchTheStore(t *testing.T) {
	bin := buildNectar(t)
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	data := filepath.Join(t.TempDir(), "data")
	keyFile := filepath.Join(data, secret.KeyFile)
	dd := "--data-dir=" + data

	// (d) A fresh data directory: the key is generated, the account sealed.
	if out, errOut, code := runBin(t, bin, []string{"MK_TOKEN=tok-123"}, dd, "accounts", "create", "crm", "--type", "bearer", "--token-env", "MK_TOKEN"); code != 0 {
		t.Fatalf("accounts create: exit %d\n%s%s", code, out, errOut)
	}
	good := readKey(t, data)
	goodID := keyID(t, good)
	other := secret.GenerateKey()
	otherID := keyID(t, other)

	refused := func(t *testing.T, env []string, want ...string) {
		t.Helper()
		_, errOut, code := runBin(t, bin, env, dd, "accounts", "show", "crm")
		if code == 0 {
			t.Errorf("nectar accounts show: exit 0 with the wrong key")
		}
		log, scode := serveOnce(t, bin, data, env...)
		if scode == 0 {
			t.Errorf("nectar serve: exit 0 with the wrong key")
		}
		for _, w := range want {
			if !strings.Contains(errOut, w) {
				t.Errorf("nectar accounts show: stderr lacks %q:\n%s", w, errOut)
			}
			if !strings.Contains(log, w) {
				t.Errorf("nectar serve: output lacks %q:\n%s", w, log)
			}
		}
		for _, s := range []string{secret.EncodeKey(good), secret.EncodeKey(other), "tok-123", "goroutine "} {
			if strings.Contains(errOut+log, s) {
				t.Errorf("output shows %q:\n%s\n%s", s, errOut, log)
			}
		}
	}

	t.Run("another key in master.key", func(t *testing.T) { // (a)
		if err := secret.SaveKey(data, other); err != nil {
			t.Fatal(err)
		}
		defer secret.SaveKey(data, good)
		refused(t, nil, goodID, otherID, keyFile)
	})
	t.Run("another key in NECTAR_MASTER_KEY", func(t *testing.T) { // (b)
		refused(t, []string{secret.EnvKey + "=" + secret.EncodeKey(other)}, goodID, otherID, secret.EnvKey)
	})
	t.Run("master.key deleted", func(t *testing.T) { // (c)
		if err := os.Remove(keyFile); err != nil {
			t.Fatal(err)
		}
		defer secret.SaveKey(data, good)
		refused(t, nil, goodID, keyFile, "none was generated")
		if _, err := os.Stat(keyFile); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a new key file was written: %v", err)
		}
	})
	t.Run("the right key", func(t *testing.T) { // (e)
		for _, env := range [][]string{nil, {secret.EnvKey + "=" + secret.EncodeKey(good)}} {
			if out, errOut, code := runBin(t, bin, env, dd, "accounts", "show", "crm"); code != 0 || !strings.Contains(out, "bearer") {
				t.Fatalf("accounts show with the right key (env %v): exit %d\n%s%s", env, code, out, errOut)
			}
			p := startServe(t, bin, t.TempDir(), data, env...)
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
}

// TestServeRefusesDamagedStore starts nectar serve on a bbolt file whose
// pages (all but the two meta pages) were overwritten: it must exit with an
// error naming the file and what to do, not crash with a panic.
func TestServeRefusesDamagedStore(t *testing.T) {
	bin := buildNectar(t)
	data := t.TempDir()
	st, err := bolt.Open(data, bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, err := st.Put(t.Context(), "things", fmt.Sprintf("k%05d", i), []byte(strings.Repeat("v", 200))); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	path := filepath.Join(data, bolt.FileName)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	for pg := int64(2); pg < fi.Size()/4096; pg++ { // pages of 4096 bytes; 0 and 1 are the meta pages
		if _, err := f.WriteAt([]byte(strings.Repeat("\xa5", 64)), pg*4096); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()

	log, code := serveOnce(t, bin, data)
	if code == 0 {
		t.Errorf("nectar serve: exit 0")
	}
	for _, w := range []string{path, "damaged", "restore it from a backup", "nectar store check"} {
		if !strings.Contains(log, w) {
			t.Errorf("nectar serve: output lacks %q:\n%s", w, log)
		}
	}
	if strings.Contains(log, "goroutine ") || strings.Contains(log, "panic") {
		t.Errorf("nectar serve panicked:\n%s", log)
	}
}
