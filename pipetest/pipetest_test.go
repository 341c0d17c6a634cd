package pipetest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/pipetest"
)

// writeFiles writes name → content into a new temporary folder.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runDir loads every test file under dir and runs them.
func runDir(t testing.TB, dir string, opts pipetest.Options) *pipetest.Report {
	t.Helper()
	suites, err := pipetest.Load([]string{dir}, pipetest.LoadOptions{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() {
		for _, s := range suites {
			s.Close()
		}
	})
	return pipetest.Run(context.Background(), suites, opts)
}

// result returns the outcome of the case named name.
func result(t *testing.T, rep *pipetest.Report, name string) pipetest.Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Case == name {
			return r
		}
	}
	t.Fatalf("no case %q in the report", name)
	return pipetest.Result{}
}

func wantPass(t *testing.T, rep *pipetest.Report, names ...string) {
	t.Helper()
	for _, n := range names {
		if r := result(t, rep, n); !r.Passed {
			t.Errorf("case %q failed:\n%s", n, strings.Join(r.Failures, "\n"))
		}
	}
}

// wantFail checks that the case failed with a failure matching each
// pattern.
func wantFail(t *testing.T, rep *pipetest.Report, name string, patterns ...string) {
	t.Helper()
	r := result(t, rep, name)
	if r.Passed {
		t.Errorf("case %q passed, want it to fail", name)
		return
	}
	all := strings.Join(r.Failures, "\n")
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(all) {
			t.Errorf("case %q: no failure matches %q; failures:\n%s", name, p, all)
		}
	}
}

const orders = `name: orders
steps:
  - name: fetch customer
    rest:
      url: "https://crm.example.com/customers/{{ message.customer }}"
      stop_on_client_error: true
      stop_on_server_error: true
    to: vars.customer
  - name: price
    set:
      customer: "{{ vars.customer.body.name }}"
      total: "{{ message.qty * 10 }}"
  - name: big order
    if: message.total > 100
    log: {message: "big order for {{ message.customer }}"}
  - name: save
    rest:
      method: POST
      url: https://erp.example.com/orders
      body: "{{ message }}"
      stop_on_server_error: true
    retry: {attempts: 3, backoff: 10s}
    to: vars.saved
  - set:
      id: "{{ vars.saved.body.id }}"
      customer: "{{ message.customer }}"
`

func TestMocksAnswerInsteadOfConnectors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"orders.yaml": orders, "orders.test.yaml": `
mocks:
  - step: fetch customer
    result: {status: 200, body: {name: Ada}}
cases:
  - name: result
    input: {customer: c-1, qty: 20}
    mocks:
      - step: save
        result: {status: 201, body: {id: o-9}}
    expect:
      output: {id: o-9, customer: Ada}
      ran: [big order]
      calls:
        - {step: fetch customer, times: 1, with: [{customer: c-1}]}
        - {step: save, times: 1, with: [{customer: Ada, total: 200}]}
      logs: ["big order for Ada"]
      vars: {saved: {status: 201}}

  - name: a sequence with a retry (10s backoff, skipped under test)
    input: {customer: c-1, qty: 1}
    mocks:
      - step: save
        results:
          - error: {code: 503, error: busy}
          - result: {status: 201, body: {id: o-10}}
    expect:
      output_contains: {id: o-10}
      not_ran: [big order]
      calls: [{step: save, times: 2}]

  - name: an error
    input: {customer: c-1, qty: 1}
    mocks:
      - step: save
        error: {code: 409, error: duplicate order}
    expect:
      error: {code: 409, message: ^duplicate, step: save}

  - name: a delay trips the step's timeout
    input: {customer: c-1, qty: 1}
    mocks:
      - connector: rest
        match: message.total != nil
        delay: 1s
        result: {}
    expect:
      error: {code: 504}

  - name: by connector and match
    input: {customer: c-2, qty: 1}
    mocks:
      - connector: rest
        match: message.customer == "c-2" && message.total == nil
        result: {body: {name: Bob}}
      - connector: rest
        result: {body: {id: o-11}}
    expect:
      output: {id: o-11, customer: Bob}
`})
	// The step timeout of the delay case: a pipeline file of its own would
	// repeat orders; a 50ms timeout on save is added here instead.
	src := strings.Replace(orders, "    retry: {attempts: 3, backoff: 10s}\n", "    retry: {attempts: 3, backoff: 10s}\n    timeout: 50ms\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "orders.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := runDir(t, dir, pipetest.Options{})
	wantPass(t, rep, "result", "a sequence with a retry (10s backoff, skipped under test)", "an error", "a delay trips the step's timeout", "by connector and match")
}

