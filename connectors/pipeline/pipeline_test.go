package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

// library holds the given pipelines by name.
func library(t testing.TB, srcs ...string) *engine.Library {
	lib := engine.NewLibrary(engine.LoadOptions{})
	for _, src := range srcs {
		lib.Add(enginetest.Load(t, src))
	}
	return lib
}

const child = `name: child
steps:
  - name: check
    assert: {that: message.n > 0, status: 422, error: "n must be positive, got {{ message.n }}"}
  - set:
      doubled: "{{ message.n * 2 }}"
      rate: "{{ vars.rate }}"
      caller: "{{ metadata.caller }}"
      execution: "{{ metadata.execution_id }}"
      outer_var: "{{ vars.outer }}"
`

func TestPipeline(t *testing.T) {
	tests := []struct {
		name, caller, input, want, wantErr string
	}{
		{
			name:   "by name, with the message as input",
			caller: "steps:\n  - pipeline: {name: child}\n",
			input:  `{"n":21}`, want: `{"doubled":42,"rate":null,"caller":"test","execution":"exec-1","outer_var":null}`,
		},
		{
			name:   "a built input and vars; the caller's vars are not passed",
			caller: "steps:\n  - set: 1\n    to: vars.outer\n  - pipeline:\n      name: child\n      input: {n: '{{ message.qty }}'}\n      vars: {rate: '{{ message.rate }}'}\n",
			input:  `{"qty":5,"rate":0.2}`, want: `{"doubled":10,"rate":0.2,"caller":"test","execution":"exec-1","outer_var":null}`,
		},
		{
			name:   "to puts the called pipeline's output beside the message",
			caller: "steps:\n  - pipeline: {name: child}\n    to: message.result\n",
			input:  `{"n":1}`, want: `{"n":1,"result":{"doubled":2,"rate":null,"caller":"test","execution":"exec-1","outer_var":null}}`,
		},
		{
			name:   "vars the called pipeline sets stay inside it",
			caller: "steps:\n  - pipeline: {name: setter}\n  - set: '{{ vars.inner }}'\n",
			input:  `{}`, want: `null`,
		},
		{
			name:   "an error inside names the inner pipeline and step",
			caller: "steps:\n  - name: call child\n    pipeline: {name: child}\n",
			input:  `{"n":0}`, wantErr: "child: step check: 422: n must be positive, got 0",
		},
		{
			name:   "an unknown name is a 404",
			caller: "steps:\n  - name: call\n    pipeline: {name: nowhere}\n",
			input:  `{}`, wantErr: `test: step call: 404: unknown pipeline "nowhere"`,
		},
		{
			name:   "vars that are not an object",
			caller: "steps:\n  - name: call\n    pipeline: {name: child, vars: '{{ message.list }}'}\n",
			input:  `{"list":[1]}`, wantErr: "test: step call: 500: pipeline: vars gave an array, expected an object",
		},
		{
			name:   "on_error continue gets the inner error object",
			caller: "steps:\n  - pipeline: {name: child}\n    on_error: continue\n  - set: {p: '{{ message.pipeline }}', s: '{{ message.step }}', c: '{{ message.code }}'}\n",
			input:  `{"n":-1}`, want: `{"p":"child","s":"check","c":422}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := library(t, child, "name: setter\nsteps:\n  - set: x\n    to: vars.inner\n")
			p := enginetest.Load(t, "name: test\n"+tt.caller)
			got, err := enginetest.RunWith(context.Background(), t, p, &engine.Runtime{Pipelines: lib}, tt.input, engine.RunOptions{ExecutionID: "exec-1"})
			enginetest.Want(t, got, err, tt.want, tt.wantErr)
			if e := engine.AsError(err); tt.wantErr != "" && e.ExecutionID != "exec-1" {
				t.Errorf("execution id %q, want the caller's", e.ExecutionID)
			}
		})
	}
}

// TestCalledPipelineMetadata: a pipeline called two levels deep sees its
// own name, its caller's and the execution's id in metadata; its caller's
// metadata is its own.
func TestCalledPipelineMetadata(t *testing.T) {
	meta := `{id: "{{ metadata.execution_id }}", pipeline: "{{ metadata.pipeline }}", caller: "{{ metadata.caller }}"}`
	lib := library(t,
		"name: inner\nsteps:\n  - set: "+meta+"\n",
		"name: middle\nsteps:\n  - pipeline: {name: inner}\n    to: vars.inner\n  - set: {inner: \"{{ vars.inner }}\", middle: "+meta+"}\n",
	)
	p := enginetest.Load(t, "name: outer\nsteps:\n  - pipeline: {name: middle}\n    to: vars.m\n  - set: {m: \"{{ vars.m }}\", outer: "+meta+"}\n")
	got, err := enginetest.RunWith(context.Background(), t, p, &engine.Runtime{Pipelines: lib}, `{}`, engine.RunOptions{ExecutionID: "exec-7"})
	enginetest.Want(t, got, err, `{"m":{"inner":{"id":"exec-7","pipeline":"inner","caller":"middle"},"middle":{"id":"exec-7","pipeline":"middle","caller":"outer"}},"outer":{"id":"exec-7","pipeline":"outer","caller":null}}`, "")
}

// TestUnknownPipelineIsMatchable checks that the 404 of an unknown name
// wraps ErrUnknownPipeline, so that callers can match it with errors.Is.
func TestUnknownPipelineIsMatchable(t *testing.T) {
	p := enginetest.Load(t, "name: test\nsteps:\n  - name: call\n    pipeline: {name: nowhere}\n")
	_, err := p.Run(context.Background(), &engine.Runtime{Pipelines: library(t)}, value.NewObject(0), engine.RunOptions{})
	if !errors.Is(err, engine.ErrUnknownPipeline) || engine.AsError(err).Code != 404 {
		t.Fatalf("got %#v, want a 404 wrapping ErrUnknownPipeline", err)
	}
}

func TestByFile(t *testing.T) {
	tests := []struct {
		name, file, input, want, wantErr string
	}{
		{"relative to the calling file", "testdata/caller.yaml", `{"sku":"X1","qty":3}`, `{"sku":"X1","amount":15.0,"env":"test","caller":"caller"}`, ""},
		{"an error inside names the called pipeline", "testdata/caller.yaml", `{"sku":"X1","qty":0}`, "", "price: step check qty: 422: qty must be positive, got 0"},
		{"a pipeline calling itself by file", "testdata/factorial.yaml", `{"n":10}`, `{"n":10,"result":3628800}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := engine.LoadFile(tt.file, engine.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(context.Background())
			got, err := enginetest.Run(t, p, tt.input)
			enginetest.Want(t, got, err, tt.want, tt.wantErr)
		})
	}
}

