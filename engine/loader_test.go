package engine_test

import (
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // every problem, in order, exactly
	}{
		{
			name: "misspelled connector gets a suggestion",
			src:  "name: a\nsteps:\n  - asert: {that: 'true'}\n",
			want: []string{`f.yaml:3:5: steps[0].asert: unknown connector; did you mean "assert"?`},
		},
		{
			name: "misspelled option gets a suggestion",
			src:  "name: a\nsteps:\n  - log:\n      mesage: hi\n",
			want: []string{
				`f.yaml:4:7: steps[0].log.mesage: unknown option; did you mean "message"?`,
				`f.yaml:4:7: steps[0].log: missing required option "message"`,
			},
		},
		{
			name: "wrong option type",
			src:  "name: a\nsteps:\n  - assert: {that: 'true', status: abc}\n",
			want: []string{`f.yaml:3:36: steps[0].assert.status: expected a whole number, got a string "abc"`},
		},
		{
			name: "expression that does not compile points inside the string",
			src:  "name: a\nsteps:\n  - set:\n      x: \"hi {{ message.a + }}\"\n",
			want: []string{`f.yaml:4:28: steps[0].set.x: unexpected token EOF`},
		},
		{
			name: "unknown name in a condition",
			src:  "name: a\nsteps:\n  - assert: {that: mesage.x > 1}\n",
			want: []string{`f.yaml:3:20: steps[0].assert.that: unknown name mesage`},
		},
		{
			name: "block scalar positions count from the next line",
			src:  "name: a\nsteps:\n  - set:\n      x: |\n        line one\n        two {{ 1 + }}\n",
			want: []string{`f.yaml:6:19: steps[0].set.x: unexpected token EOF`},
		},
		{
			name: "duplicate keys",
			src:  "name: a\nname: b\nsteps:\n  - log: {message: a, message: b}\n",
			want: []string{`f.yaml:2:1: name: duplicate key`, `f.yaml:4:23: steps[0].log.message: duplicate key`},
		},
		{
			name: "a list or an object as a key of a message template",
			src:  "name: a\nsteps:\n  - set:\n      ? [1, 2]\n      : x\n      ok: y\n      ? {k: v}\n      : z\n",
			want: []string{`f.yaml:4:9: steps[0].set: object keys must be strings, not a list`, `f.yaml:7:9: steps[0].set: object keys must be strings, not an object`},
		},
		{
			name: "merge key in a message template",
			src:  "name: a\nsteps:\n  - set:\n      base: &b {k: v}\n      <<: *b\n",
			want: []string{`f.yaml:5:7: steps[0].set.<<: merge keys (<<) are not supported`},
		},
		{
			name: "unknown top-level key",
			src:  "name: a\nstep:\n  - log: {message: x}\n",
			want: []string{`f.yaml:1:1: missing required key "steps"`, `f.yaml:2:1: step: unknown key; did you mean "steps"?`},
		},
		{
			name: "two connectors in one step",
			src:  "name: a\nsteps:\n  - log: {message: x}\n    set: {a: 1}\n",
			want: []string{`f.yaml:4:5: steps[0].set: a step has exactly one connector; this one already has "log"`},
		},
		{
			name: "every error of the file at once, nested ones too",
			src:  "name: a\nsteps:\n  - choice:\n      - when: message.x ==\n        steps: [{log: {}}]\n  - jq: {query: '.a |'}\n",
			want: []string{
				`f.yaml:4:26: steps[0].choice[0].when: unexpected token EOF`,
				`f.yaml:5:23: steps[0].choice[0].steps[0].log: missing required option "message"`,
				`f.yaml:6:22: steps[1].jq.query: jq: unexpected EOF`,
			},
		},
		{
			name: "malformed YAML",
			src:  "name: a\nsteps:\n  - log: {message: x\n",
			want: []string{`f.yaml:3:1: did not find expected ',' or '}'`},
		},
		{
			name: "bad enum",
			src:  "name: a\nsteps:\n  - log: {message: x, level: loud}\n",
			want: []string{`f.yaml:3:30: steps[0].log.level: expected one of debug, info, warn, error, got "loud"`},
		},
		{
			name: "account outside headers",
			src:  "name: a\nsteps:\n  - set: {x: '{{ account.crm.password }}'}\n",
			want: []string{`f.yaml:3:18: steps[0].set.x: account fields may only be used in header values`},
		},
		{
			name: "bad target",
			src:  "name: a\nsteps:\n  - set: {a: 1}\n    to: global.x\n",
			want: []string{`f.yaml:4:9: steps[0].to: expected vars.NAME or message.PATH, got "global.x"`},
		},
		{
			name: "unknown trigger",
			src:  "name: a\ntrigger: {htp: {}}\nsteps:\n  - set: {a: 1}\n",
			want: []string{`f.yaml:2:11: trigger.htp: unknown trigger; did you mean "http"?`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := engine.Load("f.yaml", []byte(tt.src), engine.LoadOptions{})
			if err == nil {
				t.Fatal("loaded a broken pipeline")
			}
			var got []string
			for _, le := range engine.LoadErrors(err) {
				got = append(got, le.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
