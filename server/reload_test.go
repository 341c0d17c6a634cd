package server_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nectar-run/nectar/internal/servertest"
	"github.com/nectar-run/nectar/server"
)

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
	e := &servertest.Env{Srv: srv, HTTP: hs, Dir: dir}
	old, run := servertest.Hold(t, "reload-v1"), servertest.Hold(t, "reload-run")

	answered := make(chan string, 1)
	go func() {
		code, _, body := e.Do(t, "POST", "/hot", "", nil)
		answered <- strconv.Itoa(code) + " " + body
	}()
	<-run.Started // the request runs on version 1

	v2 := "name: hot\ntrigger:\n  http: {path: /hot}\nsteps:\n  - test-closed: {name: reload-v2}\n  - set: {version: 2}\n"
	if err := os.WriteFile(path, []byte(v2), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour) // a new mtime even on coarse file systems
	os.Chtimes(path, future, future)
	if err := srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, body := e.Do(t, "POST", "/hot", "", nil); body != `{"version":2}` {
		t.Fatalf("after the reload: %s", body)
	}
	if old.WasClosed() {
		t.Fatal("version 1 was closed while a request still ran on it")
	}
	close(run.Release)
	if got := <-answered; got != `200 {"version":1}` {
		t.Fatalf("the request on version 1 answered %s", got)
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if !old.WasClosed() {
		t.Fatal("Shutdown returned with the replaced version 1 still open")
	}
	if !servertest.Hold(t, "reload-v2").WasClosed() {
		t.Fatal("Shutdown returned with version 2 still open")
	}
}
