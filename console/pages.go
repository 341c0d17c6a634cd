package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/pipetest"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"since":    since,
	"ms":       func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + " ms" },
	"pretty":   prettyJSON,
	"rawjson":  func(j history.RawJSON) string { return prettyJSON(json.RawMessage(j)) },
	"join":     strings.Join,
	"lines":    func(b []byte) []string { return strings.Split(strings.TrimRight(string(b), "\n"), "\n") },
	"row":      func(base string, r *history.Record) map[string]any { return map[string]any{"Base": base, "R": r} },
	"stamp":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") },
	"timeattr": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}).ParseFS(templateFS, "templates/*.html"))

// page is what every template gets.
type page struct {
	Title string
	Base  string // the console's path
	CSRF  string
	Nav   string
	Error string
	Note  string
	Data  any
}

// routes registers the pages. Every page but sign-in and the static files
// needs a session; every POST but sign-in needs the CSRF token.
func (c *Console) routes() {
	m := http.NewServeMux()
	p := c.path
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", http.FileServerFS(static)))
	m.HandleFunc("GET "+p+"/login", func(w http.ResponseWriter, r *http.Request) {
		pg := page{Title: "Sign in"}
		if r.URL.Query().Get("out") != "" {
			pg.Note = "You are signed out."
		}
		c.render(w, r, http.StatusOK, "login", pg)
	})
	m.HandleFunc("POST "+p+"/login", c.signIn)
	view := func(pattern string, h func(http.ResponseWriter, *http.Request, *session)) {
		m.HandleFunc("GET "+pattern, func(w http.ResponseWriter, r *http.Request) {
			ss := c.session(r)
			if ss == nil {
				http.Redirect(w, r, p+"/login", http.StatusSeeOther)
				return
			}
			h(w, r, ss)
		})
	}
	change := func(pattern string, h func(http.ResponseWriter, *http.Request, *session)) {
		m.HandleFunc("POST "+pattern, func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			ss := c.session(r)
			if ss == nil {
				jsonError(w, http.StatusUnauthorized, "sign in to the console first")
				return
			}
			if !checkCSRF(r, ss) {
				jsonError(w, http.StatusForbidden, "refused: this change does not carry the console's CSRF token")
				return
			}
			h(w, r, ss)
		})
	}
	view(p+"/{$}", func(w http.ResponseWriter, r *http.Request, _ *session) {
		http.Redirect(w, r, p+"/pipelines", http.StatusSeeOther)
	})
	m.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, p+"/pipelines", http.StatusSeeOther) })
	change(p+"/logout", c.signOut)
	view(p+"/pipelines", c.pipelinesPage)
	view(p+"/pipelines/{name}", c.pipelinePage)
	change(p+"/pipelines/{name}/run", c.runPipeline)
	view(p+"/connectors/{name}", c.connectorPage)
	view(p+"/executions", c.executionsPage)
	view(p+"/executions/live", c.live)
	view(p+"/executions/{id}", c.executionPage)
	view(p+"/executions/{id}/test", c.executionTest)
	view(p+"/accounts", c.accountsPage)
	view(p+"/accounts/{name}", c.accountPage)
	change(p+"/accounts/{name}/authorize", needs(c.b.Accounts, "accounts", c.startAuthorize))
	view(p+"/accounts/{name}/authorize", c.authorizeState)
	change(p+"/accounts/{name}/test", needs(c.b.Accounts, "accounts", c.testAccount))
	view(p+"/consumers", c.consumersPage)
	change(p+"/consumers", needs(c.b.Consumers, "consumers", c.createConsumer))
	change(p+"/consumers/{name}/keys", needs(c.b.Consumers, "consumers", c.issueKey))
	change(p+"/consumers/{name}/basic", needs(c.b.Consumers, "consumers", c.issueBasic))
	change(p+"/consumers/{name}/keys/{id}/revoke", needs(c.b.Consumers, "consumers", c.revokeKey))
	view(p+"/health", c.healthPage)
	m.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		if c.session(r) == nil {
			http.Redirect(w, r, p+"/login", http.StatusSeeOther)
			return
		}
		c.fail(w, r, http.StatusNotFound, "No console page at "+r.URL.Path+".")
	})
	c.mux = m
}

