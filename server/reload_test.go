package server_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/server"
)

// Test connectors of reloads: test-hold says it started, then waits for
// the test; test-closed says when its pipeline is closed.
type latch struct {
	started chan struct{}
	release chan struct{}
	closed  chan struct{}
}

var latches = struct {
	sync.Mutex
	m map[string]*latch
}{m: map[string]*latch{}}

func latchNamed(name string) *latch {
	latches.Lock()
	defer latches.Unlock()
	l := latches.m[name]
	if l == nil {
		l = &latch{started: make(chan struct{}, 100), release: make(chan struct{}), closed: make(chan struct{}, 100)}
		latches.m[name] = l
	}
	return l
}

type closedStep struct{ l *latch }

func (s closedStep) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) { return in, nil }
func (s closedStep) Close(ctx context.Context) error {
	s.l.closed <- struct{}{}
	return nil
}

func init() {
	type named struct {
		Name string `yaml:"name" required:"true"`
	}
	engine.Register(engine.Connector[named]{Name: "test-hold", Summary: "waits for the test", Compile: func(c named, _ *engine.Compiler) (engine.Step, error) {
		l := latchNamed(c.Name)
		return stepFunc(func(ctx context.Context, x *engine.Exec, in any) (any, error) {
			l.started <- struct{}{}
			select {
			case <-l.release:
				return in, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}), nil
	}})
	engine.Register(engine.Connector[named]{Name: "test-closed", Summary: "tells the test when its pipeline closes", Compile: func(c named, _ *engine.Compiler) (engine.Step, error) {
		return closedStep{latchNamed(c.Name)}, nil
	}})
}

func wasClosed(l *latch) bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

// TestRetiredVersionClosesWithItsLastRun: a reload replaces a pipeline
// while a request runs on its old version. New requests get the new
// version at once; the old one stays open while its request runs, and is
// closed by the time Shutdown returns (it closed when its last run ended,
// rather than a guessed second after the reload).
func TestRetiredVersionClosesWithItsLastRun(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hot.yaml")
	v1 := "name: hot\ntrigger:\n  http: {path: /hot}\nsteps:\n  - test-closed: {name: reload-v1}\n  - test-hold: {name: reload-run}\n  - set: {version: 1}\n"
	if err := os.WriteFile(path, []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv, err := server.New(ctx, server.Options{Dir: dir, HistoryOff: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	e := &env{srv: srv, http: hs, dir: dir}
	old, run := latchNamed("reload-v1"), latchNamed("reload-run")

	answered := make(chan string, 1)
	go func() {
		code, _, body := e.do(t, "POST", "/hot", "", nil)
		answered <- strconv.Itoa(code) + " " + body
	}()
	<-run.started // the request runs on version 1

	v2 := "name: hot\ntrigger:\n  http: {path: /hot}\nsteps:\n  - test-closed: {name: reload-v2}\n  - set: {version: 2}\n"
	if err := os.WriteFile(path, []byte(v2), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour) // a new mtime even on coarse file systems
	os.Chtimes(path, future, future)
	if err := srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, body := e.do(t, "POST", "/hot", "", nil); body != `{"version":2}` {
		t.Fatalf("after the reload: %s", body)
	}
	if wasClosed(old) {
		t.Fatal("version 1 was closed while a request still ran on it")
	}
	close(run.release)
	if got := <-answered; got != `200 {"version":1}` {
		t.Fatalf("the request on version 1 answered %s", got)
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if !wasClosed(old) {
		t.Fatal("Shutdown returned with the replaced version 1 still open")
	}
	if !wasClosed(latchNamed("reload-v2")) {
		t.Fatal("Shutdown returned with version 2 still open")
	}
}
