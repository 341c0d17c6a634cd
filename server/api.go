package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/httpjson"
	"github.com/nectar-run/nectar/pipetest"
	"github.com/nectar-run/nectar/store"
)

// apiHandler builds the management API:
//
//	GET    /healthz                       liveness
//	GET    /readyz                        readiness (503 before Start, while shutting down and while the store does not answer)
//	GET    /metrics                       Prometheus metrics
//	GET    /api/pipelines                 served pipelines
//	GET    /api/pipelines/{name}          one pipeline, with its source
//	POST   /api/pipelines/validate        validate a pipeline file sent as the body
//	POST   /api/reload                    reload changed pipeline files
//	POST   /api/run                       run a pipeline once (RunRequest → RunResult), recorded with trigger "run"
//	GET    /api/executions                ?pipeline=&status=&trigger=&before=&limit=
//	GET    /api/executions/{id}           one execution record
//	GET    /api/consumers                 consumers (no secrets)
//	POST   /api/consumers                 {name, description, pipelines, rate_limit}
//	GET    /api/consumers/{name}
//	DELETE /api/consumers/{name}
//	POST   /api/consumers/{name}/keys     issue an API key (shown once)
//	DELETE /api/consumers/{name}/keys/{id}
//	POST   /api/consumers/{name}/basic    {username}: issue a Basic password (shown once)
//	GET    /debug/pprof/...               Go profiles (net/http/pprof)
//
// Everything under /api/ needs the admin key, except public mounts.
func (s *Server) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeValue(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	admin := func(pattern string, h http.HandlerFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if !s.checkAdmin(r) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="nectar-admin"`)
				writeError(w, http.StatusUnauthorized, "the management API needs the admin key (Authorization: Bearer KEY)")
				return
			}
			h(w, r)
		})
	}
	admin("GET /api/pipelines", s.apiPipelines)
	admin("GET /api/pipelines/{name}", s.apiPipeline)
	admin("POST /api/pipelines/validate", s.apiValidate)
	admin("POST /api/reload", func(w http.ResponseWriter, r *http.Request) {
		err := s.Reload(r.Context())
		res := map[string]any{"reloaded": true}
		if err != nil {
			res["errors"] = loadErrors(err)
		}
		writeValue(w, http.StatusOK, res)
	})
	admin("POST /api/run", s.apiRun)
	admin("GET /api/executions", s.apiExecutions)
	admin("GET /api/executions/{id}", s.apiExecution)
	admin("GET /api/executions/{id}/test", pipetest.RecordHandler(s.getExecution).ServeHTTP)
	admin("GET /api/consumers", func(w http.ResponseWriter, r *http.Request) {
		if m := s.consumers(w); m != nil {
			writeValue(w, http.StatusOK, m.List())
		}
	})
	admin("POST /api/consumers", s.apiCreateConsumer)
	admin("GET /api/consumers/{name}", func(w http.ResponseWriter, r *http.Request) {
		if m := s.consumers(w); m != nil {
			c, ok := m.Get(r.PathValue("name"))
			if !ok {
				writeError(w, http.StatusNotFound, "no consumer "+r.PathValue("name"))
				return
			}
			writeValue(w, http.StatusOK, c)
		}
	})
	admin("DELETE /api/consumers/{name}", func(w http.ResponseWriter, r *http.Request) {
		if m := s.consumers(w); m != nil {
			if err := m.Delete(r.Context(), r.PathValue("name")); err != nil {
				writeConsumerError(w, err)
				return
			}
			writeValue(w, http.StatusOK, map[string]any{"deleted": r.PathValue("name")})
		}
	})
	admin("POST /api/consumers/{name}/keys", func(w http.ResponseWriter, r *http.Request) {
		if m := s.consumers(w); m != nil {
			key, err := m.AddKey(r.Context(), r.PathValue("name"))
			if err != nil {
				writeConsumerError(w, err)
				return
			}
			writeValue(w, http.StatusCreated, map[string]string{"consumer": r.PathValue("name"), "key": key})
		}
	})
	admin("DELETE /api/consumers/{name}/keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		if m := s.consumers(w); m != nil {
			if err := m.RemoveKey(r.Context(), r.PathValue("name"), r.PathValue("id")); err != nil {
				writeConsumerError(w, err)
				return
			}
			writeValue(w, http.StatusOK, map[string]any{"deleted": r.PathValue("id")})
		}
	})
	admin("POST /api/consumers/{name}/basic", func(w http.ResponseWriter, r *http.Request) {
		if m := s.consumers(w); m != nil {
			var in struct {
				Username string `json:"username"`
			}
			if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
				writeError(w, http.StatusBadRequest, "expected {\"username\": …}: "+err.Error())
				return
			}
			pwd, err := m.AddBasic(r.Context(), r.PathValue("name"), in.Username)
			if err != nil {
				writeConsumerError(w, err)
				return
			}
			writeValue(w, http.StatusCreated, map[string]string{"consumer": r.PathValue("name"), "username": in.Username, "password": pwd})
		}
	})
	// Profiles of the running process, for the admin only.
	admin("GET /debug/pprof/", pprof.Index)
	admin("GET /debug/pprof/profile", pprof.Profile)
	admin("GET /debug/pprof/trace", pprof.Trace)
	admin("GET /debug/pprof/symbol", pprof.Symbol)
	for _, m := range s.opts.Mount {
		if m.Public {
			mux.Handle(m.Pattern, m.Handler)
		} else {
			h := m.Handler
			admin(m.Pattern, h.ServeHTTP)
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no management endpoint "+r.Method+" "+r.URL.Path)
	})
	return mux
}

var (
	writeValue = httpjson.Value
	writeError = httpjson.Error
	writeJSON  = httpjson.JSON
)

// pipelineInfo is how the API shows a pipeline.
type pipelineInfo struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	File        string         `json:"file"`
	Trigger     map[string]any `json:"trigger,omitempty"`
	Source      string         `json:"source,omitempty"`
}

// Served describes a pipeline the server serves: its name, its file, and
// what its trigger says of itself (engine.Trigger's Describe, with its
// kind), for the management API and consoles.
type Served struct {
	Name        string
	Description string
	File        string
	Shipped     bool
	// Trigger is nil for a pipeline without a trigger.
	Trigger map[string]any
}

// Pipelines lists the pipelines served now, in the order of their files.
func (s *Server) Pipelines() []Served {
	g := s.gen.Load()
	out := make([]Served, 0, len(g.versions))
	for _, v := range g.versions {
		out = append(out, describe(v))
	}
	return out
}

func describe(v *version) Served {
	d := Served{Name: v.p.Name, Description: v.p.Description, File: v.file, Shipped: v.shipped}
	if t := v.trigger(); t != nil {
		d.Trigger = map[string]any{"kind": v.p.Trigger.Kind}
		for k, val := range t.Describe() {
			d.Trigger[k] = val
		}
	}
	return d
}

func describePipeline(v *version) pipelineInfo {
	d := describe(v)
	return pipelineInfo{Name: d.Name, Description: d.Description, File: d.File, Trigger: d.Trigger}
}

func (s *Server) apiPipelines(w http.ResponseWriter, r *http.Request) {
	g := s.gen.Load()
	out := make([]pipelineInfo, 0, len(g.versions))
	for _, v := range g.versions {
		out = append(out, describePipeline(v))
	}
	writeValue(w, http.StatusOK, out)
}

func (s *Server) apiPipeline(w http.ResponseWriter, r *http.Request) {
	v := s.gen.Load().byName[r.PathValue("name")]
	if v == nil {
		writeError(w, http.StatusNotFound, "no pipeline "+r.PathValue("name"))
		return
	}
	info := describePipeline(v)
	if !v.shipped {
		if b, err := os.ReadFile(v.file); err == nil {
			info.Source = string(b)
		}
	}
	writeValue(w, http.StatusOK, info)
}

type loadError struct {
	File  string `json:"file"`
	Line  int    `json:"line,omitempty"`
	Col   int    `json:"col,omitempty"`
	Path  string `json:"path,omitempty"`
	Error string `json:"error"`
}

func loadErrors(err error) []loadError {
	var out []loadError
	for _, le := range engine.LoadErrors(err) {
		out = append(out, loadError{File: le.File, Line: le.Line, Col: le.Col, Path: le.Path, Error: le.Err.Error()})
	}
	if len(out) == 0 && err != nil {
		out = append(out, loadError{Error: err.Error()})
	}
	return out
}

func (s *Server) apiValidate(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(io.LimitReader(r.Body, engine.MaxFileSize+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	name := r.URL.Query().Get("file")
	if name == "" {
		name = "pipeline.yaml"
	}
	p, err := engine.Load(name, data, s.opts.Load)
	if err != nil {
		writeValue(w, http.StatusOK, map[string]any{"valid": false, "errors": loadErrors(err)})
		return
	}
	_ = p.Close(r.Context())
	writeValue(w, http.StatusOK, map[string]any{"valid": true, "name": p.Name})
}

// apiExecutions answers GET /api/executions: a JSON array of records in
// the history's list order (history.ListScan), and, when there may be more,
// a Link header (RFC 8288) to the next page: the same query with cursor
// set. Following it lists every record stored when paging began exactly
// once; before, since, pipeline, status and trigger are filters.
func (s *Server) apiExecutions(w http.ResponseWriter, r *http.Request) {
	if s.opts.Store == nil || s.opts.HistoryOff {
		writeError(w, http.StatusNotFound, "execution history is off")
		return
	}
	q := r.URL.Query()
	limit := 50
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: %q is not a number from 1 to 1000 (default 50)", v[0]))
			return
		}
		limit = min(n, 1000) // the largest page, as documented
	}
	f := history.Filter{
		Pipeline: q.Get("pipeline"), Status: q.Get("status"), Trigger: q.Get("trigger"),
		Before: q.Get("before"), Cursor: q.Get("cursor"), Limit: limit,
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("since: %q is not an RFC 3339 time (2026-12-07T04:00:00Z)", v))
			return
		}
		f.Since = history.IDPrefix(t)
	}
	// Records still queued are written first, so a caller sees its own runs.
	s.flushHistory(r.Context(), "")
	recs, next, err := history.ListScan(r.Context(), s.opts.Store, f, 0)
	if errors.Is(err, history.ErrCursor) {
		writeError(w, http.StatusBadRequest, "cursor: not one a page of GET /api/executions gave (take it from the Link header)")
		return
	}
	if err != nil {
		s.storeFailed(w, "listing executions", err)
		return
	}
	if recs == nil {
		recs = []*history.Record{}
	}
	if next != "" {
		q.Set("cursor", next)
		w.Header().Set("Link", "<"+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
	}
	writeValue(w, http.StatusOK, recs)
}

// getExecution reads a record for the test-case endpoint (nectar test
// record): the history's queue flushed first, as for apiExecution.
func (s *Server) getExecution(ctx context.Context, id string) (*history.Record, error) {
	if s.opts.Store == nil || s.opts.HistoryOff {
		return nil, fmt.Errorf("%w: execution history is off", history.ErrNotFound)
	}
	s.flushHistory(ctx, id)
	return history.Get(ctx, s.opts.Store, id)
}

// newTrace is the trace of an execution the history records: with the
// history's Exchanges option it keeps the results of the steps that call
// other systems, for nectar test record; unless the history keeps no
// snapshots, it keeps each step's input and output and the log lines, for
// the console's timeline.
//
// It is one the history has written when there is one (putTrace): a token
// request's trace and its records were 1.7 KB of the 12 KB it allocated.
func (s *Server) newTrace() *engine.Trace {
	t, _ := traces.Get().(*engine.Trace)
	if t == nil {
		t = new(engine.Trace)
	}
	t.KeepIO = s.opts.History.Steps && s.opts.History.Snapshots != "none"
	t.KeepResult = nil
	if s.opts.History.Exchanges {
		t.KeepResult = history.KeepResult
	}
	return t
}

// traces holds the traces of newTrace that the history has written.
var traces sync.Pool

// putTrace is the history's history.Execution.PutTrace: t's record is
// written, and nothing reads t any more.
func putTrace(t *engine.Trace) {
	t.Reset()
	traces.Put(t)
}

func (s *Server) apiExecution(w http.ResponseWriter, r *http.Request) {
	if s.opts.Store == nil || s.opts.HistoryOff {
		writeError(w, http.StatusNotFound, "execution history is off")
		return
	}
	id := r.PathValue("id")
	s.flushHistory(r.Context(), id)
	rec, err := history.Get(r.Context(), s.opts.Store, id)
	if err != nil {
		if errors.Is(err, history.ErrNotFound) {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		s.storeFailed(w, "reading an execution", err)
		return
	}
	writeValue(w, http.StatusOK, rec)
}

// flushHistory writes what the history queued before an API call reads it,
// waiting at most 2 s: while the store refuses writes, the records stay
// queued and the call reads what is stored. Before a read of execution
// id's record ("" for a list), when id was answered early (respond send:
// true) and its pipeline still runs, it waits for its record too, within
// the same 2 s (history.Recorder.FlushFor).
func (s *Server) flushHistory(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = s.hist.FlushFor(ctx, id)
}

// storeFailed answers a failed read of the store: 503 and a generic message
// when the store is unavailable (its error, which names hosts, users or
// paths, goes to the log), 500 with the error otherwise.
func (s *Server) storeFailed(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, store.ErrUnavailable) {
		s.log.Error(what+" failed: the store is unavailable", "error", err.Error())
		writeError(w, http.StatusServiceUnavailable, what+" failed: the store is unavailable")
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}

func (s *Server) consumers(w http.ResponseWriter) *consumers.Manager {
	if s.opts.Consumers == nil {
		writeError(w, http.StatusNotFound, "consumers need a store")
		return nil
	}
	return s.opts.Consumers
}

func (s *Server) apiCreateConsumer(w http.ResponseWriter, r *http.Request) {
	m := s.consumers(w)
	if m == nil {
		return
	}
	var c consumers.Consumer
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&c); err != nil {
		writeError(w, http.StatusBadRequest, "expected a consumer {name, description, pipelines, rate_limit}: "+err.Error())
		return
	}
	out, err := m.Create(r.Context(), c)
	if err != nil {
		writeConsumerError(w, err)
		return
	}
	writeValue(w, http.StatusCreated, out)
}

func writeConsumerError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, consumers.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, consumers.ErrExists):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, consumers.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// checkAdmin reports whether r carries the admin key (Authorization: Bearer
// KEY, or X-Nectar-Admin-Key).
func (s *Server) checkAdmin(r *http.Request) bool {
	if s.opts.AdminKey == "" {
		return false
	}
	got := r.Header.Get("X-Nectar-Admin-Key")
	if got == "" {
		if scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "bearer") {
			got = strings.TrimSpace(cred)
		}
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.AdminKey)) == 1
}
