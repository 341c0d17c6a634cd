package http_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/internal/servertest"
)

// TestRequestMetadataKeysOnce sends a request with a path parameter, a
// query, headers and a JSON body, and checks metadata.request as the
// pipeline sees it: each key once, in its order, with the request's
// values (requestMetadata adds its keys without Set's search).
func TestRequestMetadataKeysOnce(t *testing.T) {
	e := servertest.Start(t, map[string]string{"meta.yaml": `
name: meta
trigger:
  http: {path: "/meta/{id}", methods: [POST]}
steps:
  - set: {req: "{{ metadata.request }}"}
`}, nil)
	code, _, body := e.Do(t, http.MethodPost, "/meta/42?a=1&a=2&b=x", `{"k":"v"}`,
		map[string]string{"Content-Type": "application/json", "X-Trace": "t1", "Accept": "text/plain"})
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	v, err := value.DecodeString(body)
	if err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	out, _ := v.(*value.Object)
	r, _ := out.Get("req")
	req, ok := r.(*value.Object)
	if !ok {
		t.Fatalf("no metadata.request object in %s", body)
	}
	want := []string{"method", "host", "path", "params", "query", "headers", "content_type", "remote_addr"}
	if got := req.Keys(); !slices.Equal(got, want) {
		t.Fatalf("metadata.request keys %q, want %q (%s)", got, want, body)
	}
	str := func(k string) string { s, _ := req.Get(k); x, _ := s.(string); return x }
	if str("method") != "POST" || str("path") != "/meta/42" || str("content_type") != "application/json" ||
		str("host") == "" || str("remote_addr") == "" {
		t.Errorf("metadata.request %s", body)
	}
	enc := func(k string) string { x, _ := req.Get(k); return value.MustEncodeString(x) }
	if got := enc("params"); got != `{"id":"42"}` {
		t.Errorf("params %s", got)
	}
	if got := enc("query"); got != `{"a":["1","2"],"b":"x"}` {
		t.Errorf("query %s", got)
	}
	h, _ := req.Get("headers")
	hdr, _ := h.(*value.Object)
	if hdr == nil || !slices.IsSorted(hdr.Keys()) {
		t.Fatalf("headers %s", enc("headers"))
	}
	for k, want := range map[string]string{"accept": "text/plain", "content-type": "application/json", "x-trace": "t1"} {
		if got, _ := hdr.Get(k); got != want {
			t.Errorf("headers.%s = %v, want %q (%s)", k, got, want, enc("headers"))
		}
	}
}
