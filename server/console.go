package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/console"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/store"
)

// ConsoleOptions describe what the console's health page shows about the
// process.
type ConsoleOptions struct {
	Version   string
	StoreKind string // bolt, postgres
}

// ConsoleBackend returns the console's view of s (package console). With
// a PostgreSQL store, the replica announces itself in the store until
// StopIntake, so the health page counts the replicas sharing it.
func (s *Server) ConsoleBackend(opts ConsoleOptions) console.Backend {
	b := &consoleBackend{s: s, opts: opts, checks: map[string]fileCheck{}}
	if opts.StoreKind == "postgres" && s.opts.Store != nil {
		host, _ := os.Hostname()
		b.replica = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), history.NewID(time.Now())[12:])
		b.beat(s.bgCtx)
		go b.heartbeat(s.bgCtx)
	}
	return b
}

// Replicas announce themselves in replicasBucket every replicaBeat; an
// announcement expires after three beats missed.
const (
	replicasBucket = "replicas"
	replicaBeat    = 10 * time.Second
)

func (b *consoleBackend) beat(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, replicaBeat)
	defer cancel()
	if _, err := b.s.opts.Store.Put(ctx, replicasBucket, b.replica, []byte(time.Now().UTC().Format(time.RFC3339)), store.TTL(3*replicaBeat)); err != nil && ctx.Err() == nil {
		b.s.log.Warn("console: announcing this replica failed", "error", err.Error())
	}
}

func (b *consoleBackend) heartbeat(ctx context.Context) {
	t := time.NewTicker(replicaBeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Stopping: this replica is no longer seen.
			dctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = b.s.opts.Store.Delete(dctx, replicasBucket, b.replica)
			cancel()
			return
		case <-t.C:
			b.beat(ctx)
		}
	}
}

type consoleBackend struct {
	s       *Server
	opts    ConsoleOptions
	replica string // this replica's key in replicasBucket ("": not announced)

	mu     sync.Mutex
	checks map[string]fileCheck // file → its last check
}

// fileCheck is the outcome of loading one version of a file.
type fileCheck struct {
	mod  time.Time
	size int64
	name string
	err  error
}

// errHistoryOff answers the executions pages when nothing is recorded.
var errHistoryOff = errors.New("the execution history is off (nectar serve --no-history, or no store)")

// consoleTrigger gives the console what a pipeline's trigger says of
// itself (engine.Trigger's Describe: path, methods and auth of a route,
// cron and next run of a schedule, name of an event).
func consoleTrigger(v *version) console.Trigger {
	d := describe(v).Trigger
	if d == nil {
		return console.Trigger{}
	}
	t := console.Trigger{Kind: v.p.Trigger.Kind}
	t.Route, _ = d["path"].(string)
	t.Methods, _ = d["methods"].([]string)
	if auth, ok := d["auth"].([]string); ok {
		t.Auth = strings.Join(auth, ", ")
	}
	t.Cron, _ = d["cron"].(string)
	t.Next, _ = d["next_run"].(time.Time)
	t.Event, _ = d["name"].(string)
	return t
}

func (b *consoleBackend) Pipelines() []console.Pipeline {
	g := b.s.gen.Load()
	out := make([]console.Pipeline, 0, len(g.versions))
	for _, v := range g.versions {
		p := console.Pipeline{Name: v.p.Name, Description: v.p.Description, File: v.file, Trigger: consoleTrigger(v), Loaded: v.p}
		if !v.shipped {
			p.Source, _ = os.ReadFile(v.file)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Problems loads the files of Dir that no served pipeline comes from, and
// the served files that changed since, and returns those that fail.
func (b *consoleBackend) Problems(ctx context.Context) []console.Pipeline {
	if b.s.opts.Dir == "" {
		return nil
	}
	files, err := engine.PipelineFiles(b.s.opts.Dir)
	if err != nil {
		return nil
	}
	served := map[string]bool{}
	for _, v := range b.s.gen.Load().versions {
		served[v.file] = true
	}
	var out []console.Pipeline
	for _, f := range files {
		data, ck, ok := b.check(ctx, f)
		if !ok || ck.err == nil && served[f] {
			continue
		}
		err := ck.err
		if err == nil {
			err = &engine.LoadError{File: f, Line: 1, Err: errors.New("loads, but is not served: pipeline " + ck.name + " is served from another file, or one of its routes is taken")}
		}
		out = append(out, console.Pipeline{Name: strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)), File: f, Source: data, Errors: engine.LoadErrors(err)})
	}
	return out
}

// check loads file once per version (modification time and size) and
// returns its content and outcome.
func (b *consoleBackend) check(ctx context.Context, file string) ([]byte, fileCheck, bool) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, fileCheck{}, false
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fileCheck{}, false
	}
	b.mu.Lock()
	ck, seen := b.checks[file]
	b.mu.Unlock()
	if seen && ck.mod.Equal(st.ModTime()) && ck.size == st.Size() {
		return data, ck, true
	}
	ck = fileCheck{mod: st.ModTime(), size: st.Size()}
	p, err := engine.Load(file, data, b.s.opts.Load)
	if err == nil {
		ck.name = p.Name
		_ = p.Close(ctx)
	}
	ck.err = err
	b.mu.Lock()
	b.checks[file] = ck
	b.mu.Unlock()
	return data, ck, true
}

