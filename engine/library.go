package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Library holds loaded pipelines by name and finds pipelines in folders on
// demand. It implements Resolver for the pipeline connector and is safe for
// concurrent use.
type Library struct {
	mu        sync.RWMutex
	pipelines map[string]*Pipeline
	dirs      []string
	scanned   map[string]bool
	opts      LoadOptions
}

// NewLibrary returns a library that also looks in dirs for pipelines it does
// not hold yet, loading them with opts.
func NewLibrary(opts LoadOptions, dirs ...string) *Library {
	return &Library{pipelines: map[string]*Pipeline{}, dirs: dirs, scanned: map[string]bool{}, opts: opts}
}

// Add puts a pipeline in the library, replacing one of the same name, and
// returns the replaced one (nil if none). The caller closes it when no
// execution uses it any more.
func (lib *Library) Add(p *Pipeline) *Pipeline {
	lib.mu.Lock()
	defer lib.mu.Unlock()
	old := lib.pipelines[p.Name]
	lib.pipelines[p.Name] = p
	return old
}

// Remove takes a pipeline out of the library and returns it.
func (lib *Library) Remove(name string) *Pipeline {
	lib.mu.Lock()
	defer lib.mu.Unlock()
	p := lib.pipelines[name]
	delete(lib.pipelines, name)
	return p
}

// Pipeline returns the pipeline called name, looking for NAME.yaml (or .yml)
// in the library's folders when it is not loaded yet.
func (lib *Library) Pipeline(name string) (*Pipeline, bool) {
	lib.mu.RLock()
	p, ok := lib.pipelines[name]
	lib.mu.RUnlock()
	if ok {
		return p, true
	}
	for _, dir := range lib.dirs {
		for _, ext := range []string{".yaml", ".yml"} {
			path := filepath.Join(dir, name+ext)
			if _, err := os.Stat(path); err != nil {
				continue
			}
			p, err := LoadFile(path, lib.opts)
			if err != nil || p.Name != name {
				continue
			}
			lib.mu.Lock()
			if existing, ok := lib.pipelines[name]; ok {
				lib.mu.Unlock()
				p.Close(context.Background())
				return existing, true
			}
			lib.pipelines[name] = p
			lib.mu.Unlock()
			return p, true
		}
	}
	return nil, false
}

// All returns the loaded pipelines sorted by name.
func (lib *Library) All() []*Pipeline {
	lib.mu.RLock()
	defer lib.mu.RUnlock()
	out := make([]*Pipeline, 0, len(lib.pipelines))
	for _, p := range lib.pipelines {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PipelineFiles lists the pipeline files (*.yaml, *.yml) in dir, not
// descending into folders whose name starts with "." or "_", testdata or
// tests. dir itself may be a symbolic link to a folder.
// Globals files are not pipelines: a file named globals.yaml or
// NAME.globals.yaml (or .yml) is left out (see IsGlobalsFile), so an
// environment's --globals file can live next to its pipelines. Test files
// (NAME.test.yaml, see IsTestFile) are not pipelines either.
func PipelineFiles(dir string) ([]string, error) {
	var files []string
	root := dir
	if st, err := os.Lstat(dir); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		// A folder that is a symbolic link (a Kubernetes ConfigMap mount)
		// is walked as the folder it points to: with a trailing separator
		// the walk follows it, and the paths still start with dir.
		root = dir + string(filepath.Separator)
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "tests") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(name); (ext == ".yaml" || ext == ".yml") && !strings.HasPrefix(name, "_") && !IsGlobalsFile(name) && !IsTestFile(name) {
			files = append(files, path)
		}
		return nil
	})
	return files, err
}

// IsGlobalsFile reports whether a file of that name is a globals file, not
// a pipeline: globals.yaml, globals.yml, or one ending in .globals.yaml or
// .globals.yml (prod.globals.yaml). PipelineFiles leaves such files out.
func IsGlobalsFile(name string) bool {
	base := strings.ToLower(filepath.Base(name))
	for _, ext := range []string{".yaml", ".yml"} {
		if stem, ok := strings.CutSuffix(base, ext); ok && (stem == "globals" || strings.HasSuffix(stem, ".globals")) {
			return true
		}
	}
	return false
}

// IsTestFile reports whether a file of that name holds tests of a pipeline
// (nectar test), not a pipeline: one ending in .test.yaml or .test.yml
// (orders.test.yaml). PipelineFiles leaves such files out, and folders named
// tests too.
func IsTestFile(name string) bool {
	base := strings.ToLower(filepath.Base(name))
	return strings.HasSuffix(base, ".test.yaml") || strings.HasSuffix(base, ".test.yml")
}

// LoadDir loads every pipeline file in dir into the library. It returns the
// problems of every file that failed (the others are loaded) and fails on two
// files declaring one name.
func (lib *Library) LoadDir(dir string) error {
	files, err := PipelineFiles(dir)
	if err != nil {
		return err
	}
	var errs []error
	seen := map[string]string{}
	for _, f := range files {
		p, err := LoadFile(f, lib.opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if other, dup := seen[p.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: pipeline name %q is already used by %s", f, p.Name, other))
			p.Close(context.Background())
			continue
		}
		seen[p.Name] = f
		if old := lib.Add(p); old != nil {
			old.Close(context.Background())
		}
	}
	return errors.Join(errs...)
}
