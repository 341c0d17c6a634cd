package expression

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/nectar-run/nectar/engine/value"
	ntext "github.com/nectar-run/nectar/internal/text"
	"github.com/nectar-run/nectar/jsonpath"
)

// Env is what an expression sees. Message is the current message; Vars,
// Globals and Metadata are objects (nil counts as empty). Account is set only
// where account references are allowed (header values).
type Env struct {
	Message  any `expr:"message"`
	Vars     any `expr:"vars"`
	Globals  any `expr:"globals"`
	Global   any `expr:"global"`
	Metadata any `expr:"metadata"`
	Account  any `expr:"account"`

	// elem is what # is in the predicate being evaluated by the closure
	// form (all, any, filter, map…); expr sees no unexported field.
	elem any
}

// Options change what an expression may reference.
type Options struct {
	// AllowAccount permits `account.NAME.field`. Digibee allows account fields in
	// header values only, so that secrets do not travel in bodies and logs.
	AllowAccount bool
}

// Error is a compile error at a byte offset of the source string.
type Error struct {
	Offset int    // byte offset in the template or expression source
	Msg    string // what is wrong
}

func (e *Error) Error() string { return e.Msg }

// EvalError is an evaluation error of one expression.
type EvalError struct {
	Source string // the expression source
	Err    error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("evaluating %s: %v", preview(e.Source), e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }

// Expr is a compiled expression. It is immutable and safe for concurrent use.
type Expr struct {
	src  string
	prog *vm.Program
	path *pathExpr // set when the expression is a plain path: evaluated without the VM
	fast evalFn    // set when the expression compiles to closures: evaluated without the VM
	// vmErrors: the expression holds a predicate (all, any, filter, map…),
	// which only expr's VM ran until the closures took them over; a failure
	// is run again by the VM, so that it keeps the VM's message.
	vmErrors bool
}

// Source returns the expression's source text.
func (e *Expr) Source() string { return e.src }

// Compile compiles one expression (no braces).
func Compile(src string, opts Options) (*Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Offset: 0, Msg: "empty expression"}
	}
	read, edits := digibeeSource(src)
	p := &patcher{opts: opts}
	options := append(baseOptions(), expr.Patch(p))
	prog, err := expr.Compile(read, options...)
	if p.err != nil {
		p.err.Offset = originalOffset(p.err.Offset, edits)
		return nil, p.err
	}
	if err != nil {
		return nil, compileError(src, err, edits)
	}
	e := &Expr{src: strings.TrimSpace(src), prog: prog, path: simplePath(read)}
	if e.path == nil && !vmOnly {
		e.fast = compileFast(prog.Node())
		e.vmErrors = e.fast != nil && ast.Find(prog.Node(), isPredicate) != nil
	}
	return e, nil
}

func compileError(src string, err error, edits []escapeEdit) *Error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return &Error{Offset: runeOffsetToByte(src, originalOffset(fe.From, edits)), Msg: fe.Message}
	}
	return &Error{Offset: 0, Msg: err.Error()}
}

func runeOffsetToByte(s string, runes int) int {
	n := 0
	for i := range s {
		if n == runes {
			return i
		}
		n++
	}
	return len(s)
}

// vmOnly makes Compile leave every expression to expr's virtual machine; the
// tests set it to check that the closure form gives the same results.
var vmOnly = false

var vmPool = sync.Pool{New: func() any { return new(vm.VM) }}

// Eval evaluates the expression in env. Integers come back as int64 and
// objects as *value.Object, whatever expr produced: value.FromGo converts the
// result, and a list the expression read (a global's, a var's, shared with
// other executions) is copied when an element changes, never written into.
func (e *Expr) Eval(env *Env) (out any, err error) {
	if e.path != nil {
		out, err = e.path.eval(env)
		if err != nil {
			return nil, &EvalError{Source: e.src, Err: err}
		}
		return out, nil
	}
	if e.fast != nil {
		defer func() {
			// The VM turns a panicking function into an error; so does this path.
			if r := recover(); r != nil {
				out, err = nil, &EvalError{Source: e.src, Err: fmt.Errorf("%v", r)}
			}
		}()
		out, err = e.fast(env)
		if err == nil {
			return value.FromGo(out), nil
		}
		if err != errUseVM && !e.vmErrors {
			return nil, &EvalError{Source: e.src, Err: err}
		}
		// A case the closures leave to the VM (a predicate over something
		// other than an array, giving something other than a boolean), or
		// a failure of an expression with a predicate: the VM runs the whole
		// expression and gives its result or its error.
	}
	m := vmPool.Get().(*vm.VM)
	out, err = m.Run(e.prog, env)
	vmPool.Put(m)
	if err != nil {
		return nil, &EvalError{Source: e.src, Err: cleanError(err)}
	}
	return value.FromGo(out), nil
}

// cleanError drops expr's snippet, which repeats the source the caller names anyway.
func cleanError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return errors.New(typeNames.Replace(fe.Message))
	}
	return err
}

// typeNames turns Go type names in expr's messages into JSON ones.
var typeNames = strings.NewReplacer(
	"*value.Object", "object", "value.Object", "object", "[]interface {}", "array",
	"int64", "number", "float64", "number", "<nil>", "null", "map[string]interface {}", "object",
)

// Bool evaluates a condition: the result must be a boolean; nil counts as false.
func (e *Expr) Bool(env *Env) (bool, error) {
	v, err := e.Eval(env)
	if err != nil {
		return false, err
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case nil:
		return false, nil
	}
	return false, &EvalError{Source: e.src, Err: fmt.Errorf("condition gave %s %s, expected true or false", value.TypeName(v), previewValue(v))}
}

