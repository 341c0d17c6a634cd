package jolt

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nectar-run/nectar/internal/text"
)

// SpecError is a bad spec, found by Compile or CompileChain. Path is the
// path of object keys (string) and array indexes (int) inside the spec value
// given to Compile or CompileChain that leads to the offending key or value,
// for example []any{0, "spec", "rating", "*"}; a loader holding the YAML or
// JSON source maps it to a line and column.
type SpecError struct {
	Path []any
	Msg  string
}

// Error renders the error as "jolt: spec[0].spec.rating: message".
func (e *SpecError) Error() string {
	if len(e.Path) == 0 {
		return "jolt: spec: " + e.Msg
	}
	return "jolt: spec" + FormatPath(e.Path) + ": " + e.Msg
}

// FormatPath renders a spec path like []any{0, "spec", "a.b"} as
// `[0].spec["a.b"]`: indexes in brackets, plain keys after a dot, other keys quoted.
func FormatPath(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch k := p.(type) {
		case int:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(k))
			b.WriteByte(']')
		case string:
			if text.IsName(k, "-_") {
				b.WriteByte('.')
				b.WriteString(k)
			} else {
				b.WriteByte('[')
				b.WriteString(strconv.Quote(k))
				b.WriteByte(']')
			}
		default:
			fmt.Fprintf(&b, "[%v]", k)
		}
	}
	return b.String()
}

// Errors returned by Apply. Data that does not fit the spec is not an error in
// JOLT (the part of the spec that does not match does nothing); these are the
// few cases where a transform cannot produce a result.
var (
	// ErrTooDeep is returned when the input, or the walk of the spec over it,
	// nests deeper than MaxDepth levels.
	ErrTooDeep = errors.New("jolt: input nests too deeply")
	// ErrOutputTooLarge is returned when a shift would write more than
	// MaxWrites values, which only a runaway spec over a huge input does.
	ErrOutputTooLarge = errors.New("jolt: output too large")
	// ErrTopLevelArray is returned by a default whose spec cannot apply to an
	// input that is a JSON array at the top level (its keys are not indexes).
	ErrTopLevelArray = errors.New("jolt: default spec cannot handle a top-level array input")
	// ErrBadReference is returned when a reference such as &(0,3) asks for a
	// wildcard capture or a level that the matched key does not have.
	ErrBadReference = errors.New("jolt: reference out of range")
)

// Limits that keep a transform from exhausting memory or the stack.
const (
	// MaxDepth is the deepest nesting of input or spec walk that Apply accepts.
	MaxDepth = 1000
	// MaxWrites is the most values one shift may write.
	MaxWrites = 10_000_000
	// MaxArrayIndex is the largest array index a spec or a reference may
	// write to; a larger one would make a huge array of nulls.
	MaxArrayIndex = 1 << 20
)

// specErr builds a SpecError at path (copied) plus extra elements.
func specErr(path []any, msg string, args ...any) *SpecError {
	p := make([]any, len(path))
	copy(p, path)
	if len(args) > 0 {
		msg = fmt.Sprintf(msg, args...)
	}
	return &SpecError{Path: p, Msg: msg}
}

// child returns path+key without aliasing path's backing array.
func child(path []any, key any) []any {
	p := make([]any, len(path)+1)
	copy(p, path)
	p[len(path)] = key
	return p
}

// preview quotes s for an error message, shortened if long.
func preview(s string) string {
	return strconv.Quote(text.Preview(s, 64))
}
