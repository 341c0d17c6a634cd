package main

import (
	"context"

	"github.com/nectar-run/nectar/connectors/objectstore"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/store"
)

func init() {
	runtimeSetups = append(runtimeSetups, func(ctx context.Context, g *globals, rt *engine.Runtime) error {
		if _, ok := objectstore.FromRuntime(rt); ok {
			return nil
		}
		// Opened on first use: pipelines without object-store steps leave
		// the data directory alone.
		objectstore.InstallOpener(rt, func() (store.Store, error) { return g.openStore(ctx) })
		return nil
	})
}