// render writes a page; a template failure becomes a 500 without a
// half-written page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, code int, name string, pg page) {
	pg.Base = c.path
	if pg.CSRF == "" {
		if ss := c.session(r); ss != nil {
			pg.CSRF = ss.csrf
		}
	}
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, pg); err != nil {
		c.log.Error("console: rendering a page", "page", name, "error", err.Error())
		jsonError(w, http.StatusInternalServerError, "the console could not render this page")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	c.render(w, r, code, "error", page{Title: http.StatusText(code), Error: msg})
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]any{"error": msg, "code": code, "timestamp": time.Now().UnixMilli()})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

// --- pipelines

// pipelineStats is what the last hour of a pipeline's executions says.
type pipelineStats struct {
	Runs, Failed int
	ErrorRate    string
	P50, P99     string
	Last         []*history.Record
}

// statsWindow and statsScan bound the pipelines page's look at the history:
// the last hour, at most statsScan records.
const (
	statsWindow = time.Hour
	statsScan   = 5000
	lastShown   = 5
)

func (c *Console) stats(r *http.Request) map[string]*pipelineStats {
	out := map[string]*pipelineStats{}
	recs, _, err := c.b.Executions(r.Context(), Filter{Filter: history.Filter{Limit: statsScan}, Since: time.Now().Add(-statsWindow), Scan: statsScan})
	if err != nil {
		return out
	}
	durs := map[string][]float64{}
	for _, rec := range recs {
		st := out[rec.Pipeline]
		if st == nil {
			st = &pipelineStats{}
			out[rec.Pipeline] = st
		}
		st.Runs++
		if rec.Status == history.StatusFailed {
			st.Failed++
		}
		if len(st.Last) < lastShown {
			st.Last = append(st.Last, rec)
		}
		durs[rec.Pipeline] = append(durs[rec.Pipeline], rec.DurationMS)
	}
	for name, st := range out {
		d := durs[name]
		slices.Sort(d)
		st.P50 = strconv.FormatFloat(percentile(d, 0.50), 'f', 1, 64) + " ms"
		st.P99 = strconv.FormatFloat(percentile(d, 0.99), 'f', 1, 64) + " ms"
		st.ErrorRate = strconv.FormatFloat(100*float64(st.Failed)/float64(st.Runs), 'f', 1, 64) + "%"
	}
	return out
}

// percentile of sorted values (nearest rank).
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

type pipelineRow struct {
	Pipeline
	Stats *pipelineStats
}

func (c *Console) pipelinesPage(w http.ResponseWriter, r *http.Request, _ *session) {
	stats := c.stats(r)
	var rows []pipelineRow
	for _, p := range c.b.Pipelines() {
		rows = append(rows, pipelineRow{Pipeline: p, Stats: stats[p.Name]})
	}
	c.render(w, r, http.StatusOK, "pipelines", page{Title: "Pipelines", Nav: "pipelines", Data: map[string]any{
		"Rows": rows, "Problems": c.b.Problems(r.Context()),
	}})
}

func (c *Console) findPipeline(name string) (Pipeline, bool) {
	for _, p := range c.b.Pipelines() {
		if p.Name == name {
			return p, true
		}
	}
	return Pipeline{}, false
}

// sourceLine is a line of a pipeline file with the load errors at it.
type sourceLine struct {
	N      int
	Text   string
	Errors []string
}

func sourceLines(src []byte, errs []*engine.LoadError) []sourceLine {
	if src == nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(src), "\n"), "\n")
	out := make([]sourceLine, len(lines))
	for i, l := range lines {
		out[i] = sourceLine{N: i + 1, Text: l}
	}
	for _, e := range errs {
		i := min(max(e.Line, 1), len(out)) - 1
		msg := e.Err.Error()
		if e.Col > 0 {
			msg = fmt.Sprintf("%d:%d: %s", e.Line, e.Col, msg)
		}
		if e.Path != "" {
			msg += " (" + e.Path + ")"
		}
		out[i].Errors = append(out[i].Errors, msg)
	}
	return out
}

