package pipelines

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/nectar-run/nectar/engine"
)

// ShippedPrefix starts the file name of every shipped pipeline
// ("shipped:oauth-token.yaml"), in load errors and execution records.
const ShippedPrefix = "shipped:"

// Load loads every pipeline file (*.yaml, *.yml) of fsys with opts; nectar
// uses it on FS. It returns the pipelines that load and, joined, the
// problems of those that do not (file:line:col, the file named
// shipped:NAME): a shipped pipeline that fails is reported, never dropped
// in silence. Two files declaring one pipeline name are an error too.
func Load(fsys fs.FS, opts engine.LoadOptions) ([]*engine.Pipeline, error) {
	var out []*engine.Pipeline
	var errs []error
	seen := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := path.Ext(file); d.IsDir() || ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return err
		}
		p, err := engine.Load(ShippedPrefix+file, data, opts)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if other, dup := seen[p.Name]; dup {
			p.Close(context.Background())
			errs = append(errs, fmt.Errorf("%s%s: pipeline name %q is already used by %s%s", ShippedPrefix, file, p.Name, ShippedPrefix, other))
			return nil
		}
		seen[p.Name] = file
		out = append(out, p)
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("reading the shipped pipelines: %w", err))
	}
	return out, errors.Join(errs...)
}

// AddTo adds the pipelines of fsys (nectar uses FS) to lib, except those
// whose pipeline name lib already resolves (a pipeline added to it, or
// NAME.yaml in one of its folders declaring that name): the user's pipeline
// of the same name replaces the shipped one. The problems of files that do
// not load are returned; the others are added all the same.
func AddTo(lib *engine.Library, fsys fs.FS, opts engine.LoadOptions) error {
	ps, err := Load(fsys, opts)
	for _, p := range ps {
		if _, ok := lib.Pipeline(p.Name); ok {
			p.Close(context.Background())
			continue
		}
		lib.Add(p)
	}
	return err
}
