package pipetest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/pipetest"
	"github.com/nectar-run/nectar/store/bolt"
)

// recordRun runs p once as the server does with a history that keeps
// exchanges (a real bbolt store), and returns the stored record.
func recordRun(t *testing.T, p *engine.Pipeline, lib *engine.Library, input string, exchanges bool) *history.Record {
	t.Helper()
	return recordWith(t, p, lib, input, history.Options{Exchanges: exchanges})
}

func recordWith(t *testing.T, p *engine.Pipeline, lib *engine.Library, input string, opts history.Options) *history.Record {
	t.Helper()
	st, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	rec, err := history.New(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close(ctx)
	in, err := value.DecodeString(input)
	if err != nil {
		t.Fatal(err)
	}
	tr := &engine.Trace{}
	if opts.Exchanges {
		tr.KeepResult = history.KeepResult
	}
	id := history.NewID(time.Now())
	start := time.Now()
	out, runErr := p.Run(ctx, &engine.Runtime{Pipelines: lib}, in, engine.RunOptions{ExecutionID: id, Trace: tr})
	e := &history.Execution{ID: id, Pipeline: p, Trigger: "http", Start: start, End: time.Now(), Input: in, Output: out, Trace: tr}
	if runErr != nil {
		e.Err = engine.AsError(runErr)
	}
	rec.Record(e)
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := history.Get(ctx, st, id)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestRecordReplaysAnExecution: an execution that called a REST API (a
// loopback server standing for a partner's) and another pipeline is
// recorded with exchanges kept; RecordCase turns it into a test case that
// passes with the API gone, its secrets still masked.
func TestRecordReplaysAnExecution(t *testing.T) {
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/c-404") {
			w.WriteHeader(404)
			io.WriteString(w, `{"error":"no such customer"}`)
			return
		}
		io.WriteString(w, `{"name":"Ada","tier":"gold","access_token":"tok-SECRET-123456"}`)
	}))
	dir := writeFiles(t, map[string]string{
		"enrich.yaml": `name: enrich
steps:
  - name: customer
    rest:
      url: "` + api.URL + `/customers/{{ message.id }}"
      stop_on_client_error: true
    to: vars.customer
  - name: discount
    pipeline: {name: discount}
    from: vars.customer.body
    to: vars.discount
  - set:
      id: "{{ message.id }}"
      name: "{{ vars.customer.body.name }}"
      token: "{{ vars.customer.body.access_token }}"
      rate: "{{ vars.discount.rate }}"
`,
		"discount.yaml": "name: discount\nsteps:\n  - set: {rate: \"{{ message.tier == 'gold' ? 0.2 : 0 }}\"}\n",
	})
	lib := engine.NewLibrary(engine.LoadOptions{}, dir)
	p, ok := lib.Pipeline("enrich")
	if !ok {
		t.Fatal("enrich does not load")
	}
	ok1 := recordRun(t, p, lib, `{"id":"c-1"}`, true)
	failed := recordRun(t, p, lib, `{"id":"c-404"}`, true)
	api.Close() // the replays must not need it

	for _, tc := range []struct {
		name string
		rec  *history.Record
		want []string
	}{
		{"ok", ok1, []string{`result: {"status":200,`, `"access_token":"***"`, `- step: "discount"`, `result: {"rate":0.2}`, `output: {"id":"c-1","name":"Ada","token":"***","rate":0.2}`}},
		{"failed", failed, []string{`error: {code: 404, error: "rest: GET`, `error: {code: 404, message: "^rest: GET`, `step: "customer"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, err := pipetest.RecordCase(tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(text), w) {
					t.Errorf("the case lacks %q:\n%s", w, text)
				}
			}
			if strings.Contains(string(text), "tok-SECRET") {
				t.Errorf("a secret reached the test case:\n%s", text)
			}
			file := filepath.Join(dir, "enrich.test.yaml")
			if err := os.WriteFile(file, text, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := pipetest.LoadFile(file, pipetest.LoadOptions{})
			if err != nil {
				t.Fatalf("the recorded case does not load: %v\n%s", err, text)
			}
			defer s.Close()
			if r := pipetest.RunCase(context.Background(), s, s.Cases[0], pipetest.Options{}); !r.Passed {
				t.Errorf("the replay fails:\n%s\n%s", strings.Join(r.Failures, "\n"), text)
			}
		})
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("the API got %d calls, want the 2 recorded ones", n)
	}

	// Without the option, the record keeps no answers: RecordCase says so.
	plain := recordRun(t, p, lib, `{"id":"c-1"}`, false)
	if _, err := pipetest.RecordCase(plain); err == nil || !strings.Contains(err.Error(), "exchanges option") {
		t.Errorf("got %v, want ErrNoExchanges", err)
	}
}

// TestRecordHandler serves the recorded case over HTTP, as the management
// API does, and answers an unknown id with a JSON 404.
func TestRecordHandler(t *testing.T) {
	dir := writeFiles(t, map[string]string{"p.yaml": "name: p\nsteps:\n  - name: call\n    pipeline: {name: q}\n", "q.yaml": "name: q\nsteps:\n  - set: {v: 1}\n"})
	lib := engine.NewLibrary(engine.LoadOptions{}, dir)
	p, _ := lib.Pipeline("p")
	rec := recordRun(t, p, lib, `{}`, true)
	mux := http.NewServeMux()
	mux.Handle("GET /api/executions/{id}/test", pipetest.RecordHandler(func(_ context.Context, id string) (*history.Record, error) {
		if id != rec.ID {
			return nil, history.ErrNotFound
		}
		return rec, nil
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct {
		id, want string
		code     int
	}{
		{rec.ID, `result: {"v":1}`, 200},
		{"nope", `"code":404`, 404},
	} {
		resp, err := http.Get(srv.URL + "/api/executions/" + tc.id + "/test")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s: %d %s, want %d with %q", tc.id, resp.StatusCode, body, tc.code, tc.want)
		}
	}
}

// TestRecordedAnswersAreCapped: an answer larger than the history's
// ExchangeBytes is cut when stored; the recorded case says to mock that
// step by hand instead of replaying a cut value.
func TestRecordedAnswersAreCapped(t *testing.T) {
	dir := writeFiles(t, map[string]string{"p.yaml": "name: p\nsteps:\n  - name: call\n    pipeline: {name: q}\n", "q.yaml": "name: q\nsteps:\n  - set: {v: \"0123456789012345678901234567890123456789\"}\n"})
	lib := engine.NewLibrary(engine.LoadOptions{}, dir)
	p, _ := lib.Pipeline("p")
	rec := recordWith(t, p, lib, `{}`, history.Options{Exchanges: true, ExchangeBytes: 16})
	if n := len(rec.Steps); n == 0 || rec.Steps[n-1].Step != "call" || !strings.HasSuffix(string(rec.Steps[n-1].Result), history.TruncatedMark+`"`) {
		t.Fatalf("the kept answer is not cut at 16 bytes: %+v", rec.Steps)
	}
	text, err := pipetest.RecordCase(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), `# Note: the answer of step "call" was larger than the history keeps`) || strings.Contains(string(text), "mocks:") {
		t.Errorf("the case:\n%s", text)
	}
}
