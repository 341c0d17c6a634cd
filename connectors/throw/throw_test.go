package throw_test

import (
	"context"
	"fmt"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

// errorObject returns the error object without its timestamp and execution
// id, which change from run to run.
func errorObject(err error) string {
	o := engine.AsError(err).Object().Clone()
	o.Delete("timestamp")
	o.Delete("execution_id")
	return value.MustEncodeString(o)
}

func TestThrow(t *testing.T) {
	tests := []struct{ name, step, input, want string }{
		{
			name: "status and message", step: `{name: reject, throw: {status: 409, error: order already exists}}`,
			input: `{}`, want: `{"error":"order already exists","code":409,"pipeline":"test","step":"reject"}`,
		},
		{
			name: "status defaults to 500", step: `{name: t, throw: {error: boom}}`,
			input: `{}`, want: `{"error":"boom","code":500,"pipeline":"test","step":"t"}`,
		},
		{
			name: "templates in status and message", step: `{name: t, throw: {status: "{{ message.code }}", error: "order {{ message.id }}: {{ message.reason }}"}}`,
			input: `{"code":404,"id":"A-1","reason":"not found"}`, want: `{"error":"order A-1: not found","code":404,"pipeline":"test","step":"t"}`,
		},
		{
			name: "a numeric string status", step: `{name: t, throw: {status: "{{ message.code }}", error: x}}`,
			input: `{"code":"422"}`, want: `{"error":"x","code":422,"pipeline":"test","step":"t"}`,
		},
		{
			name: "a status that is not an HTTP status fails with 500", step: `{name: t, throw: {status: "{{ message.code }}", error: x}}`,
			input: `{"code":99}`, want: `{"error":"throw: status gave 99, expected a number between 100 and 599","code":500,"pipeline":"test","step":"t"}`,
		},
		{
			name: "a status with a fraction fails with 500", step: `{name: t, throw: {status: "{{ message.code }}", error: x}}`,
			input: `{"code":404.5}`, want: `{"error":"throw: status gave 404.5, expected a number between 100 and 599","code":500,"pipeline":"test","step":"t"}`,
		},
		{
			name: "a status string with trailing text fails with 500", step: `{name: t, throw: {status: "{{ message.code }}", error: x}}`,
			input: `{"code":"404abc"}`, want: `{"error":"throw: status gave \"404abc\", expected a number between 100 and 599","code":500,"pipeline":"test","step":"t"}`,
		},
		{
			name: "an object's code with a fraction is not taken", step: `{name: t, throw: {status: 400, object: {error: e, code: 422.5}}}`,
			input: `{}`, want: `{"error":"e","code":400,"pipeline":"test","step":"t"}`,
		},
		{
			name: "a custom object keeps its fields after the standard ones", step: `{name: t, throw: {status: 400, object: {error: "invalid {{ message.field }}", code: 422, field: "{{ message.field }}", details: {max: 10}}}}`,
			input: `{"field":"qty"}`, want: `{"error":"invalid qty","code":422,"pipeline":"test","step":"t","field":"qty","details":{"max":10}}`,
		},
		{
			name: "a custom object without code takes status", step: `{name: t, throw: {status: 403, object: {error: denied, reason: scope}}}`,
			input: `{}`, want: `{"error":"denied","code":403,"pipeline":"test","step":"t","reason":"scope"}`,
		},
		{
			name: "error wins over the object's error", step: `{name: t, throw: {error: plain, object: {error: ignored, extra: 1}}}`,
			input: `{}`, want: `{"error":"plain","code":500,"pipeline":"test","step":"t","extra":1}`,
		},
		{
			name: "an object without error keeps the default message", step: `{name: t, throw: {status: 400, object: {reason: r}}}`,
			input: `{}`, want: `{"error":"error","code":400,"pipeline":"test","step":"t","reason":"r"}`,
		},
		{
			name: "an object built by one expression", step: `{name: t, throw: {object: "{{ message.problem }}"}}`,
			input: `{"problem":{"error":"from upstream","code":502,"upstream":"crm"}}`, want: `{"error":"from upstream","code":502,"pipeline":"test","step":"t","upstream":"crm"}`,
		},
		{
			name: "an object expression that is not an object", step: `{name: t, throw: {object: "{{ message.problem }}"}}`,
			input: `{"problem":"text"}`, want: `{"error":"throw: object gave a string, expected an object","code":500,"pipeline":"test","step":"t"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\nsteps:\n  - "+tt.step+"\n")
			_, err := p.Run(context.Background(), nil, enginetest.Decode(t, tt.input), engine.RunOptions{})
			if err == nil {
				t.Fatal("throw did not fail")
			}
			if got := errorObject(err); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if e := engine.AsError(err); e.Timestamp == 0 || e.ExecutionID == "" {
				t.Errorf("timestamp or execution id missing: %#v", e)
			}
		})
	}
}

// TestCatchSeesCustomFields checks that a custom error's fields reach a catch
// block as data.
func TestCatchSeesCustomFields(t *testing.T) {
	p := enginetest.Load(t, `name: test
steps:
  - try:
      steps:
        - throw: {object: {error: out of stock, code: 409, sku: "{{ message.sku }}"}}
      catch:
        - set: {status: "{{ message.code }}", sku: "{{ message.sku }}", why: "{{ message.error }}"}
`)
	out, err := p.Run(context.Background(), nil, enginetest.Decode(t, `{"sku":"X1"}`), engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := value.MustEncodeString(out), `{"status":409,"sku":"X1","why":"out of stock"}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, step, want string }{
		{"neither error nor object", `{throw: {status: 400}}`, "test.yaml:3:13: steps[0].throw: expected error (a message) or object (a custom error object)"},
		{"bad template", `{throw: {error: "{{ message. }}"}}`, "steps[0].throw.error:"},
		{"unknown option", `{throw: {message: x}}`, "steps[0].throw.message: unknown option"},
		{"status not a number", `{throw: {status: abc, error: x}}`, `test.yaml:3:22: steps[0].throw.status: expected an HTTP status between 100 and 599, got "abc"`},
		{"status with a fraction", `{throw: {status: 404.5, error: x}}`, `steps[0].throw.status: expected an HTTP status between 100 and 599, got "404.5"`},
		{"status out of range", `{throw: {status: 99, error: x}}`, `steps[0].throw.status: expected an HTTP status between 100 and 599, got "99"`},
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

// Example raises a custom error object whose extra fields travel with the
// standard {timestamp, error, code, pipeline, step, execution_id}.
func Example() {
	p, err := engine.Load("stock.yaml", []byte(`
name: stock
steps:
  - name: out of stock
    if: message.stock < message.qty
    throw:
      object:
        error: "not enough {{ message.sku }}"
        code: 409
        available: "{{ message.stock }}"
`), engine.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	in, _ := value.DecodeString(`{"sku":"X1","qty":5,"stock":2}`)
	_, err = p.Run(context.Background(), nil, in, engine.RunOptions{ExecutionID: "e1"})
	obj := engine.AsError(err).Object()
	obj.Delete("timestamp")
	fmt.Println(value.MustEncodeString(obj))
	// Output: {"error":"not enough X1","code":409,"pipeline":"stock","step":"out of stock","execution_id":"e1","available":2}
}
