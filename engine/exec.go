package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// Pipeline is a loaded, compiled pipeline. It is immutable and safe for
// concurrent executions.
type Pipeline struct {
	Name            string
	Description     string
	File            string
	Globals         *value.Object
	Trigger         *TriggerBlock
	SensitiveFields []string
	Timeout         time.Duration
	steps           Steps
	closers         []Closer
	// nameBox is Name as an any, made at load: an execution's metadata
	// holds it without boxing it again (boxed checks it is still Name).
	nameBox any
	// traced is how many step records the last traced execution of the
	// pipeline made: the next one's trace starts with room for as many
	// (see Trace.reserve).
	traced atomic.Int32
}

// boxed returns s as an any, box itself when box holds s: a string put in
// an object costs an allocation each time it is boxed anew.
func boxed(box any, s string) any {
	if b, ok := box.(string); ok && b == s {
		return box
	}
	return s
}

// Close releases what the pipeline's steps hold.
func (p *Pipeline) Close(ctx context.Context) error {
	var errs []error
	for _, c := range p.closers {
		errs = append(errs, c.Close(ctx))
	}
	p.closers = nil
	return errors.Join(errs...)
}

// DefaultSensitiveFields are field names whose values Nectar masks as ***
// wherever it shows data (log lines, execution records), in every pipeline.
// Names match as SensitiveField says: api_key also covers apiKey, API-KEY,
// ApiKey and " api key ".
var DefaultSensitiveFields = []string{
	"password", "passwd", "pwd", "passphrase", "secret", "client_secret", "secret_key", "access_key",
	"token", "access_token", "refresh_token", "id_token", "session_token", "x_auth_token", "otp",
	"api_key", "x_api_key", "authorization", "proxy_authorization", "private_key", "credential", "credentials",
	"cookie", "set_cookie", "jws", "client_assertion", "assertion", "code_verifier",
	// Credential headers of well-known APIs (AWS, Google, Azure API
	// Management, GitLab, Vault, Shopify, and others').
	"x_amz_security_token", "x_goog_api_key", "ocp_apim_subscription_key", "private_token", "x_vault_token",
	"x_shopify_access_token", "x_access_token",
}

var defaultSensitive = func() map[string]bool {
	m := make(map[string]bool, len(DefaultSensitiveFields))
	for _, f := range DefaultSensitiveFields {
		m[NormalizeField(f)] = true
	}
	return m
}()

// NormalizeField returns the form in which field names are compared:
// ASCII letters lowered, _, -, dots, spaces and tabs dropped, so that
// client_secret, clientSecret, client-secret, client.secret, CLIENT_SECRET
// and "client_secret " are one name.
func NormalizeField(k string) string {
	if normal(k) {
		return k
	}
	b := make([]byte, 0, len(k))
	return string(appendNormal(b, k))
}

// normal reports whether k is already in NormalizeField's form.
func normal(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; ignored(c) || c >= 'A' && c <= 'Z' {
			return false
		}
	}
	return true
}

// ignored reports whether c is left out of field names compared.
func ignored(c byte) bool { return c == '_' || c == '-' || c == '.' || c == ' ' || c == '\t' }

// NormalFieldByte is NormalizeField for one byte: c's form in a
// normalized name (ASCII capitals lowered), or keep false for a byte left
// out. Code that normalizes names its own way (the history's name table)
// builds on it, so that there is one rule.
func NormalFieldByte(c byte) (n byte, keep bool) {
	switch {
	case ignored(c):
		return 0, false
	case c >= 'A' && c <= 'Z':
		return c + 'a' - 'A', true
	}
	return c, true
}

func appendNormal(b []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		if c, keep := NormalFieldByte(k[i]); keep {
			b = append(b, c)
		}
	}
	return b
}

// sameField reports whether a and b are one name once normalized, without
// allocating.
func sameField(a, b string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && ignored(a[i]) {
			i++
		}
		for j < len(b) && ignored(b[j]) {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		x, y := a[i], b[j]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
		i++
		j++
	}
}

// SensitiveField reports whether the values of field k are masked as ***:
// k is one of DefaultSensitiveFields or in one of lists, compared after
// NormalizeField (case-insensitive, _, -, dots, spaces and tabs ignored). Log lines and
// execution records both decide with it.
func SensitiveField(k string, lists ...[]string) bool {
	if normal(k) {
		if defaultSensitive[k] {
			return true
		}
	} else {
		var stack [64]byte
		if defaultSensitive[string(appendNormal(stack[:0], k))] {
			return true
		}
	}
	for _, l := range lists {
		for _, f := range l {
			if sameField(k, f) {
				return true
			}
		}
	}
	return false
}

// Sensitive reports whether the values of field k are masked as *** in what
// x shows: one of DefaultSensitiveFields, of the pipeline's
// sensitive_fields or of the runtime's SensitiveFields.
func (x *Exec) Sensitive(k string) bool {
	return SensitiveField(k, x.Pipeline.SensitiveFields, x.Runtime.SensitiveFields)
}

// Resolver finds pipelines by name for the pipeline connector.
type Resolver interface {
	Pipeline(name string) (*Pipeline, bool)
}

