package engine

import (
	"reflect"
	"strings"
	"sync"
)

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

func outlineStep(r *stepRunner) OutlineStep {
	st := OutlineStep{StepInfo: r.info}
	if r.cond != nil {
		st.Condition = r.cond.Source()
	}
	if r.retry != nil {
		st.Retries = r.retry.Attempts
	}
	if r.step == nil {
		return st
	}
	// The connector's compiled step is one of its own types; the nested
	// Steps values it holds (in its Config, in branch structs, in slices)
	// are found by reflection, reading only: Steps values are copied out
	// through their unexported list, which reflection can read but not
	// write.
	prefix := r.info.Path + "." + r.info.Connector
	w := outlineWalker{prefix: prefix}
	w.walk(reflect.ValueOf(r.step), "", 0)
	st.Blocks = w.blocks
	if r.info.Connector == "pipeline" {
		st.Calls = w.calls
	}
	return st
}

type outlineWalker struct {
	prefix string
	blocks []OutlineBlock
	calls  string
	when   string
}

// maxOutlineDepth bounds the walk inside one step's value (not the nesting
// of steps, which recurses through outlineStep).
const maxOutlineDepth = 8

func (w *outlineWalker) walk(v reflect.Value, field string, depth int) {
	if depth > maxOutlineDepth || !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() || depth > 0 {
			return // only the step itself is an interface worth opening
		}
		w.walk(v.Elem(), field, depth+1)
	case reflect.Pointer:
		if v.IsNil() || !holdsSteps(v.Type()) && !(depth == 0 && w.isCall()) {
			return
		}
		w.walk(v.Elem(), field, depth+1)
	case reflect.Struct:
		switch v.Type() {
		case stepsType:
			w.addBlock(v, field)
			return
		case conditionType:
			return
		}
		t := v.Type()
		if !holdsSteps(t) && !(depth <= 1 && w.isCall()) {
			return
		}
		// A struct's condition (a choice branch's when) labels the blocks
		// that follow it in the same struct.
		when := ""
		for i := range t.NumField() {
			if t.Field(i).Type == conditionType {
				if src := conditionSource(v.Field(i)); src != "" && t.Field(i).Name == "When" {
					when = src
				}
			}
		}
		saved := w.when
		w.when = when
		for i := range t.NumField() {
			f := t.Field(i)
			name := strings.ToLower(f.Name)
			if tag := f.Tag.Get("yaml"); tag != "" {
				name = strings.Split(tag, ",")[0]
			}
			fv := v.Field(i)
			if f.Type.Kind() == reflect.String && (name == "name" || name == "file") && w.calls == "" {
				w.calls = fv.String()
			}
			w.walk(fv, joinLabel(field, name, f.Tag.Get("yaml") != ""), depth+1)
		}
		w.when = saved
	case reflect.Slice, reflect.Array:
		if !holdsSteps(v.Type()) {
			return
		}
		for i := range v.Len() {
			w.walk(v.Index(i), field+"["+itoa(i)+"]", depth+1)
		}
	}
}

// joinLabel builds a block label from the YAML names of the fields walked;
// fields without a yaml tag (a compiled step's own fields) add nothing.
func joinLabel(parent, name string, tagged bool) string {
	if !tagged {
		return parent
	}
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func (w *outlineWalker) isCall() bool { return strings.HasSuffix(w.prefix, ".pipeline") }

// stepsHolders caches, per type, whether a value of it can hold Steps:
// the walk skips the rest (compiled jq programs, clients, buffers).
var stepsHolders sync.Map // reflect.Type → bool

func holdsSteps(t reflect.Type) bool {
	if v, ok := stepsHolders.Load(t); ok {
		return v.(bool)
	}
	stepsHolders.Store(t, false) // a recursive type holds Steps through its other fields
	found := false
	switch t.Kind() {
	case reflect.Struct:
		if t == stepsType {
			found = true
			break
		}
		for i := range t.NumField() {
			if holdsSteps(t.Field(i).Type) {
				found = true
				break
			}
		}
	case reflect.Pointer, reflect.Slice, reflect.Array:
		found = holdsSteps(t.Elem())
	}
	stepsHolders.Store(t, found)
	return found
}

func (w *outlineWalker) addBlock(v reflect.Value, field string) {
	list := v.FieldByName("list")
	b := OutlineBlock{Label: field, When: w.when}
	for i := range list.Len() {
		rv := list.Index(i)
		if rv.IsNil() {
			continue
		}
		r := (*stepRunner)(rv.UnsafePointer())
		b.Steps = append(b.Steps, outlineStep(r))
	}
	if len(b.Steps) > 0 {
		// A block's label is where its steps are in the file, from the
		// connector key on: steps[0].try.catch[0] → try.catch,
		// steps[2].choice[1].steps[0] → choice[1].steps.
		p := b.Steps[0].Path
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			p = p[:i]
		}
		if rest, ok := strings.CutPrefix(p, w.prefix[:strings.LastIndexByte(w.prefix, '.')+1]); ok {
			b.Label = rest
		}
	}
	if len(b.Steps) > 0 { // an empty block is an option not written
		w.blocks = append(w.blocks, b)
	}
}

func conditionSource(v reflect.Value) string {
	e := v.FieldByName("e")
	if !e.IsValid() || e.IsNil() {
		return ""
	}
	src := e.Elem().FieldByName("src")
	if !src.IsValid() {
		return ""
	}
	return src.String()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
