package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nectar-run/nectar/connectors/objectstore"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/pipelines"
	"github.com/nectar-run/nectar/server"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
	"github.com/nectar-run/nectar/store/postgres"
	"github.com/nectar-run/nectar/store/postgres/pgtest"
)

// Fault tests run the server on a PostgreSQL cluster of their own, which
// they stop, restart and freeze: the faults are real.

// cluster starts a throwaway PostgreSQL cluster for t.
func cluster(t *testing.T) *pgtest.Cluster {
	t.Helper()
	c, err := pgtest.StartCluster()
	if err != nil {
		if errors.Is(err, pgtest.ErrNoPostgres) && os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// pgEnv is a server on a PostgreSQL store.
type pgEnv struct {
	srv  *server.Server
	http *httptest.Server
	st   *postgres.Store
	reg  *prometheus.Registry
}

// startPG serves the pipeline files (name → YAML) on the cluster c. Several
// calls on one cluster are replicas.
func startPG(t *testing.T, c *pgtest.Cluster, files map[string]string, mod func(*server.Options)) *pgEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := postgres.Open(ctx, c.DSN+"&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	e := startOn(t, st, files, mod)
	e.st = st
	return e
}

// startOn serves the pipeline files on st, which it closes at the end.
func startOn(t *testing.T, st store.Store, files map[string]string, mod func(*server.Options)) *pgEnv {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cm, err := consumers.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	opts := server.Options{Dir: dir, Store: st, Consumers: cm, AdminKey: "admin-key", Logger: quietLogger(), Registry: reg}
	if mod != nil {
		mod(&opts)
	}
	srv, err := server.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // the store may be gone: history not flushed is what some tests check
		st.Close()
	})
	return &pgEnv{srv: srv, http: hs, reg: reg}
}

// counter returns the value of the counter name{label=value} in reg.
func counter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// eventually polls cond until it holds, failing after a generous bound (a
// hang, not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after 60s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestScheduleSkipsTicksWhileStoreIsDown: two replicas share a PostgreSQL
// store and an every-second schedule. While PostgreSQL is stopped no tick
// can be claimed, so none runs (they used to run on every replica) and the
// skips are counted; once it is back, each tick runs once again.
func TestScheduleSkipsTicksWhileStoreIsDown(t *testing.T) {
	c := cluster(t)
	files := map[string]string{"tick.yaml": `
name: tick
trigger:
  schedule: {cron: "* * * * * *"}
steps:
  - test-notify: {channel: pg-tick}
`}
	replicas := []*pgEnv{startPG(t, c, files, nil), startPG(t, c, files, nil)}
	ran := map[string]int{} // tick → runs
	tickOf := func() time.Time {
		got := receive(t, "pg-tick")
		md, _ := got.Get("metadata")
		var m struct {
			Schedule struct{ Tick time.Time } `json:"schedule"`
		}
		if err := json.Unmarshal([]byte(mustJSON(md)), &m); err != nil {
			t.Fatal(err)
		}
		k := m.Schedule.Tick.Format(time.RFC3339)
		ran[k]++
		if ran[k] > 1 {
			t.Errorf("tick %s ran %d times", k, ran[k])
		}
		return m.Schedule.Tick
	}
	tickOf()

	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	haltedAt := time.Now()
	skipped := func() (n float64) {
		for _, r := range replicas {
			n += counter(t, r.reg, "nectar_schedule_ticks_skipped_total", "pipeline", "tick")
		}
		return n
	}
	// Both replicas skip every tick of the outage: wait for three each.
	eventually(t, "skipping ticks", func() bool {
		for _, r := range replicas {
			if counter(t, r.reg, "nectar_schedule_ticks_skipped_total", "pipeline", "tick") < 3 {
				return false
			}
		}
		return true
	})
	restartAt := time.Now()
	nSkipped := skipped()
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	// Runs claimed before the halt may still arrive; a run of a tick of the
	// outage must not.
	outage := 0
	for {
		tick := tickOf()
		if tick.After(haltedAt) && tick.Before(restartAt) {
			outage++
			t.Errorf("tick %s of the outage ran", tick.Format(time.RFC3339))
		}
		if tick.After(restartAt) {
			break
		}
	}
	tickOf() // and again: ticks keep running once each
	t.Logf("outage of %s: %.0f ticks skipped across 2 replicas, %d ran", restartAt.Sub(haltedAt).Round(100*time.Millisecond), nSkipped, outage)
}

