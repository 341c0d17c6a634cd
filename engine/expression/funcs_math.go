package expression

import (
	"fmt"
	"math"

	"github.com/nectar-run/nectar/engine/value"
)

func init() {
	registerIn(catMath,
		unaryMath("ABS", "Absolute value.", `ABS(-34)`, `34.0`, math.Abs),
		unaryMath("CEIL", "Smallest integer not below n.", `CEIL(2.1)`, `3.0`, math.Ceil),
		unaryMath("FLOOR", "Largest integer not above n (a Nectar addition).", `FLOOR(-2.1)`, `-3.0`, math.Floor),
		unaryMath("ROUND", "Nearest integer, ties toward positive infinity as Java's Math.round: ROUND(2.5) is 3.0, ROUND(-2.5) is -2.0.", `ROUND(2.5)`, `3.0`,
			func(f float64) float64 { return math.Floor(f + 0.5) }),
		unaryMath("SQRT", "Square root; a negative n is an error.", `SQRT(16)`, `4.0`, math.Sqrt),
		binaryMath("POW", "POW(n, exponent)", "n raised to exponent.", `POW(2, 10)`, `1024.0`, math.Pow),
		binaryMath("LOG", "LOG(n, base)", "Logarithm of n in base.", `LOG(1000, 10)`, `3.0`, func(a, b float64) float64 {
			if b == 10 {
				return math.Log10(a)
			}
			if b == 2 {
				return math.Log2(a)
			}
			return math.Log(a) / math.Log(b)
		}),
		binaryMath("DIVIDE", "DIVIDE(a, b)", "a divided by b; dividing by zero is an error.", `DIVIDE(10, 4)`, `2.5`, func(a, b float64) float64 { return a / b }),
		binaryMath("MOD", "MOD(a, b)", "Remainder of a / b with the sign of a (Java's %); b = 0 is an error.", `MOD(-7, 3)`, `-1.0`, math.Mod),
		binaryMath("SUBTRACT", "SUBTRACT(a, b)", "a minus b.", `SUBTRACT(10, 0.5)`, `9.5`, func(a, b float64) float64 { return a - b }),
		foldMath("SUM", "Sum of the arguments; array arguments contribute their elements.", `SUM(1, 2, [3, 4.5])`, `10.5`, 0, func(a, b float64) float64 { return a + b }),
		foldMath("MULTIPLY", "Product of the arguments; array arguments contribute their elements.", `MULTIPLY(2, 3, 0.5)`, `3.0`, 1, func(a, b float64) float64 { return a * b }),
		foldMath("MAX", "Largest argument (Digibee takes two; Nectar takes any number and arrays).", `MAX(3, 7.5, -1)`, `7.5`, math.Inf(-1), math.Max),
		foldMath("MIN", "Smallest argument (any number of arguments and arrays).", `MIN(3, [7.5, -1])`, `-1.0`, math.Inf(1), math.Min),
	)
}

func unaryMath(name, doc, example, result string, f func(float64) float64) Function {
	return Function{
		Name: name, Usage: name + "(n)",
		Doc:     doc + " The result is a floating-point number, as in Digibee; numeric strings are accepted.",
		Example: example, Result: result,
		Fn: func(args ...any) (any, error) {
			r := readArgs(name, args, 1, 1)
			n := r.float(0)
			if r.err != nil {
				return nil, r.err
			}
			return finite(name, f(n))
		},
	}
}

func binaryMath(name, usage, doc, example, result string, f func(a, b float64) float64) Function {
	return Function{
		Name: name, Usage: usage,
		Doc:     doc + " The result is a floating-point number.",
		Example: example, Result: result,
		Fn: func(args ...any) (any, error) {
			r := readArgs(name, args, 2, 2)
			a := r.float(0)
			b := r.float(1)
			if r.err != nil {
				return nil, r.err
			}
			if b == 0 && (name == "DIVIDE" || name == "MOD") {
				return nil, argError(name, 1, "division by zero")
			}
			return finite(name, f(a, b))
		},
	}
}

func foldMath(name, doc, example, result string, start float64, f func(a, b float64) float64) Function {
	return Function{
		Name: name, Usage: name + "(n1, n2, …)",
		Doc:     doc + " The result is a floating-point number.",
		Example: example, Result: result,
		Fn: func(args ...any) (any, error) {
			if err := arity(name, args, 1, -1); err != nil {
				return nil, err
			}
			acc, seen := start, 0
			for i, a := range args {
				items := []any{a}
				if arr, ok := value.FromGo(a).([]any); ok {
					items = arr
				}
				for _, x := range items {
					n, ok := toNumber(x)
					if !ok {
						return nil, argError(name, i, "expected a number, got %s", describe(x))
					}
					acc = f(acc, n)
					seen++
				}
			}
			if seen == 0 {
				return nil, fmt.Errorf("%s: no numbers given", name)
			}
			return finite(name, acc)
		},
	}
}