func TestFailuresShowJSONPaths(t *testing.T) {
	dir := writeFiles(t, map[string]string{"orders.yaml": orders, "orders.test.yaml": `
mocks:
  - step: fetch customer
    result: {status: 200, body: {name: Ada}}
  - step: save
    result: {status: 201, body: {id: o-9}}
cases:
  - name: output
    input: {customer: c-1, qty: 1}
    expect:
      output: {id: o-8, customer: Ada, extra: [1]}
  - name: calls logs vars
    input: {customer: c-1, qty: 1}
    expect:
      calls: [{step: save, times: 2, with: [{total: 11}]}]
      ran: [big order]
      logs: ["big order"]
      vars: {customer: {body: {name: Bob}}}
  - name: error wanted
    input: {customer: c-1, qty: 1}
    expect:
      error: {code: 404}
`})
	rep := runDir(t, dir, pipetest.Options{})
	wantFail(t, rep, "output", `output: \$\.id: want "o-8", got "o-9"`, `output: \$\.extra: missing \(want \[1\]\)`)
	wantFail(t, rep, "calls logs vars",
		`step "save" ran 1 times, want 2`, `step "save" call 1: input \$\.total: want 11, got 10`,
		`step "big order" did not run`, `logs: no line matches "big order"`, `vars: vars\.customer\.body\.name: want "Bob", got "Ada"`)
	wantFail(t, rep, "error wanted", `want an error \(code 404\), but the run succeeded`)
	if rep.Failed != 3 || rep.Passed != 0 {
		t.Errorf("got %d passed, %d failed; want 0, 3", rep.Passed, rep.Failed)
	}
	var text bytes.Buffer
	rep.WriteText(&text, false)
	for _, want := range []string{"FAIL  orders/output", "orders.test.yaml:8", `output: $.id: want "o-8", got "o-9"`, "FAIL: 0 passed, 3 failed"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
}

// TestUnmockedCallsNeverLeaveTheMachine: a REST step that no mock answers
// fails the case naming the step, and no request reaches another machine;
// a loopback server the test started itself is reachable.
func TestUnmockedCallsNeverLeaveTheMachine(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"name":"Loopback"}`)
	}))
	defer srv.Close()
	// Any address that is not loopback is refused before it is dialled:
	// the proxy environment points at the loopback server, so a request
	// that went out would be counted there.
	t.Setenv("HTTPS_PROXY", srv.URL)
	t.Setenv("HTTP_PROXY", srv.URL)
	dir := writeFiles(t, map[string]string{"orders.yaml": orders, "orders.test.yaml": `
cases:
  - name: not mocked
    input: {customer: c-1, qty: 1}
    expect:
      output_contains: {customer: Ada}
  - name: on_error continue does not hide it
    pipeline: x
    input: {customer: c-1, qty: 1}
    expect:
      not_ran: [save]
`, "loop.yaml": `name: loop
steps:
  - name: local fake
    rest: {url: "` + srv.URL + `/c"}
    to: vars.c
  - name: remote
    rest: {url: "https://api.example.com/x"}
    on_error: continue
    to: vars.r
  - set: {name: "{{ vars.c.body.name }}"}
`, "loop.test.yaml": `
cases:
  - name: loopback reachable, remote refused even when continued
    expect:
      output: {name: Loopback}
`})
	// "pipeline: x" above is not a case option: the strict decoder says so.
	if _, err := pipetest.Load([]string{dir}, pipetest.LoadOptions{}); err == nil || !strings.Contains(err.Error(), `orders.test.yaml:8:5: cases[1].pipeline: unknown option; expected one of name, input`) {
		t.Fatalf("got %v, want the unknown option positioned", err)
	}
	os.WriteFile(filepath.Join(dir, "orders.test.yaml"), []byte(`
cases:
  - name: not mocked
    input: {customer: c-1, qty: 1}
    expect:
      output_contains: {customer: Ada}
`), 0o644)
	rep := runDir(t, dir, pipetest.Options{})
	wantFail(t, rep, "not mocked", `step "fetch customer" sends GET https://crm\.example\.com/customers/c-1, which no mock answers`)
	wantFail(t, rep, "loopback reachable, remote refused even when continued", `step "remote" sends GET https://api\.example\.com/x, which no mock answers`)
	if n := hits.Load(); n != 1 {
		t.Errorf("the loopback server got %d requests, want 1 (the local fake's; none through the proxy)", n)
	}
}

