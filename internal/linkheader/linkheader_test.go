package linkheader_test

import (
	"net/url"
	"testing"

	"github.com/nectar-run/nectar/internal/linkheader"
)

// TestNext reads Link headers as RFC 8288 allows them to be written, and
// resolves the target against the answer's URL.
func TestNext(t *testing.T) {
	base, _ := url.Parse("https://api.example/v1/items?page=1")
	for _, c := range []struct {
		links []string
		want  string
	}{
		{[]string{`<https://api.example/v1/items?page=2>; rel="next"`}, "https://api.example/v1/items?page=2"},
		{[]string{`</v1/items?page=2>; rel=next`}, "https://api.example/v1/items?page=2"},
		{[]string{`<?page=2>; REL="Next"`}, "https://api.example/v1/items?page=2"},
		{[]string{`<?page=9>; rel="last next"`}, "https://api.example/v1/items?page=9"},
		{[]string{`<?page=0>; rel="prev", <?page=2>; rel="next"`}, "https://api.example/v1/items?page=2"},
		{[]string{`<?page=0>; rel="prev"`, `<?page=2>; rel="next"`}, "https://api.example/v1/items?page=2"},
		{[]string{`<?page=2>; title="next"; rel=last`}, ""},
		{[]string{`<?page=2>; rel="nextpage"`}, ""},
		{[]string{`?page=2; rel="next"`}, ""},
		{[]string{`<?page=2`}, ""},
		{nil, ""},
	} {
		got := ""
		if u := linkheader.Next(base, c.links); u != nil {
			got = u.String()
		}
		if got != c.want {
			t.Errorf("Next(%q) = %q, want %q", c.links, got, c.want)
		}
	}
}
