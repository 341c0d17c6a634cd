package pipelines_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/pipelines"
)

func TestShippedPipelinesLoad(t *testing.T) {
	names, err := fs.Glob(pipelines.FS, "*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no shipped pipelines: %v", err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			data, err := fs.ReadFile(pipelines.FS, name)
			if err != nil {
				t.Fatal(err)
			}
			p, err := engine.Load(name, data, engine.LoadOptions{})
			if err != nil {
				t.Fatalf("does not load:\n%v", err)
			}
			if p.Name+".yaml" != name {
				t.Errorf("pipeline %q is in file %s; name them alike", p.Name, name)
			}
		})
	}
}

// TestLoadReportsBrokenFiles: a file that does not load is reported with
// its shipped: name and position, and the others are loaded all the same.
func TestLoadReportsBrokenFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"good.yaml":  {Data: []byte("name: good\nsteps:\n  - set: {a: 1}\n")},
		"broken.yml": {Data: []byte("name: broken\nsteps:\n  - set: {a: 1}\n    nosuchoption: 2\n")},
		"notes.txt":  {Data: []byte("not a pipeline")},
	}
	ps, err := pipelines.Load(fsys, engine.LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "shipped:broken.yml:4:") {
		t.Fatalf("error = %v, want the position of shipped:broken.yml:4", err)
	}
	if len(ps) != 1 || ps[0].Name != "good" {
		t.Fatalf("loaded %v, want only good", names(ps))
	}
}

// TestAddToKeepsTheUsersPipelineByName: a user's pipeline replaces the
// shipped one of the same pipeline name, whatever the file names are.
func TestAddToKeepsTheUsersPipelineByName(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "oauth-token.yaml"), []byte("name: oauth-token\nsteps:\n  - set: {mine: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mine, err := engine.LoadFile(filepath.Join(dir, "oauth-token.yaml"), engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The shipped file's name differs from its pipeline's name: the
	// decision is by the pipeline name.
	fsys := fstest.MapFS{
		"token.yaml": {Data: []byte("name: oauth-token\nsteps:\n  - set: {shipped: true}\n")},
		"other.yaml": {Data: []byte("name: other\nsteps:\n  - set: {shipped: true}\n")},
	}
	for _, tc := range []struct {
		name string
		lib  func() *engine.Library
	}{
		{"added to the library", func() *engine.Library {
			lib := engine.NewLibrary(engine.LoadOptions{})
			lib.Add(mine)
			return lib
		}},
		{"found in the library's folder", func() *engine.Library { return engine.NewLibrary(engine.LoadOptions{}, dir) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lib := tc.lib()
			if err := pipelines.AddTo(lib, fsys, engine.LoadOptions{}); err != nil {
				t.Fatal(err)
			}
			p, ok := lib.Pipeline("oauth-token")
			if !ok || !strings.HasSuffix(p.File, "oauth-token.yaml") || strings.HasPrefix(p.File, pipelines.ShippedPrefix) {
				t.Fatalf("oauth-token comes from %v, want the user's file", p)
			}
			if p, ok := lib.Pipeline("other"); !ok || p.File != pipelines.ShippedPrefix+"other.yaml" {
				t.Fatalf("the shipped pipeline other is missing: %v", p)
			}
		})
	}
}

func names(ps []*engine.Pipeline) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}