func (c *Console) pipelinePage(w http.ResponseWriter, r *http.Request, _ *session) {
	name := r.PathValue("name")
	p, ok := c.findPipeline(name)
	if !ok {
		for _, bad := range c.b.Problems(r.Context()) {
			if bad.Name == name || bad.File == name {
				p, ok = bad, true
			}
		}
	}
	if !ok {
		c.fail(w, r, http.StatusNotFound, "No pipeline "+name+" is served here.")
		return
	}
	if p.Errors == nil {
		// The served version may be older than the file: show the file's
		// problems at their lines.
		for _, bad := range c.b.Problems(r.Context()) {
			if bad.File == p.File {
				p.Errors, p.Source = bad.Errors, bad.Source
			}
		}
	}
	data := map[string]any{"P": p, "Lines": sourceLines(p.Source, p.Errors), "Input": "{}"}
	if p.Loaded != nil {
		data["Diagram"] = c.diagram(p.Loaded, c.b.Pipelines())
	}
	if id := r.URL.Query().Get("rerun"); id != "" {
		if rec, err := c.b.Execution(r.Context(), id); err == nil && len(rec.Input) > 0 {
			data["Input"] = prettyJSON(rec.Input)
			data["Rerun"] = id
		}
	}
	c.render(w, r, http.StatusOK, "pipeline", page{Title: p.Name, Nav: "pipelines", Data: data})
}

