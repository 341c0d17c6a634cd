// Package log implements the log connector: it writes one structured log line
// (log/slog) at a level, with a message template and optional fields, and
// passes the message through unchanged. Every line carries the execution id.
package log

import (
	"context"
	"log/slog"

	"github.com/nectar-run/nectar/engine"
)

func init() {
	engine.Register(engine.Connector[Config]{
		Name:    "log",
		Summary: "Writes a structured log line; the message passes through.",
		Compile: compile,
	})
}

// Config holds the options of a log step.
type Config struct {
	Message engine.Template            `yaml:"message" required:"true" doc:"the log message"`
	Level   string                     `yaml:"level" default:"info" enum:"debug,info,warn,error" doc:"severity"`
	Fields  map[string]engine.Template `yaml:"fields" doc:"extra structured fields"`
}

type step struct {
	msg    engine.Template
	level  slog.Level
	fields []field
}

type field struct {
	key string
	tpl engine.Template
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	s := &step{msg: cfg.Message}
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
	for k, t := range cfg.Fields {
		s.fields = append(s.fields, field{k, t})
	}
	return s, nil
}

// Execute logs and returns the message unchanged.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	if !x.Logger.Enabled(ctx, s.level) {
		return in, nil
	}
	msg, err := s.msg.String(x, in)
	if err != nil {
		return nil, err
	}
	attrs := make([]slog.Attr, 0, len(s.fields)+1)
	attrs = append(attrs, slog.String("step", x.StepName()))
	for _, f := range s.fields {
		v, err := f.tpl.Eval(x, in)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, slog.Any(f.key, v))
	}
	x.Logger.LogAttrs(ctx, s.level, msg, attrs...)
	return in, nil
}
