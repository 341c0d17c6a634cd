package server_test

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"weak"

	"github.com/nectar-run/nectar/engine/value"
)

// keptPipeline hands its input and metadata to the test (test-notify): a
// step that keeps values beyond the request, as an event's payload or a
// connector's cache does.
const keptPipeline = `name: kept
trigger:
  http: {path: /kept, methods: [POST], max_body: 4MB}
steps:
  - test-notify: {channel: h3-kept}
`

// TestKeptMetadataDoesNotKeepTheRequest: a value kept from a request's
// metadata (its method, its headers object) beyond the request keeps the
// metadata alive, not the request's message: a 1 MiB body is collected
// once the request is answered and recorded, while the test still holds
// metadata.request.method and metadata.request.headers. (When the
// metadata's objects and strings lived in the execution's allocation, a
// kept header kept the execution, and through it the message, the
// answer and the trace, alive.) The 1 MiB body stands for what a value
// kept beyond the request (an event's payload queued or run, a cache)
// should not pin: up to the trigger's max_body per kept value.
func TestKeptMetadataDoesNotKeepTheRequest(t *testing.T) {
	e := start(t, map[string]string{"kept.yaml": keptPipeline}, nil)
	body := `{"big":"` + strings.Repeat("x", 1<<20) + `"}`
	code, _, answer := e.do(t, http.MethodPost, "/kept", body, map[string]string{"Content-Type": "application/json", "X-Kept": "yes"})
	if code != 200 {
		t.Fatalf("status %d: %.200s", code, answer)
	}
	method, headers, input := keptValues(t)
	// A few more requests, so that what the server holds of its last
	// request (the history's last batch) is of another.
	for range 3 {
		if code, _, answer := e.do(t, http.MethodPost, "/kept", `{"a":1}`, map[string]string{"Content-Type": "application/json"}); code != 200 {
			t.Fatalf("status %d: %.200s", code, answer)
		}
		receive(t, "h3-kept")
		if err := e.srv.History().Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
	if input.Value() != nil {
		t.Errorf("the request's message (a 1 MiB body) is still alive while only metadata values are kept")
	}
	if s, _ := method.(string); s != http.MethodPost {
		t.Errorf("the kept method reads %#v", method)
	}
	if v, _ := headers.Get("x-kept"); v != "yes" {
		t.Errorf("the kept headers read %s", value.MustEncodeString(headers))
	}
}

// keptValues receives what the kept pipeline handed over and returns the
// metadata values the test keeps, and a weak pointer to the message.
func keptValues(t *testing.T) (method any, headers *value.Object, input weak.Pointer[value.Object]) {
	o := receive(t, "h3-kept")
	m, _ := o.Get("message")
	in, ok := m.(*value.Object)
	if !ok {
		t.Fatalf("the message is %T", m)
	}
	md, _ := o.Get("metadata")
	rv, _ := md.(*value.Object).Get("request")
	req := rv.(*value.Object)
	method, _ = req.Get("method")
	hv, _ := req.Get("headers")
	return method, hv.(*value.Object), weak.Make(in)
}
