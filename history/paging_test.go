package history_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/idtest"
	"github.com/nectar-run/nectar/store"
)

// overlappingHistory records n batches of 10 executions, one segment a
// batch (in a synctest bubble), as a server under load writes them: each
// batch holds nine executions started within the second it ended and one
// that ran long, started ten batches earlier (ended with this batch). So
// every segment's id range overlaps those of the segments written before
// it, and a segment's key (its oldest id) is older than the keys of
// segments written earlier. It returns every id written, by the status
// and trigger they were given.
func overlappingHistory(t *testing.T, st store.Store, start time.Time, n int) []string {
	t.Helper()
	ctx := context.Background()
	r := newRecorder(t, st, history.Options{MaxRecords: 100000})
	defer r.Close(ctx)
	var ids []string
	for b := range n {
		for i := range 10 {
			at := start.Add(time.Duration(100*b+i) * time.Second)
			if i == 9 {
				at = start.Add(time.Duration(100*(b-10)) * time.Second) // the long one
			}
			id := history.NewID(at)
			ids = append(ids, id)
			e := &history.Execution{ID: id, Trigger: []string{"http", "event", "schedule"}[len(ids)%3], Start: at, End: at.Add(time.Millisecond)}
			if len(ids)%4 == 0 {
				e.Err = engine.NewError(500, "failed %d", len(ids))
			}
			r.Record(e)
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// pageAll lists f page by page, limit records a page, following the next
// page mechanism until a page says there is none, and returns the ids in
// the order listed.
func pageAll(t *testing.T, st store.Store, f history.Filter, scan int) []string {
	t.Helper()
	var got []string
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatalf("paging does not end")
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
		f.Cursor = next
	}
}

// TestPagingOverlappingSegments is the reproduction of the paging bug:
// 60 segments whose id ranges overlap (a long execution ending in each),
// paged at limits 1, 2, 3, 7 and 50, with and without filters and a scan
// bound: every record is listed exactly once. Paging by the last id of a
// page (before=<id>) skipped the records of segments not yet read that are
// newer than that id, and repeated none only by luck.
func TestPagingOverlappingSegments(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := tempStore(t)
		ids := overlappingHistory(t, st, time.Now().Add(-24*time.Hour), 60)
		all, err := history.List(context.Background(), st, history.Filter{Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		recs := map[string]*history.Record{}
		for _, rec := range all {
			recs[rec.ID] = rec
		}
		idtest.ExactlyOnce(t, "one page", keys(all), ids)
		for _, f := range []history.Filter{{}, {Trigger: "event"}, {Status: "failed"}, {Pipeline: "none"},
			{Since: ids[300]}, {Before: ids[400]}, {Since: ids[200], Before: ids[500], Trigger: "http"}} {
			var want []string
			for _, id := range ids {
				rec := recs[id]
				if f.Trigger != "" && rec.Trigger != f.Trigger || f.Status != "" && rec.Status != f.Status ||
					f.Pipeline != "" && rec.Pipeline != f.Pipeline || f.Since != "" && id < f.Since || f.Before != "" && id >= f.Before {
					continue
				}
				want = append(want, id)
			}
			for _, limit := range []int{1, 2, 3, 7, 50} {
				for _, scan := range []int{0, 5} {
					f.Limit = limit
					idtest.ExactlyOnce(t, fmt.Sprintf("%+v scan %d", f, scan), pageAll(t, st, f, scan), want)
				}
			}
		}
	})
}

func keys(recs []*history.Record) []string {
	var ids []string
	for _, rec := range recs {
		ids = append(ids, rec.ID)
	}
	return ids
}

// TestPagingWhileWriting pages through a history of overlapping segments
// while writers add more (late segments whose keys fall among those
// already listed, and new ones): every record present when paging began
// is listed exactly once; records written meanwhile at most once.
func TestPagingWhileWriting(t *testing.T) {
	st := tempStore(t)
	// Started an hour ago (the recorder trims records older than its
	// MaxAge, 7 days by default), after the writers' old records.
	var ids []string
	start := time.Now().Add(-time.Hour)
	synctest.Test(t, func(t *testing.T) { ids = overlappingHistory(t, st, start, 30) })
	ctx := context.Background()
	r := newRecorder(t, st, history.Options{MaxRecords: 100000})
	defer r.Close(ctx)
	done := make(chan struct{})
	stop := make(chan struct{})
	base := start.Add(-time.Hour)
	var written []string
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// Alternately a record as old as the history's oldest (a late
			// segment among those already listed) and a new one.
			at := base.Add(time.Duration(i%3000) * time.Second)
			if i%2 == 1 {
				at = time.Now()
			}
			id := history.NewID(at)
			written = append(written, id)
			r.Record(&history.Execution{ID: id, Trigger: "http", Start: at, End: at})
			if i%7 == 0 {
				r.Flush(ctx)
			}
		}
	}()
	var got []string
	f := history.Filter{Limit: 7}
	for {
		recs, next, err := history.ListScan(ctx, st, f, 0)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, keys(recs)...)
		if next == "" {
			break
		}
		f.Cursor = next
		r.Flush(ctx) // a segment written between every two pages
	}
	close(stop)
	<-done
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range written {
		if seen[id] > 1 {
			t.Fatalf("a record written while paging listed %d times", seen[id])
		}
		delete(seen, id)
	}
	var oldGot []string
	for _, id := range got {
		if _, ok := seen[id]; ok {
			oldGot = append(oldGot, id)
		}
	}
	idtest.ExactlyOnce(t, "while writing", oldGot, ids)
	if len(written) == 0 {
		t.Fatal("no record written while paging")
	}
}

