package engine_test

import (
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

type opsConfig struct {
	Operation string `yaml:"operation" required:"true" enum:"get,put"`
	Key       string `yaml:"key"`
	Body      string `yaml:"body" ops:"put"`
	Limit     int    `yaml:"limit" ops:"get"`
	Shared    `yaml:",inline" ops:"put"`
}

type Shared struct {
	Mode string `yaml:"mode"`
	Keep bool   `yaml:"keep" ops:"get,put"`
}

func init() {
	engine.Register("test-ops", "has operations", func(opsConfig, *engine.Compiler) (engine.Step, error) { return panicky{}, nil })
}

// TestOpsTags loads steps giving options of another operation: each is an
// error at the option's value naming the operations it applies to; options
// of the operation, and those of every operation, load.
func TestOpsTags(t *testing.T) {
	for _, tc := range []struct{ name, step, want string }{
		{"ok for put", "{operation: put, key: k, body: b, mode: m, keep: true}", ""},
		{"ok for get", "{operation: get, key: k, limit: 3, keep: true}", ""},
		{"body under get", "{operation: get, body: b}", `f.yaml:3:38: steps[0].test-ops.body: get does not use this option (it applies to put)`},
		{"an inline struct's tag", "{operation: get, mode: m}", `f.yaml:3:38: steps[0].test-ops.mode: get does not use this option (it applies to put)`},
		{"every wrong option, in order", "{limit: 1, operation: put, body: b}", `f.yaml:3:23: steps[0].test-ops.limit: put does not use this option (it applies to get)`},
		{"an unknown operation says only that", "{operation: post, body: b}", `f.yaml:3:27: steps[0].test-ops.operation: expected one of get, put, got "post"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine.Load("f.yaml", []byte("name: a\nsteps:\n  - test-ops: "+tc.step+"\n"), engine.LoadOptions{})
			got := ""
			if err != nil {
				got = strings.TrimSpace(err.Error())
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

type badOps struct {
	Operation string `yaml:"operation" enum:"get,put"`
	Body      string `yaml:"body" ops:"post"`
}

type opsWithoutOperation struct {
	Body string `yaml:"body" ops:"put"`
}

func TestOpsTagMistakesPanic(t *testing.T) {
	mustPanic := func(name string, register func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s registered", name)
			}
		}()
		register()
	}
	mustPanic("an operation outside the enum", func() {
		engine.Register("test-bad-ops", "", func(badOps, *engine.Compiler) (engine.Step, error) { return nil, nil })
	})
	mustPanic("no operation option", func() {
		engine.Register("test-no-op", "", func(opsWithoutOperation, *engine.Compiler) (engine.Step, error) { return nil, nil })
	})
}

// TestOpsSchemaAndDocs checks that the ops tags reach the schema (an
// if/then per option) and the option descriptions.
func TestOpsSchemaAndDocs(t *testing.T) {
	defs, _ := engine.Schema().Get("$defs")
	step, _ := defs.(*value.Object).Get("step")
	props, _ := step.(*value.Object).Get("properties")
	s, _ := props.(*value.Object).Get("test-ops")
	got := value.MustEncodeString(s)
	for _, want := range []string{
		`{"if":{"required":["body"]},"then":{"properties":{"operation":{"enum":["put"]}}}}`,
		`{"if":{"required":["mode"]},"then":{"properties":{"operation":{"enum":["put"]}}}}`,
		`{"if":{"required":["keep"]},"then":{"properties":{"operation":{"enum":["get","put"]}}}}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("schema lacks %s:\n%s", want, got)
		}
	}
	for _, c := range engine.Connectors() {
		if c.Name != "test-ops" {
			continue
		}
		ops := map[string]string{}
		for _, o := range c.Options {
			ops[o.Name] = strings.Join(o.Operations, ",")
		}
		if ops["operation"] != "" || ops["key"] != "" || ops["body"] != "put" || ops["limit"] != "get" || ops["mode"] != "put" || ops["keep"] != "get,put" {
			t.Errorf("operations %v", ops)
		}
	}
}
