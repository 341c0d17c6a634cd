package app_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nectar-run/nectar/accounts"
	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/connectors/objectstore"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/events"
	"github.com/nectar-run/nectar/internal/app"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/bolt"
	"github.com/nectar-run/nectar/store/postgres"
	"github.com/nectar-run/nectar/store/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestRunOpensNothing: the runtime of nectar run has its services but
// creates no data directory until a step needs the store.
func TestRunOpensNothing(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	a, err := app.Open(context.Background(), app.Config{DataDir: data, StoreDSN: "bolt"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := accounts.FromRuntime(a.Runtime); ok {
		t.Error("accounts installed without a store")
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("the data directory exists after Open: %v", err)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("the data directory exists after Close: %v", err)
	}
}

// TestServeOnBolt: a server's runtime holds every service, on one store,
// with an in-process bus; Close closes the store (bbolt opens it again).
func TestServeOnBolt(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey) // the key file is generated in the data directory
	data := filepath.Join(t.TempDir(), "data")
	a, err := app.Open(context.Background(), app.Config{DataDir: data, StoreDSN: "bolt", Serve: true})
	if err != nil {
		t.Fatal(err)
	}
	if am, ok := accounts.FromRuntime(a.Runtime); !ok || am != a.Accounts {
		t.Error("the accounts manager is not installed")
	}
	if st, ok := objectstore.FromRuntime(a.Runtime); !ok || st != a.Store {
		t.Error("the object store is not the store")
	}
	if svc, _ := a.Runtime.Service(events.ServiceKey{}); svc != a.Bus {
		t.Error("the event bus is not installed")
	}
	if _, ok := a.Bus.(*events.Memory); !ok {
		t.Errorf("bus %T with bbolt, want *events.Memory", a.Bus)
	}
	if a.Consumers == nil {
		t.Error("no consumers")
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(data)
	if err != nil {
		t.Fatalf("the store is still open after Close: %v", err)
	}
	st.Close()
}

// TestServeOnPostgres: with a PostgreSQL store, the bus is the store's
// own, and events go through it.
func TestServeOnPostgres(t *testing.T) {
	t.Setenv(secret.EnvKey, secret.EncodeKey(secret.GenerateKey()))
	a, err := app.Open(context.Background(), app.Config{DataDir: t.TempDir(), StoreDSN: pgtest.Database(t), Serve: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	if _, ok := a.Bus.(*postgres.Bus); !ok {
		t.Fatalf("bus %T with PostgreSQL, want *postgres.Bus", a.Bus)
	}
	if _, err := a.Store.(*postgres.Store).Bus(context.Background(), postgres.BusOptions{}); err == nil {
		t.Fatal("the store has no bus open: the app's bus is not the store's")
	}
	got := make(chan any, 1)
	cancel := a.Bus.Subscribe("hello", events.SubscribeOptions{}, func(_ context.Context, ev events.Event) { got <- ev.Payload })
	defer cancel(context.Background())
	if err := a.Bus.Publish(context.Background(), "hello", "world"); err != nil {
		t.Fatal(err)
	}
	if p := <-got; p != "world" {
		t.Fatalf("payload %v", p)
	}
}

// TestLibraryKeepsTheUsersPipeline: a pipeline of the same name as a
// shipped one replaces it; the other shipped pipelines are there.
func TestLibraryKeepsTheUsersPipeline(t *testing.T) {
	mine, err := engine.Load("mine.yaml", []byte("name: oauth-metadata\nsteps:\n  - set: {mine: true}\n"), engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lib, err := app.Library(engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	shipped := lib.Add(mine)
	if shipped == nil || shipped.File != "shipped:oauth-metadata.yaml" {
		t.Fatalf("Add replaced %v, want the shipped oauth-metadata", shipped)
	}
	shipped.Close(context.Background())
	if p, _ := lib.Pipeline("oauth-metadata"); p != mine {
		t.Errorf("oauth-metadata is %v, want the user's", p)
	}
	if _, ok := lib.Pipeline("oauth-token"); !ok {
		t.Error("the shipped oauth-token is missing")
	}
}
