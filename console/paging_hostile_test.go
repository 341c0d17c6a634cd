package console_test

import (
	"context"
	"html"
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/history"
)

// TestExecutionsPagingHostileFilters: the executions page's "Older
// executions" link carries the page's filters; a pipeline name and other
// values holding markup, quotes, & # % + and non-ASCII text are escaped in
// the page (no markup of theirs reaches it) and come back whole when the
// link is followed, so the next page lists the same filter's executions.
func TestExecutionsPagingHostileFilters(t *testing.T) {
	e := startConsole(t)
	c, _ := signIn(t, e)
	ctx := context.Background()
	name := `"><script>alert(1)</script>&trigger=x#y %41+ü'`
	start := time.Now().Add(-time.Hour)
	var want []string
	for i := range 70 {
		at := start.Add(time.Duration(i) * time.Second)
		id := history.NewID(at)
		want = append(want, id)
		e.srv.History().Record(&history.Execution{ID: id, Pipeline: &engine.Pipeline{Name: name}, Trigger: "http", Start: at, End: at})
		// and one of another pipeline, not to be listed
		other := history.NewID(at)
		e.srv.History().Record(&history.Execution{ID: other, Pipeline: &engine.Pipeline{Name: "orders"}, Trigger: "http", Start: at, End: at})
	}
	if err := e.srv.History().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`<tr id="exec-([0-9a-f]+)"`)
	older := regexp.MustCompile(`<a href="([^"]+)" rel="next" id="older">`)
	q := url.Values{"pipeline": {name}, "x": {`<img src=x onerror=alert(2)>`}}
	path := "/console/executions?" + q.Encode()
	var got []string
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		resp, err := c.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		if strings.Contains(string(body), "<script>alert") || strings.Contains(string(body), "<img src=x") {
			t.Fatalf("GET %s: the filter's markup is in the page", path)
		}
		for _, m := range row.FindAllSubmatch(body, -1) {
			got = append(got, string(m[1]))
		}
		path = ""
		if m := older.FindSubmatch(body); m != nil {
			u, err := url.Parse(html.UnescapeString(string(m[1])))
			if err != nil {
				t.Fatal(err)
			}
			if lq := u.Query(); lq.Get("pipeline") != name || lq.Get("x") != q.Get("x") || lq.Get("cursor") == "" {
				t.Fatalf("Older link %q: query %v", m[1], lq)
			}
			path = u.RequestURI()
			path = path[strings.Index(path, "/console/"):]
		}
	}
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Fatalf("%s listed %d times (%d listed)", id, seen[id], len(got))
		}
		delete(seen, id)
	}
	if len(seen) > 0 {
		t.Fatalf("%d executions of other pipelines listed", len(seen))
	}
}
