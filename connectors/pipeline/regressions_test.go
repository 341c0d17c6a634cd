package pipeline_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// TestBugGlobalsFileReachesPipelinesCalledByFile: a pipeline called by file
// is loaded with empty LoadOptions (connectors/pipeline/pipeline.go, compile
// and target: engine.LoadFile(s.file, engine.LoadOptions{})), so the
// environment's --globals file does not apply to it, while a pipeline called
// by name gets it through the library. `nectar run caller.yaml --globals
// prod.yaml` runs price.yaml with its test globals. Expected: env "prod".
// (The Compiler does not expose the LoadOptions yet; an engine change.)
func TestBugGlobalsFileReachesPipelinesCalledByFile(t *testing.T) {
	prod := value.ObjectOf("env", "prod")
	p, err := engine.LoadFile("testdata/caller.yaml", engine.LoadOptions{Globals: prod})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	out, err := p.Run(context.Background(), nil, mustDecode(t, `{"sku":"X1","qty":1}`), engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if env, _ := out.(*value.Object).Get("env"); env != "prod" {
		t.Errorf("called pipeline saw env %v, want prod (the caller's --globals)", env)
	}
}

// TestBugCalledPipelineLogsToTheExecutionsLogger: RunOptions.Logger "overrides
// the runtime's logger for this execution", but engine/exec.go CallPipeline
// builds the called pipeline's RunOptions with Logger: x.Runtime.Logger, so
// the log lines of a called pipeline go to the runtime's logger (or
// slog.Default) instead of the execution's. Expected: both lines in the
// execution's logger.
func TestBugCalledPipelineLogsToTheExecutionsLogger(t *testing.T) {
	lib := library(t, "name: inner\nsteps:\n  - log: {message: from inner}\n")
	p := load(t, "name: outer\nsteps:\n  - log: {message: from outer}\n  - pipeline: {name: inner}\n")
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	rt := &engine.Runtime{Pipelines: lib, Logger: slog.New(slog.DiscardHandler)}
	if _, err := p.Run(context.Background(), rt, value.NewObject(0), engine.RunOptions{Logger: logger}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "from inner") {
		t.Errorf("the called pipeline's line is missing from the execution's log:\n%s", buf.String())
	}
}
