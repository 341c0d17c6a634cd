package engine

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"

	"gopkg.in/yaml.v3"
)

// Step is a compiled connector step. Execute runs it over one message and
// returns the step's result. It must be safe for concurrent use by many
// executions, keep no per-run state, and must not modify in (values in a
// message are shared, never mutated: build new objects instead).
type Step interface {
	Execute(ctx context.Context, x *Exec, in any) (any, error)
}

// Closer is implemented by steps that hold resources. Close runs when the
// pipeline is unloaded, and after a failed load.
type Closer interface {
	Close(ctx context.Context) error
}

// connector is a registered connector: its YAML key, its one-line summary
// and its compile function, whose options type C declares the options (the
// fields of C, with yaml, doc, required, default, enum and ops tags).
type connector[C any] struct {
	key, text string
	build     func(cfg C, cc *Compiler) (Step, error)
}

// connectorDef is the type-erased form of connector[C] kept in the registry.
type connectorDef interface {
	name() string
	summary() string
	configType() reflect.Type
	pkg() string
	compile(node *yaml.Node, cc *Compiler) (Step, error)
}

func (c connector[C]) name() string             { return c.key }
func (c connector[C]) summary() string          { return c.text }
func (c connector[C]) configType() reflect.Type { return reflect.TypeFor[C]() }

// pkg returns the import path of the package the compile function is in,
// from its symbol name ("github.com/nectar-run/nectar/connectors/set.compile").
func (c connector[C]) pkg() string { return funcPackage(c.build) }

func (c connector[C]) compile(node *yaml.Node, cc *Compiler) (Step, error) {
	var cfg C
	before := len(*cc.l.errs)
	cc.decodeInto(node, reflect.ValueOf(&cfg).Elem(), cc.path)
	if len(*cc.l.errs) > before {
		return nil, nil // decoding errors are already recorded
	}
	return c.build(cfg, cc)
}

// connectorRegistry holds the connectors by name.
var connectorRegistry = registry[connectorDef]{what: "connector"}

// Register adds a connector: name is its YAML key, summary its one line in
// docs and the CLI, and compile turns its decoded options into a Step once,
// at load. The options are the fields of C, with yaml, doc, required,
// default, enum and ops tags: one declaration drives strict decoding (every
// problem at its file:line:col, "did you mean"), `nectar schema` and the
// connector's README table.
//
// A connector with several operations has a string option "operation" with
// an enum of them; an option that applies to some operations only says which
// in an ops tag (`ops:"get,put"`; on an inline struct, for all its options).
// The decoder then refuses that option, at its position, under another
// operation; the schema and the README table say the same.
//
// Like image.RegisterFormat, Register is called from the init function of
// the connector's package, next to the compile function it registers:
//
//	func init() {
//		engine.Register("shout", "Upper-cases a field.", compile)
//	}
//
// It panics on an empty or duplicate name, a name that is a step option, a
// nil compile, or an ops tag naming an operation the enum does not hold.
func Register[C any](name, summary string, compile func(cfg C, cc *Compiler) (Step, error)) {
	if name == "" || compile == nil {
		panic("engine: Register needs a name and a compile function")
	}
	if _, reserved := stepOptions[name]; reserved {
		panic(fmt.Sprintf("engine: connector name %q is a step option", name))
	}
	c := connector[C]{key: name, text: summary, build: compile}
	checkOps(c.configType())
	connectorRegistry.add(name, c)
}

// registry is a set of definitions by name (connectors, trigger kinds),
// filled by init functions and read by loaders on any goroutine.
type registry[T any] struct {
	what string // "connector": says what was registered twice
	mu   sync.RWMutex
	m    map[string]T
}

// add registers d as name; it panics when name is taken, so that two
// packages cannot claim one key.
func (r *registry[T]) add(name string, d T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		panic(fmt.Sprintf("engine: %s %q registered twice", r.what, name))
	}
	if r.m == nil {
		r.m = map[string]T{}
	}
	r.m[name] = d
}

func (r *registry[T]) get(name string) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.m[name]
	return d, ok
}

// names returns the registered names, sorted.
func (r *registry[T]) names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ConnectorInfo describes a registered connector for docs and the CLI.
type ConnectorInfo struct {
	Name    string
	Summary string
	Options []OptionInfo
	// List is true when the connector's configuration is a list (like choice).
	List bool
	// Package is the import path of the package implementing the connector
	// (the one its Compile function is in), like
	// github.com/nectar-run/nectar/connectors/jq: where its README lives.
	Package string
}

// OptionInfo describes one option of a connector or trigger.
type OptionInfo struct {
	Name     string
	Type     string // string, template, condition, integer, number, boolean, duration, size, list of …, object, any
	Required bool
	Default  string
	Enum     []string
	Doc      string
	// Operations lists the operations the option applies to (its ops tag);
	// empty when it applies to every operation or the connector has none.
	Operations []string
	Options    []OptionInfo // for nested objects and lists of objects
}

// Connectors describes every registered connector, sorted by name.
func Connectors() []ConnectorInfo {
	var out []ConnectorInfo
	for _, n := range connectorRegistry.names() {
		c, _ := connectorRegistry.get(n)
		t := c.configType()
		info := ConnectorInfo{Name: n, Summary: c.summary()}
		if t.Kind() == reflect.Slice {
			info.List = true
			t = t.Elem()
		}
		info.Options = describeOptions(t)
		info.Package = c.pkg()
		out = append(out, info)
	}
	return out
}
