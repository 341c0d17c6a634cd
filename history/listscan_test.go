package history_test

import (
	"context"
	"testing"
	"time"

	"github.com/nectar-run/nectar/history"
)

// TestListScanAndSince records 300 executions in segments of 30, every
// tenth on trigger "event": Since stops at the start time asked for,
// and a scan bound returns the matches among the records read, and where
// to go on (the next page's cursor), until the pages together hold every
// match once.
func TestListScanAndSince(t *testing.T) {
	st := tempStore(t)
	ctx := context.Background()
	r, err := history.New(ctx, st, history.Options{MaxRecords: 1000})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour)
	var ids []string
	for i := range 300 {
		at := start.Add(time.Duration(i) * time.Second)
		trigger := "http"
		if i%10 == 0 {
			trigger = "event"
		}
		id := history.NewID(at)
		ids = append(ids, id)
		r.Record(&history.Execution{ID: id, Trigger: trigger, Start: at, End: at.Add(time.Millisecond)})
		if i%30 == 29 {
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := r.Size(); got != 300 {
		t.Fatalf("Size %d, want 300", got)
	}

	// Since: the records started at or after the 250th.
	recs, err := history.List(ctx, st, history.Filter{Since: history.IDPrefix(start.Add(250 * time.Second)), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 50 || recs[0].ID != ids[299] || recs[49].ID != ids[250] {
		t.Fatalf("since the 250th: %d records", len(recs))
	}

	// Scan 40 at a time for the 30 event records: each page holds the
	// matches among 40 records and says where to resume.
	var found []string
	cursor, pages := "", 0
	for {
		recs, next, err := history.ListScan(ctx, st, history.Filter{Trigger: "event", Cursor: cursor, Limit: 50}, 40)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(recs) > 4 {
			t.Fatalf("page %d: %d matches among 40 records", pages, len(recs))
		}
		for _, rec := range recs {
			found = append(found, rec.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(found) != 30 || pages != 8 {
		t.Fatalf("%d matches in %d pages, want 30 in 8", len(found), pages)
	}
	for i, id := range found {
		if id != ids[290-10*i] {
			t.Fatalf("match %d is %s, want %s", i, id, ids[290-10*i])
		}
	}
}
