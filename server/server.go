// Package server is `nectar serve`, the host of trigger modules: one
// process that serves every pipeline's trigger (http routes, schedules,
// event subscriptions: engine.Trigger values the trigger kinds of
// triggers/all compile), the management API under /api/, /healthz, /readyz
// and /metrics, records every execution in the history, and reloads
// pipeline files when they change. It knows no trigger kind: it gives each
// served pipeline version's trigger an engine.Host (host.go), routes the
// engine.Route values of engine.Router triggers (routes.go), and starts and
// stops the triggers with the versions.
//
// # Lifecycle
//
// New loads the pipelines and builds the routes; Handler is the http.Handler
// to serve; Start starts the triggers (schedules, event subscriptions) and
// file polling; Shutdown stops everything in one sequence (below). The
// caller owns the store and serves the http.Server; HTTPServer and
// LimitListener give it the deadlines and the connection cap of nectar
// serve (see Limits), and Shutdown shuts down the http.Server HTTPServer
// made.
//
// # Shutdown
//
// Shutdown(ctx) runs these steps; nectar serve calls it on SIGTERM with
// --shutdown-timeout:
//
//  1. Intake (StopIntake, which nectar serve calls at once on the signal):
//     /readyz answers 503, schedules fire no more ticks, file polling stops,
//     and a shared event bus (events.IntakeStopper: PostgreSQL) claims no
//     more events, so the events published meanwhile go to the other
//     replicas instead of being started here.
//  2. Drain, until the last fifth of ctx's time (at most 5 s) is left: the
//     http.Server stops accepting connections and waits for its requests;
//     then event subscriptions (an in-process bus drains its queue) and
//     schedules wait for their running executions.
//  3. Cut: executions still running at the end of the drain are cancelled.
//     An HTTP caller gets 503; an event goes back to the bus, where another
//     replica runs it again (at least once); a schedule's run is recorded
//     as failed. Each records itself.
//  4. Flush, in the time left: the history writes every record, then the
//     pipelines close.
//
// Shutdown returns an error only when something is lost: records the store
// refused (the history's own bound), or executions that ignored their
// cancellation past ctx. Executions cut in step 3 are logged, not errors.
//
// # Reloading
//
// Reload (called on SIGHUP, by the file poller and by POST /api/reload)
// loads the files that changed. A file that no longer loads keeps its
// previous version and the reason is logged; a new version replaces the
// old one atomically for new requests, while requests in flight finish on
// the version they started with. A replaced version's trigger is stopped
// first (it waits for the runs it started); the version is counted (one
// reference while served, one per run in flight) and its pipeline closes
// when the last reference goes.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/events"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/pipelines"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/triggers"
	_ "github.com/nectar-run/nectar/triggers/all" // every trigger kind that ships with Nectar
)

// Options configure a Server.
type Options struct {
	// Dir is the folder of pipeline files served and watched ("" for none).
	Dir string
	// Shipped holds pipelines that ship with Nectar (embedded); a file in
	// Dir with the same pipeline name replaces one of them.
	Shipped fs.FS
	// Load are the options every pipeline is loaded with (globals).
	Load engine.LoadOptions
	// Runtime is shared by every execution; the server sets its Pipelines
	// (a library of the served pipelines), its Logger when nil, and the
	// services trigger modules use: the event bus (events.ServiceKey), the
	// consumers (triggers.ConsumersKey) and the rate limiter
	// (triggers.LimiterKey). nil makes one. Triggers with auth: jwt verify
	// tokens with the jwt key source installed in it (jwt.SetKeySource;
	// nectar serve installs pipelines.InstallKeys: NECTAR_JWT_* variables,
	// then the accounts), exactly as its jwt steps do.
	Runtime *engine.Runtime
	// Store keeps the execution history and consumers (nil: neither).
	Store store.Store
	// Consumers authenticate callers (nil: auth apikey and basic fail).
	Consumers *consumers.Manager
	// History configures the execution history; HistoryOff turns it off.
	History    history.Options
	HistoryOff bool
	// Bus carries events (default: an in-process events.Memory).
	Bus events.Bus
	// AdminKey protects /api/. Empty refuses every /api/ request.
	AdminKey string
	// Mount adds handlers to the management API (accounts). Patterns are
	// http.ServeMux patterns under /api/; Public ones skip the admin key
	// (an OAuth callback a browser follows).
	Mount []Mount
	// Registry receives the server's metrics (default: a new registry with
	// the Go and process collectors).
	Registry *prometheus.Registry
	// ReloadInterval is how often Dir is polled for changes (0: never; use
	// Reload or SIGHUP).
	ReloadInterval time.Duration
	Logger         *slog.Logger
}

