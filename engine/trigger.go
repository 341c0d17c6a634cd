package engine

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Trigger is a pipeline's parsed trigger block: its kind (http, schedule,
// event, …) and its decoded configuration (the type declared by the trigger's
// registration). Serving it is the job of package triggers.
type Trigger struct {
	Kind   string
	Config any
	Line   int
	Col    int
}

// TriggerKind declares a trigger kind for the loader: its key, summary and
// options (the fields of C), and an optional Validate run after decoding.
// Validate may return several errors with errors.Join; those that are
// *OptionError are positioned at their option, the others at the trigger.
type TriggerKind[C any] struct {
	Name     string
	Summary  string
	Validate func(cfg *C) error
}

// OptionError is an error of a trigger's Validate about one option, named by
// its dotted path inside the trigger's block, like "cors.allow_credentials".
// The load error is positioned at that option (at the deepest part of the
// path the file has, when the option was left to its default) and its path
// names it.
type OptionError struct {
	Option string
	Err    error
}

func (e *OptionError) Error() string { return e.Option + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

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

// addValidateErr adds the errors of a trigger's Validate, each *OptionError
// at its option.
func (cc *Compiler) addValidateErr(err error) {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var oe *OptionError
		if errors.As(e, &oe) {
			*cc.l.errs = append(*cc.l.errs, cc.l.errorAt(optionNode(cc.node, oe.Option), cc.path+"."+oe.Option, oe.Err))
			continue
		}
		cc.addErr(e)
	}
}

type triggerDef interface {
	name() string
	summary() string
	configType() reflect.Type
	decode(node *yaml.Node, cc *Compiler) any
}

func (k TriggerKind[C]) name() string             { return k.Name }
func (k TriggerKind[C]) summary() string          { return k.Summary }
func (k TriggerKind[C]) configType() reflect.Type { return reflect.TypeFor[C]() }

func (k TriggerKind[C]) decode(node *yaml.Node, cc *Compiler) any {
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
		return nil
	}
	if k.Validate != nil {
		if err := k.Validate(cfg); err != nil {
			cc.addValidateErr(err)
			return nil
		}
	}
	return cfg
}

var (
	triggerMu sync.RWMutex
	triggers  = map[string]triggerDef{}
)

// RegisterTrigger adds a trigger kind. It panics on a duplicate name.
func RegisterTrigger[C any](k TriggerKind[C]) {
	triggerMu.Lock()
	defer triggerMu.Unlock()
	if _, dup := triggers[k.Name]; dup {
		panic(fmt.Sprintf("engine: trigger %q registered twice", k.Name))
	}
	triggers[k.Name] = k
}

func triggerNames() []string {
	triggerMu.RLock()
	defer triggerMu.RUnlock()
	var names []string
	for n := range triggers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TriggerInfo describes a trigger kind for docs and schema.
type TriggerInfo struct {
	Name    string
	Summary string
	Options []OptionInfo
}

// Triggers describes every registered trigger kind.
func Triggers() []TriggerInfo {
	var out []TriggerInfo
	for _, n := range triggerNames() {
		triggerMu.RLock()
		d := triggers[n]
		triggerMu.RUnlock()
		out = append(out, TriggerInfo{Name: n, Summary: d.summary(), Options: describeOptions(d.configType())})
	}
	return out
}

func (l *loader) trigger(n *yaml.Node) *Trigger {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		names := triggerNames()
		l.fail(n, "trigger", fmt.Errorf("expected one trigger kind (%s) with its options", strings.Join(names, ", ")))
		return nil
	}
	k, v := n.Content[0], n.Content[1]
	triggerMu.RLock()
	def, ok := triggers[k.Value]
	triggerMu.RUnlock()
	if !ok {
		l.fail(k, "trigger."+k.Value, unknownError("trigger", k.Value, triggerNames()))
		return nil
	}
	cc := &Compiler{l: l, path: "trigger." + k.Value, node: v, fields: map[string]*yaml.Node{}}
	if v.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(v.Content); i += 2 {
			cc.fields[v.Content[i].Value] = v.Content[i+1]
		}
	}
	cfg := def.decode(resolveAlias(v), cc)
	if cfg == nil {
		if len(*l.errs) == 0 {
			l.fail(v, "trigger", errors.New("invalid trigger"))
		}
		return nil
	}
	return &Trigger{Kind: k.Value, Config: cfg, Line: k.Line, Col: k.Column}
}
