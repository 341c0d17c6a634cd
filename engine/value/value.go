package value

import (
	"encoding/json"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// TypeName returns the JSON type name of v: null, boolean, number, string, array, object.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case int64, int, int32, uint64, uint, float64, float32, json.Number:
		return "number"
	case []any:
		return "array"
	case *Object:
		return "object"
	default:
		rv := reflect.ValueOf(v)
		switch rv.Kind() {
		case reflect.Map, reflect.Struct:
			return "object"
		case reflect.Slice, reflect.Array:
			return "array"
		}
		return strings.TrimPrefix(reflect.TypeOf(v).String(), "*")
	}
}

// IsNumber reports whether v is one of the number types.
func IsNumber(v any) bool {
	switch v.(type) {
	case int64, int, int32, uint64, uint, float64, float32, json.Number:
		return true
	}
	return false
}

// ToFloat converts a number (or a numeric json.Number) to float64.
func ToFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case int64:
		return float64(t), true
	case int:
		return float64(t), true
	case int32:
		return float64(t), true
	case uint64:
		return float64(t), true
	case uint:
		return float64(t), true
	case float64:
		return t, true
	case float32:
		return float64(t), true
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		return f, err == nil
	}
	return 0, false
}

// ToInt converts a number to int64. Floats are truncated toward zero; a float
// outside int64's range is refused.
func ToInt(v any) (int64, bool) {
	switch t := v.(type) {
	case int64:
		return t, true
	case int:
		return int64(t), true
	case int32:
		return int64(t), true
	case uint64:
		if t > math.MaxInt64 {
			return 0, false
		}
		return int64(t), true
	case uint:
		return int64(t), true
	case float64:
		if math.IsNaN(t) || t >= 9.223372036854775807e18 || t < -9.223372036854775808e18 {
			return 0, false
		}
		return int64(t), true
	case float32:
		return ToInt(float64(t))
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n, true
		}
		if f, err := t.Float64(); err == nil {
			return ToInt(f)
		}
	}
	return 0, false
}

