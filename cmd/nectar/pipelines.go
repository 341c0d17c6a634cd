package main

import (
	"context"
	"io/fs"
	"strings"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/pipelines"
)

// The shipped pipelines (package pipelines) are served by nectar serve,
// found by name by nectar run and by pipeline steps, and their jwt steps
// take keys from the accounts, created on first use.
func init() {
	shippedPipelines = pipelines.FS
	base := newLibrary
	newLibrary = func(opts engine.LoadOptions, dirs ...string) *engine.Library {
		lib := base(opts, dirs...)
		addShipped(lib, opts)
		return lib
	}
	runtimeSetups = append(runtimeSetups, func(ctx context.Context, g *globals, rt *engine.Runtime) error {
		pipelines.InstallKeys(rt)
		return nil
	})
}

// addShipped adds the shipped pipelines that no file of the library's
// folders replaces. A shipped pipeline that does not load is left out; its
// own tests keep that from happening.
func addShipped(lib *engine.Library, opts engine.LoadOptions) {
	names, _ := fs.Glob(pipelines.FS, "*.yaml")
	for _, name := range names {
		if _, ok := lib.Pipeline(strings.TrimSuffix(name, ".yaml")); ok {
			continue
		}
		data, err := fs.ReadFile(pipelines.FS, name)
		if err != nil {
			continue
		}
		if p, err := engine.Load("shipped:"+name, data, opts); err == nil {
			lib.Add(p)
		}
	}
}
