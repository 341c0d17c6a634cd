package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReloadKeepsOldVersionOnError(t *testing.T) {
	v1 := "name: hot\ntrigger:\n  http: {path: /hot}\nsteps:\n  - set: {version: 1}\n"
	e := start(t, map[string]string{"hot.yaml": v1}, nil)
	ctx := context.Background()
	get := func() string {
		t.Helper()
		code, _, body := e.do(t, "POST", "/hot", "", nil)
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		return body
	}
	if got := get(); got != `{"version":1}` {
		t.Fatal(got)
	}
	write := func(src string) {
		t.Helper()
		path := filepath.Join(e.dir, "hot.yaml")
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		// A new mtime even on coarse file systems.
		future := time.Now().Add(time.Duration(len(src)) * time.Second)
		os.Chtimes(path, future, future)
	}
	write(strings.Replace(v1, "version: 1", "version: 22", 1))
	if err := e.srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != `{"version":22}` {
		t.Fatal(got)
	}
	write("name: hot\ntrigger:\n  http: {path: /hot}\nsteps:\n  - sett: {version: 3}\n")
	err := e.srv.Reload(ctx)
	if err == nil || !strings.Contains(err.Error(), "sett") {
		t.Fatalf("reload of a broken file: %v", err)
	}
	if got := get(); got != `{"version":22}` {
		t.Fatalf("after a broken reload: %s", got)
	}
	// A new file adds a route; removing it takes the route away.
	if err := os.WriteFile(filepath.Join(e.dir, "new.yaml"), []byte("name: new\ntrigger:\n  http: {path: /new}\nsteps:\n  - set: {n: 1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.srv.Reload(ctx)
	if code, _, _ := e.do(t, "POST", "/new", "", nil); code != 200 {
		t.Fatalf("new route: %d", code)
	}
	os.Remove(filepath.Join(e.dir, "new.yaml"))
	e.srv.Reload(ctx)
	if code, _, _ := e.do(t, "POST", "/new", "", nil); code != 404 {
		t.Fatalf("removed route: %d", code)
	}
}

func TestRouteConflictRejectsLaterPipeline(t *testing.T) {
	e := start(t, map[string]string{
		"a.yaml": "name: a\ntrigger:\n  http: {path: /same, methods: [GET, POST]}\nsteps:\n  - set: {who: a}\n",
		"b.yaml": "name: b\ntrigger:\n  http: {path: /same, methods: [POST]}\nsteps:\n  - set: {who: b}\n",
		"c.yaml": "name: c\ntrigger:\n  http: {path: /same, methods: [PUT]}\nsteps:\n  - set: {who: c}\n",
	}, nil)
	if _, _, body := e.do(t, "POST", "/same", "", nil); body != `{"who":"a"}` {
		t.Fatal(body)
	}
	if _, _, body := e.do(t, "PUT", "/same", "", nil); body != `{"who":"c"}` {
		t.Fatal(body)
	}
}
