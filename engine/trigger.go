package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nectar-run/nectar/engine/value"
)

// TriggerBlock is a pipeline's parsed trigger block: its kind (http,
// schedule, event, …), its decoded options (the *C its kind's compile
// function took), where the block is in its file, and the Trigger its
// kind compiled.
type TriggerBlock struct {
	Kind    string
	Config  any
	Line    int
	Col     int
	Trigger Trigger
}

// triggerKind is a registered trigger kind: its key, its one-line summary
// and its compile function, whose options type C declares the options.
type triggerKind[C any] struct {
	key, text string
	build     func(cfg *C, cc *Compiler) (Trigger, error)
}

// Trigger is a compiled trigger: what starts the executions of one pipeline
// version. A host calls Start once, when it begins serving the version, and
// Stop once, before it retires the version (a reload replaced it, or the
// host shuts down); the version's pipeline is closed only after Stop
// returned and its last execution ended.
type Trigger interface {
	// Start begins starting executions through h and returns at once.
	// ctx is the host's intake: once it is done, the trigger starts no
	// new execution (executions it started go on; Stop waits for them).
	Start(ctx context.Context, h Host) error
	// Stop stops starting executions and waits for those the trigger
	// started, until ctx is done.
	Stop(ctx context.Context) error
	// Describe says what starts the pipeline, for the management API and
	// consoles (an http route and its methods, a cron and its next run, an
	// event name). Its values encode as JSON.
	Describe() map[string]any
}

// Router is a Trigger the host serves on its HTTP listener (the http
// kind). The host asks for the routes once per pipeline version, before
// Start, and serves them for as long as the version is served: a generation
// of routes is swapped in whole on reload.
type Router interface {
	Routes(h Host) []Route
}

// Route is a path a Router serves on the host's listener.
type Route struct {
	// Pattern is a net/http.ServeMux path pattern ("/customers/{id}"),
	// without a method. Two pipelines may share a pattern with other
	// methods; a method taken on a pattern rejects the later pipeline.
	Pattern string
	// Methods are the methods Handler serves; the host answers others
	// 405 with an Allow header.
	Methods []string
	Handler http.Handler
	// Timeout bounds the request: its body must arrive within it and its
	// answer is written within it plus the host's write grace.
	Timeout time.Duration
	// Preflight, when not nil, answers OPTIONS on the pattern when no
	// pipeline serves OPTIONS there (the first pipeline's on the pattern
	// does); allow is the methods served there, comma-separated.
	Preflight func(w http.ResponseWriter, r *http.Request, allow string)
}

// Host is what a server gives the trigger of one pipeline version: it runs
// that version's pipeline, records its executions and counts them.
type Host interface {
	// Pipeline is the pipeline version the host runs.
	Pipeline() *Pipeline
	// Runtime is shared by every execution; its services (the event bus of
	// package events, …) are there.
	Runtime() *Runtime
	// Logger masks the secrets the runtime knows.
	Logger() *slog.Logger
	// Context returns the context to run an execution in: parent with
	// timeout, also cancelled when a shutdown cuts the executions still
	// running (Run then sets Execution.Cut). Call cancel when done.
	Context(parent context.Context, timeout time.Duration) (ctx context.Context, cancel context.CancelFunc)
	// Run runs the pipeline once in ctx (from Context) with x's Input and
	// Metadata, and fills x's results. The execution counts as in flight
	// for the version (which stays open meanwhile) and for the host's
	// shutdown.
	Run(ctx context.Context, x *Execution)
	// Record counts x in the pipeline's metrics and writes it to the
	// execution history (off the caller's path).
	Record(x *Execution)
	// AnsweredEarly tells the history that x was answered before its end
	// (a respond step with send: true), so that a reader of its record
	// given its id waits for its Record. Called before the answer leaves.
	AnsweredEarly(x *Execution)
	// Abandoned says x, answered early, will not be recorded (its
	// trigger's handler panicked): nobody waits for its record.
	Abandoned(x *Execution)
	// ClaimTick reports whether this process runs the schedule tick: the
	// first process sharing the store to claim it does. When the store
	// cannot record the claim, the tick is skipped, logged and counted
	// (running it could run it on every replica). Without a store, every
	// tick is claimed.
	ClaimTick(ctx context.Context, tick time.Time) bool
}

