package try_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

// wait blocks until its context ends.
type wait struct{}

func (wait) Execute(ctx context.Context, _ *engine.Exec, _ any) (any, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func init() {
	engine.Register("test-wait", "blocks until cancelled", func(struct{}, *engine.Compiler) (engine.Step, error) { return wait{}, nil })
}

// run runs a pipeline and returns its output, its error and the messages of
// the log lines it wrote, so tests can see that finally ran.
func run(t *testing.T, ctx context.Context, p *engine.Pipeline, input string) (string, error, []string) {
	t.Helper()
	logger, log := enginetest.CaptureLog(slog.LevelInfo)
	out, err := enginetest.RunWith(ctx, t, p, &engine.Runtime{Logger: logger}, input, engine.RunOptions{ExecutionID: "exec-1"})
	return out, err, log.Messages(t)
}

func TestTry(t *testing.T) {
	tests := []struct {
		name, steps, input, want, wantErr, wantLogs string
	}{
		{
			name: "success: the result of steps, finally sees it and is discarded",
			steps: `steps: [{set: {ok: "{{ message.n }}"}}]
      finally: [{log: {message: "finally saw {{ message.ok }}"}}, {set: {discarded: true}}]`,
			input: `{"n":1}`, want: `{"ok":1}`, wantLogs: "finally saw 1",
		},
		{
			name: "catch gets the error object and gives the result",
			steps: `steps:
        - set: {stage: one}
        - name: charge
          throw: {status: 402, error: "card declined for {{ message.stage }}"}
      catch:
        - set: {failed: "{{ message.step }}", code: "{{ message.code }}", why: "{{ message.error }}", pipeline: "{{ message.pipeline }}", id: "{{ message.execution_id }}", has_ts: "{{ message.timestamp > 0 }}"}`,
			input: `{}`, want: `{"failed":"charge","code":402,"why":"card declined for one","pipeline":"test","id":"exec-1","has_ts":true}`,
		},
		{
			name: "steps after the failing one do not run",
			steps: `steps: [{throw: {error: x}}, {log: {message: not reached}}]
      catch: [{set: caught}]`,
			input: `{}`, want: `"caught"`, wantLogs: "",
		},
		{
			name: "finally runs after catch and sees catch's result",
			steps: `steps: [{throw: {error: x}}]
      catch: [{set: {recovered: true}}]
      finally: [{log: {message: "finally saw recovered={{ message.recovered }}"}}]`,
			input: `{}`, want: `{"recovered":true}`, wantLogs: "finally saw recovered=true",
		},
		{
			name: "without catch, finally runs with the input and the error propagates",
			steps: `steps: [{set: {changed: true}}, {name: boom, throw: {status: 503, error: down}}]
      finally: [{log: {message: "cleanup of {{ message.id }}, changed={{ message.changed }}"}}]`,
			input: `{"id":7}`, wantErr: "test: step boom: 503: down", wantLogs: "cleanup of 7, changed=",
		},
		{
			name: "an error in catch propagates",
			steps: `steps: [{throw: {status: 400, error: first}}]
      catch: [{name: rethrow, throw: {status: 502, error: "wrapped: {{ message.error }}"}}]
      finally: [{log: {message: finally}}]`,
			input: `{}`, wantErr: "test: step rethrow: 502: wrapped: first", wantLogs: "finally",
		},
		{
			name: "an error in finally fails a successful block",
			steps: `steps: [{set: ok}]
      finally: [{name: cleanup, throw: {status: 500, error: cleanup failed}}]`,
			input: `{}`, wantErr: "test: step cleanup: 500: cleanup failed",
		},
		{
			name: "an error in finally after a failure keeps the first error",
			steps: `steps: [{name: work, throw: {status: 409, error: conflict}}]
      finally: [{name: cleanup, throw: {status: 500, error: cleanup failed}}]`,
			input: `{}`, wantErr: "test: step work: 409: conflict",
		},
		{
			name: "vars set inside the block are seen after it",
			steps: `steps: [{set: 42, to: vars.answer}, {throw: {error: x}}]
      catch: [{set: "{{ vars.answer }}"}]`,
			input: `{}`, want: `42`,
		},
		{
			name: "nested try: the inner catch handles, the outer sees success",
			steps: `steps:
        - try:
            steps: [{throw: {status: 404, error: missing}}]
            catch: [{set: {inner: "{{ message.code }}"}}]
      catch: [{set: outer}]`,
			input: `{}`, want: `{"inner":404}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\nsteps:\n  - try:\n      "+tt.steps+"\n")
			got, err, logs := run(t, context.Background(), p, tt.input)
			enginetest.Want(t, got, err, tt.want, tt.wantErr)
			if g := strings.Join(logs, "|"); g != tt.wantLogs {
				t.Errorf("got log lines %q, want %q", g, tt.wantLogs)
			}
		})
	}
}

// TestFinallyRunsOnTimeout checks that a timed-out block skips catch but
// still runs finally, which gets a live context to clean up with.
func TestFinallyRunsOnTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := enginetest.Load(t, `name: test
steps:
  - name: guarded
    timeout: 5s
    try:
      steps: [{test-wait: {}}]
      catch: [{log: {message: catch ran}}]
      finally: [{log: {message: finally ran}}]
`)
		_, err, logs := run(t, context.Background(), p, `{}`)
		if e := engine.AsError(err); e == nil || e.Code != 504 {
			t.Fatalf("got %v, want a 504", err)
		}
		if g := strings.Join(logs, "|"); g != "finally ran" {
			t.Errorf("got log lines %q, want only finally's", g)
		}
	})
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, try, want string }{
		{"neither catch nor finally", "{steps: [{set: a}]}", "steps[0].try: expected catch or finally next to steps"},
		{"no steps", "{catch: [{set: a}]}", `steps[0].try: missing required option "steps"`},
		{"a bad nested step", "{steps: [{set: a}], catch: [{throw: {}}]}", "steps[0].try.catch[0].throw: expected error (a message) or object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enginetest.WantLoadError(t, "test.yaml", "name: test\nsteps:\n  - try: "+tt.try+"\n", tt.want)
		})
	}
}

func TestExample(t *testing.T) {
	logger, _ := enginetest.CaptureLog(slog.LevelInfo)
	enginetest.RunExample(t, ".", enginetest.Example{Runtime: &engine.Runtime{Logger: logger}})
}

// Example turns a failure into a response: catch sees the error object as
// its message.
func Example() {
	p, err := engine.Load("charge.yaml", []byte(`
name: charge
steps:
  - try:
      steps:
        - name: charge card
          throw: {status: 402, error: card declined}
      catch:
        - set:
            ok: false
            reason: "{{ message.error }}"
            failed_step: "{{ message.step }}"
`), engine.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := p.Run(context.Background(), nil, value.NewObject(0), engine.RunOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(value.MustEncodeString(out))
	// Output: {"ok":false,"reason":"card declined","failed_step":"charge card"}
}
