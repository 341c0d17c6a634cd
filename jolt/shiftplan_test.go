package jolt

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

// planKeys are the keys random specs and inputs draw from: few, so that
// literals, "*" copies and outputs meet often. "dk" has the keyHash of "a"
// and "dj" that of "customerId", so that keyTable's slots shared by two
// keys are taken too.
var planKeys = []string{"a", "b", "c", "id", "x", "y", "0", "a.b", "customerId", "dk", "dj"}

// randomPlanSpec builds a one-level shift spec of the shape renamePlan takes
// (literal keys, at most one "*", leaves whose outputs are single keys, a
// literal or "&"), with now and then something the plan refuses: a two-key
// output path, an "&1", a "*" writing a literal.
func randomPlanSpec(r *rand.Rand) *value.Object {
	out := func() any {
		switch r.IntN(12) {
		case 0:
			return "&"
		case 1:
			return "&0"
		case 2:
			return "z." + planKeys[r.IntN(len(planKeys))]
		case 3:
			return "&1"
		}
		k := planKeys[r.IntN(len(planKeys))]
		if k == "a.b" {
			return `a\.b`
		}
		return k
	}
	outs := func() any {
		switch r.IntN(6) {
		case 0:
			return nil
		case 1, 2:
			n := r.IntN(3)
			l := make([]any, n)
			for i := range l {
				l[i] = out()
			}
			return l
		}
		return out()
	}
	spec := value.NewObject(8)
	for range r.IntN(5) {
		k := planKeys[r.IntN(len(planKeys))]
		if k == "a.b" {
			continue // a dot in a key is a path on the right, not on the left
		}
		spec.Set(k, outs())
	}
	switch r.IntN(5) {
	case 0, 1:
		spec.Set("*", "&")
	case 2:
		spec.Set("*", nil)
	case 3:
		spec.Set("*", outs())
	}
	if spec.Len() == 0 {
		spec.Set("*", "&")
	}
	return spec
}

func randomPlanValue(r *rand.Rand, depth int) any {
	switch r.IntN(8) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return int64(r.IntN(100))
	case 3:
		return fmt.Sprintf("s%d", r.IntN(100))
	case 4:
		if depth > 0 {
			l := make([]any, r.IntN(3), 4) // spare capacity: appends must not reach it
			for i := range l {
				l[i] = randomPlanValue(r, depth-1)
			}
			return l
		}
	case 5:
		if depth > 0 {
			return randomPlanObject(r, depth-1)
		}
	}
	return 1.5
}

func randomPlanObject(r *rand.Rand, depth int) *value.Object {
	o := value.NewObject(4)
	for range r.IntN(len(planKeys) + 1) {
		o.Set(planKeys[r.IntN(len(planKeys))], randomPlanValue(r, depth))
	}
	return o
}

// TestRenamePlanMatchesGenericShift runs random specs of the plan's shape on
// random inputs twice, through the plan and through the generic walk, and
// wants the same output (values and key order), the same error, and the
// input unchanged, also when the shift copies what it writes (a chain's
// next stage changes it in place).
func TestRenamePlanMatchesGenericShift(t *testing.T) {
	if keyHash("dk") != keyHash("a") || keyHash("dj") != keyHash("customerId") {
		t.Fatal("planKeys lost its pairs of keys with one hash")
	}
	r := rand.New(rand.NewPCG(17, 2026))
	planned, ran := 0, 0
	for i := range 4000 {
		spec := randomPlanSpec(r)
		op, err := compileShift(spec, nil)
		if err != nil {
			t.Fatalf("spec %s: %v", value.MustEncodeString(spec), err)
		}
		if op.plan == nil {
			continue
		}
		planned++
		var in any = randomPlanObject(r, 2)
		if i%10 == 0 {
			in = randomPlanValue(r, 1) // not always an object
		}
		inBefore := value.MustEncodeString(in)
		for _, copyWrites := range []bool{false, true} {
			op.copyWrites = copyWrites
			st := getState()
			st.copyWrites = copyWrites
			gotPlan, okPlan, errPlan := op.plan.apply(st, in)
			putState(st)
			if !okPlan {
				continue
			}
			ran++
			st = getState()
			st.copyWrites = copyWrites
			want, errGeneric := op.applyGeneric(st, in)
			putState(st)
			if (errPlan == nil) != (errGeneric == nil) {
				t.Fatalf("spec %s, input %s: plan error %v, generic error %v", value.MustEncodeString(spec), inBefore, errPlan, errGeneric)
			}
			if g, w := value.MustEncodeString(gotPlan), value.MustEncodeString(want); g != w {
				t.Fatalf("spec %s, input %s, copyWrites %v:\n plan: %s\n walk: %s", value.MustEncodeString(spec), inBefore, copyWrites, g, w)
			}
			if o, ok := gotPlan.(*value.Object); ok && !copyWrites {
				for j := 0; j < o.Len(); j++ {
					if k, x := o.At(j); spareCap(x) {
						t.Fatalf("spec %s: %s is an array written with spare capacity", value.MustEncodeString(spec), k)
					}
				}
			}
			if copyWrites {
				scribble(gotPlan) // the output is the next stage's to change
			}
			if got := value.MustEncodeString(in); got != inBefore {
				t.Fatalf("spec %s, copyWrites %v: the input changed: %s, was %s", value.MustEncodeString(spec), copyWrites, got, inBefore)
			}
		}
	}
	// The generator must reach the plan, else this test proves nothing.
	if planned < 1000 || ran < 1000 {
		t.Fatalf("the plan took %d specs and ran %d times: the generator misses its shape", planned, ran)
	}
}