// runPipeline is the Run panel: POST {input} → the result as JSON.
func (c *Console) runPipeline(w http.ResponseWriter, r *http.Request, _ *session) {
	name := r.PathValue("name")
	if _, ok := c.findPipeline(name); !ok {
		jsonError(w, http.StatusNotFound, "no pipeline "+name+" is served here")
		return
	}
	input := r.PostFormValue("input")
	if strings.TrimSpace(input) == "" {
		input = "{}"
	}
	if !json.Valid([]byte(input)) {
		jsonError(w, http.StatusBadRequest, "the input is not JSON")
		return
	}
	res, err := c.b.Run(r.Context(), name, []byte(input))
	if err != nil {
		jsonError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (c *Console) connectorPage(w http.ResponseWriter, r *http.Request, _ *session) {
	for _, ci := range engine.Connectors() {
		if ci.Name == r.PathValue("name") {
			c.render(w, r, http.StatusOK, "connector", page{Title: ci.Name, Nav: "pipelines", Data: ci})
			return
		}
	}
	c.fail(w, r, http.StatusNotFound, "No connector "+r.PathValue("name")+".")
}

// --- executions

// pageSize is the executions shown per page; pageScan the records read at
// most to fill one, so that a filter that matches little still answers
// quickly (the page then links to the older records).
const (
	pageSize = 50
	pageScan = 2000
)

// idAt is the smallest execution id of an execution started at t.
func idAt(t time.Time) string { return fmt.Sprintf("%012x", t.UnixMilli()) }

func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// executionsQuery reads the filters of the executions list.
func executionsQuery(q url.Values) (Filter, error) {
	f := Filter{Filter: history.Filter{Pipeline: q.Get("pipeline"), Status: q.Get("status"), Trigger: q.Get("trigger"), Before: q.Get("before"), Cursor: q.Get("cursor"), Limit: pageSize}, Scan: pageScan}
	if f.Status != "" && f.Status != history.StatusOK && f.Status != history.StatusFailed {
		return f, fmt.Errorf("status must be ok or failed, not %q", f.Status)
	}
	if s := q.Get("from"); s != "" {
		t, ok := parseTime(s)
		if !ok {
			return f, fmt.Errorf("from: %q is not a time (2026-12-06T14:00)", s)
		}
		f.Since = t
	}
	if s := q.Get("to"); s != "" {
		t, ok := parseTime(s)
		if !ok {
			return f, fmt.Errorf("to: %q is not a time (2026-12-06T15:00)", s)
		}
		if b := idAt(t); f.Before == "" || b < f.Before {
			f.Before = b
		}
	}
	return f, nil
}

func (c *Console) executionsPage(w http.ResponseWriter, r *http.Request, _ *session) {
	q := r.URL.Query()
	f, err := executionsQuery(q)
	data := map[string]any{"Q": q, "Pipelines": c.b.Pipelines()}
	if err != nil {
		c.render(w, r, http.StatusBadRequest, "executions", page{Title: "Executions", Nav: "executions", Error: err.Error(), Data: data})
		return
	}
	recs, next, err := c.b.Executions(r.Context(), f)
	if errors.Is(err, history.ErrCursor) {
		c.render(w, r, http.StatusBadRequest, "executions", page{Title: "Executions", Nav: "executions",
			Error: "cursor: not one an executions page gave (follow its Older executions link)", Data: data})
		return
	}
	if err != nil {
		c.render(w, r, http.StatusServiceUnavailable, "executions", page{Title: "Executions", Nav: "executions", Error: err.Error(), Data: data})
		return
	}
	data["Records"] = recs
	if next != "" {
		// The cursor goes on where this page ended, with the same filters:
		// following it lists each execution once (history.ListScan).
		older := url.Values{}
		for k, v := range q {
			older[k] = v
		}
		older.Set("cursor", next)
		// A query string as the template's URL, or it escapes the = and &
		// of the query (then the link went to the first page again).
		data["Older"] = template.URL(older.Encode())
		if len(recs) < pageSize {
			data["Partial"] = pageScan // the scan bound stopped the page
		}
	}
	// The live stream adds new executions only to an unfiltered first page.
	data["Live"] = f.Before == "" && f.Cursor == "" && f.Pipeline == "" && f.Status == "" && f.Trigger == "" && f.Since.IsZero()
	c.render(w, r, http.StatusOK, "executions", page{Title: "Executions", Nav: "executions", Data: data})
}

// timelineStep is one bar of an execution's timeline.
type timelineStep struct {
	history.StepRecord
	Depth       int
	Left, Width float64 // percent of the execution's duration
	Called      bool
	Logs        []history.LogLine // the lines this step run wrote
}

func timeline(rec *history.Record) []timelineStep {
	total := float64(max(rec.End.Sub(rec.Start).Microseconds(), 1))
	for _, s := range rec.Steps {
		total = max(total, float64(s.OffsetUS+s.DurationUS))
	}
	// By start; a block starts with its first step, and is listed first.
	// Log lines name the step run that wrote them by its index in the
	// record, so the order is sorted, not the steps.
	order := make([]int, len(rec.Steps))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := &rec.Steps[order[i]], &rec.Steps[order[j]]
		if a.OffsetUS != b.OffsetUS {
			return a.OffsetUS < b.OffsetUS
		}
		return len(a.Path) < len(b.Path)
	})
	logs := make(map[int][]history.LogLine, len(rec.Logs))
	for _, l := range rec.Logs {
		logs[l.Index] = append(logs[l.Index], l)
	}
	out := make([]timelineStep, len(order))
	for i, k := range order {
		s := rec.Steps[k]
		called := s.Pipeline != "" && s.Pipeline != rec.Pipeline
		depth := strings.Count(s.Path, "[") - 1
		if called {
			depth += 2 // under the call
		}
		left := 100 * float64(s.OffsetUS) / total
		width := max(100*float64(s.DurationUS)/total, 0.5)
		out[i] = timelineStep{StepRecord: s, Depth: max(depth, 0), Left: left, Width: min(width, 100-left), Called: called, Logs: logs[k]}
	}
	return out
}

// record reads the execution the path names, or answers why it cannot.
func (c *Console) record(w http.ResponseWriter, r *http.Request) (*history.Record, bool) {
	rec, err := c.b.Execution(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, errStatus(err, http.StatusServiceUnavailable), err.Error())
		return nil, false
	}
	return rec, true
}

