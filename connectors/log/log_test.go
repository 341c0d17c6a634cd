package log_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

// capture runs a pipeline with a JSON slog handler at level and returns the
// log records, each decoded in its key order, without their time.
func capture(t *testing.T, p *engine.Pipeline, input string, level slog.Level) (any, []*value.Object, error) {
	t.Helper()
	logger, log := enginetest.CaptureLog(level)
	out, err := p.Run(context.Background(), &engine.Runtime{Logger: logger}, enginetest.Decode(t, input), engine.RunOptions{ExecutionID: "exec-1"})
	return out, log.Records(t), err
}

func TestLog(t *testing.T) {
	tests := []struct {
		name, steps, input string
		level              slog.Level
		want               []string // records without time
	}{
		{
			name:  "info by default, with step and execution id",
			steps: `{name: greeted, log: {message: "greeted {{ message.name }}"}}`, input: `{"name":"Ada"}`,
			want: []string{`{"level":"INFO","msg":"greeted Ada","step":"greeted","execution_id":"exec-1","pipeline":"test"}`},
		},
		{
			name:  "each level",
			steps: "{log: {level: debug, message: d}}\n  - {log: {level: info, message: i}}\n  - {log: {level: warn, message: w}}\n  - {log: {level: error, message: e}}", input: `{}`,
			level: slog.LevelDebug,
			want: []string{
				`{"level":"DEBUG","msg":"d","step":"log#1","execution_id":"exec-1","pipeline":"test"}`,
				`{"level":"INFO","msg":"i","step":"log#2","execution_id":"exec-1","pipeline":"test"}`,
				`{"level":"WARN","msg":"w","step":"log#3","execution_id":"exec-1","pipeline":"test"}`,
				`{"level":"ERROR","msg":"e","step":"log#4","execution_id":"exec-1","pipeline":"test"}`,
			},
		},
		{
			name:  "lines below the handler's level are not written",
			steps: "{log: {level: debug, message: hidden}}\n  - {log: {level: warn, message: shown}}", input: `{}`,
			level: slog.LevelInfo,
			want:  []string{`{"level":"WARN","msg":"shown","step":"log#2","execution_id":"exec-1","pipeline":"test"}`},
		},
		{
			name:  "fields keep their JSON types",
			steps: "{name: a, log: {message: order, fields: {total: '{{ message.total }}'}}}\n  - {name: b, log: {message: order, fields: {order: '{{ message }}'}}}", input: `{"total":12.5,"items":[1,2]}`,
			want: []string{
				`{"level":"INFO","msg":"order","step":"a","total":12.5,"execution_id":"exec-1","pipeline":"test"}`,
				`{"level":"INFO","msg":"order","step":"b","order":{"total":12.5,"items":[1,2]},"execution_id":"exec-1","pipeline":"test"}`,
			},
		},
		{
			name:  "a missing field logs null",
			steps: `{name: l, log: {message: "id={{ message.id }}", fields: {id: "{{ message.id }}"}}}`, input: `{}`,
			want: []string{`{"level":"INFO","msg":"id=","step":"l","id":null,"execution_id":"exec-1","pipeline":"test"}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\nsteps:\n  - "+tt.steps+"\n")
			in := tt.input
			out, records, err := capture(t, p, in, tt.level)
			if err != nil {
				t.Fatal(err)
			}
			if got := value.MustEncodeString(out); got != value.MustEncodeString(enginetest.Decode(t, in)) {
				t.Errorf("the message changed: %s", got)
			}
			var got []string
			for _, r := range records {
				got = append(got, value.MustEncodeString(r))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestMessagePassesThroughUnchanged(t *testing.T) {
	p := enginetest.Load(t, "name: test\nsteps:\n  - log: {message: x}\n")
	in := enginetest.Decode(t, `{"b":1,"a":[1,{"c":2}]}`)
	out, err := p.Run(context.Background(), &engine.Runtime{Logger: slog.New(slog.DiscardHandler)}, in, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Error("log returned another value than its input")
	}
}

func TestTemplateError(t *testing.T) {
	p := enginetest.Load(t, "name: test\nsteps:\n  - name: l\n    log: {message: '{{ message.a * 2 }}'}\n")
	_, records, err := capture(t, p, `{"a":"x"}`, slog.LevelInfo)
	if err == nil || !strings.Contains(err.Error(), `test: step l: 500: evaluating "message.a * 2"`) {
		t.Fatalf("got %v", err)
	}
	if len(records) != 0 {
		t.Errorf("a line was written: %v", records)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, step, want string }{
		{"no message", `{log: {level: info}}`, `steps[0].log: missing required option "message"`},
		{"unknown level", `{log: {message: x, level: trace}}`, `steps[0].log.level: expected one of debug, info, warn, error, got "trace"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enginetest.WantLoadError(t, "test.yaml", "name: test\nsteps:\n  - "+tt.step+"\n", tt.want)
		})
	}
}

