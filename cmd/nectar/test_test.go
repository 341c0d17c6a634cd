package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/store/open"
)

// TestTestCommand runs nectar test as a user does: a failing case prints
// its differences as JSON paths and exits 1; --run selects cases; --junit
// writes a report; --cover-min fails under the bar; a broken test file is
// reported as file:line:col and exits 2 before anything runs.
func TestTestCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("quote.yaml", `name: quote
steps:
  - name: price list
    rest: {url: "https://prices.example.com/{{ message.sku }}"}
    to: vars.price
  - name: discount
    if: message.qty >= 10
    set: {rate: 0.9}
    to: vars.discount
  - set:
      sku: "{{ message.sku }}"
      total: "{{ message.qty * vars.price.body.amount * (vars.discount.rate ?? 1) }}"
`)
	write("quote.test.yaml", `
mocks:
  - step: price list
    result: {status: 200, body: {amount: 5}}
cases:
  - name: small order
    input: {sku: A-1, qty: 2}
    expect:
      output: {sku: A-1, total: 10}
  - name: large order
    input: {sku: A-1, qty: 10}
    expect:
      output: {sku: A-1, total: 50}
`)
	out, errOut, code := nectar(t, "", "test", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, w := range []string{"FAIL  quote/large order", "quote.test.yaml:10", "output: $.total: want 50, got 45.0", "FAIL: 1 passed, 1 failed"} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "small order") {
		t.Errorf("a passing case is listed without -v:\n%s", out)
	}

	junit := filepath.Join(dir, "report.xml")
	out, _, code = nectar(t, "", "test", dir, "--run", "small", "--junit", junit, "--cover", "--cover-min", "100")
	if code != 1 || !strings.Contains(out, "ok: 1 passed, 0 failed") || !strings.Contains(out, "not reached: step discount (steps[1])") {
		t.Errorf("exit %d, want 1 (coverage under 100%%); stdout:\n%s", code, out)
	}
	if data, err := os.ReadFile(junit); err != nil || !strings.Contains(string(data), `<testcase name="small order" classname="quote"`) {
		t.Errorf("junit report (%v):\n%s", err, data)
	}
	out, _, code = nectar(t, "", "test", dir, "--run", "small", "--json")
	if code != 0 || !strings.Contains(out, `"passed": 1`) {
		t.Errorf("--json: exit %d:\n%s", code, out)
	}

	write("quote.test.yaml", "cases:\n  - name: a\n    mocks: [{step: price, result: 1}]\n    expect: {output: 1}\n")
	_, errOut, code = nectar(t, "", "test", dir)
	if code != 2 || !strings.Contains(errOut, `quote.test.yaml:3:14: cases[0].mocks[0].step: no step "price" in pipeline quote`) {
		t.Errorf("exit %d, want 2 with the problem positioned; stderr:\n%s", code, errOut)
	}
}

// TestTestRecord: nectar test record turns an execution that nectar serve
// recorded (with the history's exchanges kept) into a test file that
// nectar test then runs, offline.
func TestTestRecord(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"amount":7}`)
	}))
	dir, dataDir := t.TempDir(), t.TempDir()
	pipelineFile := filepath.Join(dir, "price.yaml")
	os.WriteFile(pipelineFile, []byte(`name: price
steps:
  - name: price list
    rest: {url: "`+api.URL+`/items/{{ message.sku }}"}
    to: vars.price
  - set: {sku: "{{ message.sku }}", total: "{{ message.qty * vars.price.body.amount }}"}
