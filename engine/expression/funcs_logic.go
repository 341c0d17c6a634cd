package expression

import (
	"strconv"
	"strings"

	"github.com/nectar-run/nectar/engine/value"
)

func init() {
	registerIn(catLogic,
		Function{
			Name: "AND", Usage: "AND(b1, b2, …)",
			Doc:     "True when every argument is true. Null counts as false; other non-boolean values are an error.",
			Example: `AND(true, 1 < 2, nil)`, Result: `false`,
			Fn: boolFold("AND", true, func(acc, b bool) bool { return acc && b }),
		},
		Function{
			Name: "OR", Usage: "OR(b1, b2, …)",
			Doc:     "True when any argument is true. Null counts as false.",
			Example: `OR(false, nil, true)`, Result: `true`,
			Fn: boolFold("OR", false, func(acc, b bool) bool { return acc || b }),
		},
		Function{
			Name: "XOR", Usage: "XOR(b1, b2, …)",
			Doc:     "Exclusive or, applied pairwise from left to right: XOR(true, false, true) is false. Null counts as false.",
			Example: `XOR(false, true, false, false)`, Result: `true`,
			Fn: boolFold("XOR", false, func(acc, b bool) bool { return acc != b }),
		},
		Function{
			Name: "NOT", Usage: "NOT(b)",
			Doc:     "Negates a boolean. NOT(null) is true.",
			Example: `NOT(false)`, Result: `true`,
			Fn: fnNot,
		},
		Function{
			Name: "EQUALTO", Usage: "EQUALTO(a, b)",
			Doc:     "Deep equality of any two values: objects (key order ignored) and arrays compare by content, numbers by value (1 equals 1.0).",
			Example: `EQUALTO({"a": [1, 2]}, {"a": [1, 2.0]})`, Result: `true`,
			Fn: fnEqualTo,
		},
		Function{
			Name: "GREATERTHAN", Usage: "GREATERTHAN(a, b)",
			Doc:     "a > b. Numbers (and numeric strings) compare by value, other strings alphabetically; null is smaller than any value, and GREATERTHAN(null, null) is false.",
			Example: `GREATERTHAN(10, "9.5")`, Result: `true`,
			Fn: compareFn("GREATERTHAN", func(c int) bool { return c > 0 }),
		},
		Function{
			Name: "GREATERTHANEQUAL", Usage: "GREATERTHANEQUAL(a, b)",
			Doc:     "a >= b, with the ordering of GREATERTHAN. GREATERTHANEQUAL(null, null) is true.",
			Example: `GREATERTHANEQUAL(nil, nil)`, Result: `true`,
			Fn: compareFn("GREATERTHANEQUAL", func(c int) bool { return c >= 0 }),
		},
		Function{
			Name: "LESSTHAN", Usage: "LESSTHAN(a, b)",
			Doc:     "a < b, with the ordering of GREATERTHAN. LESSTHAN(null, 0) is true.",
			Example: `LESSTHAN(nil, 0)`, Result: `true`,
			Fn: compareFn("LESSTHAN", func(c int) bool { return c < 0 }),
		},
		Function{
			Name: "LESSTHANEQUAL", Usage: "LESSTHANEQUAL(a, b)",
			Doc:     "a <= b, with the ordering of GREATERTHAN.",
			Example: `LESSTHANEQUAL("abc", "abd")`, Result: `true`,
			Fn: compareFn("LESSTHANEQUAL", func(c int) bool { return c <= 0 }),
		},
		Function{
			Name: "IF", Usage: "IF(condition, then, else)",
			Doc:     "then when condition is true, else otherwise (null counts as false). As in Digibee, both branches are evaluated before IF is called.",
			Example: `IF(2 > 1, "yes", "no")`, Result: `"yes"`,
			Fn: fnIf,
		},
		Function{
			Name: "SWITCHCASE", Usage: "SWITCHCASE(default, cond1, result1, cond2, result2, …)",
			Doc:     "The result of the first true condition, or default when none is true.",
			Example: `SWITCHCASE("none", false, "a", true, "b", true, "c")`, Result: `"b"`,
			Fn: fnSwitchCase,
		},
		typeTest("ISOBJECT", "an object", `ISOBJECT({"a": 1})`, func(v any) bool { _, ok := v.(*value.Object); return ok }),
		typeTest("ISARRAY", "an array", `ISARRAY([1, 2])`, func(v any) bool { _, ok := v.([]any); return ok }),
		typeTest("ISBOOLEAN", "a boolean", `ISBOOLEAN(false)`, func(v any) bool { _, ok := v.(bool); return ok }),
		typeTest("ISSTRING", "a string", `ISSTRING("12")`, func(v any) bool { _, ok := v.(string); return ok }),
		typeTest("ISNUMBER", "a number (a numeric string is not)", `ISNUMBER(12.5)`, value.IsNumber),
		typeTest("ISNULL", "null (or missing)", `ISNULL(nil)`, func(v any) bool { return v == nil }),
	)
}