func TestExample(t *testing.T) {
	logger, log := enginetest.CaptureLog(slog.LevelInfo)
	enginetest.RunExample(t, ".", enginetest.Example{Runtime: &engine.Runtime{Logger: logger}})
	if records := log.Records(t); len(records) != 2 {
		t.Errorf("got %d log lines, want 2: %v", len(records), records)
	}
}

// Example writes a line with fields through a text handler, as nectar run
// does on standard error.
func Example() {
	p, err := engine.Load("orders.yaml", []byte(`
name: orders
steps:
  - name: received
    log:
      level: warn
      message: "large order {{ message.id }}"
      fields:
        total: "{{ message.total }}"
`), engine.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime}))
	in, _ := value.DecodeString(`{"id":"A-1","total":1200}`)
	if _, err := p.Run(context.Background(), &engine.Runtime{Logger: logger}, in, engine.RunOptions{ExecutionID: "e1"}); err != nil {
		fmt.Println(err)
	}
	// Output: level=WARN msg="large order A-1" step=received total=1200 execution_id=e1 pipeline=orders
}

// A trace that keeps steps' inputs and outputs (engine.Trace.KeepIO) keeps
// the log lines too, masked like the written line, under the step that
// wrote them; a trace that does not keeps none.
func TestTraceKeepsLines(t *testing.T) {
	p := enginetest.Load(t, "name: test\nsteps:\n  - {name: said, log: {level: warn, message: 'login {{ message }}', fields: {password: '{{ message.password }}', user: '{{ message.user }}'}}}\n")
	logger, _ := enginetest.CaptureLog(slog.LevelInfo)
	in := enginetest.Decode(t, `{"user":"ada","password":"hunter2-secret"}`)
	tr := &engine.Trace{KeepIO: true}
	if _, err := p.Run(context.Background(), &engine.Runtime{Logger: logger}, in, engine.RunOptions{Trace: tr}); err != nil {
		t.Fatal(err)
	}
	if len(tr.Logs) != 1 {
		t.Fatalf("trace logs = %d, want 1", len(tr.Logs))
	}
	l := tr.Logs[0]
	fields, _ := value.Encode(l.Fields)
	if l.Step == nil || l.Step.Step != "said" || l.Level != slog.LevelWarn || l.Time.IsZero() ||
		l.Message != `login {"user":"ada","password":"***"}` || string(fields) != `{"password":"***","user":"ada"}` {
		t.Fatalf("line = %+v, fields %s", l, fields)
	}
	if len(tr.Steps) != 1 || !tr.Steps[0].KeptInput || !tr.Steps[0].Kept {
		t.Fatalf("step = %+v, want its input and result kept", tr.Steps)
	}
	plain := &engine.Trace{}
	if _, err := p.Run(context.Background(), &engine.Runtime{Logger: logger}, in, engine.RunOptions{Trace: plain}); err != nil {
		t.Fatal(err)
	}
	if len(plain.Logs) != 0 || plain.Steps[0].KeptInput || plain.Steps[0].Kept {
		t.Fatalf("a trace without KeepIO kept %+v", plain)
	}
}
