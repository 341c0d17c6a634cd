package choice_test

import (
	"context"
	"fmt"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

const route = `name: test
steps:
  - choice:
      - when: message.country == "BR"
        steps:
          - set: {route: brazil, id: "{{ message.id }}"}
      - when: message.total > 100
        steps:
          - set: {route: large, id: "{{ message.id }}"}
      - when: message.total > 10
        steps:
          - set: {route: medium, id: "{{ message.id }}"}
      - otherwise:
          - set: {route: default, id: "{{ message.id }}"}
`

func TestChoice(t *testing.T) {
	tests := []struct {
		name, pipeline, input, want, wantErr string
	}{
		{name: "the first true branch runs", pipeline: route, input: `{"id":1,"country":"BR","total":500}`, want: `{"route":"brazil","id":1}`},
		{name: "only one branch runs when several match", pipeline: route, input: `{"id":2,"total":500}`, want: `{"route":"large","id":2}`},
		{name: "a later branch", pipeline: route, input: `{"id":3,"total":50}`, want: `{"route":"medium","id":3}`},
		{name: "otherwise when none matches", pipeline: route, input: `{"id":4,"total":5}`, want: `{"route":"default","id":4}`},
		{name: "a missing field matches no comparison", pipeline: route, input: `{"id":5}`, want: `{"route":"default","id":5}`},
		{
			name:     "no match and no otherwise passes the message through",
			pipeline: "name: test\nsteps:\n  - choice:\n      - when: message.n > 1\n        steps: [{set: {big: true}}]\n",
			input:    `{"n":0,"k":"v"}`, want: `{"n":0,"k":"v"}`,
		},
		{
			name:     "the branch's steps run in order, each on the previous result",
			pipeline: "name: test\nsteps:\n  - choice:\n      - when: 'true'\n        steps:\n          - jq: {query: '.n + 1'}\n          - jq: {query: '. * 10'}\n",
			input:    `{"n":1}`, want: `20`,
		},
		{
			name:     "vars set inside a branch are seen after the choice",
			pipeline: "name: test\nsteps:\n  - choice:\n      - otherwise:\n          - set: 'premium'\n            to: vars.tier\n  - set: {tier: '{{ vars.tier }}'}\n",
			input:    `{}`, want: `{"tier":"premium"}`,
		},
		{
			name:     "nested choices",
			pipeline: "name: test\nsteps:\n  - choice:\n      - when: message.a\n        steps:\n          - choice:\n              - when: message.b\n                steps: [{set: ab}]\n              - otherwise: [{set: a}]\n      - otherwise: [{set: none}]\n",
			input:    `{"a":true,"b":false}`, want: `"a"`,
		},
		{
			name:     "an error in a branch names the inner step",
			pipeline: "name: test\nsteps:\n  - name: route\n    choice:\n      - when: 'true'\n        steps:\n          - name: reject\n            throw: {status: 422, error: nope}\n",
			input:    `{}`, wantErr: "test: step reject: 422: nope",
		},
		{
			name:     "a condition that is not a boolean is an error of the choice step",
			pipeline: "name: test\nsteps:\n  - name: route\n    choice:\n      - when: message.n\n        steps: [{set: x}]\n",
			input:    `{"n":1}`, wantErr: `test: step route: 500: evaluating "message.n": condition gave number`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, tt.pipeline)
			got, err := enginetest.Run(t, p, tt.input)
			enginetest.Want(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, choice, want string }{
		{"no branch", "[]", "steps[0].choice: expected at least one branch"},
		{"otherwise not last", "\n      - otherwise: [{set: a}]\n      - when: 'true'\n        steps: [{set: b}]", "branch 1: otherwise must be the last branch"},
		{"otherwise with when", "\n      - when: 'true'\n        otherwise: [{set: a}]", "branch 1: otherwise stands alone, without when or steps"},
		{"when without steps", "\n      - when: 'true'", "branch 1: when needs steps"},
		{"steps without when", "\n      - steps: [{set: a}]", "branch 1: expected when with steps, or otherwise"},
		{"a condition that does not compile", "\n      - when: message.a ==\n        steps: [{set: a}]", "test.yaml:4:26: steps[0].choice[0].when: unexpected token EOF"},
		{"a nested step's error points into the branch", "\n      - when: 'true'\n        steps: [{sett: a}]", `test.yaml:5:18: steps[0].choice[0].steps[0].sett: unknown connector; did you mean "set"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enginetest.WantLoadError(t, "test.yaml", "name: test\nsteps:\n  - choice: "+tt.choice+"\n", tt.want)
		})
	}
}

func TestExample(t *testing.T) {
	enginetest.RunExample(t, ".", enginetest.Example{})
}

// Example routes messages by a field; the last branch catches the rest.
func Example() {
	p, err := engine.Load("route.yaml", []byte(`
name: route
steps:
  - choice:
      - when: message.type == "refund"
        steps:
          - set: {queue: refunds}
      - when: message.amount > 1000
        steps:
          - set: {queue: review}
      - otherwise:
          - set: {queue: payments}
`), engine.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, in := range []string{`{"type":"refund"}`, `{"type":"payment","amount":5000}`, `{"type":"payment","amount":20}`} {
		v, _ := value.DecodeString(in)
		out, err := p.Run(context.Background(), nil, v, engine.RunOptions{})
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(value.MustEncodeString(out))
	}
	// Output:
	// {"queue":"refunds"}
	// {"queue":"review"}
	// {"queue":"payments"}
}