// Mount is a handler added to the management API.
type Mount struct {
	Pattern string
	Handler http.Handler
	Public  bool
}

// Server serves pipelines. Create it with New.
type Server struct {
	opts    Options
	rt      *engine.Runtime
	lib     *engine.Library
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics
	hist    *history.Recorder
	bus     events.Bus
	ownBus  bool
	api     http.Handler

	writeGrace atomic.Int64 // Limits.WriteGrace, set by HTTPServer

	gen atomic.Pointer[generation]

	reloadMu sync.Mutex
	files    map[string]fileState // path → state, under reloadMu

	runMu   sync.Mutex // guards started and the versions' started
	started bool       // triggers start: between Start and StopIntake
	ready   atomic.Bool
	closing atomic.Bool

	readiness readiness // the store's last check, for /readyz

	hs        atomic.Pointer[http.Server] // made by HTTPServer; shut down by Shutdown
	active    tracker                     // running executions: requests, schedules, events
	execCtx   context.Context             // cancelled when Shutdown cuts what still runs
	abortExec context.CancelCauseFunc     // with a shutdownCut: when the cut came

	bg       sync.WaitGroup     // the file poller
	stopBg   context.CancelFunc // ends the intake: triggers' Start context
	bgCtx    context.Context
	retiring tracker // retired versions whose triggers are stopping
}

type fileState struct {
	mod  time.Time
	size int64
	name string // pipeline name, "" when the file never loaded
}

// New loads the pipelines and prepares the server. Problems with single
// files are logged, not returned: the server serves what loads.
func New(ctx context.Context, opts Options) (*Server, error) {
	s := &Server{opts: opts, files: map[string]fileState{}}
	s.log = opts.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	s.rt = opts.Runtime
	if s.rt == nil {
		s.rt = &engine.Runtime{}
	}
	if s.rt.Logger == nil {
		s.rt.Logger = s.log
	}
	// Log lines and execution records mask the secrets Nectar holds
	// wherever they appear: the admin key, and what accounts and steps add
	// to the runtime's Secrets as they read it.
	s.rt.Secrets.Add(opts.AdminKey)
	s.log = slog.New(engine.MaskLogs(s.log.Handler(), s.rt))
	s.rt.Logger = slog.New(engine.MaskLogs(s.rt.Logger.Handler(), s.rt))
	s.lib = engine.NewLibrary(opts.Load)
	s.rt.Pipelines = s.lib
	s.bus = opts.Bus
	if s.bus == nil {
		s.bus = events.NewMemory()
		s.ownBus = true
	}
	s.rt.SetService(events.ServiceKey{}, countingBus{s.bus, s})
	if opts.Consumers != nil {
		s.rt.SetService(triggers.ConsumersKey{}, opts.Consumers)
	}
	s.rt.SetService(triggers.LimiterKey{}, consumers.NewLimiter())
	s.reg = opts.Registry
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
		s.reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	}
	s.metrics = newMetrics(s.reg)
	s.bgCtx, s.stopBg = context.WithCancel(context.Background())
	s.execCtx, s.abortExec = context.WithCancelCause(context.Background())
	hopts := opts.History
	// What the runtime masks in log lines, the history masks too.
	hopts.SensitiveFields = append(slices.Clip(hopts.SensitiveFields), s.rt.SensitiveFields...)
	if hopts.SecretValues == nil {
		hopts.SecretValues = s.rt.Secrets.Values
	}
	if hopts.Logger == nil {
		hopts.Logger = s.log
	}
	hopts.Observe = s.metrics.observe
	var hst store.Store
	if !opts.HistoryOff {
		hst = opts.Store
	}
	hist, err := history.New(ctx, hst, hopts)
	if err != nil {
		return nil, err
	}
	s.hist = hist
	registerHistory(s.reg, hist)
	s.gen.Store(&generation{})
	if _, err := s.load(ctx, true); err != nil {
		return nil, err
	}
	s.api = s.apiHandler()
	return s, nil
}

