package jolt

import (
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf16"

	"github.com/nectar-run/nectar/engine/value"
)

// argKind is where a function argument comes from.
type argKind uint8

const (
	argLiteral argKind = iota // a constant
	argSelf                   // @(n,path): read from the input around the key
	argContext                // ^path: read from the context
)

type funcArg struct {
	kind argKind
	lit  any
	tp   *transpose
	ctx  *pathReader // nil: the whole context
}

// evaluator computes one candidate value of a modify leaf (upstream's
// FunctionEvaluator): an argument alone, or a function over arguments.
type evaluator struct {
	fn     *function
	args   []funcArg
	noArgs bool // "=fn" without parentheses: the function gets the current value
}

// function is a stock function. call returns ok false for "no value", in
// which case nothing is written (or the next fallback is tried).
type function struct {
	name string
	call func(args []any) (any, bool)
}

func buildEvaluators(rhs any, path []any) ([]evaluator, error) {
	switch r := rhs.(type) {
	case string:
		ev, err := buildEvaluator(r, path)
		if err != nil {
			return nil, err
		}
		return []evaluator{ev}, nil
	case []any:
		if len(r) == 0 {
			return []evaluator{{args: []funcArg{{kind: argLiteral, lit: r}}}}, nil
		}
		evs := make([]evaluator, 0, len(r))
		for i, x := range r {
			if s, ok := x.(string); ok {
				ev, err := buildEvaluator(s, child(path, i))
				if err != nil {
					return nil, err
				}
				evs = append(evs, ev)
				continue
			}
			evs = append(evs, evaluator{args: []funcArg{{kind: argLiteral, lit: x}}})
		}
		return evs, nil
	}
	return []evaluator{{args: []funcArg{{kind: argLiteral, lit: rhs}}}}, nil
}

func buildEvaluator(rhs string, path []any) (evaluator, error) {
	if !strings.HasPrefix(rhs, "=") {
		a, err := buildArg(rhs, false, path)
		return evaluator{args: []funcArg{a}}, err
	}
	body := rhs[1:]
	if !strings.Contains(body, "(") && !strings.HasSuffix(body, ")") {
		return evaluator{fn: lookupFunction(body), noArgs: true}, nil
	}
	open := strings.IndexByte(body, '(')
	if open < 0 || !strings.HasSuffix(body, ")") {
		return evaluator{}, specErr(path, "cannot parse function call %s", preview(rhs))
	}
	ev := evaluator{fn: lookupFunction(body[:open])}
	for _, a := range splitFunctionArgs(body[open+1 : len(body)-1]) {
		arg, err := buildArg(a, true, path)
		if err != nil {
			return evaluator{}, err
		}
		ev.args = append(ev.args, arg)
	}
	if ev.fn.name == "split" && len(ev.args) > 0 {
		// Compile a constant separator now, so that Apply does not.
		if sep, ok := ev.args[0].lit.(string); ok && ev.args[0].kind == argLiteral {
			splitRegexp(sep)
		}
	}
	return ev, nil
}

// lookupFunction finds a stock function. As in upstream JOLT, an unknown
// name is not a spec error: the function gives no value, so a fallback list
// moves on to its next entry.
func lookupFunction(name string) *function {
	if fn, ok := stockFunctions[name]; ok {
		return fn
	}
	return &function{name: name, call: func([]any) (any, bool) { return nil, false }}
}

// splitFunctionArgs splits "a, @(1,b), 'c,d'" on commas outside parentheses and quotes.
func splitFunctionArgs(s string) []string {
	var out []string
	var sb strings.Builder
	inParens, inQuotes := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '(':
			if !inQuotes {
				inParens = true
			}
		case ')':
			if !inQuotes {
				inParens = false
			}
		case '\'':
			inQuotes = !inQuotes
		case ',':
			if !inParens && !inQuotes {
				out = append(out, strings.TrimSpace(sb.String()))
				sb.Reset()
				continue
			}
		}
		sb.WriteByte(c)
	}
	return append(out, strings.TrimSpace(sb.String()))
}

