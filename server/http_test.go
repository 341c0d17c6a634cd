package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/servertest"
	"github.com/nectar-run/nectar/server"
)

// The http trigger's own tests (statuses, auth, rate limits, CORS) are in
// triggers/http; these are the host's: its history, metrics and API.

const failPipeline = `
name: fail
trigger:
  http: {path: /fail}
steps:
  - throw: {status: 422, error: "order {{ message.id }} is not valid"}
`

const echoPipeline = "name: echo\ntrigger:\n  http: {path: \"/customers/{id}\", methods: [GET, POST]}\nsteps:\n  - set: {id: \"{{ metadata.request.params.id }}\"}\n"

func TestHistoryRecordsAndMasks(t *testing.T) {
	e := start(t, map[string]string{"login.yaml": `
name: login
sensitive_fields: [ssn]
trigger:
  http: {path: /login}
steps:
  - set: {user: "{{ message.user }}", password: "{{ message.password }}", ssn: "{{ message.ssn }}"}
`, "fail.yaml": failPipeline, "outer.yaml": `
name: outer
trigger:
  http: {path: /outer}
steps:
  - pipeline: {name: login}
`}, nil)
	code, hdr, _ := e.do(t, "POST", "/login", `{"user":"ada","password":"hunter2","ssn":"123"}`, nil)
	if code != 200 {
		t.Fatal(code)
	}
	e.do(t, "POST", "/fail", `{"id":1}`, nil)
	ctx := context.Background()
	rec := e.record(t, hdr)
	b, _ := json.Marshal(rec)
	s := string(b)
	for _, leak := range []string{"hunter2", `"123"`} {
		if strings.Contains(s, leak) {
			t.Errorf("record leaks %s: %s", leak, s)
		}
	}
	if rec.Pipeline != "login" || rec.Trigger != "http" || rec.Status != "ok" || rec.Code != 200 || len(rec.Steps) != 1 || !strings.Contains(string(rec.Input), `"user":"ada"`) {
		t.Errorf("record %s", s)
	}
	failed, err := history.List(ctx, e.st, history.Filter{Status: "failed"})
	if err != nil || len(failed) != 1 || failed[0].Pipeline != "fail" || failed[0].Code != 422 {
		t.Fatalf("failed executions: %v %+v", err, failed)
	}
	// The management API shows the same, with the admin key only.
	if code, _, _ := e.do(t, "GET", "/api/executions", "", nil); code != 401 {
		t.Errorf("API without admin key: %d", code)
	}
	code, _, body := e.do(t, "GET", "/api/executions?pipeline=login", "", map[string]string{"Authorization": "Bearer admin-key"})
	if code != 200 || !strings.Contains(body, `"pipeline":"login"`) || strings.Contains(body, `"pipeline":"fail"`) {
		t.Errorf("API list: %d %s", code, body)
	}
	// A called pipeline's steps are recorded as its own.
	_, hdr, _ = e.do(t, "POST", "/outer", `{"user":"bob"}`, nil)
	rec = e.record(t, hdr)
	if len(rec.Steps) != 2 || rec.Steps[0].Pipeline != "login" || rec.Steps[0].Path != "steps[0]" || rec.Steps[0].Connector != "set" ||
		rec.Steps[1].Pipeline != "" || rec.Steps[1].Connector != "pipeline" {
		t.Errorf("steps of a call: %+v", rec.Steps)
	}
	// Recorded executions feed the step duration histograms, a called
	// pipeline's steps under its name.
	_, _, metrics := e.do(t, "GET", "/metrics", "", nil)
	for _, want := range []string{
		`nectar_step_duration_seconds_count{connector="set",pipeline="login"} 2`,
		`nectar_step_duration_seconds_count{connector="pipeline",pipeline="outer"} 1`,
		`nectar_step_duration_seconds_count{connector="throw",pipeline="fail"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestManagementAPI(t *testing.T) {
	e := start(t, map[string]string{"echo.yaml": echoPipeline}, nil)
	admin := map[string]string{"Authorization": "Bearer admin-key"}
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"healthz needs no key", "GET", "/healthz", "", 200, `"ok"`},
		{"readyz", "GET", "/readyz", "", 200, `"ready"`},
		{"metrics", "GET", "/metrics", "", 200, "nectar_executions_total"},
		{"pipelines list", "GET", "/api/pipelines", "", 200, `"name":"echo"`},
		{"pipeline show", "GET", "/api/pipelines/echo", "", 200, `"path":"/customers/{id}"`},
		{"unknown pipeline", "GET", "/api/pipelines/nope", "", 404, `"code":404`},
		{"validate a good file", "POST", "/api/pipelines/validate", "name: x\nsteps:\n  - set: {a: 1}\n", 200, `"valid":true`},
		{"validate a bad file", "POST", "/api/pipelines/validate", "name: x\nsteps:\n  - sett: {a: 1}\n", 200, `"valid":false`},
		{"create consumer", "POST", "/api/consumers", `{"name":"crm","pipelines":["echo"]}`, 201, `"name":"crm"`},
		{"duplicate consumer", "POST", "/api/consumers", `{"name":"crm"}`, 409, `"code":409`},
		{"issue key", "POST", "/api/consumers/crm/keys", "", 201, `"key":"nk_`},
		{"list consumers hides hashes", "GET", "/api/consumers", "", 200, `"name":"crm"`},
		{"delete consumer", "DELETE", "/api/consumers/crm", "", 200, `"deleted":"crm"`},
		{"unknown endpoint", "GET", "/api/nope", "", 404, `"code":404`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := e.do(t, tt.method, tt.path, tt.body, admin)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Fatalf("%d %s; want %d with %s", code, body, tt.code, tt.want)
			}
			if strings.Contains(body, `"hash"`) {
				t.Errorf("API shows key hashes: %s", body)
			}
		})
	}
}

