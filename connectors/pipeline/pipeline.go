// Package pipeline implements the pipeline connector (Digibee's Pipeline
// Executor): it calls another pipeline, by name or by file, with an input
// built from the message, and returns that pipeline's output. An error inside
// the called pipeline propagates, naming the inner pipeline and step. Calls
// nest at most Runtime.MaxCallDepth deep (16 by default), so a pipeline that
// calls itself forever fails with code 508 instead of exhausting memory.
package pipeline

import (
	"context"
	"path/filepath"
	"sync"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// Config holds the options of a pipeline step.
type Config struct {
	Name  string         `yaml:"name" doc:"the called pipeline's name (a shipped pipeline or one served from the same folder)"`
	File  string         `yaml:"file" doc:"a pipeline file, relative to this pipeline's file"`
	Input engine.Dynamic `yaml:"input" doc:"the called pipeline's input; default: the message"`
	Vars  engine.Dynamic `yaml:"vars" doc:"an object of initial vars for the called pipeline"`
}

type step struct {
	name  string
	file  string
	input engine.Dynamic
	vars  engine.Dynamic
	opts  engine.LoadOptions // the caller's, so that its --globals reach the called file

	once    sync.Once
	loaded  *engine.Pipeline
	loadErr error
}

func init() {
	engine.Register("pipeline", "Calls another pipeline by name or file and returns its output.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	if (cfg.Name == "") == (cfg.File == "") {
		return nil, cc.Errorf("", "expected exactly one of name and file")
	}
	s := &step{name: cfg.Name, input: cfg.Input, vars: cfg.Vars, opts: cc.LoadOptions()}
	if cfg.File != "" {
		s.file = cc.Resolve(cfg.File)
		// Validate the called file now, unless it is this very file (a
		// recursive pipeline), which is loaded on first use instead.
		if abs(s.file) != abs(cc.File()) {
			p, err := engine.LoadFile(s.file, s.opts)
			if err != nil {
				return nil, cc.ErrorAt("file", err)
			}
			s.once.Do(func() { s.loaded = p })
		}
	}
	return s, nil
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// Close unloads a pipeline loaded from a file.
func (s *step) Close(ctx context.Context) error {
	if s.loaded != nil {
		return s.loaded.Close(ctx)
	}
	return nil
}

func (s *step) target(x *engine.Exec) (*engine.Pipeline, error) {
	if s.file != "" {
		s.once.Do(func() { s.loaded, s.loadErr = engine.LoadFile(s.file, s.opts) })
		if s.loadErr != nil {
			return nil, engine.NewError(500, "pipeline %s: %w", s.file, s.loadErr)
		}
		return s.loaded, nil
	}
	if x.Runtime.Pipelines != nil {
		if p, ok := x.Runtime.Pipelines.Pipeline(s.name); ok {
			return p, nil
		}
	}
	return nil, engine.NewError(404, "%w %q", engine.ErrUnknownPipeline, s.name)
}

// Execute calls the pipeline. Finding it may load it (a file calling
// itself, loaded on first use; a name found in a library's folders), and
// the engine checks the context again before the called pipeline's first
// step, as before every step.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	p, err := s.target(x)
	if err != nil {
		return nil, err
	}
	input := in
	if s.input.IsSet() {
		if input, err = s.input.Eval(x, in); err != nil {
			return nil, err
		}
	}
	var vars *value.Object
	if s.vars.IsSet() {
		v, err := s.vars.Eval(x, in)
		if err != nil {
			return nil, err
		}
		o, ok := v.(*value.Object)
		if !ok {
			return nil, engine.NewError(500, "pipeline: vars gave %s, expected an object", expression.TypeWithArticle(v))
		}
		vars = o.Clone()
	}
	return x.CallPipeline(ctx, p, input, vars)
}

// Calls is the called pipeline's name, or its file.
func (s *step) Calls() string {
	if s.name != "" {
		return s.name
	}
	return s.file
}
