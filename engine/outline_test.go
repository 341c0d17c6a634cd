package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

// outlineText writes an outline one step a line, indented by nesting, with
// each block's label (and when) on a line of its own.
func outlineText(b *strings.Builder, steps []engine.OutlineStep, indent string) {
	for _, s := range steps {
		fmt.Fprintf(b, "%s%s (%s) %s", indent, s.Step, s.Connector, s.Path)
		if s.Condition != "" {
			fmt.Fprintf(b, " if %s", s.Condition)
		}
		if s.Retries > 0 {
			fmt.Fprintf(b, " retry %d", s.Retries)
		}
		if s.Calls != "" {
			fmt.Fprintf(b, " calls %s", s.Calls)
		}
		b.WriteString("\n")
		for _, bl := range s.Blocks {
			fmt.Fprintf(b, "%s  [%s]", indent, bl.Label)
			if bl.When != "" {
				fmt.Fprintf(b, " when %s", bl.When)
			}
			b.WriteString("\n")
			outlineText(b, bl.Steps, indent+"    ")
		}
	}
}

// TestOutlineFollowsTheLoadedSteps outlines a pipeline with every
// connector that holds steps: the outline has each step once, at its path,
// in nested blocks labelled as they are written, with choice conditions,
// if, retry and the called pipeline.
func TestOutlineFollowsTheLoadedSteps(t *testing.T) {
	src := `name: shapes
steps:
  - name: first
    if: message.go == true
    retry: { attempts: 2 }
    set: { a: 1 }
  - name: pick
    choice:
      - when: message.a > 1
        steps:
          - name: big
            set: { size: big }
      - otherwise:
          - name: small
            set: { size: small }
  - name: guard
    try:
      steps:
        - name: each
          for-each:
            steps:
              - name: item
                set: { i: 1 }
        - name: again
          do-while:
            until: message.i > 2
            steps:
              - name: bump
                set: { i: 3 }
      catch:
        - name: caught
          set: { failed: true }
  - name: both
    parallel:
      branches:
        - name: left
          steps:
            - name: l
              set: { l: 1 }
        - name: right
          steps:
            - name: r
              set: { r: 1 }
  - name: call
    pipeline: { name: other }
`
	p, err := engine.Load("shapes.yaml", []byte(src), engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	outlineText(&b, p.Outline().Steps, "")
	want := `first (set) steps[0] if message.go == true retry 2
pick (choice) steps[1]
  [choice[0].steps] when message.a > 1
    big (set) steps[1].choice[0].steps[0]
  [choice[1].otherwise]
    small (set) steps[1].choice[1].otherwise[0]
guard (try) steps[2]
  [try.steps]
    each (for-each) steps[2].try.steps[0]
      [for-each.steps]
        item (set) steps[2].try.steps[0].for-each.steps[0]
    again (do-while) steps[2].try.steps[1]
      [do-while.steps]
        bump (set) steps[2].try.steps[1].do-while.steps[0]
  [try.catch]
    caught (set) steps[2].try.catch[0]
both (parallel) steps[3]
  [parallel.branches[0].steps]
    l (set) steps[3].parallel.branches[0].steps[0]
  [parallel.branches[1].steps]
    r (set) steps[3].parallel.branches[1].steps[0]
call (pipeline) steps[4] calls other
`
	if got := b.String(); got != want {
		t.Errorf("outline:\n%s\nwant:\n%s", got, want)
	}
}