// TestByNameFromAFolder: a library over a folder loads NAME.yaml the first
// time NAME is called.
func TestByNameFromAFolder(t *testing.T) {
	lib := engine.NewLibrary(engine.LoadOptions{}, "testdata")
	p := enginetest.Load(t, "name: test\nsteps:\n  - pipeline: {name: price, input: {sku: A, qty: 2, price: 4}}\n")
	out, err := p.Run(context.Background(), &engine.Runtime{Pipelines: lib}, value.NewObject(0), engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := value.MustEncodeString(out), `{"sku":"A","amount":8,"env":"test","caller":"test"}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestCallDepth(t *testing.T) {
	tests := []struct {
		name     string
		maxDepth int
		want     string
	}{
		{"default limit of 16", 0, "loop: step pipeline#1: 508: pipeline call depth exceeded: loop calls loop 17 levels deep"},
		{"a runtime's own limit", 3, "loop: step pipeline#1: 508: pipeline call depth exceeded: loop calls loop 4 levels deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := library(t, "name: loop\nsteps:\n  - pipeline: {name: loop}\n")
			p, _ := lib.Pipeline("loop")
			_, err := p.Run(context.Background(), &engine.Runtime{Pipelines: lib, MaxCallDepth: tt.maxDepth}, value.NewObject(0), engine.RunOptions{})
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if !errors.Is(err, engine.ErrCallDepth) || engine.AsError(err).Code != 508 {
				t.Errorf("not a 508 wrapping ErrCallDepth: %#v", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, file, src, want string }{
		{"neither name nor file", "test.yaml", "name: test\nsteps:\n  - pipeline: {input: {a: 1}}\n", "test.yaml:3:15: steps[0].pipeline: expected exactly one of name and file"},
		{"both name and file", "test.yaml", "name: test\nsteps:\n  - pipeline: {name: a, file: a.yaml}\n", "steps[0].pipeline: expected exactly one of name and file"},
		{"a missing file", "testdata/test.yaml", "name: test\nsteps:\n  - pipeline: {file: nowhere.yaml}\n", "testdata/test.yaml:3:22: steps[0].pipeline.file: open testdata/nowhere.yaml: no such file or directory"},
		{"a broken called file reports its own position", "testdata/test.yaml", "name: test\nsteps:\n  - pipeline: {file: bad-child.yaml}\n", `testdata/bad-child.yaml:3:5: steps[0].sett: unknown connector; did you mean "set"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enginetest.WantLoadError(t, tt.file, tt.src, tt.want)
		})
	}
}

func TestExample(t *testing.T) {
	enginetest.RunExample(t, ".", enginetest.Example{})
}

// Example calls a pipeline by name from a library, as nectar serve and
// nectar run do for the pipelines of a folder.
func Example() {
	lib := engine.NewLibrary(engine.LoadOptions{})
	for _, src := range []string{`
name: tax
steps:
  - set: "{{ message.net * (1 + vars.rate) }}"
`, `
name: invoice
steps:
  - pipeline:
      name: tax
      input: {net: "{{ message.net }}"}
      vars: {rate: 0.25}
    to: message.gross
`} {
		p, err := engine.Load("mem.yaml", []byte(src), engine.LoadOptions{})
		if err != nil {
			fmt.Println(err)
			return
		}
		lib.Add(p)
	}
	p, _ := lib.Pipeline("invoice")
	in, _ := value.DecodeString(`{"id":"F-1","net":100}`)
	out, err := p.Run(context.Background(), &engine.Runtime{Pipelines: lib}, in, engine.RunOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(value.MustEncodeString(out))
	// Output: {"id":"F-1","net":100,"gross":125.0}
}