func TestHTTPResponseMocksCheckTheRequest(t *testing.T) {
	dir := writeFiles(t, map[string]string{"orders.yaml": orders, "orders.test.yaml": `
mocks:
  - step: fetch customer
    response: {status: 200, body: {name: Ada}}
cases:
  - name: the connector reads the response
    input: {customer: c-1, qty: 2}
    mocks:
      - step: save
        request:
          method: POST
          url: https://erp.example.com/orders
          headers: {Content-Type: application/json}
          body: {customer: Ada, total: 20}
        results:
          - response: {status: 503, body: busy}
          - response: {status: 201, body: {id: o-1}}
    expect:
      output: {id: o-1, customer: Ada}
  - name: a request that differs
    input: {customer: c-1, qty: 3}
    mocks:
      - step: save
        request: {method: PUT, url_matches: "/orders/[0-9]+$", body: {total: 20}}
        response: {status: 201, body: {id: o-1}}
    expect:
      output_contains: {id: o-1}
  - name: a 404 answer
    input: {customer: c-404, qty: 1}
    mocks:
      - step: fetch customer
        response: {status: 404, body: {error: no such customer}}
    expect:
      error: {code: 404, step: fetch customer}
`})
	rep := runDir(t, dir, pipetest.Options{})
	wantPass(t, rep, "the connector reads the response", "a 404 answer")
	wantFail(t, rep, "a request that differs", `step "save" request: method: want PUT, got POST`,
		`url: https://erp\.example\.com/orders does not match /orders/\[0-9\]\+\$`, `body: \$\.total: want 20, got 30`)
}

func TestPipelineStepsMockedOrReal(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"caller.yaml": `name: caller
steps:
  - name: call
    pipeline: {name: callee}
  - set: {got: "{{ message.v }}"}
`,
		"callee.yaml": `name: callee
steps:
  - name: lookup
    rest: {url: https://api.example.com/v}
  - set: {v: "{{ message.body }}"}
`,
		"tests/caller.yaml": `
cases:
  - name: the call mocked
    mocks: [{step: call, result: {v: mocked}}]
    expect: {output: {got: mocked}}
  - name: the callee real, its step mocked
    mocks: [{pipeline: callee, step: lookup, result: {body: real}}]
    expect:
      output: {got: real}
      calls: [{pipeline: callee, step: lookup, times: 1}]
`})
	rep := runDir(t, dir, pipetest.Options{Cover: true})
	wantPass(t, rep, "the call mocked", "the callee real, its step mocked")
	var names []string
	for _, p := range rep.Coverage.Pipelines {
		names = append(names, p.Pipeline)
	}
	if strings.Join(names, ",") != "callee,caller" {
		t.Errorf("coverage of %v, want callee and caller", names)
	}
}

