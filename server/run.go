package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
)

// RunRequest is the body of POST /api/run: a pipeline to run once on the
// server, with the server's runtime (its accounts, object store, served
// pipelines for pipeline steps) and recorded in its history with trigger
// "run". Give Pipeline (the name of a served pipeline) or Source (a
// pipeline file's content; File names it in errors and is the base of the
// files it refers to, such as a transform's spec_file).
type RunRequest struct {
	Pipeline string `json:"pipeline,omitempty"`
	Source   string `json:"source,omitempty"`
	File     string `json:"file,omitempty"`
	// Input is the input message (default {}).
	Input json.RawMessage `json:"input,omitempty"`
	// Vars are the initial vars; Globals are merged over the server's
	// globals (Source only: a served pipeline runs as it was loaded).
	Vars    json.RawMessage `json:"vars,omitempty"`
	Globals json.RawMessage `json:"globals,omitempty"`
	// Trace asks for each step's outcome in the answer.
	Trace bool `json:"trace,omitempty"`
}

// RunResult is the answer of POST /api/run when the pipeline ran: 200 with
// Output, or with Error (Nectar's error object) when the execution failed.
// Known secrets are masked in Error and Trace, as in log lines.
type RunResult struct {
	ExecutionID string              `json:"execution_id"`
	Pipeline    string              `json:"pipeline"`
	Output      json.RawMessage     `json:"output,omitempty"`
	Error       json.RawMessage     `json:"error,omitempty"`
	Trace       []engine.StepRecord `json:"trace,omitempty"`
}

// RunLoadError is the answer of POST /api/run when the pipeline does not
// load (400) or is not served (404).
type RunLoadError struct {
	Error  string      `json:"error"`
	Code   int         `json:"code"`
	Errors []loadError `json:"errors,omitempty"`
}

// apiRun runs a pipeline once: POST /api/run (admin key). The execution
// lasts as long as the request: a client that goes away cancels it.
func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	var req RunRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, engine.MaxFileSize+maxRunInput))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "expected {\"pipeline\" or \"source\", \"input\", \"vars\", \"globals\", \"trace\"}: "+err.Error())
		return
	}
	if (req.Pipeline == "") == (req.Source == "") {
		writeError(w, http.StatusBadRequest, "give exactly one of pipeline (a served pipeline's name) and source (a pipeline file's content)")
		return
	}
	in, err := decodeField("input", req.Input)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if in == nil {
		in = value.NewObject(0)
	}
	vars, err := decodeObject("vars", req.Vars)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	globals, err := decodeObject("globals", req.Globals)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	var p *engine.Pipeline
	var v *version
	if req.Pipeline != "" {
		if globals != nil {
			writeError(w, http.StatusBadRequest, "globals apply to a pipeline sent as source; a served pipeline runs with the globals it was loaded with")
			return
		}
		v = s.gen.Load().byName[req.Pipeline]
		if v == nil {
			writeValue(w, http.StatusNotFound, RunLoadError{Error: "no pipeline " + req.Pipeline + " is served here", Code: http.StatusNotFound})
			return
		}
		if !v.acquire() {
			writeValue(w, http.StatusServiceUnavailable, RunLoadError{Error: "pipeline " + req.Pipeline + " was just replaced; retry", Code: http.StatusServiceUnavailable})
			return
		}
		defer v.release(s)
		p = v.p
	} else {
		opts := s.opts.Load
		if globals != nil {
			merged := value.NewObject(opts.Globals.Len() + globals.Len())
			opts.Globals.Range(func(k string, v any) bool { merged.Set(k, v); return true })
			globals.Range(func(k string, v any) bool { merged.Set(k, v); return true })
			opts.Globals = merged
		}
		file := req.File
		if file == "" {
			file = "pipeline.yaml"
		}
		p, err = engine.Load(file, []byte(req.Source), opts)
		if err != nil {
			errs := loadErrors(err)
			writeValue(w, http.StatusBadRequest, RunLoadError{Error: errs[0].Error, Code: http.StatusBadRequest, Errors: errs})
			return
		}
		defer p.Close(context.Background())
	}

	start := time.Now()
	id := history.NewID(start)
	md := value.NewObject(1)
	md.Set("trigger", "run")
	// The trace feeds the history and, when asked, the answer.
	var trace *engine.Trace
	if !s.opts.HistoryOff || req.Trace {
		trace = s.newTrace()
	}
	var learned []string // what the steps learned is secret (engine.Exec.AddSecret)
	out, runErr := p.Run(r.Context(), s.rt, in, engine.RunOptions{ExecutionID: id, Metadata: md, Vars: vars, Trace: trace, Learned: &learned})
	end := time.Now()
	res := RunResult{ExecutionID: id, Pipeline: p.Name}
	var e *engine.Error
	secrets := s.rt.Secrets.Values()
	if runErr != nil {
		e = engine.AsError(runErr)
		sensitive := func(k string) bool { return engine.SensitiveField(k, p.SensitiveFields, s.rt.SensitiveFields) }
		res.Error, _ = value.Encode(e.Shown(sensitive, secrets, learned).Object())
	} else if res.Output, err = value.Encode(out); err != nil {
		e = engine.NewError(http.StatusInternalServerError, "the final message cannot be written as JSON: %v", err)
		res.Error, _ = value.Encode(e.Object())
	}
	if v != nil {
		if e != nil {
			v.pm.failed.Inc()
		} else {
			v.pm.ok.Inc()
		}
		v.pm.duration.Observe(end.Sub(start).Seconds())
	}
	if req.Trace && trace != nil {
		res.Trace = make([]engine.StepRecord, len(trace.Steps))
		for i, st := range trace.Steps {
			st.Error = engine.MaskSecrets(st.Error, secrets, learned)
			res.Trace[i] = st
		}
	}
	if !s.opts.HistoryOff {
		s.hist.Record(&history.Execution{ID: id, Pipeline: p, Trigger: "run", Start: start, End: end, Input: in, Output: out, Err: e, Trace: trace, Secrets: learned})
	}
	// Not writeValue: the output goes out as the pipeline wrote it, without
	// encoding/json's HTML escaping, as a local nectar run prints it.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, buf.Bytes())
}

// maxRunInput is the largest input, vars and globals POST /api/run reads
// besides the pipeline's source.
const maxRunInput = 64 << 20

func decodeField(name string, raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	v, err := value.Decode(raw)
	if err != nil {
		return nil, errors.New(name + " is not JSON: " + err.Error())
	}
	return v, nil
}

func decodeObject(name string, raw json.RawMessage) (*value.Object, error) {
	v, err := decodeField(name, raw)
	if v == nil || err != nil {
		return nil, err
	}
	o, ok := v.(*value.Object)
	if !ok {
		return nil, errors.New(name + " must be a JSON object")
	}
	return o, nil
}
