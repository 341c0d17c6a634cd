package engine_test

import (
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

// TestJSONPathLiteralIsALoadError: a JSONPATH path written in the pipeline
// that cannot be read stops the load, at the path in the file.
func TestJSONPathLiteralIsALoadError(t *testing.T) {
	src := "name: a\nsteps:\n  - set:\n      x: '{{ JSONPATH(message, \"$.items[?(@.n > 1]\") }}'\n"
	_, err := engine.Load("f.yaml", []byte(src), engine.LoadOptions{})
	want := `f.yaml:4:32: steps[0].set.x: JSONPATH: argument 2: invalid JSONPath "$.items[?(@.n > 1]" at 17: expected ) to close the filter`
	if err == nil || strings.TrimSpace(err.Error()) != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}
