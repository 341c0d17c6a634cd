package jsonpath_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/jsonpath"
)

// jsonPathDeviations lists the conformance cases where Nectar's JSONPATH
// deliberately differs from Jayway JsonPath, each with the reason (the
// "JSONPATH" paragraph of docs/functions.md says the same to users). A case
// listed here is still run: it must give got, Nectar's documented result.
var jsonPathDeviations = map[string]jsonPathDeviation{
	"DeepScanTest/definite_upstream_illegal_array_access_throws-1": notFoundIsNull,
	"DeepScanTest/definite_upstream_illegal_array_access_throws-2": notFoundIsEmpty,
	"DeepScanTest/definite_upstream_illegal_array_access_throws-3": notFoundIsNull,
	"DeepScanTest/definite_upstream_illegal_array_access_throws-4": notFoundIsEmpty,
	"DeepScanTest/definite_upstream_illegal_array_access_throws-5": notFoundIsNull,
}

type jsonPathDeviation struct{ got, reason string }

var (
	notFoundIsNull = jsonPathDeviation{`null`, "a definite path that matches nothing gives null " +
		"(Jayway raises PathNotFoundException), so that DEFAULT(JSONPATH(…), x) works as with a missing field"}
	notFoundIsEmpty = jsonPathDeviation{`[]`, "an indefinite path that matches nothing gives [] " +
		"(Jayway raises PathNotFoundException when a definite part before it is missing)"}
)

// jsonPathCase is one case of testdata (see the README there).
type jsonPathCase struct {
	file, name, test, path string
	input, expected        any
	expectError, unordered bool
	expectedSize           int // -1 unless the case checks only the size of the result
}

func loadJSONPathCases(t *testing.T) []jsonPathCase {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no JSONPath conformance cases: %v", err)
	}
	var out []jsonPathCase
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := value.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cases, _ := v.(*value.Object).Get("cases")
		for _, c := range cases.([]any) {
			o := c.(*value.Object)
			get := func(k string) any { x, _ := o.Get(k); return x }
			jc := jsonPathCase{file: filepath.Base(f), expectedSize: -1}
			jc.name, _ = get("name").(string)
			jc.test, _ = get("test").(string)
			jc.path, _ = get("path").(string)
			jc.input, jc.expected = get("input"), get("expected")
			jc.expectError, _ = get("expect_error").(bool)
			jc.unordered, _ = get("unordered").(bool)
			if n, ok := value.ToInt(get("expected_size")); ok {
				jc.expectedSize = int(n)
			}
			id := strings.TrimSuffix(jc.file, ".json") + "/" + jc.name
			if seen[id] || jc.name == "" || jc.path == "" {
				t.Fatalf("%s: case %q is unnamed, duplicated or has no path", f, jc.name)
			}
			seen[id] = true
			out = append(out, jc)
		}
	}
	return out
}

// query runs a path on a document as the JSONPATH function does: compile,
// then evaluate, an error of the evaluation named as JSONPATH's.
func query(src string, doc any) (any, error) {
	p, err := jsonpath.Compile(src)
	if err != nil {
		return nil, err
	}
	v, err := p.Evaluate(doc)
	if err != nil {
		return nil, fmt.Errorf("JSONPATH: %w", err)
	}
	return v, nil
}

// TestJSONPathConformance runs cases ported from Jayway JsonPath's own test
// suite (the dialect Digibee's JSONPATH follows) through the package.
func TestJSONPathConformance(t *testing.T) {
	cases := loadJSONPathCases(t)
	passed, deviating := 0, 0
	var failed []string
	for _, c := range cases {
		id := strings.TrimSuffix(c.file, ".json") + "/" + c.name
		ok := t.Run(id, func(t *testing.T) {
			got, err := query(c.path, c.input)
			if dev, ok := jsonPathDeviations[id]; ok {
				if err != nil || value.MustEncodeString(got) != dev.got {
					t.Fatalf("%s gave %s, %v; the documented deviation is %s: %s", c.path, value.MustEncodeString(got), err, dev.got, dev.reason)
				}
				return
			}
			switch {
			case c.expectError:
				if err == nil {
					t.Fatalf("%s on %s gave %s, want an error", c.path, preview(c.input), value.MustEncodeString(got))
				}
				if !strings.Contains(err.Error(), "JSONPATH") && !strings.Contains(err.Error(), "JSONPath") {
					t.Errorf("%s: error %q does not name JSONPATH", c.path, err)
				}
			case err != nil:
				t.Fatalf("%s: %v", c.path, err)
			case c.expectedSize >= 0:
				list, _ := got.([]any)
				if len(list) != c.expectedSize {
					t.Errorf("%s gave %s, want %d results", c.path, value.MustEncodeString(got), c.expectedSize)
				}
			case !sameResult(got, c.expected, c.unordered):
				t.Errorf("%s gave %s, want %s", c.path, value.MustEncodeString(got), value.MustEncodeString(c.expected))
			}
		})
		switch _, dev := jsonPathDeviations[id]; {
		case dev:
			deviating++
		case ok:
			passed++
		default:
			failed = append(failed, id)
		}
	}
	for id := range jsonPathDeviations {
		found := false
		for _, c := range cases {
			found = found || strings.TrimSuffix(c.file, ".json")+"/"+c.name == id
		}
		if !found {
			t.Errorf("deviation %s names no case", id)
		}
	}
	sort.Strings(failed)
	t.Logf("JSONPath conformance: %d cases, %d pass, %d documented deviations, %d fail", len(cases), passed, deviating, len(failed))
}

func sameResult(got, want any, unordered bool) bool {
	if !unordered {
		return value.Equal(got, want)
	}
	g, ok1 := got.([]any)
	w, ok2 := want.([]any)
	if !ok1 || !ok2 || len(g) != len(w) {
		return false
	}
	used := make([]bool, len(g))
	for _, x := range w {
		found := false
		for i, y := range g {
			if !used[i] && value.Equal(x, y) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func preview(v any) string {
	s := value.MustEncodeString(v)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