// Runtime holds what executions share: where to find other pipelines, the
// logger, and services that later parts of Nectar plug in. A Runtime is safe
// for concurrent use once built; set its fields before the first Run.
type Runtime struct {
	Pipelines Resolver
	Logger    *slog.Logger
	// MaxCallDepth bounds pipelines calling pipelines (default 16).
	MaxCallDepth int
	// SensitiveFields are field names masked as *** in every pipeline's log
	// lines and execution records, besides DefaultSensitiveFields and each
	// pipeline's own sensitive_fields (nectar serve --sensitive-fields).
	SensitiveFields []string
	// Secrets are the secret values Nectar holds (admin key, account
	// secrets and tokens…), masked wherever they appear in log lines and
	// execution records. Whatever reads a secret adds it.
	Secrets Secrets
	// Intercept, when set, is offered every step before its connector runs
	// (nectar test answers mocked steps with it). Unset, it costs one nil
	// check per step.
	Intercept Interceptor
	// SkipRetryWait makes retries (a step's retry, and the HTTP client's)
	// run at once instead of after their backoff: nectar test sets it, so
	// that a test of a retry takes no time.
	SkipRetryWait bool
	// services holds shared services by key (accounts, store, events, …),
	// set with SetService; connectors look them up with Service.
	services sync.Map
}

// Interceptor is offered a step's input before the step's connector runs,
// inside the step's timeout, retries and panic recovery; x.Step() names the
// step. When handled is true, out and err are the step's result and the
// connector does not run.
type Interceptor func(ctx context.Context, x *Exec, in any) (out any, err error, handled bool)

// SetService registers a shared service under key.
func (rt *Runtime) SetService(key, svc any) { rt.services.Store(key, svc) }

// Service returns the shared service under key.
func (rt *Runtime) Service(key any) (any, bool) { return rt.services.Load(key) }

// RunOptions are per-execution inputs besides the message.
type RunOptions struct {
	ExecutionID string
	// Metadata fields added to metadata (request, consumer, trigger, …).
	Metadata *value.Object
	// Vars are the initial vars. The execution sets its vars in this
	// object, which is not copied.
	Vars *value.Object
	// Trace, when set, receives one record per step run.
	Trace *Trace
	// Logger overrides the runtime's logger for this execution.
	Logger *slog.Logger
	// Secrets are this execution's own secret values (the credentials its
	// request carried), masked as *** in its log lines like the runtime's
	// Secrets, without joining the runtime's set.
	Secrets []string
	// Learned, when set, receives the secret values the execution's steps
	// learned as they ran (Exec.AddSecret: a token a step signed, a
	// credential a step sent), appended once Run returns, so that the
	// execution's record and the caller's own log lines mask them like
	// Secrets. It may point to Secrets.
	Learned *[]string
}

// Trace collects per-step records of one execution. Appending is safe for
// concurrent use (parallel branches append to it); read Steps once the
// execution has ended.
type Trace struct {
	mu sync.Mutex
	// forked is set when an Exec of the execution is forked (Exec.Fork):
	// from then on branches may append at once, and every append locks
	// mu. Until then the execution's one goroutine appends, in order,
	// and an append takes no lock (a token request appends 13 records).
	forked atomic.Bool
	Steps  []StepRecord
	// KeepResult, when set, says which steps' records keep their result
	// (StepRecord.Result): the execution history keeps the answers of the
	// steps that call other systems, for nectar test record to replay.
	KeepResult func(*StepInfo) bool
	// KeepIO, when set, keeps every step's input (StepRecord.Input) and,
	// for a step that succeeded, its result (StepRecord.Result), and the
	// lines the log connector writes (Logs): the console shows them on an
	// execution's timeline. Messages are immutable, so nothing is copied;
	// the history masks and caps what it stores.
	KeepIO bool
	// Logs are the log lines the execution's log steps wrote, when KeepIO
	// is set (see Exec.TraceLog).
	Logs []LogLine
}

// LogLine is a line a log step wrote, as Trace.KeepIO keeps it.
type LogLine struct {
	Step    *StepInfo // the step that wrote it
	Time    time.Time
	Level   slog.Level
	Message string
	// Fields are the line's extra fields (nil when none), masked like the
	// line.
	Fields *value.Object
}

// StepInfo describes one step of a loaded pipeline. Trace records point to
// it, so recording a step copies none of it.
type StepInfo struct {
	Pipeline  string `json:"pipeline"` // the pipeline the step belongs to (a called one for its steps)
	Step      string `json:"step"`     // the step's name, or connector#n
	Path      string `json:"path"`     // where it is in its pipeline file, like steps[2].try.steps[0]
	Connector string `json:"connector"`
}

// StepRecord is what one step run did.
type StepRecord struct {
	*StepInfo
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	Outcome  string        `json:"outcome"` // ok, skipped, error, continued
	Error    string        `json:"error,omitempty"`
	Attempts int           `json:"attempts,omitempty"`
	// Code is the error's code when Outcome is error or continued.
	Code int `json:"code,omitempty"`
	// Result is what the step returned, when Trace.KeepResult asked for
	// it or Trace.KeepIO is set (Kept): before `to` placed it.
	Result any `json:"-"`
	// Input is the step's input (after `from`), with Trace.KeepIO
	// (KeptInput).
	//
	// Result and Input are live, unmasked values: they are never written
	// as JSON (a trace answered by POST /api/run says what each step did,
	// not what it saw); the history masks what it keeps of them.
	Input any `json:"-"`
	// Kept and KeptInput sit side by side: a record is 128 bytes, not 136,
	// and a trace's first 16 records one 2 KB block.
	Kept      bool `json:"-"`
	KeptInput bool `json:"-"`
}

// lock locks t when its execution has forked (see Trace.forked), and
// reports whether it did, for unlock.
func (t *Trace) lock() bool {
	if t.forked.Load() {
		t.mu.Lock()
		return true
	}
	return false
}

func (t *Trace) unlock(locked bool) {
	if locked {
		t.mu.Unlock()
	}
}

