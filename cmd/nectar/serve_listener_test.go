//go:build linux

package main_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const listenerSlow = `name: slow
globals: {upstream: ""}
trigger:
  http: {path: /slow, methods: [POST]}
steps:
  - rest:
      url: "{{ globals.upstream }}/slow"
    to: vars.answer
  - set: {done: "{{ vars.answer.body.done }}"}
`

// TestServeListenerFailure: the listening socket fails under a running
// server (here it is shut down from outside, through a duplicate of its
// descriptor, as a socket torn down under a process would be). nectar serve
// must not exit at once as it did: what it accepted is answered, the
// running execution finishes and is recorded, and it exits 1 saying why.
//
// Before, the listener's error returned from the serve command straight
// away: the request in flight was cut off (EOF) and its execution never
// reached the history.
func TestServeListenerFailure(t *testing.T) {
	bin, data, up, p, answered := serveSlowRequest(t)

	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	shutDownListener(t, p.cmd.Process.Pid, p.base)
	var err error
	waited := false
	deadline := time.After(30 * time.Second)
	for !strings.Contains(p.log(), "the listener failed") && !waited {
		select {
		case err = <-exited:
			waited = true
		case <-deadline:
			t.Fatalf("no word of the listener's failure:\n%s", p.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
	up.release()

	a := <-answered
	if a.err != nil || a.status != 200 || !strings.Contains(a.body, `"done":true`) {
		t.Errorf("the request in flight when the listener failed: %d %q %v (want 200 with done)\n%s", a.status, a.body, a.err, p.log())
	}
	if !waited {
		err = <-exited
	}
	wantExit1(t, err, p)
	log := p.log()
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`, "serving on 127.0.0.1:", "invalid argument"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s:\n%s", want, log)
		}
	}
	if records := listExecutions(t, bin, data); len(records) != 1 || records[0].Pipeline != "slow" || records[0].Status != "ok" {
		t.Errorf("the execution in flight is not in the history as it ended: %+v", records)
	}
}

// serveSlowRequest starts nectar serve with the slow pipeline, whose
// upstream holds its answer, and a request to it, and waits until the
// execution is held there.
func serveSlowRequest(t *testing.T) (bin, data string, up *heldUpstream, p *serveProc, answered <-chan answer) {
	bin = buildNectar(t)
	up = holdUpstream(t)
	dir := t.TempDir()
	data = t.TempDir()
	os.WriteFile(filepath.Join(dir, "slow.yaml"), []byte(strings.Replace(listenerSlow, `upstream: ""`, `upstream: "`+up.url+`"`, 1)), 0o600)
	p = startServe(t, bin, dir, data)
	answered = postInBackground(p.base + "/slow")
	up.waitStarted(t, p)
	return bin, data, up, p, answered
}

// heldUpstream is an upstream API whose answers ({"done":true}) wait until
// the test releases them; started receives a value per request it holds.
type heldUpstream struct {
	url      string
	started  chan struct{}
	release  func()
	released chan struct{}
}

// holdUpstream starts a heldUpstream, released (if the test did not) and
// closed at the test's end.
func holdUpstream(t *testing.T) *heldUpstream {
	u := &heldUpstream{started: make(chan struct{}, 64), released: make(chan struct{})}
	var once sync.Once
	u.release = func() { once.Do(func() { close(u.released) }) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.started <- struct{}{}
		<-u.released
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"done":true}`)
	}))
	u.url = srv.URL
	t.Cleanup(srv.Close)
	t.Cleanup(u.release) // runs first: the held handlers return before the server closes
	return u
}

// waitStarted waits until the upstream holds a request.
func (u *heldUpstream) waitStarted(t *testing.T, p *serveProc) {
	t.Helper()
	select {
	case <-u.started:
	case <-time.After(30 * time.Second): // a bound on a hang
		t.Fatalf("no execution reached the upstream:\n%s", p.log())
	}
}

// answer is what a client got for its request.
type answer struct {
	status int
	body   string
	err    error
}

// postInBackground POSTs {} to url and delivers the answer.
func postInBackground(url string) <-chan answer {
	answered := make(chan answer, 1)
	go func() {
		resp, err := http.Post(url, "application/json", strings.NewReader(`{}`))
		if err != nil {
			answered <- answer{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- answer{resp.StatusCode, string(b), err}
	}()
	return answered
}

// waitShuttingDown waits until the server logs its shutdown, failing the
// test if it exits first.
func waitShuttingDown(t *testing.T, p *serveProc, exited <-chan error) {
	t.Helper()
	deadline := time.After(30 * time.Second) // a bound on a hang
	for !strings.Contains(p.log(), `"msg":"shutting down"`) {
		select {
		case err := <-exited:
			t.Fatalf("exited (%v) before what was running ended:\n%s", err, p.log())
		case <-deadline:
			t.Fatalf("no shutdown after the listener failed:\n%s", p.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// wantExit1 fails the test unless err is an exit with status 1 (the
// listener failed).
func wantExit1(t *testing.T, err error, p *serveProc) {
	t.Helper()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want exit status 1 (the listener failed)\n%s", err, p.log())
	}
}

// execution is a line of nectar executions list --json.
type execution struct{ Pipeline, Status string }

// listExecutions reads the history of the data directory with nectar
// executions list --json.
func listExecutions(t *testing.T, bin, data string) []execution {
	t.Helper()
	out, err := exec.Command(bin, "--data-dir", data, "executions", "list", "--json").Output()
	var records []execution
	if jerr := json.Unmarshal(out, &records); jerr != nil {
		t.Fatalf("nectar executions list --json: %v %v\n%s", err, jerr, out)
	}
	return records
}

// shutDownListener shuts down, from outside the process, the listening TCP
// socket of process pid that serves base: it finds the socket's descriptor
// by its inode (/proc/PID/net/tcp, /proc/PID/fd), takes a duplicate with
// pidfd_getfd and shuts it down, so the process's accept fails (EINVAL).
func shutDownListener(t *testing.T, pid int, base string) {
	t.Helper()
	_, portText, _ := strings.Cut(strings.TrimPrefix(base, "http://"), ":")
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inode := ""
	local := fmt.Sprintf("0100007F:%04X", port)
	for s := bufio.NewScanner(f); s.Scan(); {
		fields := strings.Fields(s.Text())
		if len(fields) > 9 && fields[1] == local && fields[3] == "0A" { // 0A: LISTEN
			inode = fields[9]
		}
	}
	if inode == "" {
		t.Fatalf("no listening socket on %s in /proc/%d/net/tcp", local, pid)
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	target := -1
	for _, e := range entries {
		if link, _ := os.Readlink(filepath.Join(fdDir, e.Name())); link == "socket:["+inode+"]" {
			target, _ = strconv.Atoi(e.Name())
		}
	}
	if target < 0 {
		t.Fatalf("no descriptor of socket %s in %s", inode, fdDir)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Skipf("pidfd_open: %v", err)
	}
	defer unix.Close(pidfd)
	fd, err := unix.PidfdGetfd(pidfd, target, 0)
	if err != nil {
		t.Skipf("pidfd_getfd: %v", err)
	}
	defer unix.Close(fd)
	if err := unix.Shutdown(fd, unix.SHUT_RDWR); err != nil {
		t.Fatalf("shutdown of the listening socket: %v", err)
	}
}
