package console_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/idtest"
)

// TestExecutionsPaging: 30 writes of 10 executions, each holding one that
// ran long (started 5 writes earlier), so the history's segments overlap in
// start time. Following the executions page's "Older executions" link from
// the first page lists every execution exactly once, filtered or not, and a
// cursor no page gave is refused with a 400. (The link used to carry
// before=<the last id>, which skipped the executions of segments not read
// yet.)
func TestExecutionsPaging(t *testing.T) {
	e := startConsole(t)
	c, _ := signIn(t, e)
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	var all, failed []string
	for b := range 30 {
		for i := range 10 {
			at := start.Add(time.Duration(10*b+i) * time.Second)
			if i == 9 {
				at = start.Add(time.Duration(10*(b-5)) * time.Second)
			}
			id := history.NewID(at)
			ex := &history.Execution{ID: id, Trigger: "http", Start: at, End: at}
			if i%3 == 0 {
				ex.Trigger = "event"
				failed = append(failed, id)
			}
			all = append(all, id)
			e.srv.History().Record(ex)
		}
		if err := e.srv.History().Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	row := regexp.MustCompile(`<tr id="exec-([0-9a-f]+)"`)
	older := regexp.MustCompile(`<a href="([^"]+)" rel="next" id="older">`)
	for _, c2 := range []struct {
		query string
		want  []string
	}{{"", all}, {"?trigger=event", failed}} {
		var got []string
		path := "/console/executions" + c2.query
		for pages := 0; path != ""; pages++ {
			if pages > 50 {
				t.Fatalf("%s: paging does not end", c2.query)
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
			for _, m := range row.FindAllSubmatch(body, -1) {
				got = append(got, string(m[1]))
			}
			path = ""
			if m := older.FindSubmatch(body); m != nil {
				path = strings.TrimPrefix(html.UnescapeString(string(m[1])), e.url)
			}
		}
		idtest.ExactlyOnce(t, fmt.Sprintf("%q", c2.query), got, c2.want)
	}
	resp, err := c.Get(e.url + "/console/executions?cursor=nope")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "cursor: not one an executions page gave"; resp.StatusCode != 400 || !strings.Contains(string(body), want) {
		t.Errorf("a bad cursor: %d, lacks %q", resp.StatusCode, fmt.Sprint(want))
	}
}