func (b *consoleBackend) Executions(ctx context.Context, f console.Filter) ([]*history.Record, string, error) {
	if b.s.opts.Store == nil || b.s.opts.HistoryOff {
		return nil, "", errHistoryOff
	}
	b.s.flushHistory(ctx, "")
	hf := f.Filter
	if !f.Since.IsZero() {
		hf.Since = history.IDPrefix(f.Since)
	}
	return history.ListScan(ctx, b.s.opts.Store, hf, f.Scan)
}

func (b *consoleBackend) Execution(ctx context.Context, id string) (*history.Record, error) {
	if b.s.opts.Store == nil || b.s.opts.HistoryOff {
		return nil, errHistoryOff
	}
	b.s.flushHistory(ctx, id)
	return history.Get(ctx, b.s.opts.Store, id)
}

// bufferedResponse collects what a handler answers.
type bufferedResponse struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (r *bufferedResponse) Header() http.Header         { return r.h }
func (r *bufferedResponse) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *bufferedResponse) WriteHeader(code int)        { r.code = code }

// Run runs the pipeline as POST /api/run does (same recording, metrics
// and masking): it is that handler, called in process.
func (b *consoleBackend) Run(ctx context.Context, pipeline string, input []byte) (*console.RunResult, error) {
	body, err := json.Marshal(RunRequest{Pipeline: pipeline, Input: input})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/api/run", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	rw := &bufferedResponse{h: http.Header{}, code: http.StatusOK}
	b.s.apiRun(rw, req)
	if rw.code != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(rw.body.Bytes(), &e) != nil || e.Error == "" {
			e.Error = http.StatusText(rw.code)
		}
		return nil, errors.New(e.Error)
	}
	var res console.RunResult
	if err := json.Unmarshal(rw.body.Bytes(), &res); err != nil {
		return nil, err
	}
	return &res, nil
}

func (b *consoleBackend) Accounts() *accounts.Manager {
	am, _ := accounts.FromRuntime(b.s.rt)
	return am
}

func (b *consoleBackend) Consumers() *consumers.Manager { return b.s.opts.Consumers }

func (b *consoleBackend) Health(ctx context.Context) console.Health {
	h := console.Health{Ready: true, Status: "ready", StoreKind: b.opts.StoreKind, Version: b.opts.Version, Pipelines: len(b.s.gen.Load().versions), HistorySize: -1}
	switch {
	case !b.s.ready.Load():
		h.Ready, h.Status = false, "not ready (starting or shutting down)"
	case b.s.storeReady() != nil:
		h.Ready, h.Status = false, "not ready: the store does not answer"
	}
	if h.StoreKind == "" {
		h.StoreKind = "none"
		if b.s.opts.Store != nil {
			h.StoreKind = "custom"
		}
	}
	if b.s.opts.Store != nil && !b.s.opts.HistoryOff {
		h.HistorySize = int(b.s.hist.Size())
	}
	if b.replica != "" {
		if items, err := b.s.opts.Store.List(ctx, replicasBucket, store.ListOptions{}); err == nil {
			h.Replicas = len(items)
		}
	}
	return h
}

func (b *consoleBackend) CheckAdminKey(key string) bool {
	return b.s.opts.AdminKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(b.s.opts.AdminKey)) == 1
}
