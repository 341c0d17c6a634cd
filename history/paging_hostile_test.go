package history_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/idtest"
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
				idtest.ExactlyOnce(t, fmt.Sprintf("since, limit %d, scan %d", limit, scan), got, want)
			}
		}
	})
}

// TestPagingWhileTrimming: a small history (MaxRecords 40) trims its
// oldest segments while a listing pages down through them, the cursor's
// own segment included: paging ends, lists no record twice, and lists
// every record that outlived the paging.
func TestPagingWhileTrimming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := tempStore(t)
		ctx := context.Background()
		r := newRecorder(t, st, history.Options{MaxRecords: 40})
		defer r.Close(ctx)
		start := time.Now().Add(-time.Hour)
		n := 0
		write := func(k int) {
			for range k {
				at := start.Add(time.Duration(n) * time.Second)
				n++
				r.Record(&history.Execution{ID: history.NewID(at), Trigger: "http", Start: at, End: at})
			}
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for range 8 {
			write(5)
		}
		initial, err := history.List(ctx, st, history.Filter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, limit := range []int{1, 3} {
			seen := map[string]int{}
			f := history.Filter{Limit: limit}
			for pages := 0; ; pages++ {
				if pages > 1000 {
					t.Fatalf("limit %d: paging does not end", limit)
				}
				recs, next, err := history.ListScan(ctx, st, f, 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, rec := range recs {
					if seen[rec.ID]++; seen[rec.ID] > 1 {
						t.Fatalf("limit %d: %s listed twice", limit, rec.ID)
					}
				}
				if next == "" {
					break
				}
				f.Cursor = next
				write(5) // trims the oldest segments
			}
			left, err := history.List(ctx, st, history.Filter{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			still := map[string]bool{}
			for _, rec := range left {
				still[rec.ID] = true
			}
			trimmed := 0
			for _, rec := range initial {
				if !still[rec.ID] {
					trimmed++
				} else if seen[rec.ID] != 1 {
					t.Fatalf("limit %d: %s, stored throughout, listed %d times", limit, rec.ID, seen[rec.ID])
				}
			}
			if trimmed == 0 {
				t.Fatalf("limit %d: nothing trimmed while paging", limit)
			}
			initial = left
		}
	})
}

// TestPagingPostgresSameAsBolt: the same stored history (overlapping
// segments, a segment that cannot be read, one with a record that cannot
// be read, a late segment far below Since) in bbolt and in PostgreSQL
// answers every page the same: the same records and the same next
// cursor, with filters, Since, Before and scan bounds.
func TestPagingPostgresSameAsBolt(t *testing.T) {
	_, pg := pgCluster(t)
	bolt := tempStore(t)
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	var ids []string
	synctest.Test(t, func(t *testing.T) { ids = overlappingHistory(t, bolt, start, 30) })
	bad := history.NewID(start.Add(550 * time.Second))
	a, c := history.NewID(start.Add(1250*time.Second)), history.NewID(start.Add(1260*time.Second))
	text := `{"records":[{"id":"` + a + `","status":"ok"},{"id":5},{"id":"` + c + `","status":"ok"}],"steps":[]}`
	late := history.NewID(start.Add(-2 * time.Hour))
	lateSeg := `{"records":[{"id":"` + late + `","status":"ok","trigger":"http"},{"id":"` + ids[290] + `x","status":"ok","trigger":"http"}],"steps":[]}`
	ops := []store.Op{
		store.PutOp(history.Bucket, bad+":4", []byte("\x01garbage")), store.PutOp(history.IndexBucket, bad+":4", nil),
		store.PutOp(history.Bucket, a+":3", []byte(text)), store.PutOp(history.IndexBucket, a+":3", []byte(a+"\n"+c+"\n")),
		store.PutOp(history.Bucket, late+":2", []byte(lateSeg)), store.PutOp(history.IndexBucket, late+":2", []byte(late+"\n"+ids[290]+"x\n")),
	}
	if err := bolt.Apply(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	copyHistory(t, bolt, pg)
	for _, f := range []history.Filter{{}, {Trigger: "event"}, {Since: ids[200]}, {Since: ids[200], Status: "failed"}, {Before: ids[150]}, {Since: ids[100], Before: ids[250], Trigger: "http"}} {
		for _, limit := range []int{2, 50} {
			for _, scan := range []int{0, 1, 5} {
				fb, fp := f, f
				fb.Limit, fp.Limit = limit, limit
				for pages := 0; ; pages++ {
					if pages > 2000 {
						t.Fatalf("%+v scan %d: paging does not end", f, scan)
					}
					rb, nb, errb := history.ListScan(ctx, bolt, fb, scan)
					rp, np, errp := history.ListScan(ctx, pg, fp, scan)
					if errb != nil || errp != nil {
						t.Fatalf("%+v scan %d: %v / %v", fb, scan, errb, errp)
					}
					if gb, gp := fmt.Sprint(keys(rb), nb), fmt.Sprint(keys(rp), np); gb != gp {
						t.Fatalf("%+v scan %d, page %d:\nbbolt %s\npostgres %s", fb, scan, pages, gb, gp)
					}
					if nb == "" {
						break
					}
					fb.Cursor, fp.Cursor = nb, np
				}
			}
		}
	}
}

// TestCursorForged: strings that are not cursors are refused with
// ErrCursor (not base64url, longer than 256 characters, no segment key,
// a position out of range, a path); a well-formed cursor naming a place
// where no segment is stored (as one whose segment was trimmed) is a
// place, not an error: the listing goes on with the segments below it.
func TestCursorForged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := tempStore(t)
		ctx := context.Background()
		ids := overlappingHistory(t, st, time.Now().Add(-24*time.Hour), 5)
		all, err := history.List(ctx, st, history.Filter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
		for _, bad := range []string{"nope!", "%00", enc("../x/1"), enc("/3"), enc(ids[0] + ":3/-2"), enc(ids[0] + ":3/4"),
			enc(ids[0] + ":3/99999999999999999999"), enc(ids[0] + ":0/0"), enc(ids[0] + ":3"), enc(ids[0] + "\n:3/1"),
			base64.StdEncoding.EncodeToString([]byte(ids[0] + ":3/1")), enc(strings.Repeat("a", 190) + ":3/1")} {
			if _, _, err := history.ListScan(ctx, st, history.Filter{Cursor: bad}, 0); !errors.Is(err, history.ErrCursor) {
				t.Errorf("cursor %q: %v, want ErrCursor", bad, err)
			}
		}
		// A place between segments (just below the middle one's key):
		// the listing goes on with the segments below it, as from a cursor
		// whose segment was trimmed.
		segs, err := st.List(ctx, history.Bucket, store.ListOptions{})
		if err != nil || len(segs) != 5 {
			t.Fatal(len(segs), err)
		}
		id, _, _ := strings.Cut(segs[2].Key, ":")
		got, next, err := history.ListScan(ctx, st, history.Filter{Cursor: enc(id + "0:1/1"), Limit: 1000}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(keys(got), keys(all[30:])) || next != "" {
			t.Fatalf("a cursor between segments listed %d records (next %q), want the last 20 of the listing", len(got), next)
		}
	})
}
