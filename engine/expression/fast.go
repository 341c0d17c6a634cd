package expression

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"

	"github.com/nectar-run/nectar/engine/value"
)

// evalFn is an expression compiled to Go closures. Most expressions in
// pipelines are built from a few node kinds — paths, literals, comparisons,
// boolean logic, ?:, ?? and function calls — and for those a tree of
// closures is several times faster than expr's virtual machine, which
// allocates its stack and argument buffers on every run. compileFast
// returns nil for anything else, and the VM runs it; both give the same
// results (expression tests run every case both ways).
type evalFn func(env *Env) (any, error)

func compileFast(n ast.Node) evalFn {
	switch t := n.(type) {
	case *ast.NilNode:
		return func(*Env) (any, error) { return nil, nil }
	// Literals are boxed once, here: a closure returning a string or a
	// number would box it again on every evaluation.
	case *ast.BoolNode:
		var v any = t.Value
		return func(*Env) (any, error) { return v, nil }
	case *ast.IntegerNode:
		var v any = int64(t.Value)
		return func(*Env) (any, error) { return v, nil }
	case *ast.FloatNode:
		var v any = t.Value
		return func(*Env) (any, error) { return v, nil }
	case *ast.StringNode:
		var v any = t.Value
		return func(*Env) (any, error) { return v, nil }
	case *ast.IdentifierNode:
		switch t.Value {
		case "message":
			return func(e *Env) (any, error) { return e.Message, nil }
		case "vars":
			return func(e *Env) (any, error) { return e.Vars, nil }
		case "globals":
			return func(e *Env) (any, error) { return e.Globals, nil }
		case "global":
			return func(e *Env) (any, error) { return e.Global, nil }
		case "metadata":
			return func(e *Env) (any, error) { return e.Metadata, nil }
		case "account":
			return func(e *Env) (any, error) { return e.Account, nil }
		}
		return nil
	case *ast.CallNode:
		return compileCall(t)
	case *ast.VariableDeclaratorNode:
		// The patcher writes a ?? b as let __coalesceN = a; __coalesceN != nil ? __coalesceN : b.
		c, ok := t.Expr.(*ast.ConditionalNode)
		if !ok || !strings.HasPrefix(t.Name, "__coalesce") {
			return nil
		}
		return coalesce(compileFast(t.Value), compileFast(c.Exp2))
	case *ast.BuiltinNode:
		if f := compilePredicate(t); f != nil {
			return f
		}
		return compileBuiltin(t)
	case *ast.PointerNode:
		if t.Name != "" { // #index, #acc: left to the VM
			return nil
		}
		return func(e *Env) (any, error) { return e.elem, nil }
	case *ast.SliceNode:
		x := compileFast(t.Node)
		var from, to evalFn
		if t.From != nil {
			if from = compileFast(t.From); from == nil {
				return nil
			}
		}
		if t.To != nil {
			if to = compileFast(t.To); to == nil {
				return nil
			}
		}
		if x == nil {
			return nil
		}
		return func(e *Env) (any, error) {
			v, err := x(e)
			if err != nil {
				return nil, err
			}
			var n int
			switch s := v.(type) {
			case string:
				n = len(s)
			case []any:
				n = len(s)
			default:
				return nil, fmt.Errorf("cannot slice %s", value.TypeName(v))
			}
			a, err := sliceBound(e, from, 0)
			if err != nil {
				return nil, err
			}
			b, err := sliceBound(e, to, n)
			if err != nil {
				return nil, err
			}
			// As expr does: negative indexes count from the end, and both ends
			// are clamped into the value.
			if a < 0 {
				a = max(n+a, 0)
			}
			if b < 0 {
				b = max(n+b, 0)
			}
			b = min(b, n)
			a = min(a, b)
			if s, ok := v.(string); ok {
				return s[a:b], nil
			}
			return v.([]any)[a:b], nil
		}
	case *ast.ArrayNode:
		items := make([]evalFn, len(t.Nodes))
		for i, n := range t.Nodes {
			if items[i] = compileFast(n); items[i] == nil {
				return nil
			}
		}
		return func(e *Env) (any, error) { return evalAll(e, items) }
	case *ast.UnaryNode:
		x := compileFast(t.Node)
		if x == nil {
			return nil
		}
		switch t.Operator {
		case "!", "not":
			notBool := opNotBool("!")
			return func(e *Env) (any, error) {
				v, err := x(e)
				b, ok := v.(bool)
				if err != nil || !ok {
					return nil, boolErr(err, v, notBool)
				}
				return !b, nil
			}
		case "-":
			sub := arithOp("-")
			return func(e *Env) (any, error) {
				v, err := x(e)
				if err != nil {
					return nil, err
				}
				return sub(int64(0), v)
			}
		}
		return nil
	case *ast.BinaryNode:
		return compileBinary(t)
	case *ast.ConditionalNode:
		c, a, b := compileFast(t.Cond), compileFast(t.Exp1), compileFast(t.Exp2)
		if c == nil || a == nil || b == nil {
			return nil
		}
		return func(e *Env) (any, error) {
			v, err := c(e)
			cond, ok := v.(bool)
			if err != nil || !ok {
				return nil, boolErr(err, v, condNotBool)
			}
			if cond {
				return a(e)
			}
			return b(e)
		}
	}
	return nil
}