// TestSinceReadsLateSegments: a segment whose key (its oldest record) is
// far below Since may still hold records at or after it, when an
// execution that ran long ended with them. List with Since lists them: it
// stopped at the first segments below Since, and so missed the newest
// record of such a segment once more than 50 segments lay between.
func TestSinceReadsLateSegments(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := tempStore(t)
		start := time.Now().Add(-24 * time.Hour)
		overlappingHistory(t, st, start, 80)
		ctx := context.Background()
		r := newRecorder(t, st, history.Options{MaxRecords: 100000})
		old, late := history.NewID(start.Add(-time.Hour)), history.NewID(start.Add(8000*time.Second))
		for _, id := range []string{old, late} {
			at, _ := history.IDTime(id)
			r.Record(&history.Execution{ID: id, Trigger: "late", Start: at, End: at})
		}
		r.Close(ctx)
		since := history.IDPrefix(start.Add(7000 * time.Second))
		for _, limit := range []int{1000, 1, 7} {
			got := pageAll(t, st, history.Filter{Trigger: "late", Since: since, Limit: limit}, 0)
			idtest.ExactlyOnce(t, fmt.Sprintf("since, limit %d", limit), got, []string{late})
		}
	})
}

// TestPagingDamagedSegments: a segment that cannot be read at all and one
// with a record that cannot be read are each listed once, in their place,
// as one "damaged" entry, at any page size.
func TestPagingDamagedSegments(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := tempStore(t)
		start := time.Now().Add(-24 * time.Hour)
		ids := overlappingHistory(t, st, start, 20)
		ctx := context.Background()
		// Between the segments: one whose bytes went bad, and one whose
		// second record is not a record.
		bad := history.NewID(start.Add(550 * time.Second))
		a, c := history.NewID(start.Add(1250*time.Second)), history.NewID(start.Add(1260*time.Second))
		text := `{"records":[{"id":"` + a + `","status":"ok"},{"id":5},{"id":"` + c + `","status":"ok"}],"steps":[]}`
		seg := append([]byte{1}, s2.Encode(nil, []byte(text))...)
		if err := st.Apply(ctx,
			store.PutOp(history.Bucket, bad+":4", []byte("\x01garbage")), store.PutOp(history.IndexBucket, bad+":4", nil),
			store.PutOp(history.Bucket, a+":3", seg), store.PutOp(history.IndexBucket, a+":3", []byte(a+"\n"+c+"\n")),
		); err != nil {
			t.Fatal(err)
		}
		// The damaged entry of a segment takes the id of its key: a's.
		want := append(slices.Clone(ids), a, c)
		for _, limit := range []int{1, 2, 3, 7, 50} {
			for _, trigger := range []string{"", "nothing"} {
				var got []string
				damaged := map[string]int{}
				f := history.Filter{Limit: limit, Trigger: trigger}
				for {
					recs, next, err := history.ListScan(ctx, st, f, 0)
					if err != nil {
						t.Fatal(err)
					}
					for _, rec := range recs {
						if rec.Status == history.StatusDamaged {
							damaged[rec.ID] += rec.Records
						} else {
							got = append(got, rec.ID)
						}
					}
					if next == "" {
						break
					}
					f.Cursor = next
				}
				if len(damaged) != 2 || damaged[bad] != 4 || damaged[a] != 1 {
					t.Fatalf("limit %d, trigger %q: damaged entries %v, want %s: 4 and %s: 1", limit, trigger, damaged, bad, a)
				}
				if trigger == "" {
					idtest.ExactlyOnce(t, fmt.Sprintf("limit %d", limit), got, want)
				}
			}
		}
	})
}