func (t *Trace) add(r *StepRecord) {
	l := t.lock()
	if t.Steps == nil {
		t.Steps = make([]StepRecord, 0, 16)
	}
	t.Steps = append(t.Steps, *r)
	t.unlock(l)
}

// maxReserved bounds what reserve makes room for (8 KB of records): a
// pipeline whose last run looped over thousands of items does not make
// the next, short, run allocate as much.
const maxReserved = 64

// reserve makes room for n records (at most maxReserved) in a trace that
// has none yet, or less room than that (a reused one, see Reset): as many
// as the pipeline's last traced execution made, most often what this one
// makes too. (A fixed 16 took 2.3 KB for the three records of a
// transform; a run that makes more records grows the slice as append
// does.)
func (t *Trace) reserve(n int32) {
	if n <= 0 {
		return
	}
	n = min(n, maxReserved)
	l := t.lock()
	if len(t.Steps) == 0 && cap(t.Steps) < int(n) {
		t.Steps = make([]StepRecord, 0, n)
	}
	t.unlock(l)
}

// Reset empties t for another execution, keeping the room its records
// took when that is at most maxReserved records (a trace of a long loop
// gives its room back to the garbage collector): a server reuses the
// traces the history has written, instead of allocating a trace and its
// records for every execution. KeepResult and KeepIO are kept. The caller
// must be the trace's only holder: nothing may read its records after.
func (t *Trace) Reset() {
	if cap(t.Steps) > maxReserved {
		t.Steps = nil
	} else {
		clear(t.Steps) // the records point at steps' inputs and results
		t.Steps = t.Steps[:0]
	}
	if cap(t.Logs) > maxReserved {
		t.Logs = nil
	} else {
		clear(t.Logs)
		t.Logs = t.Logs[:0]
	}
	t.forked.Store(false)
}

// len returns how many records t holds.
func (t *Trace) len() int32 {
	l := t.lock()
	n := len(t.Steps)
	t.unlock(l)
	return int32(n)
}

// TraceLog adds a log line to the execution's trace when it keeps them
// (Trace.KeepIO); msg and fields are already masked the way the log line
// is. It is what the log connector calls; it costs nothing otherwise.
func (x *Exec) TraceLog(level slog.Level, msg string, fields *value.Object) {
	t := x.Trace
	if t == nil || !t.KeepIO {
		return
	}
	var info *StepInfo
	if x.step != nil {
		info = &x.step.info
	}
	l := t.lock()
	t.Logs = append(t.Logs, LogLine{Step: info, Time: x.now(), Level: level, Message: msg, Fields: fields})
	t.unlock(l)
}

// Exec is the state of one execution: its vars, metadata, logger and trace
// (the shared services are its Runtime's). Steps receive it in Execute. An Exec is used by one goroutine at a time; parallel
// branches get their own (Fork).
type Exec struct {
	ID       string
	Pipeline *Pipeline
	Runtime  *Runtime
	Vars     *value.Object
	Metadata *value.Object
	Logger   *slog.Logger
	Trace    *Trace
	Start    time.Time

	depth   int
	scope   expression.Env
	step    *stepRunner
	shared  *execShared
	account any
	// logger and handler are where Logger points: kept in the Exec, they
	// cost no allocation of their own.
	logger  slog.Logger
	handler execHandler
	idBox   any // ID as an any, shared with the pipelines it calls
	// startBox is metadata.start as an any, shared with the pipelines it
	// calls that start in the same millisecond.
	startBox any
}

// execAlloc is what newExec allocates at once for a top-level execution:
// the Exec and its shared state. A called pipeline shares its caller's and
// allocates the Exec alone. (Its metadata and vars objects are allocated
// by value.NewObject, each with its fields in one block: copying the
// object into this block would only leave the one it came in unused.)
type execAlloc struct {
	x      Exec
	shared execShared
}

// execShared is what an execution and its forks have in common.
type execShared struct {
	mu       sync.Mutex
	workDir  string
	cleanups []func()
	// learned are the secrets the execution's steps learned
	// (Exec.AddSecret): written under mu, read without it from the
	// snapshot its log lines mask.
	learned     []string
	learnedSnap atomic.Pointer[[]string]
	// few holds the first values learned and their snapshots, in one
	// allocation (a token endpoint learns one or two per execution).
	few *fewLearned
	// learnedSet holds learned's values once there are many (a loop
	// learning a value per item), so that a value is not compared with
	// each one learned before it.
	learnedSet map[string]struct{}
	// top is the top-level Exec and input its input, whose sensitive
	// values are learned (learnInput) when the execution first logs or
	// fails, not for every execution.
	top          *Exec
	input        any
	inputLearned atomic.Bool
	walked       map[walkedKey]struct{} // LearnSensitive's large values, under mu
}

// learnInput makes the values of the sensitive fields of the execution's
// input secrets of the execution (once): a log line or an error message
// that repeats one in text ("pw is {{ message.password }}") masks it.
func (sh *execShared) learnInput() {
	if sh.inputLearned.Load() {
		return
	}
	sh.mu.Lock()
	x, in := sh.top, sh.input
	first := x != nil && !sh.inputLearned.Swap(true)
	sh.mu.Unlock()
	if first {
		x.LearnSensitive(in)
	}
}