func buildArg(a string, forFunction bool, path []any) (funcArg, error) {
	switch {
	case strings.HasPrefix(a, "^"):
		if a == "^" {
			return funcArg{kind: argContext}, nil
		}
		r, msg := parseReader(a[1:])
		if msg != "" {
			return funcArg{}, specErr(path, "%s", msg)
		}
		return funcArg{kind: argContext, ctx: r}, nil
	case strings.HasPrefix(a, "@"):
		elems, _, msg := parseEvaluatable(a)
		if msg != "" {
			return funcArg{}, specErr(path, "%s", msg)
		}
		last := elems[len(elems)-1]
		if last.kind != ekTranspose {
			return funcArg{}, specErr(path, "argument %s must end with an @ path element", preview(a))
		}
		return funcArg{kind: argSelf, tp: last.tp}, nil
	}
	if !forFunction {
		return funcArg{kind: argLiteral, lit: a}, nil
	}
	switch {
	case a == "":
		return funcArg{kind: argLiteral, lit: nil}, nil
	case len(a) >= 2 && a[0] == '\'' && a[len(a)-1] == '\'':
		return funcArg{kind: argLiteral, lit: a[1 : len(a)-1]}, nil
	case strings.EqualFold(a, "true"):
		return funcArg{kind: argLiteral, lit: true}, nil
	case strings.EqualFold(a, "false"):
		return funcArg{kind: argLiteral, lit: false}, nil
	}
	if n, ok := parseJavaNumber(a); ok {
		return funcArg{kind: argLiteral, lit: n}, nil
	}
	return funcArg{kind: argLiteral, lit: a}, nil
}

// eval returns the argument's value; ok is false when it is absent.
func (a *funcArg) eval(st *state) (any, bool) {
	switch a.kind {
	case argSelf:
		v, ok, err := st.transposeValue(a.tp)
		return v, ok && err == nil
	case argContext:
		if a.ctx == nil {
			return st.ctx, true
		}
		v, ok, err := st.read(a.ctx, st.ctx)
		if !ok || err != nil {
			return nil, false
		}
		// The context belongs to the caller: what is written must be a copy.
		return value.DeepCopy(v), true
	}
	return a.lit, true
}

func (s *modSpec) firstAvailable(st *state, in any, present bool) (any, bool) {
	for i := range s.evals {
		if v, ok := s.evals[i].evaluate(st, in, present); ok {
			return v, true
		}
	}
	return nil, false
}

func (ev *evaluator) evaluate(st *state, in any, present bool) (any, bool) {
	switch {
	case ev.fn == nil:
		return ev.args[0].eval(st)
	case ev.noArgs:
		if present {
			return ev.fn.call([]any{in})
		}
		return ev.fn.call(nil)
	case len(ev.args) == 1:
		if v, ok := ev.args[0].eval(st); ok {
			return ev.fn.call([]any{v})
		}
		return ev.fn.call(nil)
	default:
		args := make([]any, len(ev.args))
		for i := range ev.args {
			args[i], _ = ev.args[i].eval(st)
		}
		return ev.fn.call(args)
	}
}

// ---- Java number model ----
//
// Upstream functions distinguish Integer (32 bit), Long and Double. JSON
// integers are Integer when they fit 32 bits and Long otherwise, as the JSON
// parser JOLT uses reads them; floats are Double.

type jnum uint8

const (
	jNone jnum = iota
	jInt
	jLong
	jDouble
)

func numKind(v any) jnum {
	switch t := v.(type) {
	case int64:
		if t >= math.MinInt32 && t <= math.MaxInt32 {
			return jInt
		}
		return jLong
	case int:
		return numKind(int64(t))
	case float64:
		return jDouble
	case uint64:
		return jLong
	}
	if value.IsNumber(v) {
		if _, ok := value.ToInt(v); ok {
			return jLong
		}
		return jDouble
	}
	return jNone
}

