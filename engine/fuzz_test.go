package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// FuzzLoad feeds arbitrary bytes to the loader: it must return a pipeline or
// errors, never panic, and every error must carry the file name.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("../examples/*/*.yaml")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"name: a\nsteps:\n  - set: {a: '{{ message.x }}'}\n",
		"name: a\nsteps:\n  - choice:\n      - when: message.a > 1\n        steps: [{log: {message: hi}}]\n      - otherwise: [{throw: {error: x}}]\n",
		"name: a\nsteps: [{for-each: {items: message, steps: [{jq: {query: .}}]}}]",
		"name: a\nsteps:\n  - &x {log: {message: a}}\n  - *x\n",
		"name: [\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := engine.Load("fuzz.yaml", data, engine.LoadOptions{})
		if err != nil {
			for _, le := range engine.LoadErrors(err) {
				if le.File != "fuzz.yaml" {
					t.Fatalf("error without the file: %v", le)
				}
			}
			return
		}
		// A pipeline that loads must run without panicking on an empty message
		// (pipeline calls go nowhere: no library).
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // do not wait on loops and sleeps; the first step sees a done context
		p.Run(ctx, nil, value.NewObject(0), engine.RunOptions{})
		p.Close(context.Background())
	})
}
