package expression

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/builtin"

	"github.com/nectar-run/nectar/engine/value"
)

// ownFuncs are the functions behind the rewritten operators and the builtins
// Nectar replaces so that they understand *value.Object.
var ownFuncs = map[string]func(args ...any) (any, error){
	"__get":    getFunc,
	"__object": object,
	"__eq":     func(a ...any) (any, error) { return value.Equal(a[0], a[1]), nil },
	"__ne":     func(a ...any) (any, error) { return !value.Equal(a[0], a[1]), nil },
	"__in":     in,
	"__bool":   toBool,
	"__lt":     compare(func(c int) bool { return c < 0 }),
	"__le":     compare(func(c int) bool { return c <= 0 }),
	"__gt":     compare(func(c int) bool { return c > 0 }),
	"__ge":     compare(func(c int) bool { return c >= 0 }),
	"len":      length,
	"keys":     keys,
	"values":   values,
	"toJSON":   toJSON,
	"fromJSON": fromJSON,
	"type":     func(a ...any) (any, error) { return value.TypeName(arg(a, 0)), nil },
}

// boolFuncs are the own functions that always give a boolean. They are not
// declared to expr with a typed signature: the checker would then skip their
// arguments on its last pass and miss an unknown name in them.
var boolFuncs = map[string]bool{
	"__eq": true, "__ne": true, "__in": true, "__bool": true,
	"__lt": true, "__le": true, "__gt": true, "__ge": true,
}

var (
	optionsOnce sync.Once
	options     []expr.Option
)

func baseOptions() []expr.Option {
	optionsOnce.Do(func() {
		options = []expr.Option{expr.Env(Env{})}
		for name, fn := range ownFuncs {
			options = append(options, expr.Function(name, fn))
		}
		for name, f := range catalogue {
			options = append(options, expr.Function(name, f.Fn))
		}
		for _, name := range overriddenBuiltins() {
			options = append(options, expr.Function(name, catalogue[strings.ToUpper(name)].Fn))
		}
	})
	return append([]expr.Option(nil), options...)
}

var builtinNames = func() map[string]bool {
	m := map[string]bool{}
	for _, b := range builtin.Builtins {
		m[b.Name] = true
	}
	return m
}()

func arg(a []any, i int) any {
	if i < len(a) {
		return a[i]
	}
	return nil
}

// get is member access: obj.key, obj["key"], list[i] (negative from the end).
// A missing key, an index out of range or a nil base give nil.
func getFunc(a ...any) (any, error) { return get(a[0], a[1]) }

func get(base0, key any) (any, error) {
	switch base := base0.(type) {
	case *value.Object:
		key, ok := key.(string)
		if !ok {
			return nil, fmt.Errorf("cannot index an object with %s", value.TypeName(key))
		}
		v, found := base.Get(key)
		if !found && key == "$" {
			return base, nil
		}
		return v, nil
	case nil:
		return nil, nil
	case []any:
		i, ok := value.ToInt(key)
		if !ok {
			if s, isStr := key.(string); isStr && s == "$" {
				return base, nil
			}
			return nil, fmt.Errorf("cannot index an array with %s", value.TypeName(key))
		}
		if i < 0 {
			i += int64(len(base))
		}
		if i < 0 || i >= int64(len(base)) {
			return nil, nil
		}
		return base[i], nil
	case string:
		if s, ok := key.(string); ok && s == "$" {
			return base, nil
		}
		i, ok := value.ToInt(key)
		if !ok {
			return nil, fmt.Errorf("cannot read field %s of a string", strconv.Quote(fmt.Sprint(key)))
		}
		r := []rune(base)
		if i < 0 {
			i += int64(len(r))
		}
		if i < 0 || i >= int64(len(r)) {
			return nil, nil
		}
		return string(r[i]), nil
	case map[string]any:
		key, _ := key.(string)
		return base[key], nil
	default:
		if s, ok := key.(string); ok && s == "$" {
			return base, nil
		}
		if rv, ok := list(base); ok { // []string from split and the like
			i, ok := value.ToInt(key)
			if !ok {
				return nil, fmt.Errorf("cannot index an array with %s", value.TypeName(key))
			}
			if i < 0 {
				i += int64(rv.Len())
			}
			if i < 0 || i >= int64(rv.Len()) {
				return nil, nil
			}
			return value.FromGo(rv.Index(int(i)).Interface()), nil
		}
		return nil, fmt.Errorf("cannot read field %s of %s", preview(fmt.Sprint(key)), TypeWithArticle(base0))
	}
}

func object(a ...any) (any, error) {
	o := value.NewObject(len(a) / 2)
	for i := 0; i+1 < len(a); i += 2 {
		k, ok := a[i].(string)
		if !ok {
			k = fmt.Sprint(a[i])
		}
		o.Set(k, value.FromGo(a[i+1]))
	}
	return o, nil
}

