package open_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/secret"
	"github.com/nectar-run/nectar/engine/store/bolt"
	"github.com/nectar-run/nectar/engine/store/open"
	"github.com/nectar-run/nectar/engine/store/postgres/pgtest"
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
