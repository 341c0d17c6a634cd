package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nectar-run/nectar/engine/value"
)

// LoadError is a problem at a place in a pipeline file. The loader returns all
// problems of a file together, joined with errors.Join and sorted by position.
type LoadError struct {
	File      string
	Path      string // like steps[2].jq.query
	Line, Col int
	Err       error
}

func (e *LoadError) Error() string {
	switch {
	case e.Line > 0 && e.Path != "":
		return fmt.Sprintf("%s:%d:%d: %s: %v", e.File, e.Line, e.Col, e.Path, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Col, e.Err)
	case e.Path != "":
		return fmt.Sprintf("%s: %s: %v", e.File, e.Path, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// LoadErrors returns the individual problems inside an error returned by Load.
func LoadErrors(err error) []*LoadError {
	var out []*LoadError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if le, ok := err.(*LoadError); ok {
			out = append(out, le)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		walk(errors.Unwrap(err))
	}
	walk(err)
	return out
}

func joinSorted(errs []*LoadError) error {
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Line != errs[j].Line {
			return errs[i].Line < errs[j].Line
		}
		return errs[i].Col < errs[j].Col
	})
	list := make([]error, len(errs))
	for i, e := range errs {
		list[i] = e
	}
	return errors.Join(list...)
}

// Error is an execution error in the shape Digibee users know:
// {"timestamp", "error", "code"} plus where it happened. Connectors raise it
// with NewError; any other error a step returns is wrapped into one with code
// 500 when it leaves the step.
type Error struct {
	Timestamp   int64  // epoch milliseconds
	Message     string // the "error" field
	Code        int    // an HTTP-like status
	Pipeline    string
	Step        string
	ExecutionID string
	// Fields are extra fields of a custom error object (throw with an object),
	// written after the standard ones.
	Fields *value.Object
	// Cause is the underlying error, if any. It is not serialised.
	Cause error
}

// NewError returns an error with a status code and a message. A %w verb
// keeps the wrapped error as the Cause (errors.Is and errors.As see it), as
// fmt.Errorf does.
func NewError(code int, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	e := &Error{Timestamp: time.Now().UnixMilli(), Code: code, Message: err.Error()}
	switch err.(type) {
	case interface{ Unwrap() error }, interface{ Unwrap() []error }:
		e.Cause = err
	}
	return e
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Pipeline != "" {
		b.WriteString(e.Pipeline)
		if e.Step != "" {
			b.WriteString(": step ")
			b.WriteString(e.Step)
		}
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%d: %s", e.Code, e.Message)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Cause }

// Object returns the error as a message value: the standard error object.
func (e *Error) Object() *value.Object {
	o := value.NewObject(6 + e.Fields.Len())
	o.Set("timestamp", e.Timestamp)
	o.Set("error", e.Message)
	o.Set("code", int64(e.Code))
	if e.Pipeline != "" {
		o.Set("pipeline", e.Pipeline)
	}
	if e.Step != "" {
		o.Set("step", e.Step)
	}
	if e.ExecutionID != "" {
		o.Set("execution_id", e.ExecutionID)
	}
	e.Fields.Range(func(k string, v any) bool {
		if !o.Has(k) {
			o.Set(k, v)
		}
		return true
	})
	return o
}

// Shown returns a copy of e to show whoever ran the pipeline (nectar run,
// POST /api/run): the values of lists (secret values: the runtime's, the
// execution's own) masked wherever they appear in its message and fields,
// and the values of the fields that sensitive names (nil: none) masked
// at any depth of its fields. e is not changed.
func (e *Error) Shown(sensitive func(string) bool, lists ...[]string) *Error {
	c := *e
	c.Message = MaskSecrets(e.Message, lists...)
	if e.Fields != nil {
		c.Fields, _ = Mask(e.Fields, &Masking{Field: sensitive, Secrets: lists}).(*value.Object)
	}
	return &c
}

// MarshalJSON writes the error object.
func (e *Error) MarshalJSON() ([]byte, error) { return value.Encode(e.Object()) }

// AsError converts any error to an *Error, keeping an *Error found in the
// chain and giving others code 500 (504 for a deadline).
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	code := 500
	if isDeadline(err) {
		code = 504
	}
	return &Error{Timestamp: time.Now().UnixMilli(), Code: code, Message: err.Error(), Cause: err}
}

// ErrCallDepth is returned (wrapped in a 508 *Error) when pipelines call
// each other deeper than MaxCallDepth.
var ErrCallDepth = errors.New("pipeline call depth exceeded")

// ErrUnknownPipeline is returned (wrapped in a 404 *Error) when a pipeline
// step names a pipeline that is not loaded.
var ErrUnknownPipeline = errors.New("unknown pipeline")

// OffsetError is an error at a byte offset inside an option's string value.
// Compiler.ErrorAt points at that character (file:line:col).
type OffsetError struct {
	Offset int
	Err    error
}

func (e *OffsetError) Error() string { return e.Err.Error() }
func (e *OffsetError) Unwrap() error { return e.Err }

// HTTPStatus reads v, the result of a status option (respond's status,
// throw's status or an error object's code), as an HTTP status: a whole
// number from 100 to 599, or a string of one written in decimal. A
// fraction ("200.5" or 200.5), trailing text ("404abc"), a bool, null or
// a number out of range is refused, so a mistaken expression fails at its
// step instead of answering a status nobody wrote.
func HTTPStatus(v any) (int, bool) {
	switch t := v.(type) {
	case string:
		i, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return 0, false
		}
		v = i
	case float64:
		if t != math.Trunc(t) {
			return 0, false
		}
	case float32:
		if f := float64(t); f != math.Trunc(f) {
			return 0, false
		}
	case json.Number:
		i, err := t.Int64()
		if err != nil {
			return 0, false
		}
		v = i
	}
	n, ok := value.ToInt(v)
	if !ok || n < 100 || n > 599 {
		return 0, false
	}
	return int(n), true
}
