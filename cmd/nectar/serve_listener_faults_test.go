//go:build linux

package main_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeListenerFailureThenSIGTERM: the listener fails while a request
// runs, and a SIGTERM arrives during the shutdown that failure started
// (the orchestrator stopping a process it sees failing). The SIGTERM must
// neither cut the shutdown short nor change its outcome: the request in
// flight is answered 200 and recorded, the log says why, and the exit
// status is still 1 (the listener failed), not 0.
func TestServeListenerFailureThenSIGTERM(t *testing.T) {
	bin := buildNectar(t)
	started, release := make(chan struct{}, 1), make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"done":true}`)
	}))
	defer upstream.Close()
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	dir, data := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(dir, "slow.yaml"), []byte(strings.Replace(listenerSlow, `upstream: ""`, `upstream: "`+upstream.URL+`"`, 1)), 0o600)
	p := startServe(t, bin, dir, data)

	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := http.Post(p.base+"/slow", "application/json", strings.NewReader(`{}`))
		if err != nil {
			answered <- answer{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- answer{resp.StatusCode, string(b), err}
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second): // a bound on a hang
		t.Fatalf("the slow execution did not reach the upstream:\n%s", p.log())
	}

	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	shutDownListener(t, p.cmd.Process.Pid, p.base)
	deadline := time.After(30 * time.Second) // a bound on a hang
	for !strings.Contains(p.log(), `"msg":"shutting down"`) {
		select {
		case err := <-exited:
			t.Fatalf("exited (%v) before the request in flight was answered:\n%s", err, p.log())
		case <-deadline:
			t.Fatalf("no shutdown after the listener failed:\n%s", p.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
	// The shutdown drains the running execution: a SIGTERM (two) now.
	for range 2 {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-exited:
		t.Fatalf("a SIGTERM during the listener failure's shutdown ended the process (%v) before the request in flight was answered:\n%s", err, p.log())
	case <-time.After(200 * time.Millisecond): // not a measure: gives a wrong exit its chance
	}
	released = true
	close(release)

	a := <-answered
	if a.err != nil || a.status != 200 || !strings.Contains(a.body, `"done":true`) {
		t.Errorf("the request in flight: %d %q %v (want 200 with done)\n%s", a.status, a.body, a.err, p.log())
	}
	err := <-exited
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want exit status 1 (the listener failed)\n%s", err, p.log())
	}
	log := p.log()
	for _, want := range []string{"the listener failed; shutting down", `"msg":"stopped"`, "serving on 127.0.0.1:"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "shutdown incomplete") {
		t.Errorf("the shutdown was incomplete:\n%s", log)
	}
	out, _ := exec.Command(bin, "--data-dir", data, "executions", "list", "--json").Output()
	var records []struct{ Pipeline, Status string }
	if err := json.Unmarshal(out, &records); err != nil {
		t.Fatalf("nectar executions list --json: %v\n%s", err, out)
	}
	if len(records) != 1 || records[0].Pipeline != "slow" || records[0].Status != "ok" {
		t.Errorf("the execution in flight is not in the history as it ended: %+v", records)
	}
}

// TestServeListenerFailureDuringAScheduleRun: the listener fails while a
// schedule's run waits on its upstream (no HTTP request in flight). The
// shutdown the failure starts must drain the run like SIGTERM's: every run
// that reached the upstream finishes, is recorded ok, and the process
// exits 1 only after.
func TestServeListenerFailureDuringAScheduleRun(t *testing.T) {
	bin := buildNectar(t)
	started, release := make(chan struct{}, 64), make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"done":true}`)
	}))
	defer upstream.Close()
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	dir, data := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(dir, "tick.yaml"), []byte(`name: tick
trigger:
  schedule: {cron: "* * * * * *"}
steps:
  - rest:
      url: "`+upstream.URL+`/tick"
    to: vars.answer
  - set: {done: "{{ vars.answer.body.done }}"}
`), 0o600)
	p := startServe(t, bin, dir, data)
	select {
	case <-started:
	case <-time.After(30 * time.Second): // a bound on a hang
		t.Fatalf("the schedule's run did not reach the upstream:\n%s", p.log())
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	shutDownListener(t, p.cmd.Process.Pid, p.base)
	deadline := time.After(30 * time.Second) // a bound on a hang
	for !strings.Contains(p.log(), `"msg":"shutting down"`) {
		select {
		case err := <-exited:
			t.Fatalf("exited (%v) before the schedule's run ended:\n%s", err, p.log())
		case <-deadline:
			t.Fatalf("no shutdown after the listener failed:\n%s", p.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
	select {
	case err := <-exited:
		t.Fatalf("exited (%v) before the schedule's run ended:\n%s", err, p.log())
	case <-time.After(200 * time.Millisecond): // not a measure: gives a wrong exit its chance
	}
	released = true
	close(release)
	err := <-exited
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want exit status 1 (the listener failed)\n%s", err, p.log())
	}
	log := p.log()
	if !strings.Contains(log, `"msg":"stopped"`) || strings.Contains(log, "shutdown incomplete") {
		t.Errorf("the shutdown did not complete:\n%s", log)
	}
	runs := 1 + len(started) // every run that reached the upstream
	out, _ := exec.Command(bin, "--data-dir", data, "executions", "list", "--json").Output()
	var records []struct{ Pipeline, Status string }
	if err := json.Unmarshal(out, &records); err != nil {
		t.Fatalf("nectar executions list --json: %v\n%s", err, out)
	}
	ok := 0
	for _, r := range records {
		if r.Pipeline == "tick" && r.Status == "ok" {
			ok++
		}
	}
	if ok != runs || len(records) != runs {
		t.Errorf("%d runs reached the upstream; the history has %d ok of %d: %+v\n%s", runs, ok, len(records), records, log)
	}
}