// parseJavaNumber is upstream's Objects.toNumber on a string: Integer, then
// Long, then Double.
func parseJavaNumber(s string) (any, bool) {
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return n, true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, false
	}
	if last := t[len(t)-1]; last == 'd' || last == 'D' || last == 'f' || last == 'F' {
		t = t[:len(t)-1]
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return nil, false
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		bare := strings.TrimLeft(t, "+-")
		if bare != "Infinity" && bare != "NaN" {
			return nil, false
		}
	}
	if strings.ContainsAny(t, "_xXpP") || strings.EqualFold(t, "inf") {
		return nil, false
	}
	return f, true
}

// toNumber is upstream's Objects.toNumber: numbers as they are, numeric strings parsed.
func toNumber(v any) (any, bool) {
	if value.IsNumber(v) {
		return v, true
	}
	if s, ok := v.(string); ok {
		return parseJavaNumber(s)
	}
	return nil, false
}

func toFloat(v any) float64 { f, _ := value.ToFloat(v); return f }

// longValue is Java's Number.longValue: doubles truncate and saturate.
func longValue(v any) int64 {
	if n, ok := v.(int64); ok {
		return n
	}
	return saturate(toFloat(v), math.MinInt64, math.MaxInt64)
}

// saturate is Java's conversion of a double to an integer type of range
// [lo, hi]: NaN is 0, the fraction is dropped, and values beyond the range
// give its ends.
func saturate(f float64, lo, hi int64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= float64(hi):
		return hi
	case f <= float64(lo):
		return lo
	}
	return int64(f)
}

// ---- function shapes (upstream's Function base classes) ----

// baseFn: no args -> none; one list arg -> list(); one null -> none; one
// other -> single(); many -> list(args).
func baseFn(list func([]any) (any, bool), single func(any) (any, bool)) func([]any) (any, bool) {
	return func(args []any) (any, bool) {
		switch len(args) {
		case 0:
			return nil, false
		case 1:
			switch t := args[0].(type) {
			case []any:
				if len(t) == 0 {
					return nil, false
				}
				return list(t)
			case nil:
				return nil, false
			}
			return single(args[0])
		}
		return list(args)
	}
}

// singleFn applies f to one value, or to each element of a list (keeping
// elements f gives no value for).
func singleFn(f func(any) (any, bool)) func([]any) (any, bool) {
	return baseFn(func(l []any) (any, bool) {
		out := make([]any, len(l))
		for i, x := range l {
			if v, ok := f(x); ok {
				out[i] = v
			} else {
				out[i] = x
			}
		}
		return out, true
	}, f)
}

func listFn(f func([]any) (any, bool)) func([]any) (any, bool) {
	return baseFn(f, func(any) (any, bool) { return nil, false })
}

// argDriven: the first argument is special (of the kind isSpecial accepts);
// the rest are the input. One list argument is spread first.
func argDriven(isSpecial func(any) bool, list func(special any, args []any) (any, bool), single func(special, arg any) (any, bool)) func([]any) (any, bool) {
	return func(args []any) (any, bool) {
		if len(args) == 1 {
			if l, ok := args[0].([]any); ok {
				args = l
			}
		}
		if len(args) < 2 || !isSpecial(args[0]) {
			return nil, false
		}
		if len(args) == 2 {
			if l, ok := args[1].([]any); ok {
				return list(args[0], l)
			}
			return single(args[0], args[1])
		}
		return list(args[0], args[1:])
	}
}

func argDrivenSingle(isSpecial func(any) bool, f func(special, arg any) (any, bool)) func([]any) (any, bool) {
	return argDriven(isSpecial, func(sp any, l []any) (any, bool) {
		out := make([]any, len(l))
		for i, x := range l {
			if v, ok := f(sp, x); ok {
				out[i] = v
			} else {
				out[i] = x
			}
		}
		return out, true
	}, f)
}

func argDrivenList(isSpecial func(any) bool, f func(special any, args []any) (any, bool)) func([]any) (any, bool) {
	return argDriven(isSpecial, f, func(any, any) (any, bool) { return nil, false })
}

