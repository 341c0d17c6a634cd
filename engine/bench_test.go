package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// order1KB builds a ~1 KB order message.
func order1KB() string {
	var items []string
	for i := 0; i < 8; i++ {
		items = append(items, fmt.Sprintf(`{"sku":"SKU-%04d","name":"Item number %d","qty":%d,"price":%d.5}`, i, i, i+1, 10+i))
	}
	return `{"id":"ord-1","customer":{"id":42,"name":"Ada Lovelace","email":"ada@example.com"},"status":"open","items":[` + strings.Join(items, ",") + `],"total":123.5,"notes":"leave at the door"}`
}

func benchPipeline(b *testing.B, src, input string) {
	p, err := engine.Load("bench.yaml", []byte(src), engine.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	in, err := value.DecodeString(input)
	if err != nil {
		b.Fatal(err)
	}
	rt := &engine.Runtime{Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Run(ctx, rt, in, engine.RunOptions{ExecutionID: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

func steps(n int, step string) string {
	var sb strings.Builder
	sb.WriteString("name: bench\nsteps:\n")
	for i := 0; i < n; i++ {
		sb.WriteString("  - " + step + "\n")
	}
	return sb.String()
}

// BenchmarkPipeline measures per-step overhead: divide ns/op by the step count.
func BenchmarkPipeline(b *testing.B) {
	b.Run("1-step/log-disabled", func(b *testing.B) {
		benchPipeline(b, steps(1, "log: {level: debug, message: 'x {{ message.id }}'}"), order1KB())
	})
	b.Run("10-steps/log-disabled", func(b *testing.B) {
		benchPipeline(b, steps(10, "log: {level: debug, message: 'x {{ message.id }}'}"), order1KB())
	})
	b.Run("10-steps/assert", func(b *testing.B) {
		benchPipeline(b, steps(10, "assert: {that: 'message.total > 0'}"), order1KB())
	})
	b.Run("10-steps/set-template", func(b *testing.B) {
		benchPipeline(b, steps(10, "set: {id: '{{ message.id }}', total: '{{ message.total }}'}"), `{"id":"a","total":1}`)
	})
}

func BenchmarkAssert(b *testing.B) {
	benchPipeline(b, steps(1, `assert: {that: 'message.customer.name != nil && message.total > 0', status: 422}`), order1KB())
}

func BenchmarkJQ1KB(b *testing.B) {
	benchPipeline(b, steps(1, `jq: {query: '.items | map(.price * .qty) | add'}`), order1KB())
}

// BenchmarkCallPipeline measures what the token endpoint's shape costs
// apart from its connectors' work: a try around a call of another pipeline,
// whose choice picks a branch, steps skipped by their if, and small sets.
func BenchmarkCallPipeline(b *testing.B) {
	lib := engine.NewLibrary(engine.LoadOptions{})
	for _, src := range []string{`name: outer
steps:
  - try:
      steps:
        - if: "!ISOBJECT(message)"
          throw: {status: 400, error: not an object}
        - pipeline: {name: inner, input: {id: "{{ message.id }}"}}
      catch:
        - throw: {status: 500, error: failed}
`, `name: inner
steps:
  - choice:
      - when: message.id == "a"
        steps:
          - if: message.id == nil
            throw: {status: 400, error: no id}
          - set: {id: "{{ message.id }}"}
            to: vars.grant
      - otherwise:
          - throw: {status: 400, error: unknown}
  - set: {id: "{{ vars.grant.id }}", ok: true}
`} {
		p, err := engine.Load("bench.yaml", []byte(src), engine.LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		lib.Add(p)
	}
	outer, _ := lib.Pipeline("outer")
	in, _ := value.DecodeString(`{"id":"a"}`)
	rt := &engine.Runtime{Pipelines: lib, Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	ctx := context.Background()
	b.Run("no-trace", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := outer.Run(ctx, rt, in, engine.RunOptions{ExecutionID: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// With a trace, as the execution history sets one on every triggered
	// execution: each step is timed and recorded.
	b.Run("trace", func(b *testing.B) {
		b.ReportAllocs()
		keep := func(*engine.StepInfo) bool { return false }
		for b.Loop() {
			tr := &engine.Trace{KeepResult: keep}
			if _, err := outer.Run(ctx, rt, in, engine.RunOptions{ExecutionID: "bench", Trace: tr}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
