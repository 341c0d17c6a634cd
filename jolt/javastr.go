package jolt

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/nectar-run/nectar/engine/value"
)

// JOLT is a Java library and parts of its behaviour show Java's formatting of
// values: a number used as a key, concat of a number, toString. These helpers
// reproduce it, so that specs give the same text as on the JOLT demo site.

// javaString formats v as Java's String.valueOf would: 1.0 stays "1.0",
// 1e10 is "1.0E10", objects are {a=1, b=x}, lists [1, 2], null "null".
func javaString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return "null"
	case bool:
		if t {
			return "true"
		}
		return "false"
	case int64:
		return strconv.FormatInt(t, 10)
	case int:
		return strconv.Itoa(t)
	case float64:
		return javaDouble(t)
	case uint64:
		return strconv.FormatUint(t, 10)
	case json.Number:
		return string(t)
	case []any:
		var b strings.Builder
		b.WriteByte('[')
		for i, x := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(javaString(x))
		}
		b.WriteByte(']')
		return b.String()
	case *value.Object:
		var b strings.Builder
		b.WriteByte('{')
		for i := 0; i < t.Len(); i++ {
			k, x := t.At(i)
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(javaString(x))
		}
		b.WriteByte('}')
		return b.String()
	}
	if f, ok := value.ToFloat(v); ok {
		return javaDouble(f)
	}
	return ""
}

// javaDouble formats f as Java's Double.toString.
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64)
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(exp, "+-")
	exp = strings.TrimLeft(exp, "0")
	if exp == "" {
		exp = "0"
	}
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}

// javaIntValue is Java's Number.intValue: ints wrap to 32 bits, doubles
// truncate and saturate.
func javaIntValue(f float64, v any) int64 {
	switch t := v.(type) {
	case int64:
		return int64(int32(t))
	case int:
		return int64(int32(t))
	}
	return saturate(f, math.MinInt32, math.MaxInt32)
}
