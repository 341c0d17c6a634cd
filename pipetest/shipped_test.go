package pipetest_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/pipetest"
)

// shippedLibrary is the library nectar test gives a pipeline: its folder
// and the shipped pipelines.
func shippedLibrary(opts engine.LoadOptions, dirs ...string) *engine.Library {
	return engine.NewLibrary(opts, append(dirs, filepath.Join("..", "pipelines"))...)
}

// TestShippedPipelinesAndExamples runs the test files of the shipped
// pipelines (pipelines/tests) and of every example (examples/*/*.test.yaml),
// as nectar test pipelines examples does, so that CI runs them. Every
// example pipeline has a test file, and every case passes.
func TestShippedPipelinesAndExamples(t *testing.T) {
	roots := []string{filepath.Join("..", "pipelines"), filepath.Join("..", "examples")}
	suites, err := pipetest.Load(roots, pipetest.LoadOptions{Library: shippedLibrary})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, s := range suites {
			s.Close()
		}
	}()
	tested := map[string]bool{}
	for _, s := range suites {
		tested[s.Pipeline.File] = true
	}
	examples, err := engine.PipelineFiles(filepath.Join("..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range examples {
		if !tested[f] {
			t.Errorf("example %s has no test file (%s)", f, strings.TrimSuffix(f, ".yaml")+".test.yaml")
		}
	}
	for _, name := range []string{"credential-provider", "token-generator", "oauth-token", "oauth-verify", "oauth-metadata", "oauth-error",
		"oauth-authenticate", "oauth-grant", "oauth-introspect", "oauth-revoke"} {
		if !tested[filepath.Join("..", "pipelines", name+".yaml")] {
			t.Errorf("shipped pipeline %s has no test file in pipelines/tests", name)
		}
	}
	rep := pipetest.Run(context.Background(), suites, pipetest.Options{Cover: true})
	for _, r := range rep.Results {
		if !r.Passed {
			t.Errorf("%s:%d: %s:\n%s", r.File, r.Line, r.Name(), strings.Join(r.Failures, "\n"))
		}
	}
	for _, p := range rep.Coverage.Pipelines {
		if p.Percent < 100 {
			t.Errorf("%s: coverage %.1f%%; not reached: %q", p.Pipeline, p.Percent, p.Missed)
		}
	}
}