// NewExecutionID returns a random execution id.
func NewExecutionID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Run executes the pipeline on input and returns the final message. The
// error, if any, is an *Error with the pipeline, step and execution id filled.
func (p *Pipeline) Run(ctx context.Context, rt *Runtime, input any, opts RunOptions) (any, error) {
	x := p.newExec(rt, opts, nil)
	defer x.finish()
	if t := opts.Trace; t != nil {
		t.reserve(p.traced.Load())
	}
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	// Set before any branch of the execution starts: no lock.
	x.shared.top, x.shared.input = x, input
	out, err := p.steps.run(ctx, x, input, x.traceStart())
	if t := opts.Trace; t != nil {
		if n := t.len(); n != p.traced.Load() {
			p.traced.Store(n)
		}
	}
	if err != nil {
		// The error's message may quote an input value (an expression's
		// argument): whoever logs it masks the input's sensitive values.
		x.shared.learnInput()
	}
	if opts.Learned != nil {
		if l := x.shared.learnedSnap.Load(); l != nil {
			if len(*opts.Learned) == 0 {
				// The snapshot is never written again and its capacity
				// is its length: the caller's appends copy it.
				*opts.Learned = *l
			} else {
				*opts.Learned = append(*opts.Learned, *l...)
			}
		}
	}
	if err != nil {
		return nil, x.fillError(err)
	}
	return out, nil
}

// newExec starts an execution of p; caller is the execution calling p as a
// subpipeline (nil for a top-level run), whose id, working directory and
// log destination the new one shares.
func (p *Pipeline) newExec(rt *Runtime, opts RunOptions, caller *Exec) *Exec {
	if rt == nil {
		rt = &Runtime{}
	}
	id := opts.ExecutionID
	if id == "" {
		id = NewExecutionID()
	}
	var now time.Time
	if caller != nil {
		now = caller.now()
	} else {
		now = time.Now()
	}
	// A top-level Exec and its shared state are one allocation; a called
	// pipeline's Exec shares its caller's.
	var x *Exec
	var shared *execShared
	if caller != nil {
		x, shared = new(Exec), caller.shared
	} else {
		a := &execAlloc{}
		x, shared = &a.x, &a.shared
	}
	md := value.NewObject(4 + opts.Metadata.Len())
	ms := now.UnixMilli()
	var idBox, startBox any
	if caller != nil {
		// A called pipeline runs under its caller's id, and most often
		// starts in the millisecond its caller did.
		idBox = boxed(caller.idBox, id)
		startBox = caller.startBox
		if b, ok := startBox.(int64); !ok || b != ms {
			startBox = ms
		}
	} else {
		idBox, startBox = id, ms
	}
	// The object is new: its own keys are distinct, and so are the keys of
	// opts.Metadata among themselves. Only those of them named as one of
	// the own keys need Set's search, to replace its value in place.
	md.AppendNew("execution_id", idBox)
	md.AppendNew("pipeline", boxed(p.nameBox, p.Name))
	md.AppendNew("start", startBox)
	if caller != nil {
		md.AppendNew("caller", boxed(caller.Pipeline.nameBox, caller.Pipeline.Name))
	}
	opts.Metadata.Range(func(k string, v any) bool {
		switch k {
		case "execution_id", "pipeline", "start", "caller":
			md.Set(k, v)
		default:
			md.AppendNew(k, v)
		}
		return true
	})
	vars := opts.Vars
	if vars == nil {
		vars = value.NewObject(4) // room for a few vars without growing
	}
	// x is new (zero): its fields are set one by one, which writes only
	// those, where a composite literal would write (and copy) all of it.
	x.ID, x.Pipeline, x.Runtime, x.Vars, x.Metadata, x.Trace, x.Start = id, p, rt, vars, md, opts.Trace, now
	x.idBox, x.startBox, x.shared = idBox, startBox, shared
	var h slog.Handler
	if caller != nil {
		// The called pipeline logs where the caller does (RunOptions.Logger
		// of the execution, not the runtime's), under the same execution id.
		h = caller.Logger.Handler()
		if eh, ok := h.(*execHandler); ok {
			h = eh.h
		}
		x.depth = caller.depth + 1
	} else {
		logger := opts.Logger
		if logger == nil {
			logger = rt.Logger
		}
		if logger == nil {
			logger = slog.Default()
		}
		h = maskExtra(logger.Handler(), rt, opts.Secrets)
	}
	x.handler.h, x.handler.id, x.handler.pipeline, x.handler.shared = h, id, p.Name, shared
	x.logger = *slog.New(&x.handler)
	x.Logger = &x.logger
	x.scope.Vars, x.scope.Globals, x.scope.Global, x.scope.Metadata = vars, p.Globals, p.Globals, md
	return x
}