func (c *Console) executionPage(w http.ResponseWriter, r *http.Request, _ *session) {
	rec, ok := c.record(w, r)
	if !ok {
		return
	}
	_, served := c.findPipeline(rec.Pipeline)
	_, replayErr := pipetest.RecordCase(rec)
	c.render(w, r, http.StatusOK, "execution", page{Title: "Execution " + rec.ID, Nav: "executions", Data: map[string]any{
		"R": rec, "Steps": timeline(rec), "Served": served, "Replayable": replayErr == nil,
	}})
}

// executionTest serves the test case that replays an execution (what
// nectar test record writes) as a YAML file to save next to the pipeline:
// 409 when the record holds no answers of its steps (the history's
// exchanges option was off).
func (c *Console) executionTest(w http.ResponseWriter, r *http.Request, _ *session) {
	rec, ok := c.record(w, r)
	if !ok {
		return
	}
	text, err := pipetest.RecordCase(rec)
	if err != nil {
		c.fail(w, r, http.StatusConflict, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+rec.Pipeline+`.replay.test.yaml"`)
	w.Write(text)
}

// --- accounts

type accountRow struct {
	A      *accounts.Account
	Status accounts.TokenStatus
	Err    string
	Advice string
}

func (c *Console) accountRows(r *http.Request) ([]accountRow, error) {
	am := c.b.Accounts()
	if am == nil {
		return nil, errors.New("accounts need a store")
	}
	list, err := am.List(r.Context())
	if err != nil {
		return nil, err
	}
	rows := make([]accountRow, 0, len(list))
	for _, a := range list {
		rows = append(rows, c.accountRow(r, a))
	}
	return rows, nil
}

// missingRefreshAdvice is shown for an oauth2 account whose tokens cannot
// be renewed.
const missingRefreshAdvice = "The provider gave no refresh token, so Nectar cannot renew the access token when it expires. Ask for offline access (Google: access_type=offline and prompt=consent in auth_params; Microsoft: the offline_access scope), then authorize again."

func (c *Console) accountRow(r *http.Request, a *accounts.Account) accountRow {
	row := accountRow{A: a.Masked()}
	st, err := c.b.Accounts().Status(r.Context(), a.Name)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.Status = st
	if a.Type == accounts.TypeOAuth2 && st.HasToken && !st.Renewable {
		row.Advice = missingRefreshAdvice
	}
	return row
}

func (c *Console) accountsPage(w http.ResponseWriter, r *http.Request, _ *session) {
	rows, err := c.accountRows(r)
	data := map[string]any{"Rows": rows}
	pg := page{Title: "Accounts", Nav: "accounts", Data: data}
	if err != nil {
		pg.Error = err.Error()
	} else if provs, err := c.b.Accounts().Providers(r.Context()); err == nil {
		data["Providers"] = provs
	}
	c.render(w, r, http.StatusOK, "accounts", pg)
}

func (c *Console) accountPage(w http.ResponseWriter, r *http.Request, _ *session) {
	c.showAccount(w, r, nil, "")
}

func (c *Console) showAccount(w http.ResponseWriter, r *http.Request, test *accounts.TestResult, note string) {
	am := c.b.Accounts()
	if am == nil {
		c.fail(w, r, http.StatusNotFound, "Accounts need a store.")
		return
	}
	a, err := am.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		c.fail(w, r, errStatus(err, http.StatusInternalServerError), err.Error())
		return
	}
	if note == "" && r.URL.Query().Get("authorized") != "" {
		note = "Authorized."
	}
	c.render(w, r, http.StatusOK, "account", page{Title: a.Name, Nav: "accounts", Note: note, Data: map[string]any{
		"Row": c.accountRow(r, a), "Test": test, "OAuth": a.Type == accounts.TypeOAuth2,
	}})
}

func (c *Console) testAccount(w http.ResponseWriter, r *http.Request, am *accounts.Manager) {
	res, err := am.Test(r.Context(), r.PathValue("name"))
	if err != nil {
		res = &accounts.TestResult{Problem: err.Error()}
	}
	c.showAccount(w, r, res, "")
}

// --- consumers

