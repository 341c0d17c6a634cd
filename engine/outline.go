package engine

import "strings"

// Outline is the read-only shape of a loaded pipeline: its steps in order,
// each with the nested blocks its connector holds (choice branches, try
// and catch, loop bodies, parallel branches). The console draws it; it is
// taken from the compiled steps, not from a second reading of the file.
type Outline struct {
	Pipeline string
	Steps    []OutlineStep
}

// OutlineStep is one step of an Outline.
type OutlineStep struct {
	StepInfo
	// Condition is the step's `if`, when it has one.
	Condition string
	// Retries is the step's retry attempts (0: no retry option).
	Retries int
	// Blocks are the step's nested step lists, in the order the connector
	// declares them (choice: one per branch; try: steps, catch, finally).
	Blocks []OutlineBlock
	// Calls is the name or file of the pipeline a pipeline step calls.
	Calls string
}

// OutlineBlock is a nested list of steps.
type OutlineBlock struct {
	// Label names the block as it is written in the file: "steps",
	// "catch", "branches[1].steps", "choice[0].steps"…
	Label string
	// When is the condition guarding the block (a choice branch's when).
	When  string
	Steps []OutlineStep
}

// Outline returns the pipeline's outline. It reads the compiled steps and
// never runs or changes them; it is safe to call while the pipeline runs.
func (p *Pipeline) Outline() Outline {
	return Outline{Pipeline: p.Name, Steps: outlineSteps(p.steps)}
}

func outlineSteps(s Steps) []OutlineStep {
	out := make([]OutlineStep, 0, len(s.list))
	for _, r := range s.list {
		out = append(out, outlineStep(r))
	}
	return out
}

// A Container is a compiled step that holds nested steps (choice, try,
// for-each, do-while, parallel): Blocks lists them, in the order the
// connector declares them, each with the condition that guards it (a choice
// branch's when). The outline asks for them; a Steps left empty (an option
// not written) is skipped.
type Container interface {
	Blocks() []Block
}

// Block is one nested list of steps of a Container.
type Block struct {
	When  Condition // the condition guarding the block, if any
	Steps Steps
}

// A Caller is a compiled step that runs another pipeline: Calls is its name
// or file, for the outline.
type Caller interface {
	Calls() string
}

func outlineStep(r *stepRunner) OutlineStep {
	st := OutlineStep{StepInfo: r.info}
	if r.cond != nil {
		st.Condition = r.cond.Source()
	}
	if r.retry != nil {
		st.Retries = r.retry.Attempts
	}
	if c, ok := r.step.(Caller); ok {
		st.Calls = c.Calls()
	}
	if c, ok := r.step.(Container); ok {
		for _, b := range c.Blocks() {
			if b.Steps.Len() == 0 {
				continue // an option not written
			}
			st.Blocks = append(st.Blocks, OutlineBlock{Label: blockLabel(r, b.Steps), When: b.When.Source(), Steps: outlineSteps(b.Steps)})
		}
	}
	return st
}

// blockLabel is where a block's steps are in the file, from the connector
// key on: steps[0].try.catch[0] → try.catch, steps[2].choice[1].steps[0] →
// choice[1].steps.
func blockLabel(r *stepRunner, s Steps) string {
	p := s.list[0].info.Path
	if i := strings.LastIndexByte(p, '['); i >= 0 {
		p = p[:i]
	}
	return strings.TrimPrefix(p, r.info.Path+".")
}
