// Package console is Nectar's console: the pages a person opens in a
// browser to see what `nectar serve` serves and what ran. Files stay the
// source of truth; the console shows pipelines (trigger, recent runs, a
// diagram drawn from the loaded pipeline beside its YAML), executions (a
// filtered list that updates live, each execution's timeline), accounts
// (token state, Authorize, Test), consumers (create, issue and revoke
// keys) and health.
//
// # Basics
//
// New returns a *Console, an http.Handler for every path under
// Options.Path (default /console). Route sends those paths to it and the
// rest to the server. Pages are server-rendered html/template, with one
// small script and one stylesheet, all embedded: nothing is fetched from
// another host, and no Node toolchain builds them.
//
// What the console shows it reads through a Backend; package server's
// ConsoleBackend is the one nectar serve uses.
//
// # Security
//
// A person signs in with the admin key. The console then sets a session
// cookie (HttpOnly, SameSite=Strict, Path=Options.Path, Secure over TLS)
// that expires after Options.SessionTTL; sessions live in this process.
// Every change (POST) must carry the session's CSRF token, in a form field
// or the X-CSRF-Token header, and come from the console's own origin.
// Secrets never reach a page: accounts are shown masked, token state
// without tokens, and a consumer's new API key or password is fetched by
// the script and shown once, outside the page's source. Pages are sent
// with a Content-Security-Policy allowing only the console's own script
// and style, no framing, and no caching.
//
// Close ends the live streams (server-sent events), so that an
// http.Server's Shutdown does not wait for them.
package console

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/history"
)

// Backend is what the console reads and does. Its methods are called from
// many requests at once.
type Backend interface {
	// Pipelines returns the served pipelines, sorted by name.
	Pipelines() []Pipeline
	// Problems returns the pipeline files that do not load now, each with
	// its source and errors.
	Problems(ctx context.Context) []Pipeline
	// Executions lists a page of execution records in the history's list
	// order, without snapshots (history.ListScan): at most f.Scan records
	// are read (0: no bound); next is the cursor of the page after it
	// (f.Cursor; "" at the end), history.ErrCursor for a cursor no page gave.
	Executions(ctx context.Context, f Filter) (recs []*history.Record, next string, err error)
	// Execution returns one record with its steps and snapshots
	// (history.ErrNotFound when unknown).
	Execution(ctx context.Context, id string) (*history.Record, error)
	// Run runs a served pipeline once on input (JSON), recorded in the
	// history with trigger "run".
	Run(ctx context.Context, pipeline string, input []byte) (*RunResult, error)
	// Accounts and Consumers return the managers (nil: none).
	Accounts() *accounts.Manager
	Consumers() *consumers.Manager
	// Health reports readiness, the store and the history.
	Health(ctx context.Context) Health
	// CheckAdminKey tells whether key is the admin key (in constant time).
	CheckAdminKey(key string) bool
}

// Pipeline is a served pipeline (or a file that does not load).
type Pipeline struct {
	Name        string
	Description string
	File        string
	Trigger     Trigger
	// Loaded is the served pipeline; nil for a file that does not load.
	Loaded *engine.Pipeline
	// Source is the file's content (nil for a shipped pipeline).
	Source []byte
	// Errors are the file's load errors (a file that does not load now;
	// a previous version may still be served).
	Errors []*engine.LoadError
}

// Trigger describes how a pipeline starts.
type Trigger struct {
	// Kind is http, schedule, event, or "" (run only by hand or by other
	// pipelines).
	Kind    string
	Route   string
	Methods []string
	Auth    string
	Cron    string
	// Next is a schedule's next run.
	Next  time.Time
	Event string
}

// Filter selects executions; Since and Before bound the start time, and
// Scan the records read.
type Filter struct {
	history.Filter
	Since time.Time
	Scan  int
}

// RunResult is the outcome of Backend.Run.
type RunResult struct {
	ExecutionID string          `json:"execution_id,omitempty"`
	Output      json.RawMessage `json:"output,omitempty"`
	Error       json.RawMessage `json:"error,omitempty"`
}

// Health is what the health page shows.
type Health struct {
	Ready       bool
	Status      string // ready, or what is not ready
	StoreKind   string // bolt, postgres, none
	Replicas    int    // replicas seen sharing the store (0: not known)
	HistorySize int    // records kept (-1: history off)
	Version     string
	Pipelines   int
}

// Options configure a Console.
type Options struct {
	// Path is where the console is served (default /console).
	Path    string
	Backend Backend
	// SessionTTL is how long a sign-in lasts (default 12h).
	SessionTTL time.Duration
	// LivePoll is how often the live executions stream looks for new
	// records (default 1s).
	LivePoll time.Duration
	Logger   *slog.Logger
}

// Console serves the console. Create it with New.
type Console struct {
	opts     Options
	b        Backend
	path     string
	mux      *http.ServeMux
	sessions *sessions
	log      *slog.Logger
	flows    *authFlows
	done     context.Context
	close    context.CancelFunc
}

// New returns the console.
func New(opts Options) *Console {
	if opts.Path == "" {
		opts.Path = "/console"
	}
	opts.Path = "/" + strings.Trim(opts.Path, "/")
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.LivePoll <= 0 {
		opts.LivePoll = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Console{opts: opts, b: opts.Backend, path: opts.Path, sessions: newSessions(opts.SessionTTL), log: opts.Logger}
	c.flows = &authFlows{running: map[string]*authFlow{}}
	c.done, c.close = context.WithCancel(context.Background())
	c.routes()
	return c
}

// Path returns the path the console is served at.
func (c *Console) Path() string { return c.path }

// Close ends the live streams and pending authorizations.
func (c *Console) Close() { c.close() }

// Route returns a handler that sends the console's paths to c and every
// other path to next.
func Route(c *Console, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The console's path itself or a path under it, without building
		// c.path+"/" for every request.
		if p := r.URL.Path; strings.HasPrefix(p, c.path) && (len(p) == len(c.path) || p[len(c.path)] == '/') {
			c.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the console's pages.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}
