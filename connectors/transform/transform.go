// Package transform implements the transform connector (Digibee's
// "Transformer (JOLT)"): a JOLT chain applied to the message. Specs are
// written in the bazaarvoice JOLT spec language, unchanged, inline in the
// pipeline or in a JSON file next to it, and compiled once at load; a bad spec
// fails the load with the line and column of the offending key. In modify
// specs, `^name` reads the execution's vars, then its globals.
package transform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/jolt"
)

// Config holds the options of a transform step.
type Config struct {
	Spec     engine.Raw `yaml:"spec" doc:"a JOLT chain: a list of {operation, spec} (the JOLT demo's format)"`
	SpecFile string     `yaml:"spec_file" doc:"a JSON (or YAML) file holding the chain, relative to the pipeline file"`
}

type step struct {
	t          *jolt.Transform
	useContext bool
}

var _ engine.Step = (*step)(nil)

func init() {
	engine.Register("transform", "Reshapes the message with a JOLT spec (shift, default, remove, sort, cardinality, modify).", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	if cfg.Spec.IsSet() == (cfg.SpecFile != "") {
		return nil, cc.Errorf("", "expected exactly one of spec and spec_file")
	}
	spec, node, file := cfg.Spec.Value, cfg.Spec.Node, ""
	if cfg.SpecFile != "" {
		file = cc.Resolve(cfg.SpecFile)
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, cc.ErrorAt("spec_file", err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, cc.ErrorAt("spec_file", fmt.Errorf("%s: %w", cfg.SpecFile, err))
		}
		if spec, err = engine.NodeValue(&doc); err != nil {
			return nil, cc.ErrorAt("spec_file", fmt.Errorf("%s: %w", cfg.SpecFile, err))
		}
		node = &doc
	}
	if _, isList := spec.([]any); !isList {
		if file != "" {
			return nil, &engine.LoadError{File: file, Line: 1, Col: 1, Err: errors.New("expected a JOLT chain: a list of {operation, spec}")}
		}
		return nil, cc.Errorf("spec", "expected a JOLT chain: a list of {operation, spec}")
	}
	t, err := jolt.CompileChain(spec)
	if err != nil {
		var se *jolt.SpecError
		if !errors.As(err, &se) {
			return nil, cc.ErrorAt("spec", err)
		}
		at := engine.NodeAt(node, se.Path)
		if file != "" {
			return nil, &engine.LoadError{File: file, Path: jolt.FormatPath(se.Path), Line: at.Line, Col: at.Column, Err: errors.New(se.Msg)}
		}
		return nil, cc.ErrorAtNode(at, "spec"+pathSuffix(se.Path), errors.New(se.Msg))
	}
	return &step{t: t, useContext: mentionsContext(spec)}, nil
}

func pathSuffix(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch k := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", k)
		default:
			fmt.Fprintf(&b, "[%q]", fmt.Sprint(k))
		}
	}
	return b.String()
}

// mentionsContext reports whether any string of the spec refers to the
// context (^), so that executions not using it skip building one.
func mentionsContext(v any) bool {
	switch t := v.(type) {
	case string:
		return strings.Contains(t, "^")
	case []any:
		for _, x := range t {
			if mentionsContext(x) {
				return true
			}
		}
	case *value.Object:
		found := false
		t.Range(func(k string, x any) bool {
			found = strings.Contains(k, "^") || mentionsContext(x)
			return !found
		})
		return found
	}
	return false
}

// Execute applies the chain. JOLT errors at run time (a too-large output, a
// too-deep input) fail the step with code 422.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	var jctx *value.Object
	if s.useContext {
		jctx = x.Pipeline.Globals.Clone()
		if jctx == nil {
			jctx = value.NewObject(0)
		}
		x.Vars.Range(func(k string, v any) bool { jctx.Set(k, v); return true })
	}
	out, err := s.t.Apply(in, jctx)
	if err != nil {
		return nil, engine.NewError(422, "transform: %w", err)
	}
	return out, nil
}
