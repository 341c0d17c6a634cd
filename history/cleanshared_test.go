package history

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// cleanRef is what masker.clean must answer: no escape in raw, no
// sensitive name at any depth of v, no secret in raw.
func cleanRef(m *masker, raw string, v any) bool {
	names := m.names
	if names == nil {
		names = newNameTable(m.local, m.global)
	}
	return strings.IndexByte(raw, '\\') < 0 && !names.inKeys(v) && !engine.HoldsSecret(raw, m.secrets, m.seen)
}

// TestCleanSharedParts: a record asks clean of its input, then of its
// output, which often shares the input's objects and lists (a transform
// moves them); whatever the output shares or not, clean answers as the
// whole walk does. Outputs share parts proven clean, parts holding a
// sensitive name at some depth, parts the input's walk never reached
// (it stopped at a sensitive name), lists, lists cut from the input's
// (the same array, shorter), and lists longer than one the input holds
// (the same array: the items the input lacks may hold a sensitive name).
func TestCleanSharedParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 12))
	keys := []string{"id", "total", "created_at", "name", "token", "Pass-Word", "items", "x"}
	var gen func(depth int) any
	gen = func(depth int) any {
		switch n := rng.IntN(6); {
		case depth > 3 || n < 2:
			return "v"
		case n < 4:
			o := value.NewObject(3)
			for range 1 + rng.IntN(4) {
				o.Set(keys[rng.IntN(len(keys))], gen(depth+1))
			}
			return o
		default:
			l := make([]any, 1+rng.IntN(3))
			for i := range l {
				l[i] = gen(depth + 1)
			}
			return l
		}
	}
	// parts lists the objects and lists of v: what an output may share.
	var parts func(v any, out []any) []any
	parts = func(v any, out []any) []any {
		switch t := v.(type) {
		case *value.Object:
			out = append(out, t)
			for i := range t.Len() {
				_, c := t.At(i)
				out = parts(c, out)
			}
		case []any:
			out = append(out, t)
			if len(t) > 1 {
				out = append(out, t[:len(t)-1]) // the same array, shorter
			}
			for _, c := range t {
				out = parts(c, out)
			}
		}
		return out
	}
	for range 20000 {
		in := gen(0)
		if rng.IntN(2) == 0 { // a root object, as messages mostly are
			o := value.NewObject(4)
			for range 1 + rng.IntN(6) {
				o.Set(keys[rng.IntN(len(keys))], gen(1))
			}
			in = o
		}
		var whole []any // a list whose first item alone the input holds
		if o, ok := in.(*value.Object); ok && rng.IntN(2) == 0 {
			whole = []any{gen(2), gen(2), gen(2)}
			o.Set("part", whole[:1])
		}
		shared := parts(in, nil)
		if whole != nil {
			shared = append(shared, whole, whole)
		}
		var out any
		pick := func() any {
			if len(shared) > 0 && rng.IntN(3) > 0 {
				return shared[rng.IntN(len(shared))]
			}
			return gen(1)
		}
		if rng.IntN(2) == 0 {
			o := value.NewObject(4)
			for range 1 + rng.IntN(6) {
				o.Set(keys[rng.IntN(len(keys))], pick())
			}
			out = o
		} else {
			l := make([]any, 1+rng.IntN(5))
			for i := range l {
				l[i] = pick()
			}
			out = l
		}
		m := &masker{names: defaultNames, free: &freeParts{}}
		if got, want := m.clean("{}", in), cleanRef(m, "{}", in); got != want {
			t.Fatalf("input %s: clean = %v, want %v", jsonOf(in), got, want)
		}
		if got, want := m.clean("{}", out), cleanRef(m, "{}", out); got != want {
			t.Fatalf("input %s, output %s: clean = %v, want %v", jsonOf(in), jsonOf(out), got, want)
		}
	}
}

// jsonOf is v's JSON text, for messages.
func jsonOf(v any) string {
	b, err := value.AppendJSON(nil, v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