// Equal reports whether a and b are the same JSON value. Numbers compare by
// value (1 equals 1.0); object key order does not matter.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case *Object:
		y, ok := b.(*Object)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for i := 0; i < x.Len(); i++ {
			yv, ok := y.Get(x.fields[i].k)
			if !ok || !Equal(x.fields[i].v, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	if IsNumber(a) && IsNumber(b) {
		ai, aok := ToInt(a)
		bi, bok := ToInt(b)
		af, _ := ToFloat(a)
		bf, _ := ToFloat(b)
		if aok && bok && af == float64(ai) && bf == float64(bi) {
			return ai == bi
		}
		return af == bf
	}
	return reflect.DeepEqual(a, b)
}

// FromGo converts Go values (maps, slices, structs, numbers of any size) into
// the value model. Map keys are sorted, since Go maps have no order. Values
// already in the model are returned as they are, without copying.
func FromGo(v any) any {
	switch v.(type) {
	case nil, bool, string, int64, uint64, float64, json.Number, *Object:
		return v // small enough to inline: most values need no conversion
	}
	return fromGo(v)
}

func fromGo(v any) any {
	switch t := v.(type) {
	case int:
		return int64(t)
	case int32:
		return int64(t)
	case float32:
		return float64(t)
	case []any:
		var out []any
		for i, x := range t {
			c := FromGo(x)
			if out == nil && !sameValue(c, x) {
				out = slices.Clone(t[:i:i])
				out = append(out, make([]any, 0, len(t)-i)...)
			}
			if out != nil {
				out = append(out, c)
			}
		}
		if out == nil {
			return t
		}
		return out
	case map[string]any:
		keys := slices.Sorted(maps.Keys(t))
		o := NewObject(len(keys))
		for _, k := range keys {
			o.Set(k, FromGo(t[k]))
		}
		return o
	case []string:
		out := make([]any, len(t))
		for i, s := range t {
			out[i] = s
		}
		return out
	case []map[string]any:
		out := make([]any, len(t))
		for i, m := range t {
			out[i] = FromGo(m)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u := rv.Uint()
		if u <= math.MaxInt64 {
			return int64(u)
		}
		return u
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = FromGo(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		if rv.IsNil() {
			return nil
		}
		keys := make([]string, 0, rv.Len())
		vals := map[string]any{}
		iter := rv.MapRange()
		for iter.Next() {
			k := keyString(iter.Key())
			keys = append(keys, k)
			vals[k] = iter.Value().Interface()
		}
		slices.Sort(keys)
		o := NewObject(len(keys))
		for _, k := range keys {
			o.Set(k, FromGo(vals[k]))
		}
		return o
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
	}
	// Structs and anything else: through encoding/json, which knows the tags.
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	out, err := Decode(b)
	if err != nil {
		return nil
	}
	return out
}

// sameValue reports whether converted is orig unchanged, so FromGo can keep
// the original slice when no element needed converting.
func sameValue(converted, orig any) bool {
	switch o := orig.(type) {
	case *Object, nil, bool, string, int64, uint64, float64, json.Number:
		return true
	case []any:
		c, ok := converted.([]any)
		return ok && len(c) == len(o) && (len(o) == 0 || &c[0] == &o[0])
	}
	return false
}

func keyString(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return k.String()
	}
	b, _ := json.Marshal(k.Interface())
	return strings.Trim(string(b), `"`)
}

// ToGo converts a value into plain Go maps and slices (map[string]any, []any),
// for libraries such as gojq that expect them. Numbers are kept as they are,
// except that uint64 and json.Number become *big.Int-free float64 or int where
// the library needs; callers that care use their own conversion.
func ToGo(v any) any {
	switch t := v.(type) {
	case *Object:
		if t == nil {
			return nil
		}
		m := make(map[string]any, t.Len())
		for _, f := range t.fields {
			m[f.k] = ToGo(f.v)
		}
		return m
	case []any:
		return MapArray(t, ToGo)
	}
	return v
}

// MapArray returns a new array of f applied to each element of a, in order:
// the array step of a recursive conversion or copy.
func MapArray(a []any, f func(any) any) []any {
	out := make([]any, len(a))
	for i, x := range a {
		out[i] = f(x)
	}
	return out
}

// Truthy reports whether v counts as true in a condition: true, or any value
// other than nil, false, 0, "" and empty arrays and objects.
func Truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case *Object:
		return t.Len() > 0
	}
	if f, ok := ToFloat(v); ok {
		return f != 0
	}
	return true
}

// Compare orders two values for sorting: null < false < true < numbers < strings
// < arrays < objects; numbers by value, strings bytewise, arrays element by element.
func Compare(a, b any) int {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return ra - rb
	}
	switch x := a.(type) {
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case string:
		return strings.Compare(x, b.(string))
	case []any:
		y := b.([]any)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := Compare(x[i], y[i]); c != 0 {
				return c
			}
		}
		return len(x) - len(y)
	case *Object:
		return x.Len() - b.(*Object).Len()
	}
	if ra == 3 {
		ai, aok := ToInt(a)
		bi, bok := ToInt(b)
		af, _ := ToFloat(a)
		bf, _ := ToFloat(b)
		if aok && bok && af == float64(ai) && bf == float64(bi) {
			switch {
			case ai < bi:
				return -1
			case ai > bi:
				return 1
			}
			return 0
		}
		switch {
		case af < bf:
			return -1
		case af > bf:
			return 1
		}
	}
	return 0
}

func rank(v any) int {
	switch t := v.(type) {
	case nil:
		return 0
	case bool:
		if t {
			return 2
		}
		return 1
	case string:
		return 4
	case []any:
		return 5
	case *Object:
		return 6
	}
	if IsNumber(v) {
		return 3
	}
	return 7
}