// readyz returns /readyz's status and body.
func readyz(t *testing.T, e *pgEnv) (int, map[string]any) {
	t.Helper()
	cl := &http.Client{Timeout: 30 * time.Second} // far above the check's bound: a hang fails
	resp, err := cl.Get(e.http.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestReadyzFollowsStore: /readyz is 503 naming the store while PostgreSQL
// is stopped or frozen (it used to stay 200), 200 again once it is back;
// /healthz stays 200 throughout.
func TestReadyzFollowsStore(t *testing.T) {
	c := cluster(t)
	e := startPG(t, c, nil, nil)
	if code, body := readyz(t, e); code != 200 {
		t.Fatalf("healthy store: /readyz %d %v", code, body)
	}
	notReady := func(what string) {
		t.Helper()
		var body map[string]any
		eventually(t, "503 "+what, func() bool {
			var code int
			code, body = readyz(t, e)
			return code == http.StatusServiceUnavailable
		})
		if checks, _ := body["checks"].(map[string]any); checks["store"] != "unavailable" {
			t.Fatalf("%s: /readyz body %v does not name the store", what, body)
		}
		if resp, err := http.Get(e.http.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: /healthz %v %v", what, resp, err)
		}
	}
	ready := func(what string) {
		t.Helper()
		eventually(t, "200 "+what, func() bool { code, _ := readyz(t, e); return code == http.StatusOK })
	}
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	notReady("with PostgreSQL stopped")
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	ready("after the restart")
	if err := c.Freeze(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	notReady("with PostgreSQL frozen")
	t.Logf("frozen: /readyz 503 after %s", time.Since(start).Round(10*time.Millisecond))
	c.Thaw()
	ready("after the thaw")
}

// TestStoreFailureAnswersGenerically sends the credential provider's
// client_credentials grant, with no key at all, while PostgreSQL is
// stopped. The answer used to be a 500 carrying the driver's error: the
// database user and name and the server's address. Now it is a generic
// error naming the execution; the detail stays in the log and the record.
func TestStoreFailureAnswersGenerically(t *testing.T) {
	c := cluster(t)
	var logs enginetest.Log
	rt := &engine.Runtime{}
	e := startPG(t, c, nil, func(o *server.Options) {
		o.Shipped = pipelines.FS
		o.Runtime = rt
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	objectstore.Install(rt, e.st)
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(c.DSN)
	// The first call meets the connections PostgreSQL cut as it stopped;
	// the second one's connection is refused, an error naming user,
	// database and address.
	var id string
	for range 2 {
		resp, err := http.Post(e.http.URL+"/credential-provider", "application/json",
			strings.NewReader(`{"grant_type":"client_credentials","username":"some-client","password":"some-secret"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		id = resp.Header.Get("X-Execution-Id")
		t.Logf("answer with PostgreSQL stopped: %d %s", resp.StatusCode, body)
		for _, leak := range []string{u.Host, u.Port(), "postgres", "user=", "database=", "dial", "SQLSTATE"} {
			if strings.Contains(body, leak) {
				t.Errorf("the answer names %q: %s", leak, body)
			}
		}
		if resp.StatusCode < 500 || id == "" || !strings.Contains(body, id) {
			t.Fatalf("answer %d %s: want a 5xx naming the execution %s", resp.StatusCode, body, id)
		}
	}
	if !strings.Contains(logs.String(), id) || !strings.Contains(logs.String(), u.Host) {
		t.Errorf("the log does not hold the detail of %s:\n%s", id, logs.String())
	}
	// The management API reads the history from the store: a generic 503
	// too, without waiting for the history to be written.
	req, _ := http.NewRequest("GET", e.http.URL+"/api/executions", nil)
	req.Header.Set("Authorization", "Bearer admin-key")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(b), u.Host) || strings.Contains(string(b), "postgres") {
		t.Errorf("GET /api/executions with PostgreSQL stopped: %d %s", resp.StatusCode, b)
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.srv.History().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rec, err := history.Get(ctx, e.st, id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rec.Error), u.Host) {
		t.Errorf("the record's error %s does not hold the detail", rec.Error)
	}
}

// fullDisk mounts a tmpfs of size bytes for t; the test is skipped when it
// cannot be mounted (mounting needs root).
func fullDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs for a full disk: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir until the disk is full, and returns its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

// TestFullDisk serves a bbolt store on a tmpfs that fills up. Writes fail:
// the caller gets a generic error, not the file's path; /readyz is 503
// naming the store (it stayed 200); the history keeps the records it could
// not write (a full disk used to lose every batch) and writes them all once
// space is back.
func TestFullDisk(t *testing.T) {
	dir := fullDisk(t, 8<<20)
	st, err := bolt.Open(filepath.Join(dir, "data"), bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	e := startOn(t, st, map[string]string{"put.yaml": `
name: put
trigger:
  http: {path: /put, max_body: 1MB}
steps:
  - object-store: {operation: insert, collection: docs, document: "{{ message }}"}
`}, nil)
	rt := e.srv.Runtime()
	objectstore.Install(rt, st)
	post := func(doc string) (int, string, string) {
		resp, err := http.Post(e.http.URL+"/put", "application/json", strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("X-Execution-Id")
	}
	var ids []string
	if code, body, id := post(`{"n":0}`); code != 200 {
		t.Fatalf("before the disk is full: %d %s", code, body)
	} else {
		ids = append(ids, id)
	}
	filler := fill(t, dir)
	big := `{"pad":"` + strings.Repeat("x", 512<<10) + `"}`
	code, body, id := post(big)
	ids = append(ids, id)
	t.Logf("insert on a full disk: %d %s", code, body)
	if code < 500 || !strings.Contains(body, id) || strings.Contains(body, dir) || strings.Contains(body, "space") {
		t.Fatalf("insert on a full disk answers %d %s: want a 5xx naming execution %s, not the file", code, body, id)
	}
	for i := range 50 {
		_, _, id := post(`{"n":` + strconv.Itoa(i+1) + `}`)
		ids = append(ids, id)
	}
	var rbody map[string]any
	eventually(t, "503 with a full disk", func() bool {
		var code int
		code, rbody = readyz(t, e)
		return code == http.StatusServiceUnavailable
	})
	if checks, _ := rbody["checks"].(map[string]any); checks["store"] != "unavailable" {
		t.Fatalf("/readyz body %v does not name the store", rbody)
	}
	// The history could not write these executions while the disk was full.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	err = e.srv.History().Flush(ctx)
	cancel()
	if err == nil {
		t.Log("the history was written despite the full disk")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.srv.History().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, id := range ids {
		if _, err := history.Get(ctx, st, id); err != nil {
			lost++
		}
	}
	t.Logf("full disk: %d executions, %d records lost, %d dropped", len(ids), lost, e.srv.History().Dropped())
	if lost > 0 {
		t.Fatalf("%d of %d records lost", lost, len(ids))
	}
	eventually(t, "200 with space back", func() bool { code, _ := readyz(t, e); return code == http.StatusOK })
}
