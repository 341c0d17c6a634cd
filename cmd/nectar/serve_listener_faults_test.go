//go:build linux

package main_test

import (
	"os"
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
	bin, data, up, p, answered := serveSlowRequest(t)

	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	shutDownListener(t, p.cmd.Process.Pid, p.base)
	waitShuttingDown(t, p, exited)
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
	up.release()

	a := <-answered
	if a.err != nil || a.status != 200 || !strings.Contains(a.body, `"done":true`) {
		t.Errorf("the request in flight: %d %q %v (want 200 with done)\n%s", a.status, a.body, a.err, p.log())
	}
	wantExit1(t, <-exited, p)
	log := p.log()
	for _, want := range []string{"the listener failed; shutting down", `"msg":"stopped"`, "serving on 127.0.0.1:"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "shutdown incomplete") {
		t.Errorf("the shutdown was incomplete:\n%s", log)
	}
	if records := listExecutions(t, bin, data); len(records) != 1 || records[0].Pipeline != "slow" || records[0].Status != "ok" {
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
	up := holdUpstream(t)
	dir, data := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(dir, "tick.yaml"), []byte(`name: tick
trigger:
  schedule: {cron: "* * * * * *"}
steps:
  - rest:
      url: "`+up.url+`/tick"
    to: vars.answer
  - set: {done: "{{ vars.answer.body.done }}"}
`), 0o600)
	p := startServe(t, bin, dir, data)
	up.waitStarted(t, p)
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	shutDownListener(t, p.cmd.Process.Pid, p.base)
	waitShuttingDown(t, p, exited)
	select {
	case err := <-exited:
		t.Fatalf("exited (%v) before the schedule's run ended:\n%s", err, p.log())
	case <-time.After(200 * time.Millisecond): // not a measure: gives a wrong exit its chance
	}
	up.release()
	wantExit1(t, <-exited, p)
	log := p.log()
	if !strings.Contains(log, `"msg":"stopped"`) || strings.Contains(log, "shutdown incomplete") {
		t.Errorf("the shutdown did not complete:\n%s", log)
	}
	runs := 1 + len(up.started) // every run that reached the upstream
	records := listExecutions(t, bin, data)
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