// TestRenamePlanShapes lists which specs take the plan and which keep the
// generic walk.
func TestRenamePlanShapes(t *testing.T) {
	tests := []struct {
		spec string
		plan bool
	}{
		{`{"id":"customerId","first_name":"firstName","*":"&"}`, true},
		{`{"id":["a","b"],"x":"&","y":"&0","*":null}`, true},
		{`{"id":"a","name":null}`, true},
		{`{"*":"&"}`, true},
		{`{"id":"a","name":"a"}`, false},         // two writes meet: they merge into a list
		{`{"id":"a.b"}`, false},                  // a path, not a key
		{`{"id":"[0]"}`, false},                  // an index
		{`{"*":"x"}`, false},                     // every key onto one: they merge
		{`{"*":["&","&"]}`, false},               // two writes of each key
		{`{"a*":"&"}`, false},                    // a pattern
		{`{"id":{"x":"y"}}`, false},              // a composite
		{`{"id":"&1"}`, false},                   // a reference up the path
		{`{"id":"x","@":"whole"}`, false},        // a special key
		{`{"id":"x","$":"key"}`, false},          // a special key
		{`{"id":"x","*":"&","a*":"a"}`, false},   // two wildcards
		{`{"id":"x-&"}`, false},                  // a key built from a reference
		{`{"id":"@(1,other)"}`, false},           // a transpose
		{`{"id":"x","x":"id","*":"&"}`, true},    // a swap: every write is its own key
		{`{"id":"customerId","*":"&"}`, true},    // an input key customerId falls back at run time
		{`{"id":"","*":"&"}`, false},             // the whole output
		{`{"id":"x","name":["y","x"]}`, false},   // two writes meet across literals
		{`{"id":["x","x"]}`, false},              // two writes meet within one
		{`{"id":"x","name":"&","*":null}`, true}, // & of a literal is its key
	}
	for _, tc := range tests {
		op, err := compileShift(mustDecodeInternal(t, tc.spec).(*value.Object), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		if (op.plan != nil) != tc.plan {
			t.Errorf("%s: plan %v, want %v", tc.spec, op.plan != nil, tc.plan)
		}
	}
}

// TestRenamePlanFallsBack: a key the "*" copies that is also a literal's
// output makes the two writes meet in a list, as the generic walk does.
func TestRenamePlanFallsBack(t *testing.T) {
	op, err := compileShift(mustDecodeInternal(t, `{"id":"customerId","*":"&"}`).(*value.Object), nil)
	if err != nil {
		t.Fatal(err)
	}
	in := mustDecodeInternal(t, `{"customerId":"old","id":"new","n":1}`)
	st := getState()
	defer putState(st)
	if _, ok, _ := op.plan.apply(st, in); ok {
		t.Fatal("the plan ran on an input whose keys meet")
	}
	out, err := op.apply(st, in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := value.MustEncodeString(out), `{"customerId":["old","new"],"n":1}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// scribble changes every container in v in place, as a chain's in-place
// stage may.
func scribble(v any) {
	switch t := v.(type) {
	case *value.Object:
		for i := 0; i < t.Len(); i++ {
			_, x := t.At(i)
			scribble(x)
		}
		t.Set("scribbled", true)
	case []any:
		for i, x := range t {
			scribble(x)
			t[i] = "scribbled"
		}
	}
}

func spareCap(v any) bool {
	a, ok := v.([]any)
	return ok && cap(a) > len(a)
}

func mustDecodeInternal(tb testing.TB, s string) any {
	tb.Helper()
	v, err := value.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// TestPooledStateKeepsNothing: putState clears what a walk left in the
// state's steps and arena (inputs, keys, captures), so that a pooled state
// keeps no message alive, now that it clears only as far as the walk went.
// The walk here pushes levels and captures with "*" and "a-*-*" keys and
// evaluates output paths onto the arena; the state is then grown again by a
// deeper walk, so that the second clear must reach past the first's marks.
func TestPooledStateKeepsNothing(t *testing.T) {
	for _, c := range []struct{ spec, in string }{
		{`{"*":{"a-*-*":"out.&(0,1).&(0,2).&1","*":"rest.&1.&"}}`, `{"x":{"a-1-2":1,"b":2},"y":{"a-3-4":3}}`},
		{`{"*":{"*":{"*":{"k-*":"deep.&3.&2.&1.&(0,1)"}}}}`, `{"a":{"b":{"c":{"k-1":1,"k-2":2}}},"d":{"e":{"f":{"k-3":3}}}}`},
	} {
		op, err := compileShift(mustDecodeInternal(t, c.spec).(*value.Object), nil)
		if err != nil {
			t.Fatal(err)
		}
		st := getState()
		if _, err := op.applyGeneric(st, mustDecodeInternal(t, c.in)); err != nil {
			t.Fatal(err)
		}
		if st.stepsHigh == 0 || st.arenaHigh == 0 {
			t.Fatalf("spec %s: the walk left no marks (steps %d, arena %d)", c.spec, st.stepsHigh, st.arenaHigh)
		}
		putState(st) // st stays ours to look at: the pool may hand it out, but not in this test
		for i, s := range st.steps[:cap(st.steps)] {
			if s.tree != nil || s.key != "" || s.subs != nil {
				t.Fatalf("spec %s: pooled state keeps step %d: %+v", c.spec, i, s)
			}
		}
		for i, s := range st.arena[:cap(st.arena)] {
			if s != "" {
				t.Fatalf("spec %s: pooled state keeps arena entry %d: %q", c.spec, i, s)
			}
		}
	}
}
