package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/servertest"
	"github.com/nectar-run/nectar/server"
	"github.com/nectar-run/nectar/store/bolt"
)

// The server's tests serve pipelines with internal/servertest (shared with
// the trigger kinds' tests), which registers the test connectors
// test-panic, test-block and test-notify.

type stepFunc = servertest.StepFunc

func channel(name string) chan *value.Object { return servertest.Channel(name) }

// receive waits for a value on a test channel, failing after a generous
// timeout (a hang, not a timing assertion).
func receive(t *testing.T, name string) *value.Object { t.Helper(); return servertest.Receive(t, name) }

func mustJSON(v any) string { return servertest.MustJSON(v) }

type env struct {
	srv  *server.Server
	http *httptest.Server
	dir  string
	cm   *consumers.Manager
	st   *bolt.Store
	e    *servertest.Env
}

// start serves the pipeline files (name → YAML) from a temporary folder.
func start(t *testing.T, files map[string]string, mod func(*server.Options)) *env {
	t.Helper()
	e := servertest.Start(t, files, mod)
	return &env{srv: e.Srv, http: e.HTTP, dir: e.Dir, cm: e.Consumers, st: e.Store, e: e}
}

// record flushes the history and returns the record of the execution
// whose response headers are hdr.
func (e *env) record(t *testing.T, hdr http.Header) *history.Record {
	t.Helper()
	return e.e.Record(t, hdr)
}

// do sends a request and returns status, headers and body.
func (e *env) do(t *testing.T, method, path, body string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	return e.e.Do(t, method, path, body, hdr)
}
