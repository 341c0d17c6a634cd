package assert_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

func TestAssert(t *testing.T) {
	tests := []struct {
		name, steps, input, wantErr string
		wantCode                    int
	}{
		{
			name:  "a true condition passes the message through",
			steps: `{assert: {that: message.n > 1}}`, input: `{"n":2,"z":[1]}`,
		},
		{
			name:  "a false condition fails with 400 and names the condition",
			steps: `{assert: {that: message.n > 1}}`, input: `{"n":0}`,
			wantErr: "test: step assert#1: 400: assertion failed: message.n > 1", wantCode: 400,
		},
		{
			name:  "a missing field is false, not an error",
			steps: `{assert: {that: message.customer.id > 0}}`, input: `{}`,
			wantErr: "400: assertion failed: message.customer.id > 0", wantCode: 400,
		},
		{
			name:  "null is false",
			steps: `{assert: {that: message.flag}}`, input: `{"flag":null}`,
			wantErr: "400: assertion failed: message.flag", wantCode: 400,
		},
		{
			name:  "every condition of a list must hold",
			steps: `{assert: {that: ["message.a > 0", "message.b != nil", "len(message.c) == 2"]}}`, input: `{"a":1,"b":"x","c":[1,2]}`,
		},
		{
			name:  "the first false condition of a list is the one named",
			steps: `{assert: {that: ["message.a > 0", "message.b != nil", "message.c == 1"]}}`, input: `{"a":1}`,
			wantErr: "400: assertion failed: message.b != nil", wantCode: 400,
		},
		{
			name:  "status and a template message",
			steps: `{name: check total, assert: {that: message.total >= 0, status: 422, error: "order {{ message.id }}: total {{ message.total }} is negative"}}`,
			input: `{"id":"A-7","total":-3}`, wantErr: "test: step check total: 422: order A-7: total -3 is negative", wantCode: 422,
		},
		{
			name:  "a condition in braces works too",
			steps: `{assert: {that: "{{ message.ok }}"}}`, input: `{"ok":true}`,
		},
		{
			name:  "a non-boolean condition is an error, not a pass",
			steps: `{assert: {that: message.n}}`, input: `{"n":1}`,
			wantErr: `500: evaluating "message.n": condition gave number`, wantCode: 500,
		},
		{
			name:  "an error in the message template fails with 500",
			steps: `{assert: {that: "false", error: "{{ message.a + 1 }}"}}`, input: `{"a":"x"}`,
			wantErr: `500: evaluating "message.a + 1"`, wantCode: 500,
		},
		{
			name:  "a literal message",
			steps: `{assert: {that: "message.name != nil && message.name != ''", status: 400, error: name is required}}`, input: `{"name":""}`,
			wantErr: "400: name is required", wantCode: 400,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\nsteps:\n  - "+tt.steps+"\n")
			in := enginetest.Decode(t, tt.input)
			out, err := p.Run(context.Background(), nil, in, engine.RunOptions{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if out != in {
					t.Errorf("the message is not passed through: got %s", value.MustEncodeString(out))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want %q", err, tt.wantErr)
			}
			var e *engine.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode || e.ExecutionID == "" {
				t.Fatalf("got %#v, want an *engine.Error with code %d and an execution id", err, tt.wantCode)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, step, want string }{
		{"no condition", `{assert: {status: 400}}`, `test.yaml:3:14: steps[0].assert: missing required option "that"`},
		{"empty list", `{assert: {that: []}}`, "test.yaml:3:21: steps[0].assert.that: expected at least one condition"},
		{"status out of range", `{assert: {that: "true", status: 99}}`, "test.yaml:3:37: steps[0].assert.status: expected an HTTP status between 100 and 599, got 99"},
		{"condition does not compile", `{assert: {that: "message.a >"}}`, "test.yaml:3:32: steps[0].assert.that: unexpected token EOF"},
		{"unknown option", `{assert: {that: "true", eror: x}}`, `steps[0].assert.eror: unknown option; did you mean "error"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enginetest.WantLoadError(t, "test.yaml", "name: test\nsteps:\n  - "+tt.step+"\n", tt.want)
		})
	}
}

func TestExample(t *testing.T) {
	enginetest.RunExample(t, ".", enginetest.Example{})
}

// Example shows an assert guarding a pipeline's input: the error carries the
// status and the message an HTTP caller would see.
func Example() {
	p, err := engine.Load("orders.yaml", []byte(`
name: orders
steps:
  - name: validate
    assert:
      that:
        - message.id != nil
        - message.qty > 0
      status: 422
      error: "order {{ message.id }}: qty must be positive"
`), engine.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	in, _ := value.DecodeString(`{"id":"A-1","qty":0}`)
	_, err = p.Run(context.Background(), nil, in, engine.RunOptions{ExecutionID: "ex1"})
	e := engine.AsError(err)
	fmt.Println(e.Code, e.Message, e.Step)
	// Output: 422 order A-1: qty must be positive validate
}

func BenchmarkAssert(b *testing.B) {
	for _, bc := range []struct{ name, steps string }{
		{"one condition", `{assert: {that: message.n > 1}}`},
		{"three conditions", `{assert: {that: ["message.n > 1", "message.id != nil", "len(message.items) > 0"]}}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := enginetest.Load(b, "name: bench\nsteps:\n  - "+bc.steps+"\n")
			in := enginetest.Decode(b, `{"id":"A-1","n":2,"items":[1,2,3]}`)
			rt := &engine.Runtime{}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Run(ctx, rt, in, engine.RunOptions{ExecutionID: "bench"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