`), 0o644)
	p, err := engine.LoadFile(pipelineFile, engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, _, err := open.Open(ctx, dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	hist, err := history.New(ctx, st, history.Options{Exchanges: true})
	if err != nil {
		t.Fatal(err)
	}
	in := value.ObjectOf("sku", "A-1", "qty", int64(3))
	tr := &engine.Trace{KeepResult: history.KeepResult}
	id := history.NewID(time.Now())
	start := time.Now()
	out, err := p.Run(ctx, &engine.Runtime{}, in, engine.RunOptions{ExecutionID: id, Trace: tr})
	if err != nil {
		t.Fatal(err)
	}
	hist.Record(&history.Execution{ID: id, Pipeline: p, Trigger: "http", Start: start, End: time.Now(), Input: in, Output: out, Trace: tr})
	if err := hist.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	api.Close()

	testFile := filepath.Join(dir, "price.replay.test.yaml")
	if _, errOut, code := nectar(t, "", "--data-dir", dataDir, "test", "record", id, "-o", testFile); code != 0 {
		t.Fatalf("record: exit %d: %s", code, errOut)
	}
	out2, errOut, code := nectar(t, "", "test", testFile, "-v")
	if code != 0 || !strings.Contains(out2, "ok    price/execution "+id) {
		t.Errorf("the replay: exit %d\n%s%s", code, out2, errOut)
	}
	if _, errOut, code := nectar(t, "", "--data-dir", dataDir, "test", "record", "0000", "-o", testFile); code == 0 {
		t.Errorf("recording over an existing file, or an unknown id, succeeded: %s", errOut)
	}
}

// TestReplayFromServe is replay as a user meets it: nectar serve
// --history-exchanges records an execution of a pipeline calling an API;
// the management API serves it as a test case, and nectar test record
// (through the running server) writes the same case; with the API gone,
// nectar test passes offline. Without --history-exchanges the record holds
// no answers, so the case cannot be made.
func TestReplayFromServe(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"amount":7}`)
	}))
	defer api.Close()
	const adminKey = "replay-admin-key-0123456789abcdef"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "price.yaml"), []byte(`name: price
trigger:
  http: {path: /price, methods: [POST]}
steps:
  - name: price list
    rest: {url: "`+api.URL+`/items/{{ message.sku }}"}
    to: vars.price
  - set: {sku: "{{ message.sku }}", total: "{{ message.qty * vars.price.body.amount }}"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, exchanges := range []bool{false, true} {
		dataDir := t.TempDir()
		var args []string
		if exchanges {
			args = []string{"--history-exchanges"}
		}
		base, logs := serveBinaryArgs(t, dir, dataDir, args, "NECTAR_ADMIN_KEY="+adminKey)
		res, err := http.Post(base+"/price", "application/json", strings.NewReader(`{"sku":"A-1","qty":3}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		id := res.Header.Get("X-Execution-Id")
		if res.StatusCode != 200 || !strings.Contains(string(body), `"total":21`) || id == "" {
			t.Fatalf("POST /price: %d %s (id %q)\n%s", res.StatusCode, body, id, logs())
		}
		req, _ := http.NewRequest("GET", base+"/api/executions/"+id+"/test", nil)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		apiCase, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !exchanges {
			if res.StatusCode != http.StatusConflict {
				t.Errorf("without --history-exchanges: GET …/test answered %d %s, want 409 (no answers to replay)", res.StatusCode, apiCase)
			}
			continue
		}
		if res.StatusCode != 200 || !strings.Contains(string(apiCase), "price list") {
			t.Fatalf("GET /api/executions/%s/test: %d\n%s", id, res.StatusCode, apiCase)
		}
		testFile := filepath.Join(dir, "price.replay.test.yaml")
		t.Setenv("NECTAR_ADMIN_KEY", adminKey)
		if _, errOut, code := nectar(t, "", "--data-dir", dataDir, "test", "record", id, "-o", testFile); code != 0 {
			t.Fatalf("nectar test record through serve: exit %d: %s", code, errOut)
		}
		written, _ := os.ReadFile(testFile)
		if !strings.HasSuffix(string(written), string(apiCase)) { // the file adds the pipeline's name
			t.Errorf("nectar test record wrote\n%s\nthe API served\n%s", written, apiCase)
		}
		api.Close()
		out, errOut, code := nectar(t, "", "test", testFile, "-v")
		if code != 0 || !strings.Contains(out, "ok    price/execution "+id) {
			t.Errorf("the replay offline: exit %d\n%s%s", code, out, errOut)
		}
	}
}

// TestValidateChecksTestFiles: nectar validate reports a test file's
// problem as file:line:col like a pipeline's, by folder and by name, and
// says ok for a good one (before, a folder's test files were skipped and a
// test file given by name was loaded as a pipeline).
func TestValidateChecksTestFiles(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "greet", "greet.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "greet.yaml"), src, 0o644)
	bad := filepath.Join(dir, "greet.test.yaml")
	os.WriteFile(bad, []byte("cases:\n  - name: x\n    input: {}\n    expect:\n      not_ran: [no such step]\n"), 0o644)
	for _, arg := range []string{dir, bad} {
		out, errOut, code := nectar(t, "", "validate", arg)
		if code != 2 || !strings.Contains(errOut, bad+`:5:17: cases[0].expect.not_ran[0]: no step "no such step" in pipeline greet`) {
			t.Errorf("validate %s: exit %d\n%s%s", arg, code, out, errOut)
		}
	}
	os.WriteFile(bad, []byte("cases:\n  - name: x\n    input: {}\n    expect:\n      ran: [build reply]\n"), 0o644)
	out, errOut, code := nectar(t, "", "validate", dir)
	if code != 0 || !strings.Contains(out, bad+": ok (tests of greet, 1 cases)") {
		t.Errorf("validate a good test file: exit %d\n%s%s", code, out, errOut)
	}
}

// TestServeHistorySteps: nectar serve keeps each step's masked input and
// the log lines in the record only with --history-steps (off by default,
// for its cost).
func TestServeHistorySteps(t *testing.T) {
	const adminKey = "steps-admin-key-0123456789abcdef"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "signup.yaml"), []byte(`name: signup
trigger:
  http: {path: /signup, methods: [POST]}
steps:
  - name: note
    log: {message: "signing up {{ message.user }}"}
  - set: {user: "{{ message.user }}"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, steps := range []bool{false, true} {
		var args []string
		if steps {
			args = []string{"--history-steps"}
		}
		base, logs := serveBinaryArgs(t, dir, t.TempDir(), args, "NECTAR_ADMIN_KEY="+adminKey)
		res, err := http.Post(base+"/signup", "application/json", strings.NewReader(`{"user":"ada","password":"hunter2-secret"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		id := res.Header.Get("X-Execution-Id")
		req, _ := http.NewRequest("GET", base+"/api/executions/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		rec := string(body)
		hasLog := strings.Contains(rec, "signing up ada")
		if res.StatusCode != 200 || hasLog != steps || strings.Contains(rec, "hunter2-secret") {
			t.Errorf("--history-steps %v: %d, log line kept %v\n%s\n%s", steps, res.StatusCode, hasLog, rec, logs())
		}
	}
}