// previewValue writes v as JSON, cut short: a string shows once quoted, an
// object as its JSON text.
func previewValue(v any) string {
	return ntext.Preview(value.MustEncodeString(v), previewMax)
}

// previewMax is how many bytes of a value or of source text a message quotes.
const previewMax = 60

// preview quotes s for a message, cut short at a rune boundary.
func preview(s string) string {
	return strconv.Quote(ntext.Preview(s, previewMax))
}

// patcher rewrites the parsed expression so that it works on the value model:
// member access and `in` go through functions that know *value.Object, object
// literals keep their key order, comparisons treat nil as Nectar documents,
// and catalogue functions are found whatever their case.
type patcher struct {
	opts Options
	err  *Error
	lets int // variables introduced for ??
}

func (p *patcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == "null" {
			// Digibee writes null where expr writes nil: both are the literal.
			nilNode := &ast.NilNode{}
			nilNode.SetLocation(n.Location())
			ast.Patch(node, nilNode)
			return
		}
		if n.Value == "account" && !p.opts.AllowAccount && p.err == nil {
			p.err = &Error{Offset: n.Location().From, Msg: "account fields may only be used in header values"}
		}
	case *ast.MemberNode:
		ast.Patch(node, &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: "__get"},
			Arguments: []ast.Node{n.Node, n.Property},
		})
	case *ast.MapNode:
		args := make([]ast.Node, 0, 2*len(n.Pairs))
		for _, pn := range n.Pairs {
			pair := pn.(*ast.PairNode)
			args = append(args, pair.Key, pair.Value)
		}
		ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: "__object"}, Arguments: args})
	case *ast.UnaryNode:
		if n.Operator == "!" || n.Operator == "not" {
			n.Node = boolOperand(n.Node)
		}
	case *ast.ConditionalNode:
		n.Cond = boolOperand(n.Cond)
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "||", "and", "or":
			// Wrapping the operands, not the operator, keeps expr's short
			// circuit: the right operand is evaluated only when needed.
			n.Left, n.Right = boolOperand(n.Left), boolOperand(n.Right)
			return
		case "??":
			ast.Patch(node, p.coalesce(n))
			return
		}
		if fn, ok := binaryFuncs[n.Operator]; ok {
			ast.Patch(node, &ast.CallNode{
				Callee:    &ast.IdentifierNode{Value: fn},
				Arguments: []ast.Node{n.Left, n.Right},
			})
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		if _, own := ownFuncs[id.Value]; own {
			return
		}
		if _, ok := catalogue[id.Value]; !ok {
			if upper := strings.ToUpper(id.Value); upper != id.Value {
				if _, ok := catalogue[upper]; ok && !exprSpellings[id.Value] {
					id.Value = upper
				}
			}
		}
		p.compileLiterals(id.Value, n.Arguments)
	}
}

// compileLiterals compiles, when the expression is compiled, the arguments
// of a call that a function would compile at its first run, when they are
// literals: a JSONPATH path. A mistake in one is then a compile error at the
// argument, and the run finds it compiled.
func (p *patcher) compileLiterals(fn string, args []ast.Node) {
	if fn != "JSONPATH" || len(args) != 2 || p.err != nil {
		return
	}
	lit, ok := args[1].(*ast.StringNode)
	if !ok {
		return
	}
	if _, err := jsonPathCache.get(lit.Value, jsonpath.Compile); err != nil {
		p.err = &Error{Offset: args[1].Location().From, Msg: argError("JSONPATH", 1, "%s", err.Error()).Error()}
	}
}

// coalesce rewrites `a ?? b` as `let v = a; v != nil ? v : b`. expr compiles
// ?? with a dereference of both operands, which turns a *value.Object into a
// copy of the struct (seen as {}), so `x ?? {a: 1}` gave {}. The rewrite keeps
// ?? evaluating b only when a is null.
func (p *patcher) coalesce(n *ast.BinaryNode) ast.Node {
	p.lets++
	name := "__coalesce" + strconv.Itoa(p.lets)
	return &ast.VariableDeclaratorNode{
		Name:  name,
		Value: n.Left,
		Expr: &ast.ConditionalNode{
			Cond: &ast.CallNode{
				Callee:    &ast.IdentifierNode{Value: "__ne"},
				Arguments: []ast.Node{&ast.IdentifierNode{Value: name}, &ast.NilNode{}},
			},
			Exp1: &ast.IdentifierNode{Value: name},
			Exp2: n.Right,
		},
	}
}

// boolOperand wraps an operand of a boolean operator in __bool, so that null
// counts as false there as it does in a condition (Digibee does the same);
// expr itself would fail on null with Go's "interface conversion" message.
// Operands known to give a boolean are left as they are.
func boolOperand(n ast.Node) ast.Node {
	if givesBool(n) {
		return n
	}
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: "__bool"}, Arguments: []ast.Node{n}}
	call.SetLocation(n.Location())
	return call
}

// givesBool reports whether n, as patched, always gives a boolean.
func givesBool(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.BoolNode:
		return true
	case *ast.UnaryNode:
		return n.Operator == "!" || n.Operator == "not"
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "||", "and", "or", "matches", "contains", "startsWith", "endsWith":
			return true
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			return boolFuncs[id.Value]
		}
	}
	return false
}

var binaryFuncs = map[string]string{
	"==": "__eq", "!=": "__ne", "in": "__in",
	"<": "__lt", "<=": "__le", ">": "__gt", ">=": "__ge",
}
