package expression

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/nectar-run/nectar/engine/value"
	ntext "github.com/nectar-run/nectar/internal/text"
)

// Categories of the function catalogue, in the order docs/functions.md lists them.
const (
	catLogic  = "Logic and comparison"
	catString = "String"
	catNumber = "Number"
	catMath   = "Math"
	catDate   = "Date"
	catJSON   = "JSON and arrays"
	catUtil   = "Utilities"
	catCrypto = "Encoding, hashing and random values"
)

// FunctionCategories lists the categories of the catalogue in documentation order.
var FunctionCategories = []string{catLogic, catString, catNumber, catMath, catDate, catJSON, catUtil, catCrypto}

var categoryOf = map[string]string{}

// FunctionCategory returns the documentation category of the named catalogue
// function (one of FunctionCategories), or "" for an unknown name. It is meant
// for docs and `nectar functions`; the map is written only by init functions.
func FunctionCategory(name string) string { return categoryOf[strings.ToUpper(name)] }

// registerIn registers functions under a documentation category.
func registerIn(cat string, fs ...Function) {
	register(fs...)
	for _, f := range fs {
		categoryOf[f.Name] = cat
	}
}

// arity checks the number of arguments of a call.
func arity(name string, args []any, lo, hi int) error {
	n := len(args)
	if n >= lo && (hi < 0 || n <= hi) {
		return nil
	}
	switch {
	case hi < 0:
		return fmt.Errorf("%s: expects at least %d argument%s, got %d", name, lo, plural(lo), n)
	case lo == hi:
		return fmt.Errorf("%s: expects %d argument%s, got %d", name, lo, plural(lo), n)
	}
	return fmt.Errorf("%s: expects %d to %d arguments, got %d", name, lo, hi, n)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// opt returns args[i], or nil when the argument is absent.
func opt(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}

// text converts a scalar to its string form: strings as they are, numbers and
// booleans as JSON writes them. ok is false for null, arrays and objects.
func text(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case bool:
		return strconv.FormatBool(t), true
	case int64:
		return strconv.FormatInt(t, 10), true
	case int:
		return strconv.Itoa(t), true
	case json.Number:
		return string(t), true
	case float64:
		return formatFloat(t), true
	}
	if value.IsNumber(v) {
		return value.MustEncodeString(value.FromGo(v)), true
	}
	return "", false
}

// formatFloat writes a float as JSON does: 2.0 stays "2.0", as Java's
// Double.toString (and so Digibee) writes it.
func formatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	b, _ := value.AppendJSON(make([]byte, 0, 24), f)
	return string(b)
}

// stringify is TOSTRING: scalars as text, null as "null", arrays and objects as JSON.
func stringify(v any) string {
	if s, ok := text(v); ok {
		return s
	}
	return value.MustEncodeString(value.FromGo(v))
}

// argText returns argument i as a string; numbers and booleans are converted.
func argText(name string, args []any, i int) (string, error) {
	if i >= len(args) {
		return "", argError(name, i, "missing")
	}
	return textAt(name, i, args[i])
}

// firstText checks the number of arguments of a call and returns the first
// as a string; ok is false when it is null (the function gives null, or its
// own value for it) or on an error.
func firstText(name string, args []any, min, max int) (s string, ok bool, err error) {
	if err := arity(name, args, min, max); err != nil {
		return "", false, err
	}
	if args[0] == nil {
		return "", false, nil
	}
	s, err = argText(name, args, 0)
	return s, err == nil, err
}

// textAt returns v, argument i of a function, as a string.
func textAt(name string, i int, v any) (string, error) {
	s, ok := text(v)
	if !ok {
		return "", argError(name, i, "expected a string, got %s", value.TypeName(value.FromGo(v)))
	}
	return s, nil
}

// optText returns argument i as a string, or def when it is absent or null.
func optText(name string, args []any, i int, def string) (string, error) {
	if i >= len(args) || args[i] == nil {
		return def, nil
	}
	return argText(name, args, i)
}

// toNumber converts a number or a numeric string to float64.
func toNumber(v any) (float64, bool) {
	if f, ok := value.ToFloat(v); ok {
		return f, true
	}
	if s, ok := v.(string); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return f, err == nil
	}
	return 0, false
}

// argFloat returns argument i as a float64; numeric strings are accepted.
func argFloat(name string, args []any, i int) (float64, error) {
	return argAs(name, args, i, "a number", toNumber)
}

// argAs returns argument i converted by conv; want says what conv accepts
// ("a number"), for the error when it refuses the argument.
func argAs[T any](name string, args []any, i int, want string, conv func(any) (T, bool)) (T, error) {
	if i >= len(args) {
		var zero T
		return zero, argError(name, i, "missing")
	}
	return convertArg(name, i, args[i], want, conv)
}

