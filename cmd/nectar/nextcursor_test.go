package main

import (
	"net/http"
	"testing"
)

// TestNextCursor reads the next page's cursor from Link headers written as
// RFC 8288 allows, not only as nectar serve writes them: a proxy in front
// of the server may rewrite the header (unquoted rel, several relation
// types, other links, other case); a link that is not next gives nothing.
func TestNextCursor(t *testing.T) {
	for _, c := range []struct{ link, want string }{
		{`</api/executions?cursor=abc&limit=5>; rel="next"`, "abc"},
		{`</api/executions?cursor=abc>; rel=next`, "abc"},
		{`</api/executions?cursor=abc>; REL="Next"`, "abc"},
		{`</api/executions?cursor=abc>; rel="next last"`, "abc"},
		{`</api/executions?cursor=p>; rel="prev", </api/executions?cursor=n>; rel="next"`, "n"},
		{`</api/executions?cursor=abc>; title="next"; rel=last`, ""},
		{`</api/executions?cursor=abc>; rel="nextpage"`, ""},
		{`</api/executions?cursor=abc>`, ""},
		{``, ""},
	} {
		h := http.Header{}
		if c.link != "" {
			h.Set("Link", c.link)
		}
		if got := nextCursor(h); got != c.want {
			t.Errorf("Link %s: cursor %q, want %q", c.link, got, c.want)
		}
	}
}
