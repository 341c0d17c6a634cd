package http_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/nectar-run/nectar/internal/servertest"
)

// TestTriggerHeaders: the headers option is on every answer by its
// canonical name, whatever its spelling in the YAML, on the pipeline's
// answer, its error and the trigger's own refusals; a respond step that
// sets one of them wins for its answer only: the next answer has the
// option's value again (the option's value slices are shared by every
// answer and must never be written through).
func TestTriggerHeaders(t *testing.T) {
	e := servertest.Start(t, map[string]string{"h.yaml": `
name: h
trigger:
  http:
    path: /h
    methods: [POST]
    max_body: 16B
    headers: {cache-control: no-store, Pragma: no-cache, x-custom-thing: "a, b"}
steps:
  - if: message.own == true
    respond: {status: 201, headers: {Cache-Control: private, X-Custom-Thing: mine}}
  - if: message.fail == true
    throw: {status: 422, error: no}
`}, nil)
	want := map[string][]string{"Cache-Control": {"no-store"}, "Pragma": {"no-cache"}, "X-Custom-Thing": {"a, b"}}
	check := func(name string, hdr http.Header, over map[string][]string) {
		t.Helper()
		for k, v := range want {
			if o, ok := over[k]; ok {
				v = o
			}
			if got := hdr.Values(k); !slices.Equal(got, v) {
				t.Errorf("%s: %s = %q, want %q", name, k, got, v)
			}
		}
		for k := range hdr {
			if k != http.CanonicalHeaderKey(k) {
				t.Errorf("%s: header %q sent by a non-canonical name", name, k)
			}
		}
	}
	for range 2 {
		code, hdr, body := e.Do(t, http.MethodPost, "/h", `{}`, map[string]string{"Content-Type": "application/json"})
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		check("answer", hdr, nil)
		code, hdr, body = e.Do(t, http.MethodPost, "/h", `{"own":true}`, map[string]string{"Content-Type": "application/json"})
		if code != http.StatusCreated {
			t.Fatalf("respond: status %d: %s", code, body)
		}
		check("respond", hdr, map[string][]string{"Cache-Control": {"private"}, "X-Custom-Thing": {"mine"}})
		code, hdr, _ = e.Do(t, http.MethodPost, "/h", `{"fail":true}`, map[string]string{"Content-Type": "application/json"})
		if code != 422 {
			t.Fatalf("throw: status %d", code)
		}
		check("error", hdr, nil)
		code, hdr, _ = e.Do(t, http.MethodPost, "/h", `{"far":"too long for 16 bytes"}`, map[string]string{"Content-Type": "application/json"})
		if code != http.StatusRequestEntityTooLarge {
			t.Fatalf("too large: status %d", code)
		}
		check("refusal", hdr, nil)
	}
}
