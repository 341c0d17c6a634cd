package expression_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
)

// The -update flag may also be declared by another test file of this package;
// it is shared through the flag set rather than a variable.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files and generated docs")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const (
	docPath    = "../../docs/functions.md"
	beginMark  = "<!-- BEGIN GENERATED: go test ./engine/expression -run TestFunctionsDoc -update -->\n"
	endMarkDoc = "<!-- END GENERATED -->\n"
)

// renderReference writes the catalogue as Markdown, grouped by category.
func renderReference() string {
	byCat := map[string][]expression.Function{}
	for _, f := range expression.Functions() {
		c := expression.FunctionCategory(f.Name)
		byCat[c] = append(byCat[c], f)
	}
	var b strings.Builder
	b.WriteString("## Index\n\n")
	for _, c := range expression.FunctionCategories {
		b.WriteString("- **" + c + "**: ")
		for i, f := range byCat[c] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("[" + f.Name + "](#" + strings.ToLower(f.Name) + ")")
		}
		b.WriteString("\n")
	}
	for _, c := range expression.FunctionCategories {
		b.WriteString("\n## " + c + "\n")
		for _, f := range byCat[c] {
			b.WriteString("\n### " + f.Name + "\n\n`" + f.Usage + "`\n\n" + f.Doc + "\n\n")
			result := "`" + f.Result + "`"
			if f.Result == "" {
				result = "a different value on each call"
			}
			b.WriteString("Example: `" + f.Example + "` → " + result + "\n")
		}
	}
	return b.String()
}

// TestFunctionsDoc keeps docs/functions.md in step with the catalogue: the part
// between the markers is generated, the prose around it is written by hand.
func TestFunctionsDoc(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("read %s: %v", docPath, err)
	}
	doc := string(raw)
	before, rest, ok1 := strings.Cut(doc, beginMark)
	_, after, ok2 := strings.Cut(rest, endMarkDoc)
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the generated-section markers", docPath)
	}
	want := before + beginMark + "\n" + renderReference() + "\n" + endMarkDoc + after
	if want == doc {
		return
	}
	if updating() {
		if err := os.WriteFile(docPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale: run go test ./engine/expression -run TestFunctionsDoc -update", docPath)
}