// countingBus counts published events for /metrics.
type countingBus struct {
	events.Bus
	s *Server
}

func (b countingBus) Publish(ctx context.Context, name string, payload any) error {
	err := b.Bus.Publish(ctx, name, payload)
	if err == nil {
		b.s.metrics.eventsQueued.Inc()
	}
	return err
}

// Library returns the library of served pipelines.
func (s *Server) Library() *engine.Library { return s.lib }

// Runtime returns the runtime executions share.
func (s *Server) Runtime() *engine.Runtime { return s.rt }

// Registry returns the metrics registry.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// History returns the recorder.
func (s *Server) History() *history.Recorder { return s.hist }

// Reload loads the pipeline files that changed since the last load and
// swaps them in. It returns the problems of files that failed to load (the
// previous versions stay).
func (s *Server) Reload(ctx context.Context) error {
	problems, err := s.load(ctx, false)
	return errors.Join(err, problems)
}

// load scans Dir (and, the first time, the shipped pipelines), loads what
// changed, and installs a new generation. problems are the files that did
// not load (logged); err is a failure to read Dir at all.
func (s *Server) load(ctx context.Context, first bool) (problems, err error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.gen.Load()
	// Current versions by file.
	byFile := map[string]*version{}
	for _, v := range old.versions {
		byFile[v.file] = v
	}
	var files []string
	if s.opts.Dir != "" {
		var err error
		files, err = engine.PipelineFiles(s.opts.Dir)
		if err != nil && !(first && errors.Is(err, fs.ErrNotExist)) {
			return nil, fmt.Errorf("listing pipelines in %s: %w", s.opts.Dir, err)
		}
		sort.Strings(files)
	}
	var next []*version
	var errs []error
	changed := false
	seen := map[string]bool{}
	for _, f := range files {
		seen[f] = true
		st, err := os.Stat(f)
		if err != nil {
			continue
		}
		prev, had := s.files[f]
		cur := byFile[f]
		if had && prev.mod.Equal(st.ModTime()) && prev.size == st.Size() {
			if cur != nil {
				next = append(next, cur)
			}
			continue
		}
		changed = true
		p, err := engine.LoadFile(f, s.opts.Load)
		s.files[f] = fileState{mod: st.ModTime(), size: st.Size()}
		if err != nil {
			s.metrics.reloads.WithLabelValues("failed").Inc()
			errs = append(errs, err)
			if cur != nil {
				s.log.Error("pipeline file does not load; keeping the previous version", "file", f, "pipeline", cur.p.Name, "error", err.Error())
				next = append(next, cur)
			} else {
				s.log.Error("pipeline file does not load", "file", f, "error", err.Error())
			}
			continue
		}
		s.metrics.reloads.WithLabelValues("ok").Inc()
		if !first {
			s.log.Info("pipeline loaded", "file", f, "pipeline", p.Name)
		}
		next = append(next, newVersion(s, p, f, false))
	}
	for f := range s.files {
		if !seen[f] {
			delete(s.files, f)
			changed = true
			s.log.Info("pipeline file removed", "file", f)
		}
	}
	if first && s.opts.Shipped != nil {
		shipped, err := pipelines.Load(s.opts.Shipped, s.opts.Load)
		if err != nil {
			s.log.Error("shipped pipelines do not load", "error", err.Error())
		}
		for _, p := range shipped {
			next = append(next, newVersion(s, p, p.File, true))
		}
		changed = true
	} else {
		for _, v := range old.versions {
			if v.shipped {
				next = append(next, v)
			}
		}
	}
	if !changed && !first {
		return nil, nil
	}
	gen, rejected := s.build(next)
	for _, v := range rejected {
		if v.err != nil {
			errs = append(errs, v.err)
		}
	}
	// Versions loaded now that the generation does not serve (rejected,
	// or a shipped pipeline a file replaces) are closed at once.
	known := map[*version]bool{}
	for _, v := range append(slices.Clip(gen.versions), old.versions...) {
		known[v] = true
	}
	for _, v := range next {
		if !known[v] {
			known[v] = true
			v.release(s)
		}
	}
	s.install(gen, old)
	return errors.Join(errs...), nil
}

