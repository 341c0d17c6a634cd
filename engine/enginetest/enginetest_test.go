package enginetest_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
)

// echo logs "echo" and gives its input back; fail fails with 418.
type echo struct{}

func (echo) Execute(_ context.Context, x *engine.Exec, in any) (any, error) {
	x.Logger.Info("echo")
	return in, nil
}

type fail struct{}

func (fail) Execute(context.Context, *engine.Exec, any) (any, error) {
	return nil, engine.NewError(418, "no coffee")
}

func init() {
	engine.Register("enginetest-echo", "gives its input back", func(struct{}, *engine.Compiler) (engine.Step, error) { return echo{}, nil })
	engine.Register("enginetest-fail", "fails with 418", func(struct{}, *engine.Compiler) (engine.Step, error) { return fail{}, nil })
}

func TestRunAndWant(t *testing.T) {
	logger, log := enginetest.CaptureLog(slog.LevelInfo)
	p := enginetest.Load(t, "name: test\nsteps:\n  - enginetest-echo: {}\n")
	got, err := enginetest.RunWith(context.Background(), t, p, &engine.Runtime{Logger: logger}, `{"b":1,"a":[2]}`, engine.RunOptions{ExecutionID: "e1"})
	enginetest.Want(t, got, err, `{"b":1,"a":[2]}`, "")
	if msgs := log.Messages(t); len(msgs) != 1 || msgs[0] != "echo" {
		t.Errorf("got log messages %q", msgs)
	}
	if r := log.Records(t); len(r) != 1 || r[0].Has("time") {
		t.Errorf("got records %v, want one without time", r)
	}

	got, err = enginetest.Run(t, enginetest.Load(t, "name: test\nsteps:\n  - name: brew\n    enginetest-fail: {}\n"), `{}`)
	enginetest.Want(t, got, err, "", "test: step brew: 418: no coffee")
}

func TestWantLoadError(t *testing.T) {
	enginetest.WantLoadError(t, "x.yaml", "name: test\nsteps:\n  - enginetest-ech: {}\n", `x.yaml:3:5: steps[0].enginetest-ech: unknown connector`)
}

func TestRunExample(t *testing.T) {
	tests := []struct {
		name, step, want, wantErr string
	}{
		{name: "want.json, compared in key order", step: "enginetest-echo: {}", want: "{\n  \"z\": 1, \"a\": 2\n}\n"},
		{name: "want.err, contained in the error", step: "enginetest-fail: {}", wantErr: "418: no coffee\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{
				"example.yaml":       "name: example\nsteps:\n  - " + tt.step + "\n",
				"example.input.json": `{"z":1,"a":2}`,
			}
			if tt.wantErr != "" {
				files["example.want.err"] = tt.wantErr
			} else {
				files["example.want.json"] = tt.want
			}
			for name, text := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			enginetest.RunExample(t, dir, enginetest.Example{Runs: 2})
		})
	}
}
