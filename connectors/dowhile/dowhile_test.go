package dowhile_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

// sleep takes its time whatever the context says (a slow call that does not
// watch for cancellation); wait blocks until the context ends.
type sleep struct{ d time.Duration }

func (s sleep) Execute(_ context.Context, _ *engine.Exec, in any) (any, error) {
	time.Sleep(s.d)
	return in, nil
}

type wait struct{}

func (wait) Execute(ctx context.Context, _ *engine.Exec, _ any) (any, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

type testConfig struct {
	For engine.Duration `yaml:"for"`
}

func init() {
	engine.Register("test-sleep", "sleeps", func(c testConfig, _ *engine.Compiler) (engine.Step, error) { return sleep{c.For.D()}, nil })
	engine.Register("test-wait", "blocks until cancelled", func(testConfig, *engine.Compiler) (engine.Step, error) { return wait{}, nil })
}

func TestDoWhile(t *testing.T) {
	tests := []struct {
		name, step, input, want, wantErr string
	}{
		{
			name:  "until: each iteration gets the previous result",
			step:  "do-while:\n      until: message.n >= 3\n      steps: [{set: {n: '{{ message.n + 1 }}', trail: '{{ message.trail }}{{ message.n }}'}}]",
			input: `{"n":0,"trail":""}`, want: `{"n":3,"trail":"012"}`,
		},
		{
			name:  "while: goes on while the condition holds",
			step:  "do-while:\n      while: message.page < message.pages\n      steps: [{set: {page: '{{ message.page + 1 }}', pages: '{{ message.pages }}'}}]",
			input: `{"page":0,"pages":4}`, want: `{"page":4,"pages":4}`,
		},
		{
			name:  "the body runs once even when the condition holds from the start",
			step:  "do-while:\n      until: 'true'\n      steps: [{set: {ran: '{{ vars.iteration }}'}}]",
			input: `{}`, want: `{"ran":1}`,
		},
		{
			name:  "vars.iteration counts from 1",
			step:  "do-while:\n      until: len(message) == 3\n      steps: [{set: '{{ PUSH(message, vars.iteration) }}'}]",
			input: `[]`, want: `[1,2,3]`,
		},
		{
			name:  "nested loops count with their own index_var",
			step:  "do-while:\n      index_var: outer\n      until: vars.outer == 2\n      steps:\n        - do-while:\n            index_var: inner\n            until: vars.inner == 3\n            steps: [{set: '{{ PUSH(message, vars.outer * 10 + vars.inner) }}'}]",
			input: `[]`, want: `[11,12,13,21,22,23]`,
		},
		{
			name:  "index_var leaves vars.iteration alone",
			step:  "do-while:\n      index_var: page\n      until: vars.page == 2\n      steps: [{set: '{{ [vars.page, vars.iteration] }}'}]",
			input: `{}`, want: `[2,null]`,
		},
		{
			name:  "vars set in an iteration are seen by the next one",
			step:  "do-while:\n      until: vars.sum >= 10\n      steps: [{set: '{{ (vars.sum ?? 0) + 4 }}', to: vars.sum}]\n  - set: '{{ vars.sum }}'",
			input: `{}`, want: `12`,
		},
		{
			name:  "max_iterations ends the loop with the last result",
			step:  "do-while:\n      until: 'false'\n      max_iterations: 3\n      steps: [{set: '{{ message + 1 }}'}]",
			input: `0`, want: `3`,
		},
		{
			name:  "fail_on_max fails with 508",
			step:  "name: poll\n    do-while:\n      until: message.status == 'done'\n      max_iterations: 2\n      fail_on_max: true\n      steps: [{set: {status: pending}}]",
			input: `{}`, wantErr: "test: step poll: 508: do-while: condition not met after 2 iterations",
		},
		{
			name:  "an error in an iteration stops the loop and names the inner step",
			step:  "do-while:\n      until: 'false'\n      steps:\n        - set: '{{ message + 1 }}'\n        - name: too many\n          assert: {that: message < 3, status: 409, error: 'stopped at {{ message }} in iteration {{ vars.iteration }}'}",
			input: `0`, wantErr: "test: step too many: 409: stopped at 3 in iteration 3",
		},
		{
			name:  "a condition that is not a boolean is an error",
			step:  "name: loop\n    do-while:\n      until: message\n      steps: [{set: 1}]",
			input: `{}`, wantErr: `test: step loop: 500: evaluating "message": condition gave number`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\nsteps:\n  - "+tt.step+"\n")
			got, err := enginetest.Run(t, p, tt.input)
			enginetest.Want(t, got, err, tt.want, tt.wantErr)
		})
	}
}

// TestTimeout runs in a synctest bubble, so the loop's timeout passes on a
// fake clock: no test waits for real time.
func TestTimeout(t *testing.T) {
	tests := []struct {
		name, step, wantErr string
	}{
		{
			name:    "between iterations the loop reports the iteration it stopped at",
			step:    "name: loop\n    do-while:\n      until: 'false'\n      timeout: 2500ms\n      steps: [{test-sleep: {for: 1s}}]",
			wantErr: "test: step loop: 504: do-while: timed out after 2.5s in iteration 4",
		},
		{
			name:    "inside an iteration the waiting step fails with 504",
			step:    "name: loop\n    do-while:\n      until: 'false'\n      timeout: 1m\n      steps: [{name: slow call, test-wait: {}}]",
			wantErr: "test: step slow call: 504: do-while: timed out after 1m0s in iteration 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := enginetest.Load(t, "name: test\nsteps:\n  - "+tt.step+"\n")
				got, err := enginetest.Run(t, p, `{}`)
				enginetest.Want(t, got, err, "", tt.wantErr)
			})
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, step, want string }{
		{"neither until nor while", "{steps: [{set: 1}]}", "steps[0].do-while: expected exactly one of until and while"},
		{"both until and while", "{until: 'true', while: 'true', steps: [{set: 1}]}", "steps[0].do-while: expected exactly one of until and while"},
		{"max_iterations 0", "{until: 'true', max_iterations: 0, steps: [{set: 1}]}", "steps[0].do-while.max_iterations: expected at least 1, got 0"},
		{"index_var not a name", "{until: 'true', index_var: 'a.b', steps: [{set: 1}]}", `steps[0].do-while.index_var: expected a variable name (letters, digits and _), got "a.b"`},
		{"empty index_var", "{until: 'true', index_var: '', steps: [{set: 1}]}", `steps[0].do-while.index_var: expected a variable name`},
		{"bad timeout", "{until: 'true', timeout: soon, steps: [{set: 1}]}", `steps[0].do-while.timeout: expected a duration like 30s, 1m or 1500ms, got "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enginetest.WantLoadError(t, "test.yaml", "name: test\nsteps:\n  - do-while: "+tt.step+"\n", tt.want)
		})
	}
}

func TestExample(t *testing.T) {
	enginetest.RunExample(t, ".", enginetest.Example{})
}

// Example doubles a number until it passes 100: each iteration's result is
// the next one's message.
func Example() {
	p, err := engine.Load("double.yaml", []byte(`
name: double
steps:
  - do-while:
      until: message.n > 100
      steps:
        - set: {n: "{{ message.n * 2 }}", iterations: "{{ vars.iteration }}"}
`), engine.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	in, _ := value.DecodeString(`{"n":3}`)
	out, err := p.Run(context.Background(), nil, in, engine.RunOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(value.MustEncodeString(out))
	// Output: {"n":192,"iterations":6}
}
