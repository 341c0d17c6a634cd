// Package examples_test runs the example pipelines of the repository: each
// NAME.yaml under examples/ that has a NAME.input.json next to it runs with
// that input, and its output must equal NAME.want.json (or its error must
// contain the text of NAME.want.err); each line of NAME.want.log, when there
// is one, must be the message of a line the run logged. Every example YAML, those of the
// connectors included, must load; a connector's own test runs its example
// with the services it needs (a store, an account, a fake API).
// TestConnectorExamplesRunAsDocumented (connector_examples_test.go) runs the
// connector examples with the built nectar, as docs/pipelines.md says.
package examples_test

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

var update = flag.Bool("update", false, "rewrite NAME.want.json files from the actual output")

func exampleFiles(t *testing.T) []string {
	var files []string
	for _, pattern := range []string{"*/*.yaml", "../connectors/*/example*.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !engine.IsTestFile(f) { // NAME.test.yaml holds nectar test cases, not a pipeline
				files = append(files, f)
			}
		}
	}
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	return files
}

func TestExamples(t *testing.T) {
	for _, file := range exampleFiles(t) {
		base := strings.TrimSuffix(file, filepath.Ext(file))
		t.Run(file, func(t *testing.T) {
			lib := engine.NewLibrary(engine.LoadOptions{}, filepath.Dir(file))
			p, err := engine.LoadFile(file, engine.LoadOptions{})
			if err != nil {
				t.Fatalf("example does not load:\n%v", err)
			}
			defer p.Close(context.Background())
			lib.Add(p)
			inData, err := os.ReadFile(base + ".input.json")
			if os.IsNotExist(err) || strings.HasPrefix(file, "../connectors/") {
				return // loads; runs only with its services (see the connector's own tests)
			}
			if err != nil {
				t.Fatal(err)
			}
			in, err := value.Decode(inData)
			if err != nil {
				t.Fatalf("%s.input.json: %v", base, err)
			}
			logger, logged := enginetest.CaptureLog(slog.LevelDebug)
			out, runErr := p.Run(context.Background(), &engine.Runtime{Pipelines: lib, Logger: logger}, in, engine.RunOptions{})
			if wantLog, err := os.ReadFile(base + ".want.log"); err == nil {
				msgs := logged.Messages(t)
				for _, line := range strings.Split(strings.TrimSpace(string(wantLog)), "\n") {
					if !slices.Contains(msgs, line) {
						t.Errorf("no log line %q; logged %q", line, msgs)
					}
				}
			}
			if wantErr, err := os.ReadFile(base + ".want.err"); err == nil {
				if runErr == nil || !strings.Contains(runErr.Error(), strings.TrimSpace(string(wantErr))) {
					t.Fatalf("got error %v, want one containing %q", runErr, strings.TrimSpace(string(wantErr)))
				}
				return
			}
			if runErr != nil {
				t.Fatalf("run: %v", runErr)
			}
			got := value.MustEncodeString(out)
			if *update {
				os.WriteFile(base+".want.json", []byte(got+"\n"), 0o644)
				return
			}
			wantData, err := os.ReadFile(base + ".want.json")
			if err != nil {
				t.Fatalf("%s.want.json: %v (go test ./examples -update writes it)", base, err)
			}
			want, err := value.Decode(wantData)
			if err != nil {
				t.Fatalf("%s.want.json: %v", base, err)
			}
			if got != value.MustEncodeString(want) {
				t.Errorf("got  %s\nwant %s", got, value.MustEncodeString(want))
			}
		})
	}
}