// boolArg reads a condition: a boolean, or null as false.
func boolArg(name string, args []any, i int) (bool, error) {
	switch t := args[i].(type) {
	case bool:
		return t, nil
	case nil:
		return false, nil
	}
	return false, argError(name, i, "expected a boolean, got %s", describe(args[i]))
}

func boolFold(name string, start bool, op func(acc, b bool) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(name, args, 1, -1); err != nil {
			return nil, err
		}
		acc := start
		for i := range args {
			b, err := boolArg(name, args, i)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				acc = b
				continue
			}
			acc = op(acc, b)
		}
		return acc, nil
	}
}

func fnNot(args ...any) (any, error) {
	if err := arity("NOT", args, 1, 1); err != nil {
		return nil, err
	}
	b, err := boolArg("NOT", args, 0)
	return !b, err
}

func fnEqualTo(args ...any) (any, error) {
	if err := arity("EQUALTO", args, 2, 2); err != nil {
		return nil, err
	}
	return value.Equal(value.FromGo(args[0]), value.FromGo(args[1])), nil
}

// numeric returns a number, or a string holding a number, as int64 or float64.
func numeric(v any) (any, bool) {
	if value.IsNumber(v) {
		return v, true
	}
	s, ok := v.(string)
	if !ok {
		return nil, false
	}
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, true
	}
	return nil, false
}

// order compares two values for the GREATERTHAN family: null is smallest,
// numbers (and numeric strings) by value, other strings bytewise.
func order(name string, a, b any) (int, error) {
	switch {
	case a == nil && b == nil:
		return 0, nil
	case a == nil:
		return -1, nil
	case b == nil:
		return 1, nil
	}
	if na, ok := numeric(a); ok {
		if nb, ok := numeric(b); ok {
			return value.Compare(na, nb), nil
		}
	}
	sa, aok := a.(string)
	sb, bok := b.(string)
	if aok && bok {
		return strings.Compare(sa, sb), nil
	}
	bad := 0
	if _, ok := numeric(a); ok || aok {
		bad = 1
	}
	return 0, argError(name, bad, "cannot compare %s with %s", describe(a), describe(b))
}

func compareFn(name string, test func(int) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if err := arity(name, args, 2, 2); err != nil {
			return nil, err
		}
		c, err := order(name, args[0], args[1])
		if err != nil {
			return nil, err
		}
		return test(c), nil
	}
}

func fnIf(args ...any) (any, error) {
	if err := arity("IF", args, 3, 3); err != nil {
		return nil, err
	}
	c, err := boolArg("IF", args, 0)
	if err != nil {
		return nil, err
	}
	if c {
		return value.FromGo(args[1]), nil
	}
	return value.FromGo(args[2]), nil
}

func fnSwitchCase(args ...any) (any, error) {
	if err := arity("SWITCHCASE", args, 1, -1); err != nil {
		return nil, err
	}
	if len(args)%2 == 0 {
		return nil, argError("SWITCHCASE", len(args)-1, "condition has no result")
	}
	for i := 1; i+1 < len(args); i += 2 {
		c, err := boolArg("SWITCHCASE", args, i)
		if err != nil {
			return nil, err
		}
		if c {
			return value.FromGo(args[i+1]), nil
		}
	}
	return value.FromGo(args[0]), nil
}

func typeTest(name, what, example string, test func(any) bool) Function {
	return Function{
		Name: name, Usage: name + "(v)",
		Doc:     "True when v is " + what + ".",
		Example: example, Result: "true",
		Unary: func(v any) (any, error) { return test(value.FromGo(v)), nil },
	}
}
