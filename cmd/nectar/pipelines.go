package main

import (
	"context"
	"io/fs"
	"log/slog"
	"net"
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
	// One OAuth2 issuer for the tokens and the metadata, decided at start.
	serveSetups = append(serveSetups, func(opts *engine.LoadOptions, listen net.Addr, log *slog.Logger) error {
		globals, issuer, unspecified, err := pipelines.SetIssuer(opts.Globals, listen)
		if err != nil {
			return err
		}
		opts.Globals = globals
		if unspecified {
			log.Warn("oauth_issuer is not set: tokens and the OAuth2 metadata name "+issuer+"; set oauth_issuer in a --globals file to the URL clients use", "oauth_issuer", issuer)
		}
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
