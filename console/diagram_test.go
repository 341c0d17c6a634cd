package console

import (
	"fmt"
	"strings"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
)

// fiftySteps is a pipeline of 50 steps: ten groups of a choice with two
// arms around a try/catch with a loop.
func fiftySteps(t testing.TB) *engine.Pipeline {
	var b strings.Builder
	b.WriteString("name: fifty\nsteps:\n")
	for i := range 10 {
		fmt.Fprintf(&b, `  - name: pick %[1]d
    choice:
      - when: message.n > %[1]d
        steps:
          - name: guard %[1]d
            try:
              steps:
                - name: loop %[1]d
                  for-each:
                    items: message.items
                    steps:
                      - name: item %[1]d
                        set: { i: "{{ message }}" }
              catch:
                - name: caught %[1]d
                  set: { failed: true }
`, i)
	}
	p, err := engine.Load("fifty.yaml", []byte(b.String()), engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDiagramDrawsEveryStep(t *testing.T) {
	p := fiftySteps(t)
	svg := string(drawDiagram("/console", p.Outline(), nil))
	if n := strings.Count(svg, `data-step=`); n != 50 {
		t.Fatalf("%d steps drawn, want 50", n)
	}
	for _, want := range []string{`data-step="guard 9"`, `data-path="steps[9].choice[0].steps[0].try.steps[0].for-each.steps[0]"`, `href="/console/connectors/for-each"`, "try.catch", "when message.n &gt; 3"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the diagram lacks %s", want)
		}
	}
}

// BenchmarkDiagram draws a 50-step pipeline (goal: under 5 ms).
func BenchmarkDiagram(b *testing.B) {
	p := fiftySteps(b)
	for b.Loop() {
		_ = drawDiagram("/console", p.Outline(), nil)
	}
}
