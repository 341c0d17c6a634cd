package history_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	_ "github.com/nectar-run/nectar/connectors/log"
	_ "github.com/nectar-run/nectar/connectors/set"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/store"
)

// stepsPipeline logs the message it receives; its second line is below
// the log's level, so not written.
const stepsPipeline = `name: signup
steps:
  - name: said
    log: {message: 'signup {{ message.user }} with {{ message.password }}', fields: {user: '{{ message.user }}', password: '{{ message.password }}'}}
  - name: echoed
    log: {level: debug, message: not written at info}
  - name: fail when asked
    if: message.fail == true
    set: "{{ message.user * 2 }}"
`

// runSteps runs stepsPipeline on input with a trace that keeps the steps'
// inputs, outputs and log lines, as nectar serve's does, and records it.
func runSteps(t *testing.T, r *history.Recorder, input string) string {
	t.Helper()
	p := enginetest.Load(t, stepsPipeline)
	logger, _ := enginetest.CaptureLog(slog.LevelInfo)
	tr := &engine.Trace{KeepIO: true}
	in := enginetest.Decode(t, input)
	start := time.Now()
	out, err := p.Run(context.Background(), &engine.Runtime{Logger: logger}, in, engine.RunOptions{Trace: tr})
	e := &history.Execution{ID: history.NewID(start), Pipeline: p, Trigger: "http", Start: start, End: time.Now(), Input: in, Output: out, Trace: tr}
	if err != nil {
		e.Err = engine.AsError(err)
	}
	r.Record(e)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e.ID
}

// TestStepSnapshotsMasked checks that a record keeps each step's input and
// output and the log lines under the step that wrote them, with a sensitive
// field of a step's input masked, and the secret nowhere in the record.
func TestStepSnapshotsMasked(t *testing.T) {
	st := tempStore(t)
	r := newRecorder(t, st, history.Options{})
	id := runSteps(t, r, `{"user":"ada","password":"hunter2-secret"}`)
	rec, err := history.Get(context.Background(), st, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Steps) != 3 || rec.Steps[2].Outcome != "skipped" || rec.Steps[2].Input != "" {
		t.Fatalf("steps = %+v", rec.Steps)
	}
	want := `{"user":"ada","password":"***"}`
	for i, s := range rec.Steps[:2] {
		if string(s.Input) != want || string(s.Output) != want {
			t.Errorf("step %d (%s): input %s, output %s; want both %s", i, s.Step, s.Input, s.Output, want)
		}
	}
	if len(rec.Logs) != 1 {
		t.Fatalf("logs = %+v, want one line", rec.Logs)
	}
	l := rec.Logs[0]
	if l.Step != "said" || l.Index != 0 || l.Level != "INFO" || l.Message != "signup ada with ***" || string(l.Fields) != `{"user":"ada","password":"***"}` {
		t.Errorf("log line = %+v", l)
	}
	raw, err := st.List(context.Background(), history.Bucket, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range raw {
		text, err := s2.Decode(nil, it.Value[1:])
		if err != nil || strings.Contains(string(text), "hunter2") {
			t.Errorf("the stored segment holds the secret (or cannot be read: %v): %s", err, text)
		}
	}
}

// TestStepSnapshotsFollowSnapshots checks that step snapshots and log lines
// follow Options.Snapshots, and that a record keeps them within
// StepRecordBytes.
func TestStepSnapshotsFollowSnapshots(t *testing.T) {
	for _, tt := range []struct {
		name  string
		opts  history.Options
		input string
		kept  bool
		trunc bool
	}{
		{name: "all keeps them", opts: history.Options{}, input: `{"user":"ada"}`, kept: true},
		{name: "none keeps none", opts: history.Options{Snapshots: "none"}, input: `{"user":"ada"}`},
		{name: "failed keeps none of an execution that succeeded", opts: history.Options{Snapshots: "failed"}, input: `{"user":"ada"}`},
		{name: "failed keeps those of an execution that failed", opts: history.Options{Snapshots: "failed"}, input: `{"user":"ada","fail":true}`, kept: true},
		{name: "a record past StepRecordBytes is cut and says so", opts: history.Options{StepRecordBytes: 60}, input: `{"user":"` + strings.Repeat("a", 40) + `"}`, trunc: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := tempStore(t)
			id := runSteps(t, newRecorder(t, st, tt.opts), tt.input)
			rec, err := history.Get(context.Background(), st, id)
			if err != nil {
				t.Fatal(err)
			}
			kept := rec.Steps[1].Input != "" && len(rec.Logs) == 1
			if kept != tt.kept || rec.StepsTruncated != tt.trunc {
				t.Fatalf("kept = %v, truncated = %v; want %v, %v (%+v)", kept, rec.StepsTruncated, tt.kept, tt.trunc, rec)
			}
		})
	}
}

// TestStepSnapshotsMaskBareSecrets checks that a value a step returns bare
// (a minted token) and a later step places under a sensitive name is
// masked in the first step's snapshot too.
func TestStepSnapshotsMaskBareSecrets(t *testing.T) {
	p := enginetest.Load(t, `name: mint
steps:
  - name: mint
    set: "tok-{{ message.user }}-0123456789"
    to: vars.t
  - name: answer
    set: {user: "{{ message.user }}", token: "{{ vars.t }}"}
`)
	st := tempStore(t)
	r := newRecorder(t, st, history.Options{})
	tr := &engine.Trace{KeepIO: true}
	in := enginetest.Decode(t, `{"user":"ada"}`)
	start := time.Now()
	out, err := p.Run(context.Background(), &engine.Runtime{}, in, engine.RunOptions{Trace: tr})
	if err != nil {
		t.Fatal(err)
	}
	id := history.NewID(start)
	r.Record(&history.Execution{ID: id, Pipeline: p, Trigger: "http", Start: start, End: time.Now(), Input: in, Output: out, Trace: tr})
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec, err := history.Get(context.Background(), st, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(rec.Steps[0].Output); got != `"***"` {
		t.Errorf("the minted token's step output = %s, want \"***\"", got)
	}
	if got := string(rec.Steps[1].Output); got != `{"user":"ada","token":"***"}` {
		t.Errorf("answer's output = %s", got)
	}
}
