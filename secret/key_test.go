package secret_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/secret"
)

func TestParseKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xfb, 0xff, 0x01}, 11)[:32]
	tests := []struct {
		name, text, wantErr string
	}{
		{"standard base64", base64.StdEncoding.EncodeToString(key), ""},
		{"without padding", base64.RawStdEncoding.EncodeToString(key), ""},
		{"URL alphabet", base64.URLEncoding.EncodeToString(key), ""},
		{"URL alphabet without padding", base64.RawURLEncoding.EncodeToString(key), ""},
		{"surrounding spaces and newline", "  " + base64.StdEncoding.EncodeToString(key) + "\n", ""},
		{"empty", "", "it is empty"},
		{"blank", " \n", "it is empty"},
		{"16 bytes", base64.StdEncoding.EncodeToString(key[:16]), "it decodes to 16 bytes; want 32"},
		{"64 bytes", base64.StdEncoding.EncodeToString(append(key, key...)), "it decodes to 64 bytes; want 32"},
		{"hex", hex.EncodeToString(key), "it decodes to 48 bytes; want 32"},
		{"bad character", "+/" + strings.Repeat("A", 20) + "*" + strings.Repeat("A", 20), "not base64 (bad character at position 23)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secret.ParseKey(tt.text)
			if tt.wantErr == "" {
				if err != nil || !bytes.Equal(got, key) {
					t.Fatalf("ParseKey = %x, %v; want %x", got, err, key)
				}
				return
			}
			if !errors.Is(err, secret.ErrBadKey) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseKey error %v; want ErrBadKey saying %q", err, tt.wantErr)
			}
			if trimmed := strings.TrimSpace(tt.text); len(trimmed) > 8 && strings.Contains(err.Error(), trimmed[:8]) {
				t.Fatalf("error quotes the key: %v", err)
			}
			if !strings.Contains(err.Error(), "generate one with") {
				t.Fatalf("error does not say how to fix it: %v", err)
			}
		})
	}
}

func TestLoadKeyFromEnv(t *testing.T) {
	key := secret.GenerateKey()
	t.Setenv(secret.EnvKey, secret.EncodeKey(key))
	dir := t.TempDir()
	got, source, err := secret.LoadKey(dir)
	if err != nil || !bytes.Equal(got, key) || !strings.Contains(source, secret.EnvKey) {
		t.Fatalf("LoadKey = %x, %q, %v", got, source, err)
	}
	if _, err := os.Stat(filepath.Join(dir, secret.KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key file was written although the key came from the environment: %v", err)
	}

	t.Setenv(secret.EnvKey, "dG9vIHNob3J0")
	_, _, err = secret.LoadKey(dir)
	if !errors.Is(err, secret.ErrBadKey) || !strings.Contains(err.Error(), secret.EnvKey) || strings.Contains(err.Error(), "dG9vIHNob3J0") {
		t.Fatalf("bad env key: %v", err)
	}
}

func TestLoadKeyFile(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	dir := filepath.Join(t.TempDir(), "data")
	s1, source, err := secret.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, secret.KeyFile)
	if !strings.Contains(source, path) {
		t.Fatalf("source = %q", source)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode() != want {
			t.Fatalf("%s: mode %v, %v; want %v", p, fi.Mode(), err, want)
		}
	}
	s2, _, err := secret.Load(dir)
	if err != nil || s2.KeyID() != s1.KeyID() {
		t.Fatalf("second Load gave key %s, %v; want the same key %s", s2.KeyID(), err, s1.KeyID())
	}
	blob := s1.Seal([]byte("x"), nil)
	if _, err := s2.Open(blob, nil); err != nil {
		t.Fatal(err)
	}

	t.Run("readable by others is refused", func(t *testing.T) {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(path, 0o600)
		_, _, err := secret.LoadKey(dir)
		if !errors.Is(err, secret.ErrKeyFileMode) || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Fatalf("LoadKey of a 0644 key file: %v", err)
		}
	})
	t.Run("corrupt file is an error", func(t *testing.T) {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, secret.KeyFile), []byte("short\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := secret.LoadKey(bad); !errors.Is(err, secret.ErrBadKey) {
			t.Fatalf("LoadKey of a corrupt key file: %v", err)
		}
	})
	t.Run("SaveKey replaces the key", func(t *testing.T) {
		next := secret.GenerateKey()
		if err := secret.SaveKey(dir, next); err != nil {
			t.Fatal(err)
		}
		got, _, err := secret.LoadKey(dir)
		if err != nil || !bytes.Equal(got, next) {
			t.Fatalf("after SaveKey: %v", err)
		}
		if fi, _ := os.Stat(path); fi.Mode() != 0o600 {
			t.Fatalf("mode after SaveKey %v", fi.Mode())
		}
		leftovers, _ := filepath.Glob(filepath.Join(dir, ".master.key-*"))
		if len(leftovers) != 0 {
			t.Fatalf("temporary files left: %v", leftovers)
		}
	})
}

func TestLoadKeyRace(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	dir := t.TempDir()
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			s, _, err := secret.Load(dir)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = s.KeyID()
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent first starts generated different keys: %v", ids)
		}
	}
}

// TestFindKeyNeverGenerates: FindKey reports a missing key instead of
// writing one, and BlobKeyID reads the id of the key a blob was sealed with.
func TestFindKeyNeverGenerates(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	dir := t.TempDir()
	if _, _, err := secret.FindKey(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("FindKey without a key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, secret.KeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("FindKey wrote a key file: %v", err)
	}
	s, _, err := secret.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := secret.FindKey(dir); err != nil {
		t.Fatalf("FindKey after Load: %v", err)
	}
	if id, ok := secret.BlobKeyID(s.Seal([]byte("x"), nil)); !ok || id != s.KeyID() {
		t.Fatalf("BlobKeyID = %s, %v; want %s", id, ok, s.KeyID())
	}
	if _, ok := secret.BlobKeyID([]byte("not sealed")); ok {
		t.Fatal("BlobKeyID of plain bytes")
	}
}
