// Package throw implements the throw connector: it raises an error with a
// status and a message (both may use expressions), or a custom error object
// whose fields travel with the standard {timestamp, error, code}.
package throw

import (
	"context"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// Config holds the options of a throw step.
type Config struct {
	Status engine.Template `yaml:"status" default:"500" doc:"the error's code (an HTTP status; may be an expression)"`
	Error  engine.Template `yaml:"error" doc:"the error message"`
	Object engine.Dynamic  `yaml:"object" doc:"a custom error object; its error and code fields, when present, set the message and status"`
}

type step struct{ cfg Config }

func init() {
	engine.Register("throw", "Raises an error with a status and a message, or a custom error object.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	if !cfg.Error.IsSet() && !cfg.Object.IsSet() {
		return nil, cc.Errorf("", "expected error (a message) or object (a custom error object)")
	}
	if lit, ok := cfg.Status.Literal(); ok {
		if _, ok := engine.HTTPStatus(lit); !ok {
			return nil, cc.Errorf("status", "expected an HTTP status between 100 and 599, got %q", lit)
		}
	}
	return &step{cfg: cfg}, nil
}

// Execute always returns an *engine.Error.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	e := &engine.Error{Timestamp: time.Now().UnixMilli(), Code: 500, Message: "error"}
	sv, err := s.cfg.Status.Eval(x, in)
	if err != nil {
		return nil, err
	}
	if code, ok := engine.HTTPStatus(sv); ok {
		e.Code = code
	} else {
		return nil, engine.NewError(500, "throw: status gave %s, expected a number between 100 and 599", value.MustEncodeString(sv))
	}
	if s.cfg.Error.IsSet() {
		if e.Message, err = s.cfg.Error.String(x, in); err != nil {
			return nil, err
		}
	}
	if s.cfg.Object.IsSet() {
		v, err := s.cfg.Object.Eval(x, in)
		if err != nil {
			return nil, err
		}
		obj, ok := v.(*value.Object)
		if !ok {
			return nil, engine.NewError(500, "throw: object gave %s, expected an object", expression.TypeWithArticle(v))
		}
		if m, ok := obj.Get("error"); ok && !s.cfg.Error.IsSet() {
			if str, isStr := m.(string); isStr {
				e.Message = str
			} else {
				e.Message = value.MustEncodeString(m) // an object or a list reads as JSON
			}
		}
		if c, ok := obj.Get("code"); ok {
			if code, ok := engine.HTTPStatus(c); ok {
				e.Code = code
			}
		}
		e.Fields = obj
	}
	return nil, e
}