// install makes gen current: the library, the triggers of its new
// versions (once the server started), and retiring the versions gen no
// longer holds: their triggers stop, then the server drops its reference,
// and each pipeline closes when its last run ends.
func (s *Server) install(gen *generation, old *generation) {
	keep := map[*version]bool{}
	for _, v := range gen.versions {
		keep[v] = true
	}
	s.gen.Store(gen)
	// The library points at the current versions; replaced ones are closed
	// through their own version below, once no request uses them.
	for _, v := range gen.versions {
		s.lib.Add(v.p)
	}
	names := map[string]bool{}
	for _, v := range gen.versions {
		names[v.p.Name] = true
	}
	for _, p := range s.lib.All() {
		if !names[p.Name] {
			s.lib.Remove(p.Name)
		}
	}
	s.runMu.Lock()
	if s.started {
		for _, v := range gen.versions {
			s.startTrigger(v)
		}
	}
	s.runMu.Unlock()
	var retired []*version
	for _, v := range old.versions {
		if !keep[v] {
			retired = append(retired, v)
		}
	}
	if len(retired) == 0 {
		return
	}
	s.retiring.add()
	go func() {
		defer s.retiring.done()
		s.stopTriggers(context.Background(), retired)
		for _, v := range retired {
			v.release(s)
		}
	}()
}

// Start starts the triggers (schedules, event subscriptions) and, with
// ReloadInterval, the file poller. It returns at once.
func (s *Server) Start() {
	s.runMu.Lock()
	s.started = true
	for _, v := range s.gen.Load().versions {
		s.startTrigger(v)
	}
	s.runMu.Unlock()
	if s.opts.ReloadInterval > 0 && s.opts.Dir != "" {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			t := time.NewTicker(s.opts.ReloadInterval)
			defer t.Stop()
			for {
				select {
				case <-s.bgCtx.Done():
					return
				case <-t.C:
					_ = s.Reload(s.bgCtx)
				}
			}
		}()
	}
	s.ready.Store(true)
}

// startTrigger starts v's trigger once; runMu is held. Its context is the
// intake, which StopIntake ends.
func (s *Server) startTrigger(v *version) {
	t := v.trigger()
	if t == nil || v.started {
		return
	}
	v.started = true
	if err := t.Start(s.bgCtx, v.host); err != nil {
		s.log.Error("trigger does not start", "pipeline", v.p.Name, "error", err.Error())
	}
}

// StopIntake is the first step of Shutdown: schedules, file polling and a
// shared event bus start nothing from now on, and /readyz answers 503;
// what runs goes on. It returns at once. nectar serve calls it as soon as
// it gets SIGTERM, then Shutdown.
func (s *Server) StopIntake() {
	if s.closing.Swap(true) {
		return
	}
	s.ready.Store(false)
	s.runMu.Lock()
	s.started = false // a reload now starts no trigger
	s.runMu.Unlock()
	s.stopBg() // the triggers' intake (schedule loops) and the file poller
	if is, ok := s.bus.(events.IntakeStopper); ok {
		is.StopIntake()
	}
}