// TestRuntimeSensitiveFieldsReachTheHistory: the names the server masks in
// log lines (Runtime.SensitiveFields, nectar serve --sensitive-fields) are
// masked in execution records too.
func TestRuntimeSensitiveFieldsReachTheHistory(t *testing.T) {
	e := start(t, map[string]string{"pin.yaml": `
name: pin
trigger:
  http: {path: /pin}
steps:
  - set: {user: "{{ message.user }}", pin: "{{ message.pin }}"}
`}, func(o *server.Options) { o.Runtime = &engine.Runtime{SensitiveFields: []string{"pin"}} })
	_, hdr, _ := e.do(t, "POST", "/pin", `{"user":"ada","pin":"4321"}`, nil)
	rec := e.record(t, hdr)
	if got := string(rec.Input) + string(rec.Output); strings.Contains(got, "4321") || !strings.Contains(string(rec.Output), `"pin":"***"`) {
		t.Errorf("pin not masked: input %s output %s", rec.Input, rec.Output)
	}
}

// TestLiteralRouteSpellings checks how requests reach a pipeline on a
// literal path (looked up by path, not through the router's tree) and its
// neighbours: the exact path and an escaped spelling of it are served;
// the path with a trailing slash, another case, or a longer path are not;
// an unclean spelling is redirected to the clean path, as the router does;
// a wildcard route beside it keeps its own requests and path values.
func TestLiteralRouteSpellings(t *testing.T) {
	const literal = "name: literal\ntrigger:\n  http:\n    path: /orders/export\n    methods: [GET]\nsteps:\n  - set:\n      message:\n        by: literal\n        pattern: '{{ metadata.request.path }}'\n"
	const wild = "name: wild\ntrigger:\n  http:\n    path: /orders/{id}\n    methods: [GET]\nsteps:\n  - set:\n      message:\n        by: wild\n        id: '{{ metadata.request.params.id }}'\n"
	e := servertest.Start(t, map[string]string{"literal.yaml": literal, "wild.yaml": wild}, nil)
	h := e.Srv.Handler()
	for _, c := range []struct {
		target string
		code   int
		body   string // a part of the answer
	}{
		{"/orders/export", 200, `"by":"literal"`},
		{"/orders/expor%74", 200, `"by":"literal"`},
		{"/orders/export?x=1", 200, `"by":"literal"`},
		{"/orders/42", 200, `"id":"42"`},
		{"/orders/Export", 200, `"id":"Export"`},
		{"/orders/export/", 404, `no pipeline serves`},
		{"/orders/export/x", 404, `no pipeline serves`},
		{"/orders/./export", 307, ``},
		{"/orders/x/../export", 307, ``},
	} {
		req := httptest.NewRequest(http.MethodGet, c.target, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.body) {
			t.Errorf("GET %s: %d %s, want %d with %s", c.target, w.Code, w.Body, c.code, c.body)
		}
		if c.code == 307 && w.Header().Get("Location") != "/orders/export" {
			t.Errorf("GET %s: redirected to %q, want /orders/export", c.target, w.Header().Get("Location"))
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/orders/export", strings.NewReader("{}"))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" && w.Header().Get("Allow") != "GET" {
		t.Errorf("POST /orders/export: %d, Allow %q; want 405", w.Code, w.Header().Get("Allow"))
	}
}
