package jolt_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/jolt"
)

var readmeExample = regexp.MustCompile("(?s)\\*\\*Spec\\*\\* \\(`([a-z-]+)`\\):\n```json\n(.*?)```\n\\*\\*Input:\\*\\*\n```json\n(.*?)```\n\\*\\*Output:\\*\\*\n```json\n(.*?)```")

// TestREADMEExamples runs every spec/input/output example of README.md, so
// that the documentation cannot drift from the engine.
func TestREADMEExamples(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	ms := readmeExample.FindAllStringSubmatch(string(b), -1)
	if len(ms) < 20 {
		t.Fatalf("found only %d examples in README.md", len(ms))
	}
	ctx := value.ObjectOf("region", "EU")
	for i, m := range ms {
		tr, err := jolt.Compile(m[1], mustDecode(t, m[2]))
		if err != nil {
			t.Errorf("example %d (%s): %v", i+1, m[1], err)
			continue
		}
		got, err := tr.Apply(mustDecode(t, m[3]), ctx)
		if err != nil {
			t.Errorf("example %d (%s): %v", i+1, m[1], err)
			continue
		}
		want := mustDecode(t, m[4])
		if !value.Equal(got, want) || (m[1] == "sort" && !sameOrder(got, want)) {
			t.Errorf("example %d (%s):\n got: %s\nwant: %s", i+1, m[1], value.MustEncodeString(got), value.MustEncodeString(want))
		}
	}
}
