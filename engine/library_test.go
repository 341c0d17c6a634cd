package engine_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

// TestGlobalsFilesAreNotPipelines puts an environment's globals file in the
// pipelines folder, as a user did with `nectar serve --dir pipelines
// --globals pipelines/prod.globals.yaml`: it is not listed or loaded as a
// (broken) pipeline, while a pipeline whose name only contains "globals" is.
func TestGlobalsFilesAreNotPipelines(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"orders.yaml":             "name: orders\nsteps:\n  - set: {ok: true}\n",
		"sync-globals.yaml":       "name: sync-globals\nsteps:\n  - set: {ok: true}\n",
		"globals.yaml":            "erp_url: https://erp.example.com\n",
		"prod.globals.yaml":       "erp_url: https://erp.example.com\n",
		"sub/staging.Globals.yml": "erp_url: https://erp.test.example.com\n",
		"sub/globals.yml":         "batch: 50\n",
	}
	for name, src := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := engine.PipelineFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i], _ = filepath.Rel(dir, got[i])
	}
	slices.Sort(got)
	if want := []string{"orders.yaml", "sync-globals.yaml"}; !slices.Equal(got, want) {
		t.Errorf("PipelineFiles = %q, want %q", got, want)
	}
	lib := engine.NewLibrary(engine.LoadOptions{})
	if err := lib.LoadDir(dir); err != nil {
		t.Errorf("LoadDir: %v", err)
	}
	if n := len(lib.All()); n != 2 {
		t.Errorf("loaded %d pipelines, want 2", n)
	}
	if g, err := engine.LoadGlobals(filepath.Join(dir, "prod.globals.yaml")); err != nil || g.Len() != 1 {
		t.Errorf("the globals file does not load as globals: %v", err)
	}
}

// TestPipelineFilesThroughSymlink: a pipelines folder that is a symbolic
// link (a Kubernetes ConfigMap mount, a checkout linked into a working
// folder) is walked like the folder it points to; before, serve --dir LINK
// found no pipeline and said nothing.
func TestPipelineFilesThroughSymlink(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "real")
	os.MkdirAll(filepath.Join(real, "sub"), 0o700)
	os.WriteFile(filepath.Join(real, "a.yaml"), []byte("name: a\nsteps: []\n"), 0o600)
	os.WriteFile(filepath.Join(real, "sub", "b.yaml"), []byte("name: b\nsteps: []\n"), 0o600)
	link := filepath.Join(root, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	files, err := engine.PipelineFiles(link)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(link, "a.yaml"), filepath.Join(link, "sub", "b.yaml")}
	if len(files) != len(want) || files[0] != want[0] || files[1] != want[1] {
		t.Fatalf("PipelineFiles(%s) = %q, want %q", link, files, want)
	}
}

// TestTestFilesAreNotPipelines: nectar test's files (orders.test.yaml, and
// any file in a tests folder) sit next to the pipelines that nectar serve
// and nectar validate load from the folder; they are not listed as (broken)
// pipelines, nor loaded by LoadDir.
func TestTestFilesAreNotPipelines(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"orders.yaml":            "name: orders\nsteps:\n  - set: {ok: true}\n",
		"orders.test.yaml":       "cases:\n  - name: a\n    expect: {output: {ok: true}}\n",
		"sub/billing.yml":        "name: billing\nsteps:\n  - set: {ok: true}\n",
		"sub/billing.Test.yml":   "cases: []\n",
		"tests/orders.yaml":      "cases: []\n",
		"sub/tests/billing.yaml": "cases: []\n",
	}
	for name, src := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := engine.PipelineFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i], _ = filepath.Rel(dir, got[i])
	}
	slices.Sort(got)
	if want := []string{"orders.yaml", filepath.Join("sub", "billing.yml")}; !slices.Equal(got, want) {
		t.Errorf("PipelineFiles = %q, want %q", got, want)
	}
	if err := engine.NewLibrary(engine.LoadOptions{}).LoadDir(dir); err != nil {
		t.Errorf("LoadDir: %v", err)
	}
}
