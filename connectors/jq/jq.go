// Package jq implements the jq connector: a jq program (github.com/itchyny/gojq)
// over the message, with $vars, $globals and $metadata in scope. The program
// is compiled once, at load. One result becomes the step's result; no result
// gives null; several results are an error (wrap the program in [ ] to collect
// them). Objects produced by jq have their keys sorted, as gojq writes them.
package jq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/itchyny/gojq"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

func init() {
	engine.Register(engine.Connector[Config]{
		Name:    "jq",
		Summary: "Runs a jq program over the message.",
		Compile: compile,
	})
}

// Config holds the options of a jq step.
type Config struct {
	Query string `yaml:"query" required:"true" doc:"jq program; $vars, $globals and $metadata are in scope"`
}

type step struct {
	code *gojq.Code
}

var _ engine.Step = (*step)(nil)

// offsetError carries gojq's byte offset so the loader can point at it.
type offsetError struct {
	offset int
	err    error
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	code, err := Compile(cfg.Query)
	if err != nil {
		var oe *offsetError
		if errors.As(err, &oe) {
			return nil, cc.ErrorAt("query", &engine.OffsetError{Offset: oe.offset, Err: oe.err})
		}
		return nil, cc.ErrorAt("query", err)
	}
	return &step{code: code}, nil
}

func (e *offsetError) Error() string { return e.err.Error() }

// Compile parses and compiles a jq program with $vars, $globals and $metadata declared.
func Compile(query string) (*gojq.Code, error) {
	q, err := gojq.Parse(query)
	if err != nil {
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			return nil, &offsetError{offset: pe.Offset - len(pe.Token), err: fmt.Errorf("jq: %w", err)}
		}
		return nil, fmt.Errorf("jq: %w", err)
	}
	code, err := gojq.Compile(q, gojq.WithVariables([]string{"$vars", "$globals", "$metadata"}))
	if err != nil {
		return nil, fmt.Errorf("jq: %w", err)
	}
	return code, nil
}

// Execute runs the program over the message.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (out any, err error) {
	defer func() {
		// gojq is well behaved, but a library panic must fail this step only.
		if r := recover(); r != nil {
			out, err = nil, engine.NewError(500, "jq: %v", r)
		}
	}()
	iter := s.code.RunWithContext(ctx, ToJQ(in), ToJQ(x.Vars), ToJQ(x.Pipeline.Globals), ToJQ(x.Metadata))
	var results []any
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, isErr := v.(error); isErr {
			var he *gojq.HaltError
			if errors.As(err, &he) && he.Value() == nil {
				break
			}
			return nil, engine.NewError(500, "jq: %w", err)
		}
		results = append(results, v)
		if len(results) > 1 {
			return nil, engine.NewError(500, "jq: the program gave more than one result; wrap it in [ ] to collect them")
		}
	}
	if len(results) == 0 {
		return nil, nil
	}
	return FromJQ(results[0]), nil
}

// ToJQ converts a value into what gojq accepts: maps, []any, int, float64, *big.Int.
func ToJQ(v any) any {
	switch t := v.(type) {
	case *value.Object:
		if t == nil {
			return nil
		}
		m := make(map[string]any, t.Len())
		t.Range(func(k string, v any) bool { m[k] = ToJQ(v); return true })
		return m
	case []any:
		return value.MapArray(t, ToJQ)
	case int64:
		return int(t)
	case uint64:
		return new(big.Int).SetUint64(t)
	case json.Number:
		if b, ok := new(big.Int).SetString(string(t), 10); ok {
			return b
		}
		f, _ := value.ToFloat(t)
		return f
	}
	return v
}

// FromJQ converts gojq's results into the value model; object keys are sorted.
func FromJQ(v any) any {
	switch t := v.(type) {
	case map[string]any:
		o := value.FromGo(t).(*value.Object)
		return o
	case []any:
		return value.MapArray(t, FromJQ)
	case int:
		return int64(t)
	case *big.Int:
		if t.IsInt64() {
			return t.Int64()
		}
		return value.FromGo(t)
	}
	return v
}