func (x *Exec) finish() {
	x.shared.mu.Lock()
	cleanups := x.shared.cleanups
	x.shared.cleanups = nil
	dir := x.shared.workDir
	x.shared.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// now returns the time as the execution's clock reads it: its Start plus
// the monotonic time elapsed since. It reads only the monotonic clock, half
// what time.Now reads (one clock_gettime instead of two, on Linux); a step
// is timed with one or two readings, and a request runs dozens of steps.
// The times it gives are ordered as time.Now's are, and compare with them
// the same way (they carry the monotonic reading).
func (x *Exec) now() time.Time {
	if x.Start.IsZero() {
		return time.Now()
	}
	return x.Start.Add(time.Since(x.Start))
}

// Fork returns an Exec for a concurrent branch: same execution, own vars
// (a copy of the current ones), own expression scope.
func (x *Exec) Fork() *Exec {
	if t := x.Trace; t != nil && !t.forked.Load() {
		// Before the branch runs: its appends, and those of the
		// execution from now on, lock the trace.
		t.forked.Store(true)
	}
	c := *x
	c.Vars = x.Vars.Clone()
	if c.Vars == nil {
		c.Vars = value.NewObject(0)
	}
	c.scope.Vars = c.Vars
	return &c
}

// WorkDir returns the execution's private working directory, created on first
// use and removed when the execution ends.
func (x *Exec) WorkDir() (string, error) {
	x.shared.mu.Lock()
	defer x.shared.mu.Unlock()
	if x.shared.workDir == "" {
		dir, err := os.MkdirTemp("", "nectar-exec-"+x.ID+"-")
		if err != nil {
			return "", err
		}
		x.shared.workDir = dir
	}
	return x.shared.workDir, nil
}

// OnFinish registers fn to run when the execution ends.
func (x *Exec) OnFinish(fn func()) {
	x.shared.mu.Lock()
	x.shared.cleanups = append(x.shared.cleanups, fn)
	x.shared.mu.Unlock()
}

// Depth returns how many pipeline calls deep this execution is.
func (x *Exec) Depth() int { return x.depth }

// StepName returns the name of the step being run.
func (x *Exec) StepName() string {
	if x.step == nil {
		return ""
	}
	return x.step.info.Step
}

// Step returns the step being run (nil between steps).
func (x *Exec) Step() *StepInfo {
	if x.step == nil {
		return nil
	}
	return &x.step.info
}

// SetAccountScope sets what `account.NAME.field` reads in header templates.
func (x *Exec) SetAccountScope(v any) { x.scope.Account = v }

// env returns the expression scope for msg. It reuses one Env per Exec, so
// evaluation allocates nothing for the scope.
func (x *Exec) env(msg any) *expression.Env {
	x.scope.Message = msg
	return &x.scope
}

// exprError makes an evaluation error a 500 *Error; the step it happened
// in, and its pipeline, are named when it leaves the step (stepRunner.fail).
func (x *Exec) exprError(err error) error {
	e := &Error{Timestamp: time.Now().UnixMilli(), Code: 500, Message: err.Error(), Cause: err}
	return e
}

// fillError converts err into an *Error naming where it happened.
func (x *Exec) fillError(err error) *Error {
	e := AsError(err)
	if e.Pipeline == "" {
		e.Pipeline = x.Pipeline.Name
	}
	if e.ExecutionID == "" {
		e.ExecutionID = x.ID
	}
	return e
}

// CallPipeline runs another pipeline as part of this execution (the pipeline
// connector). Its errors keep the inner pipeline and step.
func (x *Exec) CallPipeline(ctx context.Context, p *Pipeline, input any, vars *value.Object) (any, error) {
	max := x.Runtime.MaxCallDepth
	if max <= 0 {
		max = 16
	}
	if x.depth+1 > max {
		return nil, NewError(508, "%w: %s calls %s %d levels deep", ErrCallDepth, x.Pipeline.Name, p.Name, x.depth+1)
	}
	c := p.newExec(x.Runtime, RunOptions{ExecutionID: x.ID, Vars: vars, Trace: x.Trace}, x)
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	out, err := p.steps.run(ctx, c, input, c.traceStart())
	if err != nil {
		return nil, c.fillError(err)
	}
	return out, nil
}

// Run runs the steps in order over in and returns the final message.
func (s Steps) Run(ctx context.Context, x *Exec, in any) (any, error) {
	return s.run(ctx, x, in, time.Time{})
}

// traceStart is when the first step of the execution's pipeline starts, as
// its trace records it: when the execution started, a clock reading that
// serves for both. Without a trace it is zero (no step is timed).
func (x *Exec) traceStart() time.Time {
	if x.Trace == nil {
		return time.Time{}
	}
	return x.Start
}

// run is Run, with a trace, from at: when the first step starts (zero: when
// it is run).
func (s Steps) run(ctx context.Context, x *Exec, in any, at time.Time) (any, error) {
	msg := in
	// at, with a trace: when the step before ended, when the next starts.
	// The context is checked before each step, unless no step has run
	// since it was last found alive: only conditions were evaluated (steps
	// skipped by their if).
	checked := false
	// With a trace, a context that can take the step's clock reading
	// (ErrAt) is asked with it: at is a reading (the start of the step
	// about to run, the end of the one before). A list run without a
	// start (a connector's) reads the first step's start before the
	// check rather than after it: one reading serves both.
	var ea ErrAter
	if x.Trace != nil {
		if ea, _ = ctx.(ErrAter); ea != nil && at.IsZero() && len(s.list) > 0 {
			at = x.now()
		}
	}
	for _, r := range s.list {
		if !checked {
			var err error
			if ea != nil {
				err = ea.ErrAt(at)
			} else {
				err = ctx.Err()
			}
			if err != nil {
				return nil, r.contextError(x, err)
			}
		}
		var err error
		msg, at, checked, err = r.run(ctx, x, msg, at)
		if err != nil {
			return nil, err
		}
	}
	return msg, nil
}

// ErrAter is a context that can answer Err as of a clock reading its
// caller has just taken (the server's execution context, and a context
// wrapping it that passes ErrAt on): Steps.run asks it with the reading a
// step starts at, which spares it reading the clock.
type ErrAter interface {
	ErrAt(now time.Time) error
}

// stepRunner wraps a connector step with the options every step has.
type stepRunner struct {
	info            StepInfo
	cond            *expression.Expr
	from            *expression.Expr
	to              *target
	continueOnError bool
	retry           *RetryPolicy
	timeout         time.Duration
	step            Step
}

// run runs the step over msg. With a trace, start is when the step starts
// (zero: now), and end when it ended: the steps of a list share one clock
// reading between two steps, and a skipped step reads none. skipped
// reports that the step's condition was false.
func (r *stepRunner) run(ctx context.Context, x *Exec, msg any, start time.Time) (out any, end time.Time, skipped bool, err error) {
	if x.Trace != nil && start.IsZero() {
		start = x.now()
	}
	if r.cond != nil {
		ok, err := r.cond.Bool(x.env(msg))
		if err != nil {
			return nil, end, false, r.fail(x, msg, x.exprError(err))
		}
		if !ok {
			if x.Trace != nil {
				x.Trace.add(&StepRecord{StepInfo: &r.info, Start: start, Outcome: "skipped"})
			}
			return msg, start, true, nil
		}
	}
	in := msg
	if r.from != nil {
		if in, err = r.from.Eval(x.env(msg)); err != nil {
			return nil, end, false, r.fail(x, msg, x.exprError(err))
		}
	}
	attempts := 1
	res, err := r.execute(ctx, x, in)
	if err != nil && r.retry != nil {
		for attempts < r.retry.Attempts && r.retry.retries(AsError(err)) && ctx.Err() == nil {
			d := r.retry.wait(attempts)
			if x.Runtime != nil && x.Runtime.SkipRetryWait {
				d = 0
			}
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
			if ctx.Err() != nil {
				break
			}
			attempts++
			x.Logger.Debug("retrying step", "step", r.info.Step, "attempt", attempts, "error", err)
			res, err = r.execute(ctx, x, in)
			if err == nil {
				break
			}
		}
	}
	outcome, code := "ok", 0
	if err != nil {
		e := r.fail(x, in, err)
		if !r.continueOnError {
			if x.Trace != nil {
				rec := StepRecord{StepInfo: &r.info, Start: start, Duration: time.Since(start), Outcome: "error", Error: e.Message, Attempts: attempts, Code: e.Code}
				if x.Trace.KeepIO {
					rec.Input, rec.KeptInput = in, true
				}
				x.Trace.add(&rec)
			}
			return nil, end, false, e
		}
		res, outcome = e.Object(), "continued"
		code = e.Code
	}
	var kept any
	keep := x.Trace != nil && outcome == "ok" && (x.Trace.KeepIO || x.Trace.KeepResult != nil && x.Trace.KeepResult(&r.info))
	if keep {
		kept = res
	}
	if r.to != nil {
		res, err = r.to.place(x, msg, res)
		if err != nil {
			return nil, end, false, r.fail(x, msg, err)
		}
	}
	if x.Trace != nil {
		end = x.now()
		rec := StepRecord{StepInfo: &r.info, Start: start, Duration: end.Sub(start), Outcome: outcome, Attempts: attempts, Code: code, Result: kept, Kept: keep}
		if x.Trace.KeepIO {
			rec.Input, rec.KeptInput = in, true
		}
		x.Trace.add(&rec)
	}
	return res, end, false, nil
}

// execute runs the connector once, with the step timeout, turning a panic
// into an error. A step that fails once its deadline has passed (its own
// timeout, the pipeline's, or the caller's) fails with 504, whatever error the
// connector made of the cancellation.
//
// x.Step() is the step while its connector runs (an interceptor, the log
// connector and any connector may ask); execute sets it and, in the
// deferred function that recovers a panic, puts back the one before (the
// step that runs this one's list, or none).
func (r *stepRunner) execute(ctx context.Context, x *Exec, in any) (out any, err error) {
	prev := x.step
	x.step = r
	defer func() {
		x.step = prev
		if p := recover(); p != nil {
			x.Logger.Error("connector panicked", "step", r.info.Step, "connector", r.info.Connector, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			out, err = nil, NewError(500, "connector %s failed unexpectedly: %v", r.info.Connector, p)
		}
	}()
	stepCtx := ctx
	if r.timeout > 0 {
		var cancel context.CancelFunc
		stepCtx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	handled := false
	if rt := x.Runtime; rt != nil && rt.Intercept != nil {
		out, err, handled = rt.Intercept(stepCtx, x, in)
	}
	if !handled {
		out, err = r.step.Execute(stepCtx, x, in)
	}
	if err != nil && stepCtx.Err() == context.DeadlineExceeded {
		return nil, r.timedOut(ctx, err)
	}
	return out, err
}

// timedOut turns the error of a step stopped by a deadline into a 504. A 504
// from a nested step is kept, so that it names the innermost step.
func (r *stepRunner) timedOut(parent context.Context, err error) error {
	var e *Error
	if errors.As(err, &e) && e.Code == 504 {
		return err
	}
	msg := "execution timed out"
	if r.timeout > 0 && parent.Err() == nil {
		msg = fmt.Sprintf("step timed out after %s", r.timeout)
	}
	return &Error{Timestamp: time.Now().UnixMilli(), Code: 504, Message: msg, Cause: err}
}

// fail names the step in an error raised inside it (an error from a nested
// step or pipeline keeps its own, innermost, step).
//
// The step's message and the vars are where a message built from a secret
// took it ("could not store {{ message.refresh_token }}"; an expression
// error quoting its argument): the values of their sensitive fields become
// secrets of the execution (LearnSensitive), masked in its record and log
// lines, whoever reads the error.
func (r *stepRunner) fail(x *Exec, msg any, err error) *Error {
	x.LearnSensitive(msg)
	x.LearnSensitive(x.Vars)
	e := AsError(err)
	if e.Step == "" {
		e.Step = r.info.Step
	}
	if e.Pipeline == "" {
		e.Pipeline = x.Pipeline.Name
	}
	if e.ExecutionID == "" {
		e.ExecutionID = x.ID
	}
	return e
}

func (r *stepRunner) contextError(x *Exec, err error) *Error {
	code := 499
	msg := "execution cancelled"
	if errors.Is(err, context.DeadlineExceeded) {
		code, msg = 504, "execution timed out"
	}
	return r.fail(x, nil, &Error{Timestamp: time.Now().UnixMilli(), Code: code, Message: msg, Cause: err})
}

func isDeadline(err error) bool { return errors.Is(err, context.DeadlineExceeded) }

// target is where a step's result goes: vars.NAME… or message.PATH….
type target struct {
	vars bool
	path []string
}

func parseTarget(s string) (*target, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("expected vars.NAME or message.PATH, got %q", s)
		}
	}
	switch parts[0] {
	case "vars":
		if len(parts) < 2 {
			return nil, errors.New("expected vars.NAME: name the variable")
		}
		return &target{vars: true, path: parts[1:]}, nil
	case "message":
		if len(parts) == 1 {
			return nil, nil // the default: the result replaces the message
		}
		return &target{path: parts[1:]}, nil
	}
	return nil, fmt.Errorf("expected vars.NAME or message.PATH, got %q", s)
}

// place puts res at the target and returns the message that follows the step.
func (t *target) place(x *Exec, msg, res any) (any, error) {
	if t.vars {
		if len(t.path) == 1 {
			x.Vars.Set(t.path[0], res)
			return msg, nil
		}
		cur, _ := x.Vars.Get(t.path[0])
		nv, err := setPath(cur, t.path[1:], res)
		if err != nil {
			return nil, err
		}
		x.Vars.Set(t.path[0], nv)
		return msg, nil
	}
	return setPath(msg, t.path, res)
}

// setPath returns a copy of root with v set at path. Objects along the path
// are copied (values are shared, never mutated); missing ones are created.
func setPath(root any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	var o *value.Object
	switch t := root.(type) {
	case *value.Object:
		o = t.Clone()
	case nil:
		o = value.NewObject(1)
	default:
		return nil, fmt.Errorf("cannot set %q inside %s", path[0], expression.TypeWithArticle(root))
	}
	child, _ := o.Get(path[0])
	nv, err := setPath(child, path[1:], v)
	if err != nil {
		return nil, err
	}
	o.Set(path[0], nv)
	return o, nil
}

// execHandler adds the execution id and pipeline to every record. Unlike
// Logger.With, it formats nothing until a record is actually logged, so an
// execution that logs nothing pays two small allocations for its logger.
type execHandler struct {
	h            slog.Handler
	id, pipeline string
	// shared holds the secrets the execution's steps learned
	// (Exec.AddSecret), masked in its lines as its own Secrets are.
	shared *execShared
}

func (e *execHandler) Enabled(ctx context.Context, l slog.Level) bool { return e.h.Enabled(ctx, l) }

func (e *execHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(slog.String("execution_id", e.id), slog.String("pipeline", e.pipeline))
	return e.masking().Handle(ctx, r)
}

// masking returns e.h, masking the secrets the execution learned too
// when it has learned some.
func (e *execHandler) masking() slog.Handler {
	if e.shared == nil {
		return e.h
	}
	e.shared.learnInput()
	l := e.shared.learnedSnap.Load()
	if l == nil {
		return e.h
	}
	m, ok := e.h.(*maskHandler)
	if !ok {
		return e.h // no runtime to mask with: a handler of a test
	}
	return maskExtra(m, m.rt, *l)
}

func (e *execHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &execHandler{h: e.masking().WithAttrs(as), id: e.id, pipeline: e.pipeline, shared: e.shared}
}

func (e *execHandler) WithGroup(name string) slog.Handler {
	return slog.New(e.masking()).With("execution_id", e.id, "pipeline", e.pipeline).WithGroup(name).Handler()
}

// Learned returns the secret values x's execution learned so far
// (AddSecret, LearnSensitive, its input's sensitive values), for a step
// that hands data to another execution (an event) whose record must mask
// them too. The slice is shared and must not be changed.
func (x *Exec) Learned() []string {
	sh := x.shared
	if sh == nil {
		return nil
	}
	sh.learnInput()
	if l := sh.learnedSnap.Load(); l != nil {
		return *l
	}
	return nil
}

// LearnSensitive makes the values of v's sensitive fields (x.Sensitive),
// at any depth, secrets of x's execution (AddSecret): a step calls it with
// what came from outside (an API's answer) whose values a later step may
// repeat in text that is not under their name. Values are immutable: a
// large object or list walked once in the execution is not walked again
// (a step failing for each item of a loop walks the vars each time).
func (x *Exec) LearnSensitive(v any) {
	switch t := v.(type) {
	case *value.Object:
		if t.Len() >= walkedLen && !x.firstWalk(walkedKey{unsafe.Pointer(t), 0}) {
			return
		}
		t.Range(func(k string, c any) bool {
			if x.Sensitive(k) {
				reveal(c, func(s string) { x.AddSecret(s) })
			} else {
				x.LearnSensitive(c)
			}
			return true
		})
	case []any:
		if len(t) >= walkedLen && !x.firstWalk(walkedKey{unsafe.Pointer(unsafe.SliceData(t)), len(t)}) {
			return
		}
		for _, c := range t {
			x.LearnSensitive(c)
		}
	}
}

// walkedLen is the size from which LearnSensitive notes the objects and
// lists it walked: smaller ones cost less to walk again than to note.
const walkedLen = 8

// walkedKey names an object (n 0) or a list (its elements and length).
type walkedKey struct {
	p unsafe.Pointer
	n int
}

// firstWalk reports whether LearnSensitive walks k for the first time in
// the execution, and notes it.
func (x *Exec) firstWalk(k walkedKey) bool {
	sh := x.shared
	if sh == nil {
		return true
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.walked[k]; ok {
		return false
	}
	if sh.walked == nil {
		sh.walked = map[walkedKey]struct{}{}
	}
	sh.walked[k] = struct{}{}
	return true
}

// AddSecret makes values secrets of the execution: masked as *** wherever
// they appear in its log lines and its record, as the credentials its
// request carried are (values shorter than MinSecretLen are skipped, as
// Secrets does). A step calls it with a secret it made or sent that is not
// under a sensitive name where it goes next: a token it signed, a
// credential it put in a URL or a header. A value is masked as it is, in
// its URL-escaped form and in its JSON-escaped forms (an API quoting a
// body it got inside a JSON string). Safe for concurrent branches.
func (x *Exec) AddSecret(values ...string) { x.addSecrets(values, true) }

// AddTokenSecret is AddSecret for a value its caller made of letters,
// digits, '-', '_' and '.' only (a compact JWS it signed: base64url parts
// and dots), which URL and JSON escaping leave as they are: no escaped
// form is looked for. (On a token request, looking cost about 5.7k
// instructions for its two tokens.)
func (x *Exec) AddTokenSecret(v string) { x.addSecrets([]string{v}, false) }

func (x *Exec) addSecrets(values []string, escapedForms bool) {
	sh := x.shared
	if sh == nil {
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	changed := false
	add := func(v string) {
		if len(v) < MinSecretLen || len(sh.learned) >= maxSecrets || Placeholder(v) || sh.isLearned(v) {
			return
		}
		if sh.learned == nil {
			sh.few = new(fewLearned)
			sh.learned = sh.few.values[:0:len(sh.few.values)]
		}
		sh.learned = append(sh.learned, v)
		if sh.learnedSet != nil {
			sh.learnedSet[v] = struct{}{}
		}
		changed = true
	}
	for _, v := range values {
		add(v)
		if !escapedForms {
			continue
		}
		// As a query or a form carries it, and an API echoes it back
		// (no copy when nothing is escaped: a token mostly).
		// queryUnescaped first: a token is mostly base64url, and
		// url.QueryEscape's own scan costs twice as much; a value it
		// leaves as it is needs no JSON escape either.
		if !queryUnescaped(v) {
			if q := url.QueryEscape(v); q != v {
				add(q)
			}
			// As an API quotes what it got inside a JSON string ("bad
			// body: {\"password\":\"p\\\"w\"}"): decoded, the text holds
			// the value JSON-escaped, by Nectar's encoder or Go's (which
			// escapes <, > and & too).
			if j := jsonEscaped(v); j != v {
				add(j)
				if h := htmlEscaper.Replace(j); h != j {
					add(h)
				}
			}
		}
	}
	if !changed {
		return
	}
	if n := len(sh.learned); n <= len(sh.few.values) {
		// Still in few.values: snapshot n is published once (the length
		// only grows), and appends write past it.
		sn := &sh.few.snaps[n-1]
		*sn = sh.learned[:n:n]
		sh.learnedSnap.Store(sn)
		return
	}
	snap := slices.Clip(sh.learned) // appends after this copy, never into it
	sh.learnedSnap.Store(&snap)
}

// jsonEscaped returns v as it is inside a JSON string.
func jsonEscaped(v string) string {
	b := value.AppendString(make([]byte, 0, len(v)+8), v)
	return string(b[1 : len(b)-1])
}

// htmlEscaper escapes what encoding/json escapes in a string besides
// what JSON needs.
var htmlEscaper = strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`)

// queryUnescaped reports whether url.QueryEscape returns v as it is: v
// holds only letters, digits and -_.~ (RFC 3986's unreserved bytes).
func queryUnescaped(v string) bool {
	i := 0
	// Four bytes a test: a token is hundreds of bytes.
	for ; i+4 <= len(v); i += 4 {
		if unreserved[v[i]]&unreserved[v[i+1]]&unreserved[v[i+2]]&unreserved[v[i+3]] == 0 {
			return false
		}
	}
	for ; i < len(v); i++ {
		if unreserved[v[i]] == 0 {
			return false
		}
	}
	return true
}

// unreserved is 1 for the bytes url.QueryEscape leaves as they are.
var unreserved = func() (t [256]byte) {
	for c := range 256 {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			t[c] = 1
		}
	}
	return t
}()

// Placeholder reports whether v is one byte repeated ("00000000",
// "********", spaces): what an API shows under a sensitive name for a key
// not set or not shown. It hides nothing, and masked inside text it would
// eat every run of zeros, stars or spaces (an order number in the error
// answered, an indentation): such a value is not learned as a secret, nor
// noted by the history's masking.
func Placeholder(v string) bool {
	if v == "" {
		return false
	}
	for i := 1; i < len(v); i++ {
		if v[i] != v[0] {
			return false
		}
	}
	return true
}

// learnedSetFrom is the number of learned values from which they are
// looked up in a map rather than compared one by one.
const learnedSetFrom = 16

// isLearned reports whether v is learned already; under sh.mu.
func (sh *execShared) isLearned(v string) bool {
	if sh.learnedSet == nil {
		if len(sh.learned) < learnedSetFrom {
			return slices.Contains(sh.learned, v)
		}
		sh.learnedSet = make(map[string]struct{}, 2*len(sh.learned))
		for _, l := range sh.learned {
			sh.learnedSet[l] = struct{}{}
		}
	}
	_, ok := sh.learnedSet[v]
	return ok
}

// fewLearned holds an execution's first learned secrets and the snapshots
// of them its log lines read, so that learning them costs one allocation,
// not two per value.
type fewLearned struct {
	values [4]string
	snaps  [4][]string
}
