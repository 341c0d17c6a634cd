package expression

import (
	"math"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
)

// Arithmetic passes numbers between its closures unboxed. An expression
// like int(NOW() / 1000) + globals.lifetime boxed every intermediate value
// into an interface (an allocation each: NOW's milliseconds, the quotient,
// the int, the sum); as numeric closures, it boxes the sum only. Every
// operator gives what arithOp gives for the same operands, and any operand
// arithOp would not take as an integer or a float64 (a string, a uint64, a
// json.Number, null…) sends the operation to arithOp itself, with the
// operands as the general closures would have passed them: results and
// errors are the same by construction (TestArithmeticForms checks it).

// generalArith makes Compile build arithmetic as general closures
// (apply2 and arithOp, boxing every value); the tests set it to check that
// the numeric closures give the same results.
var generalArith = false

// numKind says what a num holds.
type numKind uint8

const (
	numInt   numKind = 0 // i: an integer (int64, int or int32, as arithOp's intOf)
	numFloat numKind = 1 // f: a float64
	numOther numKind = 2 // v: anything else, boxed
)

// num is one operand or result of arithmetic. v, when not nil, is the value
// as the general closures would have it (a leaf's value, kept so that
// arithOp sees exactly that); box builds it otherwise.
type num struct {
	kind numKind
	i    int64
	f    float64
	v    any
}

// box returns n as an interface: the value the general closures give.
func (n num) box() any {
	switch {
	case n.v != nil || n.kind == numOther:
		return n.v
	case n.kind == numInt:
		return n.i
	}
	return n.f
}

// numOf classifies a boxed value as arithOp does: integers by intOf, then
// float64; everything else stays boxed and goes to arithOp.
func numOf(v any) num {
	if i, ok := intOf(v); ok {
		return num{kind: numInt, i: i, v: v}
	}
	if f, ok := v.(float64); ok {
		return num{kind: numFloat, f: f, v: v}
	}
	return num{kind: numOther, v: v}
}

type numFn func(e *Env) (num, error)

// isArith reports whether op is one of arithOp's operators.
func isArith(op string) bool {
	_, ok := arithCodes[op]
	return ok
}

// numFuncs0 are the functions of no argument with a numeric form: the
// same value as the catalogue's function, unboxed.
var numFuncs0 = map[string]func() int64{"NOW": nowMillis}

// intBuiltin is expr's int(), which compileBuiltin calls for int(x).
var intBuiltin = builtin.Builtins[builtin.Index["int"]].Fast

// compileArith compiles an arithmetic operator as numeric closures, boxing
// the result once; nil when an operand has no closure form.
func compileArith(t *ast.BinaryNode) evalFn {
	n := compileNum(t)
	if n == nil {
		return nil
	}
	return func(e *Env) (any, error) {
		v, err := n(e)
		if err != nil {
			return nil, err
		}
		return v.box(), nil
	}
}

// compileNum compiles n as a numeric closure: arithmetic, number literals,
// int() and NOW() directly, anything else as its general closure whose
// value is classified (numOf). nil when n has no closure form.
func compileNum(n ast.Node) numFn {
	switch t := n.(type) {
	case *ast.IntegerNode:
		c := num{kind: numInt, i: int64(t.Value)}
		return func(*Env) (num, error) { return c, nil }
	case *ast.FloatNode:
		c := num{kind: numFloat, f: t.Value}
		return func(*Env) (num, error) { return c, nil }
	case *ast.BinaryNode:
		if !isArith(t.Operator) {
			break
		}
		l, r := compileNum(t.Left), compileNum(t.Right)
		if l == nil || r == nil {
			return nil
		}
		code, general := arithCodes[t.Operator], arithOp(t.Operator)
		// A number written on the right (x * 1000, x + 60) is read without a call.
		var rc num
		if c, ok := t.Right.(*ast.IntegerNode); ok {
			rc, r = num{kind: numInt, i: int64(c.Value)}, nil
		} else if c, ok := t.Right.(*ast.FloatNode); ok {
			rc, r = num{kind: numFloat, f: c.Value}, nil
		}
		return func(e *Env) (num, error) {
			a, err := l(e)
			if err != nil {
				return num{}, err
			}
			b := rc
			if r != nil {
				if b, err = r(e); err != nil {
					return num{}, err
				}
			}
			// Two integers or float64s, as arithOp computes them; the
			// kinds' bits tell the cases apart: numInt|numInt is 0, a
			// float64 makes 1, anything else more.
			switch a.kind | b.kind {
			case numInt:
				switch code {
				case opAdd:
					return num{kind: numInt, i: a.i + b.i}, nil
				case opSub:
					return num{kind: numInt, i: a.i - b.i}, nil
				case opMul:
					return num{kind: numInt, i: a.i * b.i}, nil
				case opMod:
					if b.i != 0 {
						return num{kind: numInt, i: a.i % b.i}, nil
					}
				case opDiv:
					return num{kind: numFloat, f: float64(a.i) / float64(b.i)}, nil
				case opPow:
					return num{kind: numFloat, f: math.Pow(float64(a.i), float64(b.i))}, nil
				}
			case numFloat:
				af, bf := a.float(), b.float()
				switch code {
				case opAdd:
					return num{kind: numFloat, f: af + bf}, nil
				case opSub:
					return num{kind: numFloat, f: af - bf}, nil
				case opMul:
					return num{kind: numFloat, f: af * bf}, nil
				case opDiv:
					return num{kind: numFloat, f: af / bf}, nil
				case opPow:
					return num{kind: numFloat, f: math.Pow(af, bf)}, nil
				}
			}
			// Anything else (another operand, % of floats, % by zero):
			// arithOp, error included.
			v, err := general(a.box(), b.box())
			if err != nil {
				return num{}, err
			}
			return numOf(v), nil
		}
	case *ast.CallNode:
		if id, ok := t.Callee.(*ast.IdentifierNode); ok && len(t.Arguments) == 0 {
			if f := numFuncs0[id.Value]; f != nil {
				return func(*Env) (num, error) { return num{kind: numInt, i: f()}, nil }
			}
		}
	case *ast.BuiltinNode:
		if t.Name != "int" || len(t.Arguments) != 1 || intBuiltin == nil {
			break
		}
		x := compileNum(t.Arguments[0])
		if x == nil {
			return nil
		}
		return func(e *Env) (num, error) {
			a, err := x(e)
			if err != nil {
				return num{}, err
			}
			switch a.kind {
			case numInt:
				return num{kind: numInt, i: int64(int(a.i))}, nil
			case numFloat:
				return num{kind: numInt, i: int64(int(a.f))}, nil
			}
			return numOf(intBuiltin(a.box())), nil // a panic becomes an error in Eval
		}
	}
	f := compileFast(n)
	if f == nil {
		return nil
	}
	return func(e *Env) (num, error) {
		v, err := f(e)
		if err != nil {
			return num{}, err
		}
		return numOf(v), nil
	}
}

// The arithmetic operators, as the numeric closures switch on them.
const (
	opAdd = iota
	opSub
	opMul
	opDiv
	opMod
	opPow
)

var arithCodes = map[string]int{"+": opAdd, "-": opSub, "*": opMul, "/": opDiv, "%": opMod, "**": opPow, "^": opPow}

// float is an integer or float64 num as value.ToFloat gives it.
func (n num) float() float64 {
	if n.kind == numInt {
		return float64(n.i)
	}
	return n.f
}
