package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/idtest"
	"github.com/nectar-run/nectar/internal/servertest"
)

// TestExecutionsAPIPaging: executions that run long end after others
// started later, so the history's segments (the records of one write each)
// overlap in start time. GET /api/executions, followed page by page through
// its Link rel="next" at limits 1, 2, 3, 7 and 50, lists every execution
// exactly once, with and without a filter. (Paging by before=<the last id
// of a page>, the way before, skipped the executions that had started after
// it but were stored in segments not read yet.)
func TestExecutionsAPIPaging(t *testing.T) {
	files := map[string]string{"fast.yaml": `name: fast
trigger:
  http: {path: /fast}
steps:
  - set: {fields: {ok: true}}
`}
	const slow = 3
	for i := range slow {
		files[fmt.Sprintf("slow%d.yaml", i)] = fmt.Sprintf(`name: slow%d
trigger:
  http: {path: /slow%d}
steps:
  - test-hold: {name: paging-slow-%d}
`, i, i, i)
	}
	e := start(t, files, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	defer wg.Wait()
	latches := make([]*servertest.Latch, slow)
	for i := range slow {
		latches[i] = servertest.Hold(t, fmt.Sprintf("paging-slow-%d", i))
		wg.Go(func() { e.do(t, "POST", fmt.Sprintf("/slow%d", i), `{}`, nil) })
		<-latches[i].Started
	}
	fast := func(n int) {
		for range n {
			if code, _, body := e.do(t, "POST", "/fast", `{}`, nil); code != 200 {
				t.Fatalf("POST /fast: %d %s", code, body)
			}
		}
		if err := e.srv.History().Flush(ctx); err != nil { // one segment
			t.Fatal(err)
		}
	}
	fast(6)
	for i := range slow {
		fast(5)
		close(latches[i].Release) // it ends, stored with the next ones
		fast(4)
	}
	wg.Wait()
	if err := e.srv.History().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := history.List(ctx, e.st, history.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6+9*slow+slow {
		t.Fatalf("%d executions recorded, want %d", len(all), 6+9*slow+slow)
	}
	admin := map[string]string{"Authorization": "Bearer admin-key"}
	for _, query := range []string{"", "pipeline=fast&", "pipeline=slow1&"} {
		var want []string
		for _, rec := range all {
			if query == "" || strings.Contains(query, "="+rec.Pipeline+"&") {
				want = append(want, rec.ID)
			}
		}
		for _, limit := range []int{1, 2, 3, 7, 50} {
			var got []string
			path := fmt.Sprintf("/api/executions?%slimit=%d", query, limit)
			for pages := 0; path != ""; pages++ {
				if pages > 100 {
					t.Fatalf("%s: paging does not end", query)
				}
				code, hdr, body := e.do(t, "GET", path, "", admin)
				if code != 200 {
					t.Fatalf("GET %s: %d %s", path, code, body)
				}
				var recs []*history.Record
				if err := json.Unmarshal([]byte(body), &recs); err != nil {
					t.Fatalf("GET %s: %v: %s", path, err, body)
				}
				for _, rec := range recs {
					got = append(got, rec.ID)
				}
				path = nextLink(t, hdr.Values("Link"))
				if path == "" && len(recs) == limit && hdr.Get("Link") == "" {
					// No next link: page as a client did before, by the
					// last id listed.
					path = fmt.Sprintf("/api/executions?%slimit=%d&before=%s", query, limit, recs[len(recs)-1].ID)
				}
			}
			idtest.ExactlyOnce(t, fmt.Sprintf("%slimit=%d", query, limit), got, want)
		}
	}
	// A cursor that no page gave: 400, saying so.
	for _, bad := range []string{"nope", "MDBkYzY1YzY0ZGUwOTEwZDY2YzM4NGQxOjEwLzk5", "%00"} {
		code, _, body := e.do(t, "GET", "/api/executions?cursor="+bad, "", admin)
		if code != 400 || !strings.Contains(body, `"error":"cursor: not one a page of GET /api/executions gave`) {
			t.Errorf("cursor %q: %d %s", bad, code, body)
		}
	}
}

// nextLink returns the path of a Link rel="next" ("" for none).
func nextLink(t *testing.T, links []string) string {
	t.Helper()
	for _, l := range links {
		target, params, _ := strings.Cut(l, ";")
		if strings.TrimSpace(params) != `rel="next"` {
			t.Fatalf("Link %q", l)
		}
		u, err := url.Parse(strings.Trim(target, "<>"))
		if err != nil || u.Host != "" || u.Path != "/api/executions" {
			t.Fatalf("Link %q: %v", l, err)
		}
		return u.RequestURI()
	}
	return ""
}