// compileBuiltin calls one of expr's plain builtins (lower, trim, split,
// first, fromBase64, …) directly; the ones taking predicates stay with the VM.
func compileBuiltin(t *ast.BuiltinNode) evalFn {
	id, ok := builtin.Index[t.Name]
	if !ok {
		return nil
	}
	f := builtin.Builtins[id]
	if f.Predicate || f.Fast == nil && f.Func == nil && f.Safe == nil {
		return nil
	}
	args := make([]evalFn, len(t.Arguments))
	for i, a := range t.Arguments {
		if args[i] = compileFast(a); args[i] == nil {
			return nil
		}
	}
	if f.Fast != nil && len(args) == 1 {
		a0, fast := args[0], f.Fast
		return func(e *Env) (any, error) {
			v, err := a0(e)
			if err != nil {
				return nil, err
			}
			return fast(v), nil // a panic becomes an error in Eval, as in the VM
		}
	}
	return func(e *Env) (any, error) {
		vals, err := evalAll(e, args)
		if err != nil {
			return nil, err
		}
		if f.Safe != nil {
			out, _, err := f.Safe(vals...)
			return out, err
		}
		if f.Func != nil {
			return f.Func(vals...)
		}
		return nil, fmt.Errorf("%s: wrong number of arguments", t.Name)
	}
}

// errUseVM is what a closure returns for a case it leaves to expr's VM:
// Eval then runs the whole expression with the VM, which gives the result or
// the error expr gives. Expressions have no side effects, so running the
// part already evaluated again changes nothing.
var errUseVM = errors.New("left to the VM")

