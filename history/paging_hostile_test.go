package history_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/store"
)

// pageBounded is pageAll failing, rather than looping, when a page gives
// the cursor it was asked with (no progress) or paging takes more than
// maxPages pages.
func pageBounded(t *testing.T, st store.Store, f history.Filter, scan, maxPages int) []string {
	t.Helper()
	var got []string
	for pages := 0; ; pages++ {
		if pages > maxPages {
			t.Fatalf("%+v scan %d: paging does not end after %d pages (%d listed)", f, scan, maxPages, len(got))
		}
		recs, next, err := history.ListScan(context.Background(), st, f, scan)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			got = append(got, rec.ID)
		}
		if next == "" {
			return got
		}
		if next == f.Cursor {
			t.Fatalf("%+v scan %d: a page gave back its own cursor (page %d, %d listed)", f, scan, pages, len(got))
		}
		f.Cursor = next
	}
}

// TestPagingScanBoundBelowSince: below Since a listing reads index
// entries, and a scan bound stopping on an entry passed over gives a
// cursor to it. The next page must go on below it: it counted that entry
// again, so at a scan bound of 1 every page gave back its own cursor and
// paging never ended.
func TestPagingScanBoundBelowSince(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := tempStore(t)
		ids := overlappingHistory(t, st, time.Now().Add(-24*time.Hour), 40)
		var want []string
		for _, id := range ids {
			if id >= ids[300] {
				want = append(want, id)
			}
		}
		for _, scan := range []int{1, 2, 3} {
			for _, limit := range []int{1, 50} {
				got := pageBounded(t, st, history.Filter{Since: ids[300], Limit: limit}, scan, 4*len(ids))
				exactlyOnce(t, fmt.Sprintf("since, limit %d, scan %d", limit, scan), got, want)
			}
		}
	})
}