// TestBadTestFilesArePositioned: each problem of a test file is reported
// at its place before anything runs.
func TestBadTestFilesArePositioned(t *testing.T) {
	pipeline := `name: p
steps:
  - name: check
    try:
      steps:
        - name: call
          rest: {url: https://api.example.com}
      catch:
        - log: {message: failed}
  - name: shape
    jq: {query: .}
`
	for _, tc := range []struct{ name, test, want string }{
		{"unknown step", "cases:\n  - name: a\n    mocks: [{step: cal, result: 1}]\n    expect: {output: 1}\n",
			`p.test.yaml:3:14: cases[0].mocks[0].step: no step "cal" in pipeline p (steps: call, check, log#3, shape)`},
		{"container step", "cases:\n  - name: a\n    mocks: [{step: check, result: 1}]\n    expect: {output: 1}\n",
			`p.test.yaml:3:14: cases[0].mocks[0].step: step "check" is a try step, whose nested steps run: mock those instead`},
		{"response of a jq step", "cases:\n  - name: a\n    mocks:\n      - step: shape\n        response: {status: 200}\n    expect: {output: 1}\n",
			`p.test.yaml:5:9: cases[0].mocks[0].response: response answers HTTP requests (rest, gdrive, onedrive steps); this is a jq step: answer with result`},
		{"request with result", "cases:\n  - name: a\n    mocks:\n      - step: call\n        request: {method: GET}\n        result: {}\n    expect: {output: 1}\n",
			`p.test.yaml:5:9: cases[0].mocks[0].request: request is checked when the step runs`},
		{"output and error", "cases:\n  - name: a\n    expect:\n      output: 1\n      error: {code: 500}\n",
			`p.test.yaml:5:7: cases[0].expect.error: a run that fails has no output`},
		{"nothing expected", "cases:\n  - name: a\n    expect: {}\n",
			`p.test.yaml:3:5: cases[0].expect: nothing expected`},
		{"ran and not ran", "cases:\n  - name: a\n    expect: {ran: [shape], not_ran: [shape]}\n",
			`p.test.yaml:3:20: cases[0].expect.ran[0]: step "shape" is in both ran and not_ran`},
		{"missing input file", "cases:\n  - name: a\n    input_file: nope.json\n    expect: {output: 1}\n",
			`p.test.yaml:3:5: cases[0].input_file: cannot read nope.json: no such file or directory`},
		{"bad match", "cases:\n  - name: a\n    mocks: [{connector: rest, match: 'message.(', result: 1}]\n    expect: {output: 1}\n",
			`p.test.yaml:3:`},
		{"unknown key", "cases:\n  - name: a\n    expects: {output: 1}\n",
			`p.test.yaml:3:5: cases[0].expects: unknown option; did you mean "expect"?`},
		{"duplicate case", "cases:\n  - name: a\n    expect: {output: 1}\n  - name: a\n    expect: {output: 1}\n",
			`p.test.yaml:4:5: cases[1].name: a case named "a" is already in this file`},
		{"unknown connector", "mocks: [{connector: soap, result: 1}]\ncases:\n  - name: a\n    expect: {output: 1}\n",
			`p.test.yaml:1:10: mocks[0].connector: no connector "soap"`},
		{"no answer", "cases:\n  - name: a\n    mocks: [{step: call}]\n    expect: {output: 1}\n",
			`p.test.yaml:3:13: cases[0].mocks[0]: a mock needs an answer`},
		{"yaml syntax", "cases:\n  - name: [a\n", `p.test.yaml:2:1: did not find expected ',' or ']'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"p.yaml": pipeline, "p.test.yaml": tc.test})
			_, err := pipetest.LoadFile(filepath.Join(dir, "p.test.yaml"), pipetest.LoadOptions{})
			if err == nil {
				t.Fatal("loaded, want an error")
			}
			got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			if !strings.Contains(got, tc.want) {
				t.Errorf("got\n%s\nwant it to contain\n%s", got, tc.want)
			}
		})
	}
}

func TestCoverage(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"route.yaml": `name: route
steps:
  - name: guard
    if: message.kind == nil
    throw: {status: 400, error: kind is required}
  - name: by kind
    choice:
      - when: message.kind == "a"
        steps:
          - name: kind a
            set: {route: a}
      - when: message.kind == "b"
        steps:
          - name: kind b
            set: {route: b}
      - otherwise:
          - name: other
            set: {route: other}
  - name: send
    try:
      steps:
        - name: post
          rest: {url: https://api.example.com}
          retry: {attempts: 2}
      catch:
        - name: fallback
          set: {route: failed}
`,
		"route.test.yaml": `
mocks: [{step: post, result: {ok: true}}]
cases:
  - name: a
    input: {kind: a}
    expect: {output: {ok: true}}
  - name: b
    input: {kind: b}
    expect: {output: {ok: true}}
`})
	rep := runDir(t, dir, pipetest.Options{Cover: true})
	wantPass(t, rep, "a", "b")
	c := rep.Coverage
	if len(c.Pipelines) != 1 {
		t.Fatalf("coverage of %d pipelines, want 1", len(c.Pipelines))
	}
	p := c.Pipelines[0]
	// Steps: guard, by kind, kind a, kind b, other, send, post, fallback.
	// Branches: guard's if, three arms, try steps, catch, post's retry.
	if p.Steps != 8 || p.StepsCovered != 5 || p.Branches != 7 || p.BranchesCovered != 4 {
		t.Errorf("got steps %d/%d branches %d/%d, want 5/8 and 4/7; missed %q", p.StepsCovered, p.Steps, p.BranchesCovered, p.Branches, p.Missed)
	}
	want := []string{
		"step guard (steps[0])",
		"branch steps[1].choice[2].otherwise", "step other (steps[1].choice[2].otherwise[0])",
		"retry: step post run again (steps[2].try.steps[0].retry)",
		"branch steps[2].try.catch", "step fallback (steps[2].try.catch[0])",
	}
	for _, w := range want {
		found := false
		for _, m := range p.Missed {
			found = found || m == w
		}
		if !found {
			t.Errorf("missed %q not reported; got %q", w, p.Missed)
		}
	}
	var table bytes.Buffer
	c.WriteTable(&table)
	if !strings.Contains(table.String(), "route           5/8        4/7   60.0%") {
		t.Errorf("table:\n%s", table.String())
	}
}

func TestJUnitAndJSONReports(t *testing.T) {
	dir := writeFiles(t, map[string]string{"orders.yaml": orders, "orders.test.yaml": `
mocks:
  - {step: fetch customer, result: {body: {name: Ada}}}
  - {step: save, result: {body: {id: o-1}}}
cases:
  - name: passes
    input: {qty: 1}
    expect: {output_contains: {id: o-1}}
  - name: fails
    input: {qty: 1}
    expect: {output_contains: {id: o-2}}
`})
	rep := runDir(t, dir, pipetest.Options{Run: regexp.MustCompile(`^orders/`)})
	var junit bytes.Buffer
	if err := rep.WriteJUnit(&junit); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(junit.Bytes(), &doc); err != nil {
		t.Fatalf("junit: %v\n%s", err, junit.String())
	}
	if doc.Tests != 2 || doc.Failures != 1 || len(doc.Suites) != 1 || doc.Suites[0].Cases[1].Failure == nil ||
		doc.Suites[0].Cases[1].Failure.Message != `output: $.id: want "o-2", got "o-1"` || doc.Suites[0].Cases[0].Failure != nil {
		t.Errorf("junit:\n%s", junit.String())
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back pipetest.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Failed != 1 || back.Results[1].Failures[0] != `output: $.id: want "o-2", got "o-1"` {
		t.Errorf("json (%v):\n%s", err, js.String())
	}
	if only := runDir(t, dir, pipetest.Options{Run: regexp.MustCompile(`/pass`)}); len(only.Results) != 1 {
		t.Errorf("--run /pass ran %d cases, want 1", len(only.Results))
	}
}

// TestMockOfAStepAtTheSamePlaceAsAnotherPipelinesTry: a library that holds
// other pipelines (nectar test's holds the shipped ones) must not make a
// plain step unmockable because another pipeline has a try at its place.
func TestMockOfAStepAtTheSamePlaceAsAnotherPipelinesTry(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"other/guarded.yaml": "name: guarded\nsteps:\n  - try:\n      steps: [{set: {a: 1}}]\n      catch: [{set: {a: 2}}]\n",
		"p.yaml":             "name: p\nsteps:\n  - name: fetch\n    rest: {url: https://api.example.com}\n",
		"p.test.yaml":        "cases:\n  - name: a\n    mocks: [{step: fetch, result: 1}]\n    expect: {output: 1}\n",
	})
	withOthers := func(opts engine.LoadOptions, dirs ...string) *engine.Library {
		lib := engine.NewLibrary(opts, dirs...)
		if err := lib.LoadDir(filepath.Join(dir, "other")); err != nil {
			t.Fatal(err)
		}
		return lib
	}
	s, err := pipetest.LoadFile(filepath.Join(dir, "p.test.yaml"), pipetest.LoadOptions{Library: withOthers})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r := pipetest.RunCase(context.Background(), s, s.Cases[0], pipetest.Options{}); !r.Passed {
		t.Errorf("failed: %q", r.Failures)
	}
}

// TestUnmockedKeySetFetchIsRefused: a jwt verify step whose account's
// JWKS URL is on another machine fetches it through the same guard as the
// HTTP connectors: the case fails naming the step, and nothing goes out
// (before, the key set was fetched with a client of its own, around the
// guard).
func TestUnmockedKeySetFetchIsRefused(t *testing.T) {
	var hits atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer proxy.Close()
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("NECTAR_JWT_GUARDED_PARTNER_JWKS_URL", "https://keys.example.com/jwks.json")
	dir := writeFiles(t, map[string]string{"check.yaml": `name: check
steps:
  - name: verify the token
    jwt:
      operation: verify
      account: guarded-partner
      algorithm: RS256
      token: "{{ message.token }}"
`, "check.test.yaml": `
cases:
  - name: a token signed by the partner
    input: {token: eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhIn0.c2ln}
    expect:
      output_contains: {verified: true}
`})
	rep := runDir(t, dir, pipetest.Options{})
	wantFail(t, rep, "a token signed by the partner", `step "verify the token" sends GET https://keys.example.com/jwks.json, which no mock answers`)
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests went out through the proxy", n)
	}
}
