package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestScheduleFires(t *testing.T) {
	start(t, map[string]string{"tick.yaml": `
name: tick
trigger:
  schedule:
    cron: "* * * * * *"
    timezone: Europe/Paris
    input: {hello: world}
steps:
  - test-notify: {channel: schedule}
`}, nil)
	for i := range 2 {
		got := receive(t, "schedule")
		msg, _ := got.Get("message")
		md, _ := got.Get("metadata")
		if s := mustJSON(msg); s != `{"hello":"world"}` {
			t.Fatalf("run %d: message %s", i, s)
		}
		if s := mustJSON(md); !strings.Contains(s, `"trigger":"schedule"`) || !strings.Contains(s, `"cron":"* * * * * *"`) {
			t.Fatalf("run %d: metadata %s", i, s)
		}
	}
}

func TestScheduleWithoutOverlapSkipsTicks(t *testing.T) {
	// A run that blocks until the test lets it go keeps later ticks from
	// starting: only one run is ever in progress.
	start(t, map[string]string{"long.yaml": `
name: long
trigger:
  schedule: {cron: "* * * * * *", timeout: 1h}
steps:
  - test-notify: {channel: long-started}
  - test-notify: {channel: long-release}
`}, nil)
	receive(t, "long-started")
	// While the first run waits on long-release (buffered: it goes through
	// at once), no second run may start before the first one ends; the
	// second start comes after the first release was consumed.
	receive(t, "long-release")
	receive(t, "long-started")
}

func TestEventsFanOut(t *testing.T) {
	e := start(t, map[string]string{
		"publish.yaml": `
name: publish
trigger:
  http: {path: /orders}
steps:
  - event: {name: orders.created, payload: {id: "{{ message.id }}"}}
  - set: {accepted: "{{ message.id }}"}
`,
		"audit.yaml": `
name: audit
trigger:
  event: orders.created
steps:
  - test-notify: {channel: audit}
`,
		"mail.yaml": `
name: mail
trigger:
  event: {name: orders.created, concurrency: 2, queue: 10}
steps:
  - test-notify: {channel: mail}
`}, nil)
	code, _, body := e.do(t, "POST", "/orders", `{"id":"o-1"}`, nil)
	if code != 200 || body != `{"accepted":"o-1"}` {
		t.Fatalf("%d %s", code, body)
	}
	for _, ch := range []string{"audit", "mail"} {
		got := receive(t, ch)
		msg, _ := got.Get("message")
		md, _ := got.Get("metadata")
		if mustJSON(msg) != `{"id":"o-1"}` || !strings.Contains(mustJSON(md), `"name":"orders.created"`) {
			t.Fatalf("%s got %s %s", ch, mustJSON(msg), mustJSON(md))
		}
	}
}

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
