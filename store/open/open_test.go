package open_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
	"github.com/nectar-run/nectar/store/open"
	"github.com/nectar-run/nectar/store/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestChoose(t *testing.T) {
	tests := []struct {
		name, dsn, env string
		want           open.Kind
		wantErr        string
	}{
		{name: "default is bolt", want: open.Bolt},
		{name: "bolt by name", dsn: "bolt", want: open.Bolt},
		{name: "postgres URL", dsn: "postgres://u:p@h/db", want: open.Postgres},
		{name: "postgresql URL", dsn: "postgresql://h/db", want: open.Postgres},
		{name: "environment", env: "postgres://h/db", want: open.Postgres},
		{name: "flag wins over environment", dsn: "bolt", env: "postgres://h/db", want: open.Bolt},
		{name: "unknown scheme", dsn: "mysql://u:hunter2@h/db", wantErr: `unknown store (scheme "mysql")`},
		{name: "no scheme", dsn: "u:hunter2@h", wantErr: `unknown store (scheme "none")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(open.EnvStore, tt.env)
			kind, _, err := open.Choose(tt.dsn)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("Choose error %v; want %q without the password", err, tt.wantErr)
				}
				return
			}
			if err != nil || kind != tt.want {
				t.Fatalf("Choose = %s, %v; want %s", kind, err, tt.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"password in user info", "postgres://nectar:hunter2@db:5432/nectar?sslmode=disable", "postgres://nectar:***@db:5432/nectar?sslmode=disable"},
		{"password in query", "postgres://db/nectar?password=hunter2&user=n", "postgres://db/nectar?password=***&user=n"},
		{"key=value form", "host=db password=hunter2 user=n", "host=db password=*** user=n"},
		{"no password", "postgres://nectar@db/nectar", "postgres://nectar@db/nectar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := open.Redact(tt.in); got != tt.want {
				t.Fatalf("Redact = %s; want %s", got, tt.want)
			}
		})
	}
}

// openBolt opens a bbolt store in a new folder, with neither NECTAR_STORE
// nor NECTAR_MASTER_KEY set; it is closed when the test ends.
func openBolt(t *testing.T) (string, store.Store) {
	t.Helper()
	t.Setenv(open.EnvStore, "")
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	dir := t.TempDir()
	st, _, err := open.Open(t.Context(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return dir, st
}

func TestOpenBoltAndCheckKey(t *testing.T) {
	t.Setenv(open.EnvStore, "")
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	dir := t.TempDir()
	st, desc, err := open.Open(t.Context(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if desc != "bolt "+filepath.Join(dir, bolt.FileName) {
		t.Fatalf("description %q", desc)
	}
	s, _, err := open.Sealer(t.Context(), st, open.Bolt, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := open.Sealer(t.Context(), st, open.Bolt, dir); err != nil {
		t.Fatalf("second start with the same key: %v", err)
	}
	// Another key, from the environment, must be refused at start.
	t.Setenv(secret.EnvKey, secret.EncodeKey(secret.GenerateKey()))
	_, _, err = open.Sealer(t.Context(), st, open.Bolt, dir)
	if !errors.Is(err, secret.ErrWrongKey) || !strings.Contains(err.Error(), s.KeyID()) {
		t.Fatalf("start with another key: %v", err)
	}
}

func TestOpenPostgresNeedsSharedKey(t *testing.T) {
	dsn := pgtest.Database(t)
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	t.Setenv(open.EnvStore, dsn)
	dir := t.TempDir()
	st, desc, err := open.Open(t.Context(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !strings.HasPrefix(desc, "postgres postgres://") {
		t.Fatalf("description %q", desc)
	}
	if _, _, err := open.Sealer(t.Context(), st, open.Postgres, dir); !errors.Is(err, open.ErrSharedKey) {
		t.Fatalf("Sealer without NECTAR_MASTER_KEY: %v", err)
	}
	t.Setenv(secret.EnvKey, secret.EncodeKey(secret.GenerateKey()))
	if _, _, err := open.Sealer(t.Context(), st, open.Postgres, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, secret.KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key file was generated: %v", err)
	}
}

// TestSealerRefusesAnotherKey runs the start-up key check on both stores:
// once the store holds an account sealed with one key, another key (in
// master.key or NECTAR_MASTER_KEY) or no key is refused with the key ids
// named, and no key file is ever generated for it.
func TestSealerRefusesAnotherKey(t *testing.T) {
	for _, kind := range []open.Kind{open.Bolt, open.Postgres} {
		for _, recorded := range []bool{true, false} {
			name := string(kind)
			if !recorded {
				name += " sealed before the key id was recorded"
			}
			t.Run(name, func(t *testing.T) { testSealerRefusesAnotherKey(t, kind, recorded) })
		}
	}
}

func testSealerRefusesAnotherKey(t *testing.T, kind open.Kind, recorded bool) {
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	dsn := ""
	if kind == open.Postgres {
		dsn = pgtest.Database(t)
	}
	t.Setenv(open.EnvStore, dsn)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, secret.KeyFile)
	st, _, err := open.Open(t.Context(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	good, other := secret.GenerateKey(), secret.GenerateKey()
	goodS, _ := secret.NewSealer(good)
	otherS, _ := secret.NewSealer(other)
	if kind == open.Bolt {
		// (d) a fresh store: the key file is generated.
		s, _, err := open.Sealer(t.Context(), st, kind, dir, accounts.SealedBuckets...)
		if err != nil {
			t.Fatalf("fresh store: %v", err)
		}
		if err := secret.SaveKey(dir, good); err != nil {
			t.Fatal(err)
		}
		if gen := readKeyFile(t, keyFile); gen == nil || s.KeyID() == goodS.KeyID() {
			t.Fatal("no key was generated")
		}
		if err := open.RecordKey(t.Context(), st, goodS); err != nil { // as rotate-key would
			t.Fatal(err)
		}
	} else {
		t.Setenv(secret.EnvKey, secret.EncodeKey(good))
	}
	if recorded {
		if _, _, err := open.Sealer(t.Context(), st, kind, dir, accounts.SealedBuckets...); err != nil {
			t.Fatal(err)
		}
	} else if kind == open.Bolt {
		// A store whose accounts were sealed by a nectar that did not
		// record the key id: only the values' headers say which key.
		os.Remove(keyFile)
		st.Close()
		os.Remove(filepath.Join(dir, bolt.FileName))
		if st, _, err = open.Open(t.Context(), dir, ""); err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		secret.SaveKey(dir, good)
	}
	m := accounts.NewManager(st, goodS)
	if err := m.Put(t.Context(), &accounts.Account{Name: "crm", Type: "bearer", Token: secret.New("tok-123")}); err != nil {
		t.Fatal(err)
	}
	os.Unsetenv(secret.EnvKey)

	check := func(t *testing.T, wantErr error, want ...string) {
		t.Helper()
		s, _, err := open.Sealer(t.Context(), st, kind, dir, accounts.SealedBuckets...)
		if wantErr == nil {
			if err != nil || s.KeyID() != goodS.KeyID() {
				t.Fatalf("Sealer: %v", err)
			}
			return
		}
		if !errors.Is(err, wantErr) {
			t.Fatalf("Sealer error %v; want %v", err, wantErr)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error lacks %q: %v", w, err)
			}
		}
		for _, k := range [][]byte{good, other} {
			if strings.Contains(err.Error(), secret.EncodeKey(k)) {
				t.Errorf("error shows a key: %v", err)
			}
		}
	}
	t.Run("another key in master.key", func(t *testing.T) { // (a)
		if err := secret.SaveKey(dir, other); err != nil {
			t.Fatal(err)
		}
		defer secret.SaveKey(dir, good)
		check(t, secret.ErrWrongKey, goodS.KeyID(), otherS.KeyID(), keyFile)
	})
	t.Run("another key in NECTAR_MASTER_KEY", func(t *testing.T) { // (b)
		t.Setenv(secret.EnvKey, secret.EncodeKey(other))
		check(t, secret.ErrWrongKey, goodS.KeyID(), otherS.KeyID(), secret.EnvKey)
	})
	t.Run("no key", func(t *testing.T) { // (c)
		if err := os.Remove(keyFile); err != nil && kind == open.Bolt {
			t.Fatal(err)
		}
		defer secret.SaveKey(dir, good)
		check(t, open.ErrNoKey, goodS.KeyID(), keyFile, secret.EnvKey)
		if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a key file was generated: %v", err)
		}
	})
	t.Run("the right key", func(t *testing.T) { // (e)
		check(t, nil)
		t.Setenv(secret.EnvKey, secret.EncodeKey(good))
		check(t, nil)
	})
}

func readKeyFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := secret.ParseKey(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSealerNewKeyForEmptyStore: a bbolt store that recorded a key but
// holds no sealed value gets a new key file when the old one is gone
// (nothing is lost), and the new key becomes the store's.
func TestSealerNewKeyForEmptyStore(t *testing.T) {
	dir, st := openBolt(t)
	first, _, err := open.Sealer(t.Context(), st, open.Bolt, dir, accounts.SealedBuckets...)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, secret.KeyFile))
	second, _, err := open.Sealer(t.Context(), st, open.Bolt, dir, accounts.SealedBuckets...)
	if err != nil || second.KeyID() == first.KeyID() {
		t.Fatalf("Sealer after the key file of an empty store was removed: %v", err)
	}
	ks, err := open.ReadKeyState(t.Context(), st, accounts.SealedBuckets...)
	if err != nil || ks.Recorded != second.KeyID() {
		t.Fatalf("recorded key id %q (%v); want %s", ks.Recorded, err, second.KeyID())
	}
	if _, _, err := open.Sealer(t.Context(), st, open.Bolt, dir, accounts.SealedBuckets...); err != nil {
		t.Fatalf("restart with the new key: %v", err)
	}
}

// TestSealerPointsAtPendingKey: a rotation that resealed everything but
// stopped before replacing master.key is refused with a pointer to
// master.key.next, which holds the key the store expects.
func TestSealerPointsAtPendingKey(t *testing.T) {
	dir, st := openBolt(t)
	nextKey := secret.GenerateKey()
	next, _ := secret.NewSealer(nextKey)
	if err := accounts.NewManager(st, next).Put(t.Context(), &accounts.Account{Name: "crm", Type: "bearer", Token: secret.New("t")}); err != nil {
		t.Fatal(err)
	}
	open.RecordKey(t.Context(), st, next)
	secret.SaveKey(dir, secret.GenerateKey()) // the old key, still in place
	pending := filepath.Join(dir, secret.KeyFile+".next")
	os.WriteFile(pending, []byte(secret.EncodeKey(nextKey)+"\n"), 0o600)
	_, _, err := open.Sealer(t.Context(), st, open.Bolt, dir, accounts.SealedBuckets...)
	if !errors.Is(err, secret.ErrWrongKey) || !strings.Contains(err.Error(), pending) || !strings.Contains(err.Error(), "rename it to master.key") {
		t.Fatalf("Sealer: %v", err)
	}
}
