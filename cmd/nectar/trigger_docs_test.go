package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

// TestTriggerReadmes checks that every trigger kind has a README next to
// the package that declares it, whose options table is the one its
// declaration generates (go test ./cmd/nectar -update-docs rewrites it).
func TestTriggerReadmes(t *testing.T) {
	kinds := engine.Triggers()
	if len(kinds) == 0 {
		t.Fatal("no trigger kind is registered")
	}
	for _, k := range kinds {
		t.Run(k.Name, func(t *testing.T) {
			dir, ok := strings.CutPrefix(k.Package, module)
			if !ok {
				t.Fatalf("trigger %s is declared outside this module (%q)", k.Name, k.Package)
			}
			checkOptionsTable(t, filepath.Join("..", "..", filepath.FromSlash(dir), "README.md"), OptionsMarkdown(k.Options))
		})
	}
}

// checkOptionsTable checks that the README at path holds table between
// the options markers, and rewrites it with -update-docs.
func checkOptionsTable(t *testing.T, path, table string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no README: %v", err)
	}
	doc := string(data)
	block := optionsStart + "\n" + table + optionsEnd
	i, j := strings.Index(doc, optionsStart), strings.Index(doc, optionsEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the options markers:\n%s\n%s", path, optionsStart, optionsEnd)
	}
	if doc[i:j+len(optionsEnd)] == block {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(doc[:i]+block+doc[j+len(optionsEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the options table is stale; run go test ./cmd/nectar -update-docs", path)
}
