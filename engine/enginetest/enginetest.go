// Package enginetest holds the helpers the connectors' tests share: loading a
// pipeline from a YAML string, running it on a JSON input, checking a run's
// result or a load error, capturing what a pipeline logs and running a
// connector's example.yaml against example.input.json and example.want.json
// (or example.want.err).
//
// It registers no connector: a test imports the connectors it needs, usually
// with a blank import of connectors/all.
package enginetest

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// File is the file name Load gives a pipeline; load errors start with it.
const File = "test.yaml"

// Load loads a pipeline from src as the file test.yaml, fails the test if it
// does not load and closes the pipeline when the test ends.
func Load(tb testing.TB, src string) *engine.Pipeline {
	tb.Helper()
	p, err := engine.Load(File, []byte(src), engine.LoadOptions{})
	if err != nil {
		tb.Fatalf("load: %v", err)
	}
	tb.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// Decode decodes a JSON value, keeping key order, or fails the test.
func Decode(tb testing.TB, s string) any {
	tb.Helper()
	v, err := value.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// Run runs p on the JSON input, without a runtime and with default options,
// and returns the output as JSON ("" when the run fails) and the run's error.
// It fails the test if the run modified the input.
func Run(tb testing.TB, p *engine.Pipeline, input string) (string, error) {
	tb.Helper()
	return RunWith(context.Background(), tb, p, nil, input, engine.RunOptions{})
}

// RunWith is Run with a context, a runtime (nil for none) and run options.
func RunWith(ctx context.Context, tb testing.TB, p *engine.Pipeline, rt *engine.Runtime, input string, opts engine.RunOptions) (string, error) {
	tb.Helper()
	in := Decode(tb, input)
	before := value.MustEncodeString(in)
	out, err := p.Run(ctx, rt, in, opts)
	if value.MustEncodeString(in) != before {
		tb.Error("the input message was modified")
	}
	if err != nil {
		return "", err
	}
	return value.MustEncodeString(out), nil
}

// Want checks the result of a run: with wantErr set, that err contains it;
// otherwise that err is nil and got is want.
func Want(tb testing.TB, got string, err error, want, wantErr string) {
	tb.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			tb.Fatalf("got error %v, want %q", err, wantErr)
		}
		return
	}
	if err != nil {
		tb.Fatal(err)
	}
	if got != want {
		tb.Errorf("got  %s\nwant %s", got, want)
	}
}

// WantLoadError loads src as the given file and fails the test unless
// loading fails with an error containing want.
func WantLoadError(tb testing.TB, file, src, want string) {
	tb.Helper()
	p, err := engine.Load(file, []byte(src), engine.LoadOptions{})
	if err == nil {
		p.Close(context.Background())
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		tb.Fatalf("got %v, want %q", err, want)
	}
}

// Log collects what a logger from CaptureLog writes, as JSON lines; it is
// also a log destination safe for concurrent writes.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer for the JSON handler.
func (l *Log) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Bytes returns a copy of everything written so far.
func (l *Log) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}

// CaptureLog returns a logger writing JSON lines at level and up, and the
// Log that holds them.
func CaptureLog(level slog.Leveler) (*slog.Logger, *Log) {
	l := &Log{}
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: level})), l
}

// Records returns the lines written so far, each decoded in its key order,
// without their time.
func (l *Log) Records(tb testing.TB) []*value.Object {
	tb.Helper()
	l.mu.Lock()
	text := l.buf.String()
	l.mu.Unlock()
	var records []*value.Object
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if line == "" {
			continue
		}
		r, ok := Decode(tb, line).(*value.Object)
		if !ok {
			tb.Fatalf("log line %s is not an object", line)
		}
		r.Delete("time")
		records = append(records, r)
	}
	return records
}

// Messages returns the messages ("msg") of the lines written so far.
func (l *Log) Messages(tb testing.TB) []string {
	tb.Helper()
	var msgs []string
	for _, r := range l.Records(tb) {
		m, _ := r.Get("msg")
		s, _ := m.(string)
		msgs = append(msgs, s)
	}
	return msgs
}

// Example says how RunExample runs a connector's example.
type Example struct {
	// Runtime is the runtime of the runs; nil for none.
	Runtime *engine.Runtime
	// Runs is how many times the example runs on the same input, to show
	// that a step keeps no state between runs; 0 means once.
	Runs int
}

// RunExample loads dir/example.yaml and runs it on dir/example.input.json.
// If dir/example.want.err exists, every run must fail with an error that
// contains its text (trimmed); otherwise every run must give the value of
// dir/example.want.json, compared by its JSON encoding (key order counts).
// No run may modify the input. It returns the output of the last run (nil
// when the example fails by design).
func RunExample(tb testing.TB, dir string, ex Example) any {
	tb.Helper()
	p, err := engine.LoadFile(filepath.Join(dir, "example.yaml"), engine.LoadOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	defer p.Close(context.Background())
	in := Decode(tb, string(readFile(tb, filepath.Join(dir, "example.input.json"))))
	before := value.MustEncodeString(in)
	wantErr, err := os.ReadFile(filepath.Join(dir, "example.want.err"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		tb.Fatal(err)
	}
	var want string
	if wantErr == nil {
		want = value.MustEncodeString(Decode(tb, string(readFile(tb, filepath.Join(dir, "example.want.json")))))
	}
	var out any
	for range max(ex.Runs, 1) {
		out, err = p.Run(context.Background(), ex.Runtime, in, engine.RunOptions{})
		if wantErr != nil {
			w := strings.TrimSpace(string(wantErr))
			if err == nil || !strings.Contains(err.Error(), w) {
				tb.Fatalf("got error %v, want one containing %q", err, w)
			}
		} else {
			if err != nil {
				tb.Fatal(err)
			}
			if got := value.MustEncodeString(out); got != want {
				tb.Fatalf("got  %s\nwant %s", got, want)
			}
		}
		if value.MustEncodeString(in) != before {
			tb.Fatal("the input message was modified")
		}
	}
	return out
}

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
