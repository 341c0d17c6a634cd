package engine_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

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
