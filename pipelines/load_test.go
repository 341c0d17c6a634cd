package pipelines_test

import (
	"io/fs"
	"testing"

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