// compilePredicate compiles all, any, none, one, filter, map and count over
// a predicate ({…} or an expression with #), as the VM runs them, for an
// array (or split's strings) and a predicate giving booleans (map: any value); anything else
// (another collection, another result) is left to the VM by errUseVM. In
// the token endpoint's scope check, `all(split(scope, ' '), {…})`, this
// spares the VM run, which reads the environment by reflection.
func compilePredicate(t *ast.BuiltinNode) evalFn {
	if len(t.Arguments) != 2 || t.Map != nil || t.Threshold != nil {
		return nil // the optimizer's fused forms stay with the VM
	}
	pred, ok := t.Arguments[1].(*ast.PredicateNode)
	if !ok {
		return nil
	}
	var stop, want bool // all: stop at the first false, giving false; any: at the first true
	switch t.Name {
	case "all":
		stop, want = false, false
	case "any":
		stop, want = true, true
	case "none":
		stop, want = true, false
	case "one", "filter", "map", "count":
	default:
		return nil
	}
	coll, body := compileFast(t.Arguments[0]), compileFast(pred.Node)
	if coll == nil || body == nil {
		return nil
	}
	name := t.Name
	return func(e *Env) (any, error) {
		v, err := coll(e)
		if err != nil {
			return nil, err
		}
		var list []any
		var strs []string // split gives strings
		switch l := v.(type) {
		case []any:
			list = l
		case []string:
			strs = l
		default:
			return nil, errUseVM
		}
		outer := e.elem
		defer func() { e.elem = outer }()
		var out []any
		n := 0
		for i := range len(list) + len(strs) {
			var x any
			if strs != nil {
				x = strs[i]
			} else {
				x = list[i]
			}
			e.elem = x
			r, err := body(e)
			if err != nil {
				return nil, err
			}
			if name == "map" {
				out = append(out, r)
				continue
			}
			b, ok := r.(bool)
			if !ok {
				return nil, errUseVM
			}
			switch name {
			case "all", "any", "none":
				if b == stop {
					return want, nil
				}
			case "filter":
				if b {
					out = append(out, x)
				}
			default: // one, count
				if b {
					n++
				}
			}
		}
		switch name {
		case "all", "any", "none":
			return !want, nil
		case "one":
			return n == 1, nil
		case "count":
			return int64(n), nil
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	}
}

// isPredicate reports whether n is a predicate ({…} or an expression with #).
func isPredicate(n ast.Node) bool {
	_, ok := n.(*ast.PredicateNode)
	return ok
}

// sliceBound evaluates one end of a slice, def when it is not written.
func sliceBound(e *Env, f evalFn, def int) (int, error) {
	if f == nil {
		return def, nil
	}
	v, err := f(e)
	if err != nil {
		return 0, err
	}
	i, ok := value.ToInt(v)
	if !ok {
		return 0, fmt.Errorf("cannot slice with %s", value.TypeName(v))
	}
	return int(i), nil
}

// coalesce is a ?? b: a's value unless it is null, then b's; nil when either
// side has no fast form.
func coalesce(a, b evalFn) evalFn {
	if a == nil || b == nil {
		return nil
	}
	return func(e *Env) (any, error) {
		v, err := a(e)
		if err != nil || v != nil {
			return v, err
		}
		return b(e)
	}
}

// apply2 evaluates l, then r, and gives both values to f: a binary operator
// or a call of two arguments. r is not evaluated when l fails.
func apply2(l, r evalFn, f func(a, b any) (any, error)) evalFn {
	return func(e *Env) (any, error) {
		a, err := l(e)
		if err != nil {
			return nil, err
		}
		b, err := r(e)
		if err != nil {
			return nil, err
		}
		return f(a, b)
	}
}

// boolErr is the error of an operand that had to be a bool: err when
// evaluating it failed, else notBool's for its value v.
func boolErr(err error, v any, notBool func(v any) error) error {
	if err != nil {
		return err
	}
	return notBool(v)
}

// opNotBool makes the error of a boolean operator (!, &&, ||) given another value.
func opNotBool(op string) func(v any) error {
	return func(v any) error { return fmt.Errorf("invalid operation: %s on %s", op, value.TypeName(v)) }
}

// condNotBool is the error of a ?: whose condition is not a bool.
func condNotBool(v any) error {
	return fmt.Errorf("non-bool expression (type %s) used as condition", value.TypeName(v))
}

// evalAll evaluates the arguments of a call (or the items of an array), in order.
func evalAll(e *Env, args []evalFn) ([]any, error) {
	vals := make([]any, len(args))
	for i, a := range args {
		v, err := a(e)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	return vals, nil
}

func compileCall(t *ast.CallNode) evalFn {
	id, ok := t.Callee.(*ast.IdentifierNode)
	if !ok {
		return nil
	}
	fn := ownFuncs[id.Value]
	var unary func(any) (any, error)
	var binary func(a, b any) (any, error)
	if fn == nil {
		if f, ok := catalogue[id.Value]; ok {
			fn, unary, binary = f.Fn, f.Unary, f.Binary
		}
	}
	if fn == nil {
		return nil
	}
	args := make([]evalFn, len(t.Arguments))
	for i, a := range t.Arguments {
		if args[i] = compileFast(a); args[i] == nil {
			return nil
		}
	}
	if id.Value == "__get" && len(args) == 2 {
		if key, ok := t.Arguments[1].(*ast.StringNode); ok {
			return getField(args[0], key.Value)
		}
	}
	switch len(args) {
	case 0:
		return func(*Env) (any, error) { return fn() }
	case 1:
		// A function of one or two arguments is called without packing
		// them into a slice: directly when it has such a form.
		a0 := args[0]
		f1 := unaryDirect[id.Value]
		if f1 == nil {
			f1 = unary
		}
		if f1 == nil {
			f1 = func(v any) (any, error) { return fn(v) }
		}
		return func(e *Env) (any, error) {
			v0, err := a0(e)
			if err != nil {
				return nil, err
			}
			return f1(v0)
		}
	case 2:
		f2 := binaryDirect[id.Value]
		if f2 == nil {
			f2 = binary
		}
		if f2 == nil {
			f2 = func(v0, v1 any) (any, error) { return fn(v0, v1) }
		}
		return apply2(args[0], args[1], f2)
	}
	return func(e *Env) (any, error) {
		vals, err := evalAll(e, args)
		if err != nil {
			return nil, err
		}
		return fn(vals...)
	}
}

// getField is base.key, the key written in the expression (a member
// access, message.client_id): an object's field is read at once, without
// evaluating the key or boxing it; anything else goes through get.
func getField(base evalFn, key string) evalFn {
	var boxedKey any = key
	if key == "$" {
		return func(e *Env) (any, error) {
			b, err := base(e)
			if err != nil {
				return nil, err
			}
			return get(b, boxedKey)
		}
	}
	var hint atomic.Int32 // where key was last found (see lookup)
	return func(e *Env) (any, error) {
		b, err := base(e)
		if err != nil {
			return nil, err
		}
		if o, ok := b.(*value.Object); ok {
			return lookup(o, key, &hint), nil
		}
		return get(b, boxedKey)
	}
}

// binaryDirect and unaryDirect call the functions behind rewritten operators
// without packing their arguments into a slice.
var (
	binaryDirect = map[string]func(a, b any) (any, error){
		"__get": get,
		"__eq":  func(a, b any) (any, error) { return value.Equal(a, b), nil },
		"__ne":  func(a, b any) (any, error) { return !value.Equal(a, b), nil },
		"__lt":  compare2(func(c int) bool { return c < 0 }),
		"__le":  compare2(func(c int) bool { return c <= 0 }),
		"__gt":  compare2(func(c int) bool { return c > 0 }),
		"__ge":  compare2(func(c int) bool { return c >= 0 }),
	}
	unaryDirect = map[string]func(a any) (any, error){
		"len": length1,
		"__bool": func(a any) (any, error) {
			switch b := a.(type) {
			case bool:
				return b, nil
			case nil:
				return false, nil
			}
			return toBool(a)
		},
	}
)

func compileBinary(t *ast.BinaryNode) evalFn {
	if isArith(t.Operator) && !generalArith {
		return compileArith(t)
	}
	l, r := compileFast(t.Left), compileFast(t.Right)
	if l == nil || r == nil {
		return nil
	}
	op := t.Operator
	switch op {
	case "&&", "and", "||", "or":
		and := op == "&&" || op == "and"
		notBool := opNotBool(op)
		return func(e *Env) (any, error) {
			v, err := l(e)
			b, ok := v.(bool)
			if err != nil || !ok {
				return nil, boolErr(err, v, notBool)
			}
			if b != and { // false && …, true || …: short-circuit
				return b, nil
			}
			v, err = r(e)
			if b, ok = v.(bool); err != nil || !ok {
				return nil, boolErr(err, v, notBool)
			}
			return b, nil
		}
	case "??":
		return coalesce(l, r)
	case "+", "-", "*", "/", "%", "**", "^":
		return apply2(l, r, arithOp(op))
	case "contains", "startsWith", "endsWith":
		return apply2(l, r, func(a, b any) (any, error) {
			as, ok1 := a.(string)
			bs, ok2 := b.(string)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("invalid operation: %s %s %s", value.TypeName(a), op, value.TypeName(b))
			}
			switch op {
			case "contains":
				return strings.Contains(as, bs), nil
			case "startsWith":
				return strings.HasPrefix(as, bs), nil
			}
			return strings.HasSuffix(as, bs), nil
		})
	}
	return nil
}

var errDivZero = errors.New("integer divide by zero")

// arithOp returns the function of an arithmetic operator, applied as expr
// does: integers stay integers except for / and **, which give floats; +
// also joins strings.
func arithOp(op string) func(a, b any) (any, error) {
	return func(a, b any) (any, error) {
		if op == "+" {
			if as, ok := a.(string); ok {
				if bs, ok := b.(string); ok {
					return as + bs, nil
				}
			}
		}
		ai, aInt := intOf(a)
		bi, bInt := intOf(b)
		if aInt && bInt {
			switch op {
			case "+":
				return ai + bi, nil
			case "-":
				return ai - bi, nil
			case "*":
				return ai * bi, nil
			case "%":
				if bi == 0 {
					return nil, errDivZero
				}
				return ai % bi, nil
			}
		}
		af, aok := value.ToFloat(a)
		bf, bok := value.ToFloat(b)
		if !aok || !bok || !value.IsNumber(a) || !value.IsNumber(b) {
			return nil, fmt.Errorf("invalid operation: %s %s %s", value.TypeName(a), op, value.TypeName(b))
		}
		switch op {
		case "+":
			return af + bf, nil
		case "-":
			return af - bf, nil
		case "*":
			return af * bf, nil
		case "/":
			return af / bf, nil
		case "**", "^":
			return math.Pow(af, bf), nil
		case "%":
			return nil, fmt.Errorf("invalid operation: %s %% %s", value.TypeName(a), value.TypeName(b))
		}
		return nil, fmt.Errorf("unknown operator %s", op)
	}
}

func intOf(v any) (int64, bool) {
	switch t := v.(type) {
	case int64:
		return t, true
	case int:
		return int64(t), true
	case int32:
		return int64(t), true
	}
	return 0, false
}
