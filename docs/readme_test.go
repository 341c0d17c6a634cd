package docs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeListsEveryConnector reads the README's connector table as a new
// user looking for a connector does: every connector with a README has a
// row linking it.
func TestReadmeListsEveryConnector(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join("..", "connectors", "*", "README.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no connector READMEs: %v", err)
	}
	for _, d := range docs {
		rel, _ := filepath.Rel("..", d)
		link := "](" + filepath.ToSlash(rel) + ") |"
		found := false
		for _, l := range strings.Split(string(readme), "\n") {
			if strings.HasPrefix(l, "| [") && strings.Contains(l, link) {
				found = true
			}
		}
		if !found {
			t.Errorf("README.md's connector table has no row for %s", filepath.ToSlash(rel))
		}
	}
}
