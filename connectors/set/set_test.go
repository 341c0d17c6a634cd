package set_test

import (
	"context"
	"fmt"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

func TestSet(t *testing.T) {
	tests := []struct {
		name, pipeline, input, want, wantErr string
	}{
		{
			name:     "constants and expressions in a nested template",
			pipeline: "steps:\n  - set:\n      id: '{{ message.id }}'\n      status: accepted\n      customer: {name: '{{ UPPERCASE(message.name) }}', vip: false}\n      tags: [new, '{{ message.channel }}']\n",
			input:    `{"id":7,"name":"ada","channel":"web"}`,
			want:     `{"id":7,"status":"accepted","customer":{"name":"ADA","vip":false},"tags":["new","web"]}`,
		},
		{
			name:     "one expression keeps its type",
			pipeline: "steps:\n  - set: {n: '{{ message.n }}', f: '{{ message.n / 2 }}', list: '{{ message.xs }}', obj: '{{ message.o }}', b: '{{ message.n > 1 }}', nothing: '{{ message.missing }}'}\n",
			input:    `{"n":3,"xs":[1,2],"o":{"k":"v"}}`,
			want:     `{"n":3,"f":1.5,"list":[1,2],"obj":{"k":"v"},"b":true,"nothing":null}`,
		},
		{
			name:     "text around an expression makes a string",
			pipeline: "steps:\n  - set: {a: 'n={{ message.n }}', b: '{{ message.n }}{{ message.n }}', c: 'o={{ message.o }}', d: '[{{ message.missing }}]'}\n",
			input:    `{"n":3,"o":{"k":1}}`,
			want:     `{"a":"n=3","b":"33","c":"o={\"k\":1}","d":"[]"}`,
		},
		{
			name:     "key order is the template's",
			pipeline: "steps:\n  - set: {z: 1, a: '{{ message.a }}', m: 3}\n",
			input:    `{"a":2}`, want: `{"z":1,"a":2,"m":3}`,
		},
		{
			name:     "the input is replaced",
			pipeline: "steps:\n  - set: {only: this}\n",
			input:    `{"a":1,"b":2}`, want: `{"only":"this"}`,
		},
		{
			name:     "a scalar template yields that value",
			pipeline: "steps:\n  - set: '{{ message.items[0] }}'\n",
			input:    `{"items":[{"sku":"X"}]}`, want: `{"sku":"X"}`,
		},
		{
			name:     "a list template",
			pipeline: "steps:\n  - set: ['{{ message.a }}', 2]\n",
			input:    `{"a":1}`, want: `[1,2]`,
		},
		{
			name:     "integers stay exact",
			pipeline: "steps:\n  - set: {id: '{{ message.id }}', ms: 3600000, big: 9223372036854775807, f: 1.0}\n",
			input:    `{"id":12345678901234567890123}`, want: `{"id":12345678901234567890123,"ms":3600000,"big":9223372036854775807,"f":1.0}`,
		},
		{
			name:     "YAML 1.1 words are strings",
			pipeline: "steps:\n  - set: {answer: yes, off: off, date: 2024-01-31}\n",
			input:    `{}`, want: `{"answer":"yes","off":"off","date":"2024-01-31"}`,
		},
		{
			name:     "vars, globals and metadata are in scope",
			pipeline: "globals: {env: test}\nsteps:\n  - set: {v: 1}\n    to: vars.saved\n  - set: {v: '{{ vars.saved.v }}', env: '{{ globals.env }}', env2: '{{ global.env }}', pipeline: '{{ metadata.pipeline }}'}\n",
			input:    `{}`, want: `{"v":1,"env":"test","env2":"test","pipeline":"test"}`,
		},
		{
			name:     "to message.PATH puts the result inside the message",
			pipeline: "steps:\n  - set: {ok: true}\n    to: message.status\n",
			input:    `{"id":1}`, want: `{"id":1,"status":{"ok":true}}`,
		},
		{
			name:     "an empty set gives an empty object",
			pipeline: "steps:\n  - set:\n",
			input:    `{"a":1}`, want: `{}`,
		},
		{
			name:     "an expression error names the step and the expression",
			pipeline: "steps:\n  - name: build\n    set: {total: '{{ message.a * message.b }}'}\n",
			input:    `{"a":"x","b":2}`, wantErr: `test: step build: 500: evaluating "message.a * message.b"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\n"+tt.pipeline)
			got, err := enginetest.Run(t, p, tt.input)
			enginetest.Want(t, got, err, tt.want, tt.wantErr)
		})
	}
}

// TestConstantsAreNotMutated runs a template whose result a later step
// changes, twice: the constant parts built at load must come back intact.
func TestConstantsAreNotMutated(t *testing.T) {
	p := enginetest.Load(t, "name: test\nsteps:\n  - set: {list: [1, 2], obj: {a: 1}}\n  - set: 'x'\n    to: message.obj.b\n")
	for i := 0; i < 2; i++ {
		out, err := p.Run(context.Background(), nil, value.NewObject(0), engine.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := value.MustEncodeString(out); got != `{"list":[1,2],"obj":{"a":1,"b":"x"}}` {
			t.Fatalf("run %d: got %s", i+1, got)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, step, want string }{
		{"duplicate key", `{set: {a: 1, a: 2}}`, "test.yaml:3:18: steps[0].set.a: duplicate key"},
		{"expression does not compile", `{set: {a: "{{ message. }}"}}`, "test.yaml:3:"},
		{"unclosed braces", `{set: {a: "x {{ message.a"}}`, "unclosed {{: expected }}"},
		{"account outside headers", `{set: {a: "{{ account.crm.password }}"}}`, "account fields may only be used in header values"},
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

// Example builds an HTTP-style response from the incoming message: constant
// parts, typed values and text with expressions.
func Example() {
	p, err := engine.Load("reply.yaml", []byte(`
name: reply
steps:
  - set:
      code: 201
      body:
        id: "{{ message.id }}"
        greeting: "Hello, {{ message.name }}!"
        items: "{{ len(message.items) }}"
`), engine.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	in, _ := value.DecodeString(`{"id":42,"name":"Ada","items":["a","b"]}`)
	out, err := p.Run(context.Background(), nil, in, engine.RunOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(value.MustEncodeString(out))
	// Output: {"code":201,"body":{"id":42,"greeting":"Hello, Ada!","items":2}}
}

func BenchmarkSet(b *testing.B) {
	for _, bc := range []struct{ name, step string }{
		{"constant", `{set: {status: ok, code: 200}}`},
		{"five fields", `{set: {id: "{{ message.id }}", name: "{{ message.name }}", greeting: "Hello, {{ message.name }}!", n: "{{ len(message.items) }}", ok: true}}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := enginetest.Load(b, "name: bench\nsteps:\n  - "+bc.step+"\n")
			in := enginetest.Decode(b, `{"id":42,"name":"Ada","items":["a","b"]}`)
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
