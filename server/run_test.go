package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/server"
)

// TestAPIRun: POST /api/run runs a pipeline sent as source, or a served
// one by name, in the server, records it with trigger "run", and answers
// output, error object or load errors; it needs the admin key, and a
// secret the runtime knows is masked in the error it returns.
func TestAPIRun(t *testing.T) {
	const leaked = "s3cr3t-value-known-to-the-runtime"
	e := start(t, map[string]string{"double.yaml": `name: double
steps:
  - set: {n: "{{ message.n * 2 }}", tenant: "{{ vars.tenant }}", region: "{{ globals.region }}"}
`}, nil)
	e.srv.Runtime().Secrets.Add(leaked)
	admin := map[string]string{"Authorization": "Bearer admin-key", "Content-Type": "application/json"}
	post := func(req server.RunRequest, hdr map[string]string) (int, string) {
		b, _ := json.Marshal(req)
		code, _, body := e.do(t, "POST", "/api/run", string(b), hdr)
		return code, body
	}
	var res server.RunResult

	if code, body := post(server.RunRequest{Pipeline: "double", Input: json.RawMessage(`{"n":21}`)}, map[string]string{"Content-Type": "application/json"}); code != 401 {
		t.Fatalf("without the admin key: %d %s", code, body)
	}
	code, body := post(server.RunRequest{Pipeline: "double", Input: json.RawMessage(`{"n":21}`), Vars: json.RawMessage(`{"tenant":"acme"}`)}, admin)
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || string(res.Output) != `{"n":42,"tenant":"acme","region":null}` {
		t.Fatalf("a served pipeline: %d %s", code, body)
	}
	if err := e.srv.History().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec, err := history.Get(context.Background(), e.st, res.ExecutionID)
	if err != nil || rec.Trigger != "run" || rec.Pipeline != "double" || rec.Status != "ok" {
		t.Fatalf("the run's record: %+v %v", rec, err)
	}

	src := "name: adhoc\nsteps:\n  - set: {region: \"{{ globals.region }}\"}\n  - throw: {status: 409, error: \"refused <{{ message.region }}> " + leaked + "\"}\n"
	code, body = post(server.RunRequest{Source: src, File: "/tmp/adhoc.yaml", Globals: json.RawMessage(`{"region":"eu"}`), Trace: true}, admin)
	res = server.RunResult{}
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || !strings.Contains(string(res.Error), `"code":409`) ||
		!strings.Contains(string(res.Error), "refused <eu> ***") || len(res.Trace) != 2 {
		t.Fatalf("a failing pipeline sent as source: %d %s", code, body)
	}
	if strings.Contains(body, leaked) {
		t.Fatalf("the answer shows a secret the runtime knows: %s", body)
	}

	code, body = post(server.RunRequest{Source: "name: bad\nsteps:\n  - nosuch: {}\n", File: "/tmp/bad.yaml"}, admin)
	if code != 400 || !strings.Contains(body, `"file":"/tmp/bad.yaml","line":3`) {
		t.Fatalf("a pipeline that does not load: %d %s", code, body)
	}
	for _, req := range []server.RunRequest{{}, {Pipeline: "double", Source: src}, {Pipeline: "double", Globals: json.RawMessage(`{"a":1}`)}, {Pipeline: "double", Vars: json.RawMessage(`[1]`)}} {
		if code, body := post(req, admin); code != 400 {
			t.Errorf("%+v: %d %s, want 400", req, code, body)
		}
	}
	if code, body := post(server.RunRequest{Pipeline: "nosuch"}, admin); code != 404 {
		t.Fatalf("an unknown pipeline: %d %s", code, body)
	}
}

// TestAPIRunTraceHoldsNoStepValues: the trace POST /api/run answers says
// what each step did, never what it received or returned (the history
// keeps those, masked): a secret a step returns into vars stays out of the
// answer.
func TestAPIRunTraceHoldsNoStepValues(t *testing.T) {
	const leaked = "s3cr3t-value-known-to-the-runtime"
	e := start(t, nil, func(o *server.Options) { o.History.Steps = true }) // the steps keep their values: none may leak
	e.srv.Runtime().Secrets.Add(leaked)
	src := "name: keeps\nsteps:\n  - set: \"" + leaked + "\"\n    to: vars.key\n  - set: {done: true}\n"
	b, _ := json.Marshal(server.RunRequest{Source: src, File: "/tmp/keeps.yaml", Input: json.RawMessage(`{"password":"hunter2-hunter2"}`), Trace: true})
	code, _, body := e.do(t, "POST", "/api/run", string(b), map[string]string{"Authorization": "Bearer admin-key", "Content-Type": "application/json"})
	var res server.RunResult
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || len(res.Trace) != 2 || string(res.Output) != `{"done":true}` {
		t.Fatalf("POST /api/run: %d %s", code, body)
	}
	if strings.Contains(body, leaked) || strings.Contains(body, "hunter2") {
		t.Fatalf("the trace shows a step's values: %s", body)
	}
}
