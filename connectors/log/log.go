// Package log implements the log connector: it writes one structured log line
// (log/slog) at a level, with a message template and optional fields in the
// order of the file, and passes the message through unchanged. Every line
// carries the execution id; sensitive fields (engine.Exec.Sensitive: the
// usual password, token, secret…, the pipeline's sensitive_fields and the
// server's) are masked as *** in the fields and in objects the message
// embeds, at any depth. When the execution's trace keeps log lines
// (engine.Trace.KeepIO), the line is added to it too, masked the same way.
package log

import (
	"context"
	"log/slog"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// Config holds the options of a log step.
type Config struct {
	Message engine.Template `yaml:"message" required:"true" doc:"the log message"`
	Level   string          `yaml:"level" default:"info" enum:"debug,info,warn,error" doc:"severity"`
	Fields  engine.Dynamic  `yaml:"fields" doc:"extra structured fields, an object written in its order; values may hold {{ }}"`
}

type step struct {
	msg    engine.Template
	level  slog.Level
	fields engine.Dynamic
}

func init() {
	engine.Register("log", "Writes a structured log line; the message passes through.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	s := &step{msg: cfg.Message, fields: cfg.Fields}
	switch cfg.Level {
	case "debug":
		s.level = slog.LevelDebug
	case "warn":
		s.level = slog.LevelWarn
	case "error":
		s.level = slog.LevelError
	default:
		s.level = slog.LevelInfo
	}
	if n := cc.Node("fields"); cfg.Fields.IsSet() && n.Kind != yaml.MappingNode {
		return nil, cc.Errorf("fields", "expected an object of fields")
	}
	return s, nil
}

// Execute logs and returns the message unchanged.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	if !x.Logger.Enabled(ctx, s.level) {
		return in, nil
	}
	// A sensitive value the line repeats in text ("issued {{
	// message.refresh_token }}") has no name there: the values of the
	// sensitive fields of the message and the vars are made secrets of the
	// execution first, which its log lines and record mask.
	x.LearnSensitive(in)
	x.LearnSensitive(x.Vars)
	mask := &engine.Masking{Field: x.Sensitive}
	msg, err := s.msg.Text(x, in, func(v any) any { return engine.Mask(v, mask) })
	if err != nil {
		return nil, err
	}
	attrs := []slog.Attr{slog.String("step", x.StepName())}
	var fields *value.Object
	if s.fields.IsSet() {
		v, err := s.fields.Eval(x, in)
		if err != nil {
			return nil, err
		}
		fields, _ = engine.Mask(v, mask).(*value.Object)
		attrs = slices.Grow(attrs, fields.Len())
		fields.Range(func(k string, v any) bool {
			attrs = append(attrs, slog.Any(k, v))
			return true
		})
	}
	x.Logger.LogAttrs(ctx, s.level, msg, attrs...)
	// The execution's trace keeps the line when it asks for log lines
	// (engine.Trace.KeepIO: the history shows them on the console).
	x.TraceLog(s.level, msg, fields)
	return in, nil
}