// convertArg converts v, argument i of a call of name, with conv.
func convertArg[T any](name string, i int, v any, want string, conv func(any) (T, bool)) (T, error) {
	t, ok := conv(v)
	if !ok {
		var zero T
		return zero, argError(name, i, "expected %s, got %s", want, describe(v))
	}
	return t, nil
}

// toInteger converts a number or numeric string to int64, truncating fractions.
func toInteger(v any) (int64, bool) {
	if n, ok := value.ToInt(v); ok {
		return n, true
	}
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return value.ToInt(f)
		}
	}
	return 0, false
}

// argInt returns argument i as an int64; fractions are truncated.
func argInt(name string, args []any, i int) (int64, error) {
	return argAs(name, args, i, "an integer", toInteger)
}

// optBool returns argument i as a bool, or def when absent or null.
func optBool(name string, args []any, i int, def bool) (bool, error) {
	if i >= len(args) || args[i] == nil {
		return def, nil
	}
	switch t := args[i].(type) {
	case bool:
		return t, nil
	case string:
		if b, err := strconv.ParseBool(t); err == nil {
			return b, nil
		}
	}
	return false, argError(name, i, "expected a boolean, got %s", describe(args[i]))
}

// argArray returns argument i as an array.
func argArray(name string, args []any, i int) ([]any, error) {
	return argAs(name, args, i, "an array", toArray)
}

// toArray returns v as an array, converting a Go slice to the value model.
func toArray(v any) ([]any, bool) {
	a, ok := value.FromGo(v).([]any)
	return a, ok
}

// describe names the type of a value for an error message, with a short preview of strings.
func describe(v any) string {
	v = value.FromGo(v)
	if s, ok := v.(string); ok {
		return "string " + strconv.Quote(ntext.Preview(s, 24))
	}
	return value.TypeName(v)
}

// finite refuses NaN and infinities, which JSON cannot hold.
func finite(name string, f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%s: result is not a finite number", name)
	}
	return f, nil
}

// compiled is a cache of things compiled from source text: regular
// expressions, JSONPaths, number and date patterns, time zones. Sources are
// usually literals of a pipeline, so the set is small; it stops growing at a
// bound so that sources built from message data cannot exhaust memory.
type compiled[V any] struct {
	mu sync.RWMutex
	m  map[string]V
}

const compiledMax = 1024

func (c *compiled[V]) get(src string, build func(string) (V, error)) (V, error) {
	c.mu.RLock()
	v, ok := c.m[src]
	c.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err := build(src)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]V{}
	}
	if len(c.m) < compiledMax {
		c.m[src] = v
	}
	c.mu.Unlock()
	return v, nil
}

var regexCache compiled[*regexp.Regexp]

func compileRegex(src string) (*regexp.Regexp, error) { return regexCache.get(src, regexp.Compile) }

// argReader reads the arguments of a call in order and keeps the first
// problem, as bufio.Scanner keeps its error: once a read fails (or the
// number of arguments is wrong), the later reads do nothing and return the
// zero value, so a function reads what it needs and checks err once, and the
// error is the one of the first bad argument.
type argReader struct {
	name string
	args []any
	err  error
}

// readArgs starts reading the arguments of a call of name, checking first
// that there are lo to hi of them (hi < 0: no upper bound).
func readArgs(name string, args []any, lo, hi int) argReader {
	return argReader{name: name, args: args, err: arity(name, args, lo, hi)}
}

// readArg reads argument i with f unless a read before failed.
func readArg[T any](r *argReader, i int, f func(name string, args []any, i int) (T, error)) T {
	var v T
	if r.err == nil {
		v, r.err = f(r.name, r.args, i)
	}
	return v
}

func (r *argReader) text(i int) string     { return readArg(r, i, argText) }
func (r *argReader) float(i int) float64   { return readArg(r, i, argFloat) }
func (r *argReader) int(i int) int64       { return readArg(r, i, argInt) }
func (r *argReader) array(i int) []any     { return readArg(r, i, argArray) }
func (r *argReader) epoch(i int) int64     { return readArg(r, i, epochArg) }
func (r *argReader) dateUnit(i int) string { return readArg(r, i, dateUnit) }

func (r *argReader) optText(i int, def string) string {
	return readArg(r, i, func(name string, args []any, i int) (string, error) { return optText(name, args, i, def) })
}

func (r *argReader) zone(i int, def zone) zone {
	return readArg(r, i, func(name string, args []any, i int) (zone, error) { return zoneArg(name, args, i, def) })
}

func (r *argReader) regex(i int, prefix, suffix string) *regexp.Regexp {
	return readArg(r, i, func(name string, args []any, i int) (*regexp.Regexp, error) {
		return argRegex(name, args, i, prefix, suffix)
	})
}
