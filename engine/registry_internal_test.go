package engine

import (
	"fmt"
	"slices"
	"testing"
)

// TestRegistryRefusesADuplicate: connectors and trigger kinds share one
// registry type; a second definition of a name panics and names the kind,
// and the names come back sorted.
func TestRegistryRefusesADuplicate(t *testing.T) {
	for _, what := range []string{"connector", "trigger"} {
		r := registry[int]{what: what}
		r.add("b", 1)
		r.add("a", 2)
		if got := r.names(); !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("%s names: %v", what, got)
		}
		if d, ok := r.get("a"); !ok || d != 2 {
			t.Errorf("%s get(a): %v %v", what, d, ok)
		}
		func() {
			defer func() {
				want := fmt.Sprintf("engine: %s %q registered twice", what, "b")
				if p := recover(); p != want {
					t.Errorf("%s registered twice: panic %v, want %q", what, p, want)
				}
			}()
			r.add("b", 3)
		}()
		if d, _ := r.get("b"); d != 1 {
			t.Errorf("%s: the first definition of b was replaced by %d", what, d)
		}
	}
}