func isString(v any) bool { _, ok := v.(string); return ok }
func isInt(v any) bool    { return numKind(v) == jInt }

// utf16Len is the length of s as Java counts it.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// ---- the stock functions ----

var stockFunctions map[string]*function

func init() {
	fns := map[string]func([]any) (any, bool){
		"toLower": singleFn(func(a any) (any, bool) {
			s, ok := a.(string)
			return strings.ToLower(s), ok
		}),
		"toUpper": singleFn(func(a any) (any, bool) {
			s, ok := a.(string)
			return strings.ToUpper(s), ok
		}),
		"trim": singleFn(func(a any) (any, bool) {
			s, ok := a.(string)
			return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' }), ok
		}),
		"concat": listFn(func(l []any) (any, bool) {
			var b strings.Builder
			for _, x := range l {
				if x != nil {
					b.WriteString(javaString(x))
				}
			}
			return b.String(), true
		}),
		"join": argDrivenList(isString, func(sep any, l []any) (any, bool) {
			var b strings.Builder
			for i, x := range l {
				if x == nil {
					continue
				}
				s := javaString(x)
				if s == "" {
					continue
				}
				b.WriteString(s)
				if i < len(l)-1 {
					b.WriteString(sep.(string))
				}
			}
			return b.String(), true
		}),
		"split": argDrivenSingle(isString, func(sep, src any) (any, bool) {
			s, ok := src.(string)
			if !ok {
				return nil, false
			}
			return javaSplit(s, sep.(string))
		}),
		"substring": listFn(func(l []any) (any, bool) {
			if len(l) != 3 || !isString(l[0]) || !isInt(l[1]) || !isInt(l[2]) {
				return nil, false
			}
			s := l[0].(string)
			start, end := int(l[1].(int64)), int(l[2].(int64))
			if isASCII(s) {
				if start >= end || start < 0 || end < 1 || end > len(s) {
					return nil, false
				}
				return s[start:end], true
			}
			u := utf16.Encode([]rune(s))
			if start >= end || start < 0 || end < 1 || end > len(u) {
				return nil, false
			}
			return string(utf16.Decode(u[start:end])), true
		}),
		"leftPad":  argDrivenList(isString, func(src any, l []any) (any, bool) { return pad(true, src.(string), l) }),
		"rightPad": argDrivenList(isString, func(src any, l []any) (any, bool) { return pad(false, src.(string), l) }),

		"min": baseFn(func(l []any) (any, bool) { return minMax(l, false) }, numberItself),
		"max": baseFn(func(l []any) (any, bool) { return minMax(l, true) }, numberItself),
		"abs": singleFn(absValue),
		"avg": listFn(func(l []any) (any, bool) {
			sum, n := 0.0, 0
			for _, x := range l {
				if v, ok := toNumber(x); ok {
					sum += toFloat(v)
					n++
				}
			}
			if n == 0 {
				return nil, false
			}
			return sum / float64(n), true
		}),
		"intSum": listFn(func(l []any) (any, bool) {
			var sum int32
			for _, x := range l {
				if v, ok := toInteger(x); ok {
					sum += int32(v.(int64))
				}
			}
			return int64(sum), true
		}),
		"longSum": listFn(func(l []any) (any, bool) {
			var sum int64
			for _, x := range l {
				if v, ok := toLong(x); ok {
					sum += v.(int64)
				}
			}
			return sum, true
		}),
		"doubleSum": listFn(func(l []any) (any, bool) {
			sum := 0.0
			for _, x := range l {
				if v, ok := toDouble(x); ok {
					sum += v.(float64)
				}
			}
			return sum, true
		}),
		"intSubtract": listFn(func(l []any) (any, bool) {
			if len(l) != 2 || numKind(l[0]) != jInt || numKind(l[1]) != jInt {
				return nil, false
			}
			return int64(int32(l[0].(int64)) - int32(l[1].(int64))), true
		}),
		"longSubtract": listFn(func(l []any) (any, bool) {
			if len(l) != 2 || numKind(l[0]) != jLong || numKind(l[1]) != jLong {
				return nil, false
			}
			return longValue(l[0]) - longValue(l[1]), true
		}),
		"doubleSubtract": listFn(func(l []any) (any, bool) {
			if len(l) != 2 || numKind(l[0]) != jDouble || numKind(l[1]) != jDouble {
				return nil, false
			}
			return toFloat(l[0]) - toFloat(l[1]), true
		}),
		"divide": listFn(divide),
		"divideAndRound": argDrivenList(isInt, func(d any, l []any) (any, bool) {
			q, ok := divide(l)
			if !ok {
				return nil, false
			}
			return roundHalfUp(q.(float64), int(d.(int64)))
		}),

		"toInteger": singleFn(toInteger),
		"toLong":    singleFn(toLong),
		"toDouble":  singleFn(toDouble),
		"toBoolean": singleFn(func(a any) (any, bool) {
			switch t := a.(type) {
			case bool:
				return t, true
			case string:
				switch {
				case strings.EqualFold(t, "true"):
					return true, true
				case strings.EqualFold(t, "false"):
					return false, true
				}
			}
			return nil, false
		}),
		"toString": singleFn(func(a any) (any, bool) { return javaString(a), true }),
		"size": func(args []any) (any, bool) {
			switch len(args) {
			case 0:
				return nil, false
			case 1:
				switch t := args[0].(type) {
				case []any:
					return int64(len(t)), true
				case string:
					return int64(utf16Len(t)), true
				case *value.Object:
					return int64(t.Len()), true
				}
				return nil, false
			}
			return int64(len(args)), true
		},

		"squashNulls":            squashFn(func(v any) any { return squashNulls(v, false) }),
		"recursivelySquashNulls": squashFn(func(v any) any { return squashNulls(v, true) }),
		"squashDuplicates": squashFn(func(v any) any {
			l, ok := v.([]any)
			if !ok {
				return v
			}
			out := make([]any, 0, len(l))
			for _, x := range l {
				if !slices.ContainsFunc(out, func(y any) bool { return value.Equal(x, y) }) {
					out = append(out, x)
				}
			}
			return out
		}),

		"noop": func([]any) (any, bool) { return nil, false },
		"isPresent": func(args []any) (any, bool) {
			if len(args) == 0 {
				return nil, false
			}
			return args[0], true
		},
		"notNull": func(args []any) (any, bool) {
			if len(args) == 0 || args[0] == nil {
				return nil, false
			}
			return args[0], true
		},
		"isNull": func(args []any) (any, bool) {
			if len(args) == 0 || args[0] != nil {
				return nil, false
			}
			return nil, true
		},

		"firstElement": listFn(func(l []any) (any, bool) { return l[0], true }),
		"lastElement":  listFn(func(l []any) (any, bool) { return l[len(l)-1], true }),
		"elementAt": argDrivenList(isInt, func(i any, l []any) (any, bool) {
			n := int(i.(int64))
			if n < 0 || n >= len(l) {
				return nil, false
			}
			return l[n], true
		}),
		"toList": baseFn(func(l []any) (any, bool) { return l, true }, func(a any) (any, bool) { return []any{a}, true }),
		"sort":   baseFn(sortList, func(a any) (any, bool) { return a, true }),
		"indexOf": func(args []any) (any, bool) {
			if len(args) != 2 {
				return nil, false
			}
			switch src := args[0].(type) {
			case string:
				sub, ok := args[1].(string)
				if !ok {
					return nil, false
				}
				i := strings.Index(src, sub)
				if i > 0 {
					i = utf16Len(src[:i])
				}
				return int64(i), true
			case []any:
				for i, x := range src {
					if value.Equal(x, args[1]) {
						return int64(i), true
					}
				}
				return int64(-1), true
			}
			return nil, false
		},
	}
	stockFunctions = make(map[string]*function, len(fns))
	for name, f := range fns {
		stockFunctions[name] = &function{name: name, call: f}
	}
}

