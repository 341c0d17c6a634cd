package transform_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/jolt"
)

func TestExample(t *testing.T) {
	out := enginetest.RunExample(t, ".", enginetest.Example{Runs: 2}) // twice: a compiled spec keeps no state
	want, err := os.ReadFile("example.want.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := value.MustEncodeString(out); got != strings.TrimSpace(string(want)) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestContextReadsVarsAndGlobals(t *testing.T) {
	src := `name: ctx
globals: {rate: 2, label: from-globals}
steps:
  - set: {label: from-vars}
    to: vars.label
  - transform:
      spec:
        - operation: modify-overwrite-beta
          spec: {rate: "^rate", label: "^label"}
`
	got, err := enginetest.Run(t, enginetest.Load(t, src), `{}`)
	enginetest.Want(t, got, err, `{"rate":2,"label":{"label":"from-vars"}}`, "")
}

func TestBadSpecPointsAtTheKey(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unknown operation", "name: a\nsteps:\n  - transform:\n      spec:\n        - operation: shiftr\n          spec: {a: b}\n",
			"bad.yaml:5:11: steps[0].transform.spec[0][\"operation\"]"},
		{"bad shift key", "name: a\nsteps:\n  - transform:\n      spec:\n        - operation: shift\n          spec:\n            \"@(1,\": x\n",
			"bad.yaml:7:13: steps[0].transform.spec[0][\"spec\"][\"@(1,\"]"},
		{"not a chain", "name: a\nsteps:\n  - transform: {spec: {operation: shift}}\n", "bad.yaml:3:23: steps[0].transform.spec: expected a JOLT chain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := engine.Load("bad.yaml", []byte(tt.src), engine.LoadOptions{})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got %v\nwant prefix %s", err, tt.want)
			}
		})
	}
}

func TestSpecFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "spec.json"), []byte("[\n  {\"operation\": \"shift\",\n   \"spec\": {\"a\": \"b\"}}\n]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte("[\n  {\"operation\": \"remove\",\n   \"spec\": {\"a\": 1}}\n]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte("name: a\nsteps:\n  - transform: {spec_file: spec.json}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "q.yaml"), []byte("name: q\nsteps:\n  - transform: {spec_file: bad.json}\n"), 0o644)
	p, err := engine.LoadFile(filepath.Join(dir, "p.yaml"), engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run(context.Background(), nil, enginetest.Decode(t, `{"a":1}`), engine.RunOptions{})
	if err != nil || value.MustEncodeString(out) != `{"b":1}` {
		t.Fatalf("got %v %v", value.MustEncodeString(out), err)
	}
	_, err = engine.LoadFile(filepath.Join(dir, "q.yaml"), engine.LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "bad.json:3:") {
		t.Fatalf("error does not point into the spec file: %v", err)
	}
}

// TestRunErrorIsMatchable: a JOLT error at run time fails the step with 422
// and stays matchable with errors.Is (jolt's sentinels).
func TestRunErrorIsMatchable(t *testing.T) {
	src := "name: a\nsteps:\n  - transform:\n      spec:\n        - operation: default\n          spec: {x: 1}\n"
	_, err := enginetest.Run(t, enginetest.Load(t, src), `[{"a":1}]`)
	if e := engine.AsError(err); e == nil || e.Code != 422 || !errors.Is(err, jolt.ErrTopLevelArray) {
		t.Fatalf("got %#v, want a 422 wrapping jolt.ErrTopLevelArray", err)
	}
}
