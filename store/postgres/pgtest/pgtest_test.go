package pgtest_test

import (
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/nectar-run/nectar/store/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestDatabasesAreSeparate(t *testing.T) {
	a, b := pgtest.Database(t), pgtest.Shared(t).NewDatabase(t)
	c := pgtest.Database(t)
	if a == b {
		t.Fatalf("two databases share the DSN %s", a)
	}
	for _, dsn := range []string{a, b, c} {
		conn, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		var v int
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").Scan(&v); err != nil || v != 0 {
			t.Fatalf("new database has %d tables (%v)", v, err)
		}
		if _, err := conn.Exec(t.Context(), "CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
		conn.Close(t.Context())
	}
}
