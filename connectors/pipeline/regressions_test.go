package pipeline_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

// TestGlobalsFileReachesPipelinesCalledByFile: a pipeline called by file is
// loaded with the caller's LoadOptions, so the environment's --globals file
// applies to it as it does to a pipeline called by name (`nectar run
// caller.yaml --globals prod.yaml` used to run price.yaml with its own test
// globals).
func TestGlobalsFileReachesPipelinesCalledByFile(t *testing.T) {
	prod := value.ObjectOf("env", "prod")
	p, err := engine.LoadFile("testdata/caller.yaml", engine.LoadOptions{Globals: prod})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	out, err := p.Run(context.Background(), nil, enginetest.Decode(t, `{"sku":"X1","qty":1}`), engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if env, _ := out.(*value.Object).Get("env"); env != "prod" {
		t.Errorf("called pipeline saw env %v, want prod (the caller's --globals)", env)
	}
}

// TestCalledPipelineLogsToTheExecutionsLogger: a called pipeline logs to the
// execution's logger (RunOptions.Logger), not the runtime's, with the caller's
// execution id and its own pipeline name.
func TestCalledPipelineLogsToTheExecutionsLogger(t *testing.T) {
	lib := library(t, "name: inner\nsteps:\n  - log: {message: from inner}\n")
	p := enginetest.Load(t, "name: outer\nsteps:\n  - log: {message: from outer}\n  - pipeline: {name: inner}\n")
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	rt := &engine.Runtime{Pipelines: lib, Logger: slog.New(slog.DiscardHandler)}
	if _, err := p.Run(context.Background(), rt, value.NewObject(0), engine.RunOptions{Logger: logger, ExecutionID: "e-1"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`msg="from outer" step=log#1 execution_id=e-1 pipeline=outer`,
		`msg="from inner" step=log#1 execution_id=e-1 pipeline=inner`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the execution's log lacks %s:\n%s", want, buf.String())
		}
	}
}