// Execution is one run of a pipeline a trigger asks of its Host. The
// trigger sets what comes before Run; Run sets the results; the trigger may
// add what it answered (an HTTP request) before Record.
type Execution struct {
	// Trigger is the kind that started the execution: the history's
	// trigger, and metadata.trigger unless Metadata has one.
	Trigger  string
	Input    any
	Metadata *value.Object
	// ID and Start are set by Run when empty.
	ID    string
	Start time.Time
	// Secrets are values the request carried (credentials), masked in the
	// execution's log lines and record.
	Secrets  []string
	Consumer string

	// Results, set by Run.
	End    time.Time
	Output any
	Err    *Error
	// Cut says a shutdown cancelled the execution (it ran out of drain).
	Cut bool
	// Trace holds the steps' records when the host records executions
	// (nil when the history is off).
	Trace *Trace

	// What an HTTP execution answered, set before Record.
	Request               string // "METHOD /path"
	Code                  int
	InputJSON, OutputJSON string
	// OutputBuf, when set, is the pooled buffer (internal/httpjson's) that
	// OutputJSON's text is in: the answer's own bytes, not a copy. Record
	// takes it over and gives it back to the pool once the record is
	// written; nothing may read OutputJSON after Record.
	OutputBuf *[]byte
	// InputBody describes an Input that is a request body not parsed into
	// fields (text, or bytes as base64).
	InputBody *UnparsedBody
}

// UnparsedBody describes a request body that was not parsed into fields.
type UnparsedBody struct {
	ContentType string
	Size        int
	Base64      bool // Input is the body's bytes as base64 text
}

// OptionError is a problem of a trigger's options about one option, named
// by its dotted path inside the trigger's block, like
// "cors.allow_credentials" or "methods[1]". The load error is positioned at
// that option (at the deepest part of the path the file has, when the
// option was left to its default) and its path names it.
type OptionError struct {
	Option string
	Err    error
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// OptionErrorf returns an *OptionError at option with a formatted message.
func OptionErrorf(option, format string, args ...any) error {
	return &OptionError{Option: option, Err: fmt.Errorf(format, args...)}
}

// optionNode finds the node of a dotted option path ("a.b.c", "a.b[2]"
// for an element of a list) under n, or the deepest node of the path that
// the file has.
func optionNode(n *yaml.Node, path string) *yaml.Node {
	for _, name := range strings.Split(path, ".") {
		name, index, _ := strings.Cut(name, "[")
		next := mappingValue(resolveAlias(n), name)
		if next == nil {
			break
		}
		n = next
		if i, err := strconv.Atoi(strings.TrimSuffix(index, "]")); err == nil {
			if s := resolveAlias(n); s.Kind == yaml.SequenceNode && i >= 0 && i < len(s.Content) {
				n = s.Content[i]
			}
		}
	}
	return n
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// addOptionErrs adds the problems of a trigger's Compile, each at its
// place: a *LoadError (cc.ErrorAt) as it is, an *OptionError at its
// option, anything else at the trigger block. Joined errors are walked to
// their leaves, so that every problem keeps its own position.
func (cc *Compiler) addOptionErrs(err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			cc.addOptionErrs(e)
		}
		return
	}
	var le *LoadError
	var oe *OptionError
	switch {
	case err == nil:
	case errors.As(err, &le):
		*cc.l.errs = append(*cc.l.errs, le)
	case errors.As(err, &oe):
		*cc.l.errs = append(*cc.l.errs, cc.l.errorAt(optionNode(cc.node, oe.Option), cc.path+"."+oe.Option, oe.Err))
	default:
		cc.addErr(err)
	}
}

type triggerDef interface {
	name() string
	summary() string
	configType() reflect.Type
	pkg() string
	compile(node *yaml.Node, cc *Compiler) (cfg any, t Trigger)
}

func (k triggerKind[C]) name() string             { return k.key }
func (k triggerKind[C]) summary() string          { return k.text }
func (k triggerKind[C]) configType() reflect.Type { return reflect.TypeFor[C]() }
func (k triggerKind[C]) pkg() string              { return funcPackage(k.build) }