// The last part of Shutdown's time, 1/flushShare of it and at most
// maxFlushReserve, is kept for the history's flush: a request that uses
// the whole budget is cut before it, not after.
const (
	flushShare      = 5
	maxFlushReserve = 5 * time.Second
)

// Shutdown stops the server in the sequence the package doc describes:
// intake, drain, cut, flush. ctx bounds it all; without a deadline it
// waits for every execution.
func (s *Server) Shutdown(ctx context.Context) error {
	s.StopIntake()
	s.hist.Closing() // nothing held for a shared commit past this point
	drainCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		reserve := min(time.Until(deadline)/flushShare, maxFlushReserve)
		var cancel context.CancelFunc
		drainCtx, cancel = context.WithDeadline(ctx, deadline.Add(-reserve))
		defer cancel()
	}
	// Drain: HTTP first, so that what its requests publish on an
	// in-process bus is still handled; then subscriptions and schedules.
	hs := s.hs.Load()
	if hs != nil {
		_ = hs.Shutdown(drainCtx) // past drainCtx, its requests are cut below
	}
	gen := s.gen.Load()
	// A trigger's Stop waits for its runs; past drainCtx it cancels them
	// (a subscription's event goes back to a shared bus) and returns.
	stopped := make(chan struct{})
	go func() {
		s.stopTriggers(drainCtx, gen.versions)
		if s.ownBus {
			if m, ok := s.bus.(*events.Memory); ok {
				_ = m.Close(drainCtx)
			}
		}
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-drainCtx.Done():
	}
	if s.active.wait(drainCtx) != nil {
		// Cut: what still runs is cancelled and records itself.
		s.log.Warn("shutdown: the drain ran out of time; cancelling the executions still running (an HTTP caller gets 503, an event goes back to the bus)",
			"executions", s.active.count())
		s.abortExec(shutdownCut{at: time.Now()})
	}
	var errs []error
	select {
	case <-stopped:
	case <-ctx.Done():
	}
	if err := s.active.wait(ctx); err != nil {
		errs = append(errs, fmt.Errorf("%d executions still running after their cancellation; their records are lost", s.active.count()))
	}
	if hs != nil {
		_ = hs.Close() // connections whose request was cut
	}
	// Flush: whatever is left of ctx, at least the reserve.
	errs = append(errs, s.hist.Close(ctx))
	// Versions retired by a reload close once their triggers stopped; the
	// current ones as the server drops its reference (at once, with no run
	// left).
	_ = s.retiring.wait(ctx)
	for _, v := range gen.versions {
		errs = append(errs, v.release(s))
	}
	return errors.Join(errs...)
}

// tracker counts running executions and lets Shutdown wait for none.
// Counting in and out is an atomic add; the channel a waiter waits on is
// made only when one waits (not each time the count leaves 0), and closed
// by the done that brings the count to 0 after it.
type tracker struct {
	n    atomic.Int64
	mu   sync.Mutex
	idle chan struct{} // a waiter's, closed when n drops to 0; nil: none waits
}

func (t *tracker) add() { t.n.Add(1) }

func (t *tracker) done() {
	if t.n.Add(-1) != 0 {
		return
	}
	// Under mu, so that a waiter that saw a count above 0 made its channel
	// before this looks: either this closes it, or the count rose again
	// and a later done brings it back to 0 and closes it.
	t.mu.Lock()
	if t.idle != nil && t.n.Load() == 0 {
		close(t.idle)
		t.idle = nil
	}
	t.mu.Unlock()
}

func (t *tracker) count() int { return int(t.n.Load()) }

// wait returns nil when no execution runs, or ctx's error.
func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	if t.n.Load() == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
