package engine

import (
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// Template is an option whose string may hold `{{ }}` expressions, compiled
// at load. The zero Template is unset.
type Template struct {
	t   *expression.Template
	set bool
}

// NewTemplate compiles a template outside a pipeline file (for tests and
// programmatic pipelines).
func NewTemplate(src string) (Template, error) {
	t, err := expression.CompileTemplate(src, expression.Options{})
	if err != nil {
		return Template{}, err
	}
	return Template{t: t, set: true}, nil
}

// IsSet reports whether the option was given.
func (t Template) IsSet() bool { return t.set }

// Source returns the template text.
func (t Template) Source() string {
	if t.t == nil {
		return ""
	}
	return t.t.Source()
}

// Literal returns the text of a template without expressions.
func (t Template) Literal() (string, bool) {
	if t.t == nil || !t.t.IsLiteral() {
		return "", false
	}
	return t.t.Source(), true
}

// Eval evaluates the template against a message. An unset template gives nil.
func (t Template) Eval(x *Exec, msg any) (any, error) {
	if t.t == nil {
		return nil, nil
	}
	v, err := t.t.Eval(x.env(msg))
	return exprResult(x, v, err)
}

// exprResult returns what an expression or a template evaluated to: v, or
// the zero value and err as a 500 *Error.
func exprResult[T any](x *Exec, v T, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, x.exprError(err)
	}
	return v, nil
}

// String evaluates the template as text; an unset template gives "".
func (t Template) String(x *Exec, msg any) (string, error) {
	v, err := t.Eval(x, msg)
	if err != nil {
		return "", err
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return string(value.AppendText(nil, v)), nil
}

// Text evaluates the template as text like String, passing the value of each
// expression through mapValue first (nil: unchanged); literal text is kept as
// written.
func (t Template) Text(x *Exec, msg any, mapValue func(any) any) (string, error) {
	if t.t == nil {
		return "", nil
	}
	s, err := t.t.Text(x.env(msg), mapValue)
	return exprResult(x, s, err)
}

// Condition is a boolean expression option (that, when, if), compiled at load.
type Condition struct {
	e *expression.Expr
}

// NewCondition compiles a condition outside a pipeline file.
func NewCondition(src string) (Condition, error) {
	e, err := expression.Compile(src, expression.Options{})
	if err != nil {
		return Condition{}, err
	}
	return Condition{e: e}, nil
}

// IsSet reports whether the option was given.
func (c Condition) IsSet() bool { return c.e != nil }

// Source returns the expression text.
func (c Condition) Source() string {
	if c.e == nil {
		return ""
	}
	return c.e.Source()
}

// Eval evaluates the condition; nil counts as false, a non-boolean is an error.
func (c Condition) Eval(x *Exec, msg any) (bool, error) {
	ok, err := c.e.Bool(x.env(msg))
	return exprResult(x, ok, err)
}

// Expr is an option holding a plain expression (no braces) that yields a value.
type Expr struct {
	e *expression.Expr
}

// IsSet reports whether the option was given.
func (e Expr) IsSet() bool { return e.e != nil }

// Eval evaluates the expression.
func (e Expr) Eval(x *Exec, msg any) (any, error) {
	if e.e == nil {
		return nil, nil
	}
	v, err := e.e.Eval(x.env(msg))
	return exprResult(x, v, err)
}

// Dynamic is an option holding any JSON-like value (object, list, scalar)
// whose strings may hold `{{ }}` expressions, like Digibee's JSON Generator.
// Constant parts are built once at load and shared.
type Dynamic struct {
	n   dynNode
	set bool
}

// IsSet reports whether the option was given.
func (d Dynamic) IsSet() bool { return d.set }

// Eval builds the value for a message.
func (d Dynamic) Eval(x *Exec, msg any) (any, error) {
	if d.n == nil {
		return nil, nil
	}
	return d.n.eval(x, msg)
}

// Fields evaluates an object written out in the pipeline (a YAML mapping)
// for msg, calling fn with each field's index, key and value in order
// instead of building the object: a step that writes the object out at
// once (the jwt connector's claims) spares the object. It reports false,
// calling nothing, for any other value (an expression that gives an object,
// a list, a scalar): Eval that one. Keys are unique, as in the object Eval
// would build, and the index of a key is its index in Keys.
func (d Dynamic) Fields(x *Exec, msg any, fn func(i int, k string, v any) error) (bool, error) {
	switch n := d.n.(type) {
	case *objNode:
		for i, k := range n.keys {
			v, err := n.nodes[i].eval(x, msg)
			if err != nil {
				return true, err
			}
			if err := fn(i, k, v); err != nil {
				return true, err
			}
		}
		return true, nil
	case constNode:
		o, ok := n.v.(*value.Object)
		if !ok {
			return false, nil
		}
		for i := range o.Len() {
			k, v := o.At(i)
			if err := fn(i, k, v); err != nil {
				return true, err
			}
		}
		return true, nil
	}
	return false, nil
}

// Keys returns the keys, in order, of an object written out in the pipeline
// (the objects Fields walks), so that a step can prepare, at load, what it
// does with each field; false for any other value. The slice is shared:
// the caller must not change it.
func (d Dynamic) Keys() ([]string, bool) {
	switch n := d.n.(type) {
	case *objNode:
		return n.keys, true
	case constNode:
		if o, ok := n.v.(*value.Object); ok {
			return o.Keys(), true
		}
	}
	return nil, false
}

// Constant returns the value when it holds no expression.
func (d Dynamic) Constant() (any, bool) {
	if c, ok := d.n.(constNode); ok {
		return c.v, true
	}
	return nil, d.n == nil
}

type dynNode interface {
	eval(x *Exec, msg any) (any, error)
}

type constNode struct{ v any }

func (c constNode) eval(*Exec, any) (any, error) { return c.v, nil }

type tmplNode struct{ t *expression.Template }

func (n tmplNode) eval(x *Exec, msg any) (any, error) {
	v, err := n.t.Eval(x.env(msg))
	return exprResult(x, v, err)
}

type objNode struct {
	keys  []string
	nodes []dynNode
}

func (n *objNode) eval(x *Exec, msg any) (any, error) {
	o := value.NewObject(len(n.keys))
	for i, k := range n.keys {
		v, err := n.nodes[i].eval(x, msg)
		if err != nil {
			return nil, err
		}
		o.AppendNew(k, v) // the loader refuses a mapping's repeated key
	}
	return o, nil
}

type listNode struct{ nodes []dynNode }

func (n *listNode) eval(x *Exec, msg any) (any, error) {
	out := make([]any, len(n.nodes))
	for i, c := range n.nodes {
		v, err := c.eval(x, msg)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Raw is an option kept as a plain value (no expressions), with its YAML node
// so that a connector can point at a place inside it (JOLT specs do).
type Raw struct {
	Value any
	Node  *yaml.Node
}

// IsSet reports whether the option was given.
func (r Raw) IsSet() bool { return r.Node != nil }

// Duration is a length of time written as "30s", "1m30s", "250ms" or a whole
// number of milliseconds.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func parseDuration(s string) (time.Duration, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Millisecond, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}

// Steps is an option holding nested steps (choice branches, try blocks, loop
// bodies), compiled with the pipeline.
type Steps struct {
	list []*stepRunner
}

// Len returns the number of steps.
func (s Steps) Len() int { return len(s.list) }
