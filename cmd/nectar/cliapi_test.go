package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts/accountstest"
	"github.com/nectar-run/nectar/secret"
)

// servedBinary builds the nectar binary (the build cache makes it quick
// after the first time).
func servedBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "nectar")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serveBinary starts `nectar serve` (the real binary) on a free port with a
// bbolt store in dataDir, and returns its base URL once it serves.
func serveBinary(t *testing.T, dir, dataDir string, env ...string) (base string, logs func() string) {
	t.Helper()
	return serveBinaryArgs(t, dir, dataDir, nil, env...)
}

// serveBinaryArgs is serveBinary with more serve flags.
func serveBinaryArgs(t *testing.T, dir, dataDir string, args []string, env ...string) (base string, logs func() string) {
	t.Helper()
	bin := servedBinary(t)
	cmd := exec.Command(bin, append([]string{"serve", "--dir", dir, "--data-dir", dataDir, "--addr", "127.0.0.1:0", "--reload-interval", "0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var buf strings.Builder
	logs = func() string { mu.Lock(); defer mu.Unlock(); return buf.String() }
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			buf.WriteString(sc.Text() + "\n")
			mu.Unlock()
			var l struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "nectar serving" {
				addr <- l.Addr
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	select {
	case a := <-addr:
		return "http://" + a, logs
	case <-time.After(60 * time.Second):
		t.Fatalf("nectar serve did not start:\n%s", logs())
	}
	return "", nil
}

// TestCLIThroughServe: with nectar serve running on a bbolt data directory,
// the store commands go through it (issue #13 item 4): before, each failed
// with "database file is in use by another process". Accounts created by
// the CLI are the server's; nectar run runs there, with the account, and
// its execution is in the history; object-store steps of a run write the
// server's store; another data directory is its own world; rotate-key
// refuses; no secret is printed.
func TestCLIThroughServe(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	t.Setenv("NECTAR_ADMIN_KEY", "")
	os.Unsetenv("NECTAR_ADMIN_KEY")
	fake := accountstest.New(t)
	root := t.TempDir()
	dataA, dataB, dir := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "pipelines")
	os.MkdirAll(dir, 0o700)
	secretFile := filepath.Join(root, "secret.txt")
	os.WriteFile(secretFile, []byte(accountstest.ClientSecret+"\n"), 0o600)
	// Served: reads what a run's object-store step wrote.
	os.WriteFile(filepath.Join(dir, "get.yaml"), []byte(`name: get-note
trigger:
  http: {path: "/notes/{id}", methods: [GET]}
steps:
  - object-store: {operation: get, collection: notes, id: "{{ metadata.request.params.id }}"}
`), 0o600)
	call := filepath.Join(root, "call.yaml")
	os.WriteFile(call, []byte(`name: call-crm
steps:
  - rest: {url: "`+fake.URL+`/api/files", account: crm, stop_on_client_error: true}
  - object-store: {operation: insert, collection: notes, id: "{{ vars.note }}", document: {ok: "{{ message.body.ok }}"}}
`), 0o600)
	base, logs := serveBinary(t, dir, dataA)

	var outputs []string
	run := func(wantCode int, stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := nectar(t, stdin, args...)
		outputs = append(outputs, out, errOut)
		if code != wantCode {
			t.Fatalf("nectar %s: exit %d, want %d\n%s%s\nserver:\n%s", strings.Join(args, " "), code, wantCode, out, errOut, logs())
		}
		return out + errOut
	}
	a, b := "--data-dir="+dataA, "--data-dir="+dataB

	run(0, "", a, "accounts", "create", "crm", "--type", "oauth2-client-credentials", "--token-url", fake.URL+"/token",
		"--client-id", accountstest.ClientID, "--client-secret-file", secretFile, "--base-url", fake.URL,
		"--test-url", "/api/me", "--token-request-header", "X-Key=hdr-secret-3")
	if out := run(0, "", a, "accounts", "list"); !strings.Contains(out, "crm") || !strings.Contains(out, "oauth2-client-credentials") {
		t.Fatalf("accounts list through the server:\n%s", out)
	}
	if out := run(0, "", a, "accounts", "show", "crm"); !strings.Contains(out, "client_secret: '***'") || !strings.Contains(out, "credentials_go_to: http://"+hostOf(fake.URL)) {
		t.Fatalf("accounts show through the server:\n%s", out)
	}
	if out := run(0, "", a, "accounts", "test", "crm"); !strings.Contains(out, "account crm works") {
		t.Fatalf("accounts test through the server:\n%s", out)
	}
	run(0, "", a, "providers", "add", "fake", "--auth-url", fake.URL+"/authorize", "--token-url", fake.URL+"/token")
	if out := run(0, "", a, "providers", "list"); !strings.Contains(out, "fake") || !strings.Contains(out, "custom") {
		t.Fatalf("providers list through the server:\n%s", out)
	}

	// nectar run: on the server, with its account and its object store.
	out := run(0, "{}", a, "run", call, "--var", "note=n-1")
	if !strings.Contains(out, `"_oId"`) && !strings.Contains(out, "n-1") {
		t.Fatalf("run through the server:\n%s", out)
	}
	if fake.TokenRequests() == 0 || fake.APIRequests() < 2 {
		t.Fatalf("the run did not call the API with the account: %d token requests, %d API requests", fake.TokenRequests(), fake.APIRequests())
	}
	resp, err := http.Get(base + "/notes/n-1")
	if err != nil {
		t.Fatal(err)
	}
	note, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(note), `"ok":true`) {
		t.Fatalf("the served pipeline does not see what the run stored: %d %s", resp.StatusCode, note)
	}
	if out := run(0, "", a, "executions", "list", "--trigger", "run"); !strings.Contains(out, "call-crm") || !strings.Contains(out, "ok") {
		t.Fatalf("the run is not in the server's history:\n%s", out)
	}
	// A failing run: the error object and exit 1, as a local run.
	if out := run(1, `{}`, a, "run", call); !strings.Contains(out, `"error":`) {
		t.Fatalf("a failing run through the server:\n%s", out)
	}
	// A pipeline that does not load: file:line:col, exit 2.
	bad := filepath.Join(root, "bad.yaml")
	os.WriteFile(bad, []byte("name: bad\nsteps:\n  - nosuch: {}\n"), 0o600)
	if out := run(2, "{}", a, "run", bad); !strings.Contains(out, bad+":3:") {
		t.Fatalf("a pipeline that does not load, through the server:\n%s", out)
	}

	// Another data directory: its own store, nothing mixed.
	if out := run(0, "", b, "accounts", "list"); strings.Contains(out, "crm") {
		t.Fatalf("the other data directory lists the server's account:\n%s", out)
	}
	run(0, "", b, "accounts", "create", "local", "--type", "bearer", "--token-file", secretFile, "--base-url", fake.URL)
	if out := run(0, "", a, "accounts", "list"); strings.Contains(out, "local") {
		t.Fatalf("the server lists the other data directory's account:\n%s", out)
	}
	if out := run(0, "", b, "executions", "list"); strings.Contains(out, "call-crm") {
		t.Fatalf("the other data directory lists the server's executions:\n%s", out)
	}

	// A serve.json left by a killed server, whose address another
	// server (A) took since: the commands use their own store.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	info, _ := os.ReadFile(filepath.Join(dataA, "serve.json"))
	var si map[string]any
	json.Unmarshal(info, &si)
	si["pid"] = dead.Process.Pid
	stale, _ := json.Marshal(si)
	os.WriteFile(filepath.Join(dataB, "serve.json"), stale, 0o600)
	if out := run(0, "", b, "accounts", "list"); strings.Contains(out, "crm") || !strings.Contains(out, "local") {
		t.Fatalf("with a stale serve.json naming another server's address:\n%s", out)
	}

	// Import, and delete.
	file := filepath.Join(root, "accounts.yaml")
	os.WriteFile(file, []byte("accounts:\n  - name: imported\n    type: bearer\n    token: ${file:secret.txt}\n    base_url: "+fake.URL+"\n"), 0o600)
	if out := run(0, "", a, "accounts", "import", file); !strings.Contains(out, "imported 0 providers and 1 accounts: imported") {
		t.Fatalf("import through the server:\n%s", out)
	}
	run(0, "", a, "accounts", "delete", "imported")
	if out := run(1, "", a, "accounts", "show", "imported"); !strings.Contains(out, "unknown account") {
		t.Fatalf("show of a deleted account:\n%s", out)
	}

	// What needs the store to itself says to stop the server.
	if out := run(1, "", a, "accounts", "rotate-key"); !strings.Contains(out, "stop it") {
		t.Fatalf("rotate-key while serving:\n%s", out)
	}

	// A wrong admin key is named as such.
	t.Setenv("NECTAR_ADMIN_KEY", "nka_wrong")
	if out := run(1, "", a, "accounts", "list"); !strings.Contains(out, "refused the admin key") {
		t.Fatalf("wrong admin key:\n%s", out)
	}
	os.Unsetenv("NECTAR_ADMIN_KEY")

	noSecretIn(t, dataA, outputs, append(fake.IssuedSecrets(), accountstest.ClientSecret, "hdr-secret-3")...)
}

// TestAuthorizeThroughServe: accounts authorize while nectar serve holds
// the data directory runs the consent flow in the server (its loopback
// callback), prints the consent URL, and waits for the outcome; the tokens
// are the server's, and a run uses them.
func TestAuthorizeThroughServe(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	t.Setenv("NECTAR_ADMIN_KEY", "")
	os.Unsetenv("NECTAR_ADMIN_KEY")
	fake := accountstest.New(t)
	root := t.TempDir()
	data := filepath.Join(root, "data")
	secretFile := filepath.Join(root, "secret.txt")
	os.WriteFile(secretFile, []byte(accountstest.ClientSecret+"\n"), 0o600)
	_, logs := serveBinary(t, t.TempDir(), data)
	dd := "--data-dir=" + data
	for _, args := range [][]string{
		{"providers", "add", "fake", "--auth-url", fake.URL + "/authorize", "--token-url", fake.URL + "/token"},
		{"accounts", "create", "drive", "--type", "oauth2", "--provider", "fake", "--client-id", accountstest.ClientID,
			"--client-secret-file", secretFile, "--scope", "drive", "--allowed-host", hostOf(fake.URL)},
	} {
		if out, errOut, code := nectar(t, "", append([]string{dd}, args...)...); code != 0 {
			t.Fatalf("nectar %s: %d %s%s\n%s", strings.Join(args, " "), code, out, errOut, logs())
		}
	}
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var errOut bytes.Buffer
	go func() {
		done <- Main([]string{dd, "accounts", "authorize", "drive", "--timeout", "20s"}, strings.NewReader(""), pw, &errOut)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var transcript strings.Builder
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		transcript.WriteString(line + "\n")
		if strings.HasPrefix(line, fake.URL+"/authorize?") {
			resp, err := http.Get(line) // the browser
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	if code := <-done; code != 0 || !strings.Contains(transcript.String(), "authorized drive") {
		t.Fatalf("authorize through the server: exit %d\n%s%s\nserver:\n%s", code, transcript.String(), errOut.String(), logs())
	}
	pipeline := filepath.Join(root, "call.yaml")
	os.WriteFile(pipeline, []byte("name: call\nsteps:\n  - rest: {url: \""+fake.URL+"/api/files\", account: drive, stop_on_client_error: true}\n"), 0o600)
	out, errText, code := nectar(t, "{}", dd, "run", pipeline)
	if code != 0 || !strings.Contains(out, `"ok":true`) {
		t.Fatalf("run with the authorized account: exit %d\n%s%s", code, out, errText)
	}
	for _, s := range append(fake.IssuedSecrets(), accountstest.ClientSecret) {
		for _, o := range []string{transcript.String(), errOut.String(), out, errText} {
			if strings.Contains(o, s) {
				t.Errorf("output shows %q:\n%s", s, o)
			}
		}
	}
}
