package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildNectar builds the nectar binary once per test run.
func buildNectar(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "nectar")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serveProc is a running `nectar serve`.
type serveProc struct {
	cmd  *exec.Cmd
	base string
	logs *strings.Builder
	mu   sync.Mutex
}

// startServe starts nectar serve on a free port and waits until /readyz
// answers 200 (the address comes from serve.json in the data directory).
func startServe(t *testing.T, bin, dir, dataDir string, env ...string) *serveProc {
	t.Helper()
	os.Remove(filepath.Join(dataDir, "serve.json"))
	cmd := exec.Command(bin, "serve", "--dir", dir, "--data-dir", dataDir, "--addr", "127.0.0.1:0", "--reload-interval", "0")
	cmd.Env = append(os.Environ(), env...)
	// Stderr is a writer, not a pipe read by a goroutine of ours: Wait
	// returns only once everything the process wrote has been handed to
	// it, so a test that reads p.log() after Wait sees the last lines.
	p := &serveProc{cmd: cmd, logs: &strings.Builder{}}
	addr := make(chan string, 1)
	cmd.Stderr = &lineWriter{line: func(line string) { p.note(line, addr) }}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	select {
	case a := <-addr:
		p.base = "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatalf("nectar serve did not start:\n%s", p.log())
	}
	return p
}

// lineWriter hands each complete line written to it to line.
type lineWriter struct {
	partial []byte
	line    func(string)
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		w.line(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
}

// note keeps a line of the server's log and sends the address it serves on
// to addr when the line says so.
func (p *serveProc) note(line string, addr chan<- string) {
	p.mu.Lock()
	p.logs.WriteString(line + "\n")
	p.mu.Unlock()
	var l struct {
		Msg  string `json:"msg"`
		Addr string `json:"addr"`
	}
	if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "nectar serving" {
		select {
		case addr <- l.Addr:
		default:
		}
	}
}

func (p *serveProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

const itemsPipelines = `
name: put-item
trigger:
  http: {path: /items, methods: [POST]}
steps:
  - object-store: {operation: insert, collection: items, id: "{{ message.id }}", document: "{{ message }}"}
  - set: {stored: "{{ message.data[0]._oId }}"}
`

const getItem = `
name: get-item
trigger:
  http: {path: "/items/{id}", methods: [GET]}
steps:
  - object-store: {operation: get, collection: items, id: "{{ metadata.request.params.id }}"}
`

// TestServeSurvivesKill sends inserts through an HTTP pipeline from several
// clients, kills the server with SIGKILL in the middle, restarts it, and
// checks that every insert it acknowledged is there.
func TestServeSurvivesKill(t *testing.T) {
	bin := buildNectar(t)
	dir, data := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(dir, "put.yaml"), []byte(itemsPipelines), 0o600)
	os.WriteFile(filepath.Join(dir, "get.yaml"), []byte(getItem), 0o600)
	p := startServe(t, bin, dir, data)

	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	enough := make(chan struct{})
	var once sync.Once
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				resp, err := client.Post(p.base+"/items", "application/json", strings.NewReader(`{"id":"`+id+`","n":`+fmt.Sprint(i)+`}`))
				if err != nil {
					return // the server is gone
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					if strings.Contains(string(b), id) || resp.StatusCode >= 500 {
						continue
					}
					t.Errorf("insert %s: %d %s", id, resp.StatusCode, b)
					return
				}
				if !strings.Contains(string(b), `"stored":"`+id+`"`) {
					t.Errorf("insert %s: %s", id, b)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				if len(acked) >= 300 {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(120 * time.Second):
		t.Fatalf("inserts did not get going:\n%s", p.log())
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	wg.Wait()
	mu.Lock()
	ids := append([]string(nil), acked...)
	mu.Unlock()
	t.Logf("%d inserts acknowledged before SIGKILL", len(ids))

	p2 := startServe(t, bin, dir, data)
	for _, id := range ids {
		resp, err := client.Get(p2.base + "/items/" + id)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"id":"`+id+`"`) {
			t.Fatalf("acknowledged insert %s lost after SIGKILL: %d %s", id, resp.StatusCode, b)
		}
	}
	// The restarted server shuts down cleanly on SIGTERM.
	p2.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p2.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p2.log())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if !strings.Contains(p2.log(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", p2.log())
	}
}

// TestExecutionsWhileServing reads the history through the running server
// (the store file is locked by it).
func TestExecutionsWhileServing(t *testing.T) {
	bin := buildNectar(t)
	dir, data := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.yaml"), []byte("name: hello\ntrigger:\n  http: {path: /hello}\nsteps:\n  - set: {hi: there}\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("name: bad\ntrigger:\n  http: {path: /bad}\nsteps:\n  - throw: {status: 409, error: nope}\n"), 0o600)
	p := startServe(t, bin, dir, data)
	for _, path := range []string{"/hello", "/bad", "/hello"} {
		resp, err := http.Post(p.base+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, append([]string{"--data-dir", data}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("nectar %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("executions", "list", "--status", "failed")
	if !strings.Contains(out, "bad") || strings.Contains(out, "hello") {
		t.Fatalf("executions list --status failed:\n%s", out)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	show := run("executions", "show", id)
	if !strings.Contains(show, `"code": 409`) || !strings.Contains(show, `"error": "nope"`) && !strings.Contains(show, `nope`) {
		t.Fatalf("executions show:\n%s", show)
	}
	if out := run("consumers", "create", "shop", "--pipelines", "hello", "--key"); !strings.Contains(out, "nk_") {
		t.Fatalf("consumers create:\n%s", out)
	}
	if out := run("consumers", "list"); !strings.Contains(out, "shop") {
		t.Fatalf("consumers list:\n%s", out)
	}
}
