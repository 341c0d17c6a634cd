package console_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/history"
)

// TestExecutionsPagingHostileFiltersInBrowser is
// TestExecutionsPagingHostileFilters as a browser reads the page: the
// filter's markup runs nothing (an onerror handler would retitle the
// page), and clicking "Older executions" leads to the same filter's next
// page, whose location holds the hostile values whole.
func TestExecutionsPagingHostileFiltersInBrowser(t *testing.T) {
	b := browser(t)
	e := startConsole(t)
	ctx := context.Background()
	name := `"><img src=x onerror="document.title='pwned-1'">&trigger=x#y %41+ü'`
	other := `<img src=x onerror="document.title='pwned-2'">`
	start := time.Now().Add(-time.Hour)
	for i := range 70 {
		at := start.Add(time.Duration(i) * time.Second)
		e.srv.History().Record(&history.Execution{ID: history.NewID(at), Pipeline: &engine.Pipeline{Name: name}, Trigger: "http", Start: at, End: at})
	}
	if err := e.srv.History().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	base := e.url + "/console"
	do(t, b, "sign in",
		chromedp.Navigate(base+"/pipelines"),
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), adminKey+"\r"),
		chromedp.WaitVisible(chromedp.ID("pipelines")))
	q := url.Values{"pipeline": {name}, "x": {other}}
	do(t, b, "the first page", chromedp.Navigate(base+"/executions?"+q.Encode()), chromedp.WaitVisible(chromedp.ID("older")))
	rows := get(t, b, "count rows", chromedp.Evaluate[int](`document.querySelectorAll("tr[id^=exec-]").length`))
	if title := get(t, b, "title", chromedp.Title()); strings.Contains(title, "pwned") {
		t.Fatalf("a filter's markup ran on the first page: title %q", title)
	}
	do(t, b, "click Older executions", chromedp.Click(chromedp.ID("older")), chromedp.WaitNotPresent(chromedp.ID("older")))
	rows += get(t, b, "count rows", chromedp.Evaluate[int](`document.querySelectorAll("tr[id^=exec-]").length`))
	loc := get(t, b, "location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Query(); got.Get("pipeline") != name || got.Get("x") != other || got.Get("cursor") == "" {
		t.Fatalf("the Older link led to %s: %v", loc, got)
	}
	if title := get(t, b, "title", chromedp.Title()); strings.Contains(title, "pwned") {
		t.Fatalf("a filter's markup ran: title %q", title)
	}
	if rows != 70 {
		t.Fatalf("%d rows over two pages, want 70", rows)
	}
}