func (c *Console) consumersPage(w http.ResponseWriter, r *http.Request, _ *session) {
	cm := c.b.Consumers()
	pg := page{Title: "Consumers", Nav: "consumers"}
	if cm == nil {
		pg.Error = "Consumers need a store."
	} else {
		pg.Data = cm.List()
	}
	c.render(w, r, http.StatusOK, "consumers", pg)
}

func (c *Console) createConsumer(w http.ResponseWriter, r *http.Request, cm *consumers.Manager) {
	in := consumers.Consumer{Name: strings.TrimSpace(r.PostFormValue("name")), Description: r.PostFormValue("description")}
	for _, p := range strings.Split(r.PostFormValue("pipelines"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			in.Pipelines = append(in.Pipelines, p)
		}
	}
	if _, err := cm.Create(r.Context(), in); err != nil {
		c.render(w, r, errStatus(err, http.StatusInternalServerError), "consumers", page{Title: "Consumers", Nav: "consumers", Error: err.Error(), Data: cm.List()})
		return
	}
	http.Redirect(w, r, c.path+"/consumers#consumer-"+url.PathEscape(in.Name), http.StatusSeeOther)
}

// errStatuses maps the errors a console page or call can meet to their
// status, in one place for every page.
var errStatuses = []struct {
	err  error
	code int
}{
	{history.ErrNotFound, http.StatusNotFound},
	{accounts.ErrUnknownAccount, http.StatusNotFound},
	{consumers.ErrNotFound, http.StatusNotFound},
	{consumers.ErrInvalid, http.StatusBadRequest},
	{consumers.ErrExists, http.StatusConflict},
}

// errStatus is the status for err: that of the first errStatuses entry it
// wraps, else fallback (a failure of the server, not of the request).
func errStatus(err error, fallback int) int {
	for _, e := range errStatuses {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return fallback
}

// issueKey answers a new API key of the consumer.
func (c *Console) issueKey(w http.ResponseWriter, r *http.Request, cm *consumers.Manager) {
	issueSecret(w, r, "API key", func(ctx context.Context, name string) (string, error) { return cm.AddKey(ctx, name) })
}

// issueBasic answers a new Basic password of the consumer for the user
// posted.
func (c *Console) issueBasic(w http.ResponseWriter, r *http.Request, cm *consumers.Manager) {
	user := strings.TrimSpace(r.PostFormValue("username"))
	issueSecret(w, r, "password of "+user, func(ctx context.Context, name string) (string, error) { return cm.AddBasic(ctx, name, user) })
}

// issueSecret answers the secret issue made for the consumer named in the
// path as JSON, for the script to show once: it is never part of a page.
func issueSecret(w http.ResponseWriter, r *http.Request, what string, issue func(ctx context.Context, consumer string) (string, error)) {
	secret, err := issue(r.Context(), r.PathValue("name"))
	if err != nil {
		jsonError(w, errStatus(err, http.StatusInternalServerError), err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"consumer": r.PathValue("name"), "secret": secret, "what": what})
}

func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request, cm *consumers.Manager) {
	if err := cm.RemoveKey(r.Context(), r.PathValue("name"), r.PathValue("id")); err != nil {
		jsonError(w, errStatus(err, http.StatusInternalServerError), err.Error())
		return
	}
	http.Redirect(w, r, c.path+"/consumers#consumer-"+url.PathEscape(r.PathValue("name")), http.StatusSeeOther)
}

// --- health

func (c *Console) healthPage(w http.ResponseWriter, r *http.Request, _ *session) {
	c.render(w, r, http.StatusOK, "health", page{Title: "Health", Nav: "health", Data: c.b.Health(r.Context())})
}

// --- helpers

// needs wraps a change that needs a manager (the accounts', the
// consumers'): without a store there is none, and the change answers 404
// "WHAT need a store".
func needs[M any](manager func() *M, what string, h func(http.ResponseWriter, *http.Request, *M)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, _ *session) {
		m := manager()
		if m == nil {
			jsonError(w, http.StatusNotFound, what+" need a store")
			return
		}
		h(w, r, m)
	}
}

func since(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return "in " + (-d).Round(time.Second).String()
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h ago"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}