// TestPagingPostgres pages the history of overlapping segments, and the
// late segment below Since, stored in PostgreSQL (copied key for key from
// the bbolt store the recorder wrote): the same listing, exactly once.
func TestPagingPostgres(t *testing.T) {
	_, pg := pgCluster(t)
	bolt := tempStore(t)
	start := time.Now().Add(-time.Hour)
	var ids []string
	synctest.Test(t, func(t *testing.T) { ids = overlappingHistory(t, bolt, start, 30) })
	copyHistory(t, bolt, pg)
	var since []string
	for _, id := range ids {
		if id >= ids[150] {
			since = append(since, id)
		}
	}
	for _, limit := range []int{1, 7, 50} {
		idtest.ExactlyOnce(t, fmt.Sprintf("limit %d", limit), pageAll(t, pg, history.Filter{Limit: limit}, 0), ids)
		idtest.ExactlyOnce(t, fmt.Sprintf("since, limit %d", limit), pageAll(t, pg, history.Filter{Since: ids[150], Limit: limit}, 3), since)
	}
}

// BenchmarkListPage lists pages of 50 from a history of 100,000 records
// in 1,000 segments of 100 whose id ranges overlap (as overlappingHistory):
// the first page, a page in the middle (by cursor, or on older versions
// by before=<id>), a page before an id, a filter few records match with a scan bound of 1,000,
// and Since an hour into the history, whose last page reads the index
// below it.
func BenchmarkListPage(b *testing.B) {
	st := tempStore(b)
	ctx := context.Background()
	start := time.Now().Add(-48 * time.Hour)
	r := newRecorder(b, st, history.Options{MaxRecords: 200000})
	var ids []string
	for seg := range 1000 {
		for i := range 100 {
			at := start.Add(time.Duration(100*seg+i) * time.Second)
			if i == 99 {
				at = start.Add(time.Duration(100*(seg-30)) * time.Second)
			}
			id := history.NewID(at)
			ids = append(ids, id)
			r.Record(&history.Execution{ID: id, Trigger: []string{"http", "event"}[min(i%50, 1)], Start: at, End: at})
		}
		if err := r.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	r.Close(ctx)
	first, next, err := history.ListScan(ctx, st, history.Filter{Limit: 50}, 0)
	if err != nil || len(first) != 50 {
		b.Fatal(len(first), err)
	}
	// The cursor 1,000 pages (50,000 records) in.
	f := history.Filter{Limit: 50, Cursor: next}
	for range 1000 {
		_, next, err = history.ListScan(ctx, st, f, 0)
		if err != nil {
			b.Fatal(err)
		}
		f.Cursor = next
	}
	middle := f
	for _, c := range []struct {
		name string
		f    history.Filter
		scan int
	}{
		{"first", history.Filter{Limit: 50}, 0},
		{"middle", middle, 0},
		{"rare-scan1000", history.Filter{Limit: 50, Trigger: "http", Cursor: middle.Cursor}, 1000},
		{"before-middle", history.Filter{Limit: 50, Before: ids[50000]}, 0},
		{"since-last-page", history.Filter{Limit: 50, Since: history.IDPrefix(start.Add(99970 * time.Second))}, 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := history.ListScan(ctx, st, c.f, c.scan); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// copyHistory stores from's history (its segments and their index) in to
// as it is, so that one history can be listed from both stores.
func copyHistory(t *testing.T, from, to store.Store) {
	t.Helper()
	ctx := context.Background()
	var ops []store.Op
	for _, bucket := range []string{history.Bucket, history.IndexBucket} {
		items, err := from.List(ctx, bucket, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			ops = append(ops, store.PutOp(bucket, it.Key, it.Value))
		}
	}
	if err := to.Apply(ctx, ops...); err != nil {
		t.Fatal(err)
	}
}
