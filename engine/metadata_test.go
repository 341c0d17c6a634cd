package engine_test

import (
	"context"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// TestRunMetadataKeysOnce gives a run metadata of its own keys (request,
// trigger) and of the keys the execution sets itself (pipeline, start,
// caller): every key appears once, the caller's value replacing the
// execution's in its place, and an object template's keys come out in
// their order.
func TestRunMetadataKeysOnce(t *testing.T) {
	p := load(t, "name: meta\nsteps:\n  - set: {md: '{{ metadata }}', o: {b: 1, a: '{{ metadata.request }}', c: '{{ 2 }}'}}\n")
	md := value.ObjectOf("request", "r", "pipeline", "given", "trigger", "http", "start", int64(7), "caller", "c")
	out, err := p.Run(context.Background(), &engine.Runtime{}, value.NewObject(0), engine.RunOptions{ExecutionID: "id1", Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	got := value.MustEncodeString(out)
	want := `{"md":{"execution_id":"id1","pipeline":"given","start":7,"request":"r","trigger":"http","caller":"c"},"o":{"b":1,"a":"r","c":2}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