func (k triggerKind[C]) compile(node *yaml.Node, cc *Compiler) (any, Trigger) {
	cfg := new(C)
	before := len(*cc.l.errs)
	// A bare scalar is the trigger's main option: `event: orders.created`.
	if node.Kind == yaml.ScalarNode && node.Tag != "!!null" {
		fields := structFields(reflect.TypeFor[C]())
		if len(fields) > 0 {
			node = &yaml.Node{Kind: yaml.MappingNode, Line: node.Line, Column: node.Column, Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: fields[0].name, Line: node.Line, Column: node.Column}, node,
			}}
		}
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		node = &yaml.Node{Kind: yaml.MappingNode, Line: node.Line, Column: node.Column}
	}
	cc.decodeInto(node, reflect.ValueOf(cfg).Elem(), cc.path)
	if len(*cc.l.errs) > before {
		return nil, nil
	}
	t, err := k.build(cfg, cc)
	if err != nil {
		cc.addOptionErrs(err)
		return nil, nil
	}
	return cfg, t
}

// funcPackage returns the import path of the package f is in, from its
// symbol name ("github.com/nectar-run/nectar/connectors/set.compile").
func funcPackage(f any) string {
	fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer())
	if fn == nil {
		return ""
	}
	name := fn.Name()
	slash := strings.LastIndexByte(name, '/') + 1
	if dot := strings.IndexByte(name[slash:], '.'); dot >= 0 {
		return name[:slash+dot]
	}
	return name
}

// triggerRegistry holds the trigger kinds by name.
var triggerRegistry = registry[triggerDef]{what: "trigger"}

// RegisterTrigger adds a trigger kind: name is its key in a pipeline's
// trigger block, summary its one line in docs and the CLI, and compile
// checks the decoded options and returns the Trigger, once, at load.
//
// A trigger kind is a module, declared once like a connector: its options
// (the fields of C, with yaml, doc, required, default and enum tags) drive
// strict decoding (every problem at its file:line:col), `nectar schema` and
// its README table. The loader never starts anything: a host (package
// server, `nectar serve`) starts the Trigger of each pipeline version it
// serves and stops it before retiring the version. A kind lives in its own
// package under triggers/, calls RegisterTrigger from init next to its
// compile function, and triggers/all imports every kind that ships with
// Nectar.
//
// compile reports each problem at its option: with cc.ErrorAt(option, err),
// or as an *OptionError naming the option's dotted path; several problems
// are joined with errors.Join, and each is positioned at its own option. A
// problem that is neither is positioned at the trigger block.
// RegisterTrigger panics on an empty or duplicate name or a nil compile.
func RegisterTrigger[C any](name, summary string, compile func(cfg *C, cc *Compiler) (Trigger, error)) {
	if name == "" || compile == nil {
		panic("engine: RegisterTrigger needs a name and a compile function")
	}
	triggerRegistry.add(name, triggerKind[C]{key: name, text: summary, build: compile})
}

// TriggerInfo describes a trigger kind for docs and schema.
type TriggerInfo struct {
	Name    string
	Summary string
	Options []OptionInfo
	// Package is the import path of the package implementing the kind
	// (the one its Compile function is in), like
	// github.com/nectar-run/nectar/triggers/http: where its README lives.
	Package string
}

// Triggers describes every registered trigger kind, sorted by name.
func Triggers() []TriggerInfo {
	var out []TriggerInfo
	for _, n := range triggerRegistry.names() {
		d, _ := triggerRegistry.get(n)
		out = append(out, TriggerInfo{Name: n, Summary: d.summary(), Options: describeOptions(d.configType()), Package: d.pkg()})
	}
	return out
}

func (l *loader) trigger(n *yaml.Node) *TriggerBlock {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		names := triggerRegistry.names()
		l.fail(n, "trigger", fmt.Errorf("expected one trigger kind (%s) with its options", strings.Join(names, ", ")))
		return nil
	}
	k, v := n.Content[0], n.Content[1]
	def, ok := triggerRegistry.get(k.Value)
	if !ok {
		l.fail(k, "trigger."+k.Value, unknownError("trigger", k.Value, triggerRegistry.names()))
		return nil
	}
	cc := &Compiler{l: l, path: "trigger." + k.Value, node: v, fields: map[string]*yaml.Node{}}
	if rv := resolveAlias(v); rv.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(rv.Content); i += 2 {
			cc.fields[rv.Content[i].Value] = rv.Content[i+1]
		}
	}
	before := len(*l.errs)
	cfg, t := def.compile(resolveAlias(v), cc)
	if t == nil {
		if len(*l.errs) == before {
			l.fail(v, "trigger", errors.New("invalid trigger"))
		}
		return nil
	}
	return &TriggerBlock{Kind: k.Value, Config: cfg, Line: k.Line, Col: k.Column, Trigger: t}
}