// FunctionNames returns the names of the stock functions, sorted.
func FunctionNames() []string {
	names := make([]string, 0, len(stockFunctions))
	for n := range stockFunctions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func numberItself(a any) (any, bool) { return a, value.IsNumber(a) }

func toInteger(a any) (any, bool) {
	a, ok := toNumber(a)
	if !ok {
		return nil, false
	}
	return javaIntValue(toFloat(a), a), true
}

func toLong(a any) (any, bool) {
	a, ok := toNumber(a)
	if !ok {
		return nil, false
	}
	return longValue(a), true
}

func toDouble(a any) (any, bool) {
	n, ok := toNumber(a)
	if !ok {
		return nil, false
	}
	return toFloat(n), true
}

func absValue(a any) (any, bool) {
	a, ok := toNumber(a)
	if !ok {
		return nil, false
	}
	switch numKind(a) {
	case jInt:
		n := int32(a.(int64))
		if n < 0 {
			n = -n
		}
		return int64(n), true
	case jLong:
		n := longValue(a)
		if n < 0 {
			n = -n
		}
		return n, true
	case jDouble:
		return math.Abs(toFloat(a)), true
	}
	return nil, false
}

// minMax is upstream's Math.min/max: the best Integer, Long and Double are
// kept apart and compared at the end, as Java does.
func minMax(l []any, isMax bool) (any, bool) {
	var (
		bi    int64 = math.MaxInt32
		bl    int64 = math.MaxInt64
		bd          = math.MaxFloat64
		found bool
	)
	if isMax {
		bi, bl, bd = math.MinInt32, math.MinInt64, -math.MaxFloat64
	}
	better := func(a, b float64) bool {
		if isMax {
			return a > b
		}
		return a < b
	}
	for _, x := range l {
		x, ok := toNumber(x)
		if !ok {
			continue
		}
		switch numKind(x) {
		case jInt:
			if v := x.(int64); (isMax && v > bi) || (!isMax && v < bi) {
				bi = v
			}
			found = true
		case jLong:
			if v := longValue(x); (isMax && v > bl) || (!isMax && v < bl) {
				bl = v
			}
			found = true
		case jDouble:
			if v := toFloat(x); better(v, bd) || math.IsNaN(v) {
				bd = v
			}
			found = true
		}
	}
	if !found {
		return nil, false
	}
	dl := longValue(bd)
	if isMax {
		switch {
		case bi >= dl && bi >= bl:
			return bi, true
		case bl >= dl:
			return bl, true
		}
		return bd, true
	}
	switch {
	case bi <= dl && bi <= bl:
		return bi, true
	case bl <= dl:
		return bl, true
	}
	return bd, true
}

func divide(l []any) (any, bool) {
	if len(l) != 2 {
		return nil, false
	}
	a, ok1 := toNumber(l[0])
	b, ok2 := toNumber(l[1])
	if !ok1 || !ok2 {
		return nil, false
	}
	d := toFloat(b)
	if d == 0 {
		return nil, false
	}
	return toFloat(a) / d, true
}

// roundHalfUp rounds the exact binary value of f to digits decimals, half
// away from zero, as Java's new BigDecimal(f).setScale(digits, HALF_UP).
func roundHalfUp(f float64, digits int) (any, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || digits < 0 || digits > 300 {
		return nil, false
	}
	r := new(big.Rat).SetFloat64(f)
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
	r.Mul(r, new(big.Rat).SetInt(scale))
	num, den := r.Num(), r.Denom()
	q, m := new(big.Int).QuoRem(new(big.Int).Abs(num), den, new(big.Int))
	if new(big.Int).Mul(m, big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if num.Sign() < 0 {
		q.Neg(q)
	}
	out, _ := new(big.Rat).SetFrac(q, scale).Float64()
	return out, true
}

func pad(left bool, src string, l []any) (any, bool) {
	if len(l) < 2 || !isInt(l[0]) || !isString(l[1]) {
		return nil, false
	}
	width := int(l[0].(int64))
	if width <= 0 || width > 500 {
		return nil, false
	}
	fill := l[1].(string)
	if utf16Len(fill) != 1 {
		return nil, false
	}
	n := utf16Len(src)
	if width <= n {
		return src, true
	}
	p := strings.Repeat(fill, width-n)
	if left {
		return p + src, true
	}
	return src + p, true
}

var splitCache sync.Map // separator -> *regexp.Regexp

// splitRegexp returns the compiled separator, nil if it is not a valid
// expression. Separators read from data are cached too, up to a bound.
func splitRegexp(sep string) *regexp.Regexp {
	if v, ok := splitCache.Load(sep); ok {
		return v.(*regexp.Regexp)
	}
	re, err := regexp.Compile(sep)
	if err != nil {
		return nil
	}
	if splitCacheSize.Add(1) <= 1024 {
		splitCache.Store(sep, re)
	}
	return re
}

var splitCacheSize atomic.Int64

// javaSplit is Java's String.split(regex): trailing empty strings dropped.
func javaSplit(s, sep string) (any, bool) {
	re := splitRegexp(sep)
	if re == nil {
		return nil, false
	}
	idx := re.FindAllStringIndex(s, -1)
	if len(idx) == 0 {
		return []any{s}, true
	}
	var parts []any
	start := 0
	for _, m := range idx {
		if m[1] == 0 { // a zero-width match at the start gives no leading empty string
			continue
		}
		parts = append(parts, s[start:m[0]])
		start = m[1]
	}
	parts = append(parts, s[start:])
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if parts == nil {
		parts = []any{}
	}
	return parts, true
}

// squashFn applies f to the single argument (a list or object), or to the
// list of arguments.
func squashFn(f func(any) any) func([]any) (any, bool) {
	return func(args []any) (any, bool) {
		switch len(args) {
		case 0:
			return nil, false
		case 1:
			if args[0] == nil {
				return nil, false
			}
			if l, ok := args[0].([]any); ok && len(l) == 0 {
				return nil, false
			}
			return f(args[0]), true
		}
		return f(slices.Clone(args)), true
	}
}

// squashNulls returns v without null list elements and null-valued keys;
// recursive does the same all the way down. v is not changed.
func squashNulls(v any, recursive bool) any {
	switch t := v.(type) {
	case []any:
		out := make([]any, 0, len(t))
		for _, x := range t {
			if x == nil {
				continue
			}
			if recursive {
				x = squashNulls(x, true)
			}
			out = append(out, x)
		}
		return out
	case *value.Object:
		o := value.NewObject(t.Len())
		for i := 0; i < t.Len(); i++ {
			k, x := t.At(i)
			if x == nil {
				continue
			}
			if recursive {
				x = squashNulls(x, true)
			}
			o.Set(k, x)
		}
		return o
	}
	return v
}

// sortList sorts like Java's Arrays.sort on the values: all strings, all
// booleans, or all numbers of one Java type; anything else gives no value.
func sortList(l []any) (any, bool) {
	out := slices.Clone(l)
	if len(out) == 0 {
		return out, true
	}
	switch out[0].(type) {
	case string:
		for _, x := range out {
			if !isString(x) {
				return nil, false
			}
		}
		slices.SortStableFunc(out, func(a, b any) int { return compareUTF16(a.(string), b.(string)) })
	case bool:
		for _, x := range out {
			if _, ok := x.(bool); !ok {
				return nil, false
			}
		}
		slices.SortStableFunc(out, func(a, b any) int { return value.Compare(a, b) })
	default:
		k := numKind(out[0])
		if k == jNone {
			return nil, false
		}
		for _, x := range out {
			if numKind(x) != k {
				return nil, false
			}
		}
		slices.SortStableFunc(out, func(a, b any) int { return value.Compare(a, b) })
	}
	return out, true
}
