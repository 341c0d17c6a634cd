// Package servertest serves pipeline files with a real server (package
// server, a bbolt store in a temporary folder, consumers, an httptest
// server on loopback) for the tests of the server and of the trigger kinds.
// It registers test connectors: test-panic (panics), test-block (waits for
// its context), test-notify (hands its input and metadata to the test on
// a named channel), test-hold (says it started, then waits for the test to
// let it go: Hold) and test-closed (says when its pipeline closes: Hold's
// Closed). Import it from tests only.
package servertest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/server"
	"github.com/nectar-run/nectar/store/bolt"
)

func init() {
	engine.Register("test-panic", "panics", func(struct{}, *engine.Compiler) (engine.Step, error) {
		return StepFunc(func(ctx context.Context, x *engine.Exec, in any) (any, error) { panic("boom") }), nil
	})
	engine.Register("test-block", "waits for its context", func(struct{}, *engine.Compiler) (engine.Step, error) {
		return StepFunc(func(ctx context.Context, x *engine.Exec, in any) (any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}), nil
	})
	type notifyCfg struct {
		Channel string `yaml:"channel" required:"true"`
	}
	engine.Register("test-notify", "sends its input to a test", func(c notifyCfg, _ *engine.Compiler) (engine.Step, error) {
		return StepFunc(func(ctx context.Context, x *engine.Exec, in any) (any, error) {
			ch := Channel(c.Channel)
			o := value.NewObject(2)
			o.Set("message", in)
			o.Set("metadata", x.Metadata)
			select {
			case ch <- o:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return in, nil
		}), nil
	})

	type named struct {
		Name string `yaml:"name" required:"true"`
	}
	engine.Register("test-hold", "waits for the test", func(c named, _ *engine.Compiler) (engine.Step, error) {
		l := latch(c.Name)
		return StepFunc(func(ctx context.Context, x *engine.Exec, in any) (any, error) {
			l.Started <- struct{}{}
			select {
			case <-l.Release:
				return in, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}), nil
	})
	engine.Register("test-closed", "tells the test when its pipeline closes", func(c named, _ *engine.Compiler) (engine.Step, error) {
		return closedStep{latch(c.Name)}, nil
	})
}

// Latch is what test-hold and test-closed steps of one name share with
// the test: Started gets a value as each test-hold run starts, which then
// waits until Release is closed; Closed gets a value as each pipeline
// holding a test-closed step of the name closes.
type Latch struct {
	Started chan struct{}
	Release chan struct{}
	Closed  chan struct{}
}

var latches = struct {
	sync.Mutex
	m map[string]*Latch
}{m: map[string]*Latch{}}

// Hold returns the latch of a name, which the test-hold and test-closed
// steps of that name compiled during tb share with it, before or after the
// call. The latch is forgotten when tb ends, so that a test run again in
// one process (go test -count) gets new channels, not the ones its first
// run released and filled.
func Hold(tb testing.TB, name string) *Latch {
	l := latch(name)
	tb.Cleanup(func() {
		latches.Lock()
		defer latches.Unlock()
		if latches.m[name] == l {
			delete(latches.m, name)
		}
	})
	return l
}

// latch returns the latch of a name, made on first use.
func latch(name string) *Latch {
	latches.Lock()
	defer latches.Unlock()
	l := latches.m[name]
	if l == nil {
		l = &Latch{Started: make(chan struct{}, 100), Release: make(chan struct{}), Closed: make(chan struct{}, 100)}
		latches.m[name] = l
	}
	return l
}

// WasClosed reports whether a pipeline with the latch's test-closed step
// closed (since the last call).
func (l *Latch) WasClosed() bool {
	select {
	case <-l.Closed:
		return true
	default:
		return false
	}
}

type closedStep struct{ l *Latch }

func (s closedStep) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) { return in, nil }
func (s closedStep) Close(ctx context.Context) error {
	s.l.Closed <- struct{}{}
	return nil
}

// StepFunc is a step of a test connector.
type StepFunc func(ctx context.Context, x *engine.Exec, in any) (any, error)

func (f StepFunc) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	return f(ctx, x, in)
}

var (
	chanMu   sync.Mutex
	channels = map[string]chan *value.Object{}
)

// Channel returns the test-notify channel of a name.
func Channel(name string) chan *value.Object {
	chanMu.Lock()
	defer chanMu.Unlock()
	ch := channels[name]
	if ch == nil {
		ch = make(chan *value.Object, 100)
		channels[name] = ch
	}
	return ch
}

// Receive waits for a value on a test channel, failing after a generous
// timeout (a hang, not a timing assertion).
func Receive(t *testing.T, name string) *value.Object {
	t.Helper()
	select {
	case v := <-Channel(name):
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("nothing arrived on %s", name)
		return nil
	}
}

// MustJSON encodes v, or gives the error's text.
func MustJSON(v any) string {
	b, err := value.Encode(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// QuietLogger discards its lines.
func QuietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Env is a served folder of pipelines.
type Env struct {
	Srv       *server.Server
	HTTP      *httptest.Server
	Dir       string
	Consumers *consumers.Manager
	Store     *bolt.Store
}

// Start serves the pipeline files (name → YAML) from a temporary folder,
// with a bbolt store, consumers and the admin key "admin-key"; mod changes
// the options. The server shuts down when the test ends.
func Start(t testing.TB, files map[string]string, mod func(*server.Options)) *Env {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := bolt.Open(t.TempDir(), bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cm, err := consumers.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	opts := server.Options{Dir: dir, Store: st, Consumers: cm, AdminKey: "admin-key", Logger: QuietLogger()}
	if mod != nil {
		mod(&opts)
	}
	srv, err := server.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	hs := httptest.NewServer(srv.Handler())
	e := &Env{Srv: srv, HTTP: hs, Dir: dir, Consumers: cm, Store: st}
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("shutdown: %v", err)
		}
		st.Close()
	})
	return e
}

// Record flushes the history and returns the record of the execution
// whose response headers are hdr.
func (e *Env) Record(t *testing.T, hdr http.Header) *history.Record {
	t.Helper()
	ctx := context.Background()
	id := hdr.Get("X-Execution-Id")
	// FlushFor, not Flush: an execution answered early (respond send:
	// true) may still run, its record not yet queued.
	if err := e.Srv.History().FlushFor(ctx, id); err != nil {
		t.Fatal(err)
	}
	rec, err := history.Get(ctx, e.Store, id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// Do sends a request and returns status, headers and body.
func (e *Env) Do(t *testing.T, method, path, body string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.HTTP.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