func in(a ...any) (any, error) {
	switch c := a[1].(type) {
	case *value.Object:
		k, ok := a[0].(string)
		return ok && c.Has(k), nil
	case []any:
		for _, x := range c {
			if value.Equal(a[0], x) {
				return true, nil
			}
		}
		return false, nil
	case string:
		s, ok := a[0].(string)
		return ok && strings.Contains(c, s), nil
	case nil:
		return false, nil
	}
	if rv, ok := list(a[1]); ok { // []string from split and the like
		for i := range rv.Len() {
			if value.Equal(a[0], rv.Index(i).Interface()) {
				return true, nil
			}
		}
		return false, nil
	}
	return nil, fmt.Errorf("cannot use 'in' on %s", TypeWithArticle(a[1]))
}

// list gives v as a reflect.Value when it is a Go slice or array other than
// []any: expr's builtins return []string (split) and such.
func list(v any) (reflect.Value, bool) {
	rv := reflect.ValueOf(v)
	if k := rv.Kind(); k == reflect.Slice || k == reflect.Array {
		return rv, true
	}
	return reflect.Value{}, false
}

// TypeWithArticle names v's JSON type for a message, with its article:
// "an array", "an object", "a string", "null". It is value.TypeName for prose.
func TypeWithArticle(v any) string {
	switch t := value.TypeName(v); t {
	case "null":
		return t
	case "array", "object":
		return "an " + t
	default:
		return "a " + t
	}
}

// toBool is an operand of !, not, &&, || and ?: — null counts as false; any
// other value than a boolean is an error, as a condition's would be.
func toBool(a ...any) (any, error) {
	switch b := a[0].(type) {
	case bool:
		return b, nil
	case nil:
		return false, nil
	}
	return nil, fmt.Errorf("expected true, false or null, got %s %s", value.TypeName(a[0]), previewValue(a[0]))
}

var errIncomparable = errors.New("incomparable")

func compare(ok func(int) bool) func(a ...any) (any, error) {
	c := compare2(ok)
	return func(a ...any) (any, error) { return c(a[0], a[1]) }
}

func compare2(ok func(int) bool) func(x, y any) (any, error) {
	return func(x, y any) (any, error) {
		if x == nil || y == nil {
			return false, nil
		}
		// Fast paths for the common cases.
		switch xv := x.(type) {
		case int64:
			switch yv := y.(type) {
			case int64:
				return ok(cmpInt(xv, yv)), nil
			case int:
				return ok(cmpInt(xv, int64(yv))), nil
			}
		case int:
			if yv, isInt := y.(int); isInt {
				return ok(cmpInt(int64(xv), int64(yv))), nil
			}
		case string:
			if yv, isStr := y.(string); isStr {
				return ok(strings.Compare(xv, yv)), nil
			}
		}
		if value.IsNumber(x) && value.IsNumber(y) {
			return ok(value.Compare(x, y)), nil
		}
		if _, isTime := x.(interface{ Unix() int64 }); isTime {
			return nil, errIncomparable
		}
		return nil, fmt.Errorf("cannot compare %s with %s", value.TypeName(x), value.TypeName(y))
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func length(a ...any) (any, error) { return length1(arg(a, 0)) }

// length1 is len of one value: compiled calls use it directly (unaryDirect).
func length1(x any) (any, error) {
	switch v := x.(type) {
	case string:
		return int64(len([]rune(v))), nil
	case []any:
		return int64(len(v)), nil
	case *value.Object:
		return int64(v.Len()), nil
	case nil:
		return int64(0), nil
	}
	if rv, ok := list(x); ok {
		return int64(rv.Len()), nil
	}
	return nil, fmt.Errorf("len: cannot take the length of %s", TypeWithArticle(x))
}

func keys(a ...any) (any, error) {
	o, ok := arg(a, 0).(*value.Object)
	if !ok {
		return nil, fmt.Errorf("keys: expected an object, got %s", value.TypeName(arg(a, 0)))
	}
	out := make([]any, o.Len())
	for i, k := range o.Keys() {
		out[i] = k
	}
	return out, nil
}

func values(a ...any) (any, error) {
	o, ok := arg(a, 0).(*value.Object)
	if !ok {
		return nil, fmt.Errorf("values: expected an object, got %s", value.TypeName(arg(a, 0)))
	}
	out := make([]any, o.Len())
	for i := range out {
		_, out[i] = o.At(i)
	}
	return out, nil
}

func toJSON(a ...any) (any, error) {
	b, err := value.Encode(arg(a, 0))
	if err != nil {
		return nil, fmt.Errorf("toJSON: %w", err)
	}
	return string(b), nil
}

func fromJSON(a ...any) (any, error) {
	s, ok := arg(a, 0).(string)
	if !ok {
		return nil, fmt.Errorf("fromJSON: expected a string, got %s", value.TypeName(arg(a, 0)))
	}
	return value.DecodeString(s)
}
