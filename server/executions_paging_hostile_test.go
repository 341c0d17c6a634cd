package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestExecutionsAPIHostileQuery: the Link of GET /api/executions carries
// the query it was asked with; values holding >, ;, ", a comma, a line
// break and non-ASCII text stay inside one link target that a standard
// reading (RFC 8288: <target>; rel="next") finds whole, and give the same
// values back. Malformed limit, since and cursor values are refused.
func TestExecutionsAPIHostileQuery(t *testing.T) {
	e := start(t, map[string]string{"fast.yaml": `name: fast
trigger:
  http: {path: /fast}
steps:
  - set: {fields: {ok: true}}
`}, nil)
	for range 3 {
		if code, _, body := e.do(t, "POST", "/fast", `{}`, nil); code != 200 {
			t.Fatalf("POST /fast: %d %s", code, body)
		}
	}
	if err := e.srv.History().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	admin := map[string]string{"Authorization": "Bearer admin-key"}
	// before sorts above every id (so all three are listed); x is a
	// parameter the API does not know.
	hostile := "~z>\"; rel=\"prev\", <http://evil.example/>;\r\nX-Injected: 1 ü\u2028"
	q := url.Values{"before": {hostile}, "x": {hostile}, "limit": {"1"}}
	code, hdr, body := e.do(t, "GET", "/api/executions?"+q.Encode(), "", admin)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if hdr.Get("X-Injected") != "" || len(hdr.Values("Link")) != 1 {
		t.Fatalf("headers %v", hdr)
	}
	link := hdr.Get("Link")
	if strings.Count(link, "<") != 1 || strings.Count(link, ">") != 1 || !strings.HasPrefix(link, "<") || !strings.HasSuffix(link, `>; rel="next"`) {
		t.Fatalf("Link %q", link)
	}
	target := strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
	if strings.ContainsAny(target, "<>\";, \r\n\u2028") {
		t.Fatalf("Link target %q holds a character a Link parser splits on", target)
	}
	u, err := url.Parse(target)
	if err != nil || u.Host != "" || u.Path != "/api/executions" {
		t.Fatalf("Link target %q: %v", target, err)
	}
	got := u.Query()
	if got.Get("before") != hostile || got.Get("x") != hostile || got.Get("limit") != "1" || got.Get("cursor") == "" {
		t.Fatalf("Link query %v", got)
	}
	// limit: not a number, or below 1, is refused with a 400 saying so
	// (it used to be read as 50 without a word); above 1000 is 1000, the
	// largest page.
	for _, c := range []struct {
		limit string
		code  int
		want  string
	}{{"0", 400, ""}, {"-1", 400, ""}, {"abc", 400, ""}, {"", 400, ""}, {"1.5", 400, ""}, {"1001", 200, "3"}, {"2", 200, "2"}} {
		code, _, body := e.do(t, "GET", "/api/executions?limit="+c.limit, "", admin)
		if code != c.code {
			t.Errorf("limit=%s: %d, want %d: %s", c.limit, code, c.code, body)
			continue
		}
		if code == 400 {
			if !strings.Contains(body, `"error":"limit: `) {
				t.Errorf("limit=%s: the 400 does not say limit: %s", c.limit, body)
			}
		} else if n := strings.Count(body, `"id":`); fmt.Sprint(n) != c.want {
			t.Errorf("limit=%s: %d records, want %s: %s", c.limit, n, c.want, body)
		}
	}
	for _, c := range []struct{ query, want string }{
		{"since=yesterday", `"error":"since: \"yesterday\" is not an RFC 3339 time`},
		{"since=2026-12-07T04:00:00+01:00", `"error":"since: \"2026-12-07T04:00:00 01:00\"`}, // + is a space in a query
		{"cursor=" + strings.Repeat("A", 257), `"error":"cursor: `},
		{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("../x/1")), `"error":"cursor: `},
		{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("00dc65b0c7430477cddf8c8c:3/-2")), `"error":"cursor: `},
		{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("00dc65b0c7430477cddf8c8c:3/4")), `"error":"cursor: `},
		{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("00dc65b0c7430477cddf8c8c:3/99999999999999999999")), `"error":"cursor: `},
		{"cursor=" + base64.StdEncoding.EncodeToString([]byte("00dc65b0c7430477cddf8c8c:3/1")), `"error":"cursor: `},
	} {
		code, _, body := e.do(t, "GET", "/api/executions?"+c.query, "", admin)
		if code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s", c.query, code, body)
		}
	}
}
