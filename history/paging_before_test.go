package history

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
)

// listBefore is ListScan as it was before the cursor (ce58ad1): the
// reference of TestPagingSameAsBefore.
func listBefore(ctx context.Context, st store.Store, f Filter, scan int) ([]*Record, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	read := 0
	var out []*Record
	add := func(rec *Record) bool {
		if f.Before != "" && rec.ID >= f.Before || f.Since != "" && rec.ID < f.Since && rec.Status != StatusDamaged {
			return false
		}
		if rec.Status != StatusDamaged && (f.Pipeline != "" && rec.Pipeline != f.Pipeline ||
			f.Status != "" && rec.Status != f.Status || f.Trigger != "" && rec.Trigger != f.Trigger) {
			return false
		}
		out = append(out, rec)
		return len(out) == f.Limit
	}
	after := f.Before
	for len(out) < f.Limit {
		items, err := st.List(ctx, Bucket, store.ListOptions{Reverse: true, After: after, Limit: 50})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			raws, table, err := readSegment(it.Value)
			lost := 0
			if err != nil {
				raws, lost = nil, segmentCount(it.Key)
			}
			for k := len(raws) - 1; k >= 0; k-- {
				rec, rerr := decodeRecord(raws[k], table, false)
				if rerr != nil {
					err = cmp.Or(err, rerr)
					lost++
					continue
				}
				if f.Before != "" && rec.ID >= f.Before || f.Since != "" && rec.ID < f.Since {
					continue
				}
				if add(rec) {
					return out, nil
				}
				if read++; scan > 0 && read >= scan {
					return out, nil
				}
			}
			if err != nil && add(damaged(it.Key, lost, err)) {
				return out, nil
			}
		}
		if len(items) < 50 || f.Since != "" && items[len(items)-1].Key < f.Since {
			break
		}
		after = items[len(items)-1].Key
	}
	return out, nil
}

// TestPagingSameAsBefore: on a history whose segments do not overlap (the
// common case: executions as short as the batching), the cursor's listing
// is the listing of before, record for record and in the same order: the
// first page at every limit, filter and scan bound, and the pages followed by cursor
// together. The segments are 150 of 1 to 6 records, written by a
// recorder (more than the 50 keys a store read used to return, so that
// Since's stop after a read of 50 is crossed).
func TestPagingSameAsBefore(t *testing.T) {
	for _, damage := range []bool{false, true} {
		t.Run(fmt.Sprint("damage=", damage), func(t *testing.T) { pagingSameAsBefore(t, damage) })
	}
}

func pagingSameAsBefore(t *testing.T, damage bool) {
	synctest.Test(t, func(t *testing.T) {
		st, err := bolt.Open(t.TempDir(), bolt.WithNoSync())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ctx := context.Background()
		r, err := New(ctx, st, Options{MaxRecords: 100000})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(7, 17))
		start := time.Now().Add(-24 * time.Hour)
		pipes := []*engine.Pipeline{{Name: "a"}, {Name: "b"}, {Name: "c"}}
		var ids []string
		at := start
		for range 150 {
			for range 1 + rng.IntN(6) {
				at = at.Add(time.Duration(1+rng.IntN(3000)) * time.Millisecond)
				id := NewID(at)
				ids = append(ids, id)
				e := &Execution{ID: id, Pipeline: pipes[rng.IntN(3)], Trigger: []string{"http", "event", "schedule"}[rng.IntN(3)], Start: at, End: at}
				if rng.IntN(4) == 0 {
					e.Err = engine.NewError(500, "failed")
				}
				r.Record(e)
			}
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Close(ctx); err != nil {
			t.Fatal(err)
		}
		// Two damaged segments among them: one whose bytes went bad, one
		// with a record that is not one.
		bad := NewID(start.Add(time.Second / 2))
		mid := NewID(start.Add(at.Sub(start) / 2))
		text := `{"records":[{"id":"` + mid + `","status":"ok"},{"id":5}],"steps":[]}`
		if damage {
			if err := st.Apply(ctx,
				store.PutOp(Bucket, bad+":4", []byte("\x01garbage")), store.PutOp(IndexBucket, bad+":4", nil),
				store.PutOp(Bucket, mid+":2", []byte(text)), store.PutOp(IndexBucket, mid+":2", []byte(mid+"\n")),
			); err != nil {
				t.Fatal(err)
			}
		}
		filters := []Filter{{}, {Pipeline: "b"}, {Status: "failed"}, {Trigger: "event", Pipeline: "c"}, {Pipeline: "none"},
			{Before: ids[400]}, {Since: ids[len(ids)/3]}, {Since: ids[10]}, {Since: ids[len(ids)-2]},
			{Since: ids[100], Before: ids[500], Status: "ok"}, {Since: IDPrefix(at.Add(time.Hour))}, {Before: ids[0]}}
		for _, f := range filters {
			if damage && f.Since != "" {
				// Below Since, a segment that cannot be read at all is read
				// now (its index entry cannot say its newest id), so it is
				// listed; before, only when it was among the 50 keys read
				// with the first below Since.
				continue
			}
			var whole []string
			for _, limit := range []int{1, 2, 5, 17, 50, 100000} {
				for _, scan := range []int{0, 7, 40} {
					if scan > 0 && f.Since != "" {
						continue // below Since, index entries count against the bound now
					}
					f.Limit = limit
					want, err := listBefore(ctx, st, f, scan)
					if err != nil {
						t.Fatal(err)
					}
					got, _, err := ListScan(ctx, st, f, scan)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(recIDs(got), recIDs(want)) {
						t.Fatalf("%+v scan %d: first page differs: %s", f, scan, diffIDs(recIDs(got), recIDs(want)))
					}
					if limit == 100000 && scan == 0 {
						whole = recIDs(want)
					}
				}
			}
			for _, limit := range []int{1, 3, 50} {
				f.Limit = limit
				var paged []string
				for pages := 0; ; pages++ {
					if pages > len(ids)+10 {
						t.Fatalf("%+v: paging does not end", f)
					}
					recs, next, err := ListScan(ctx, st, f, 0)
					if err != nil {
						t.Fatal(err)
					}
					paged = append(paged, recIDs(recs)...)
					if next == "" {
						break
					}
					f.Cursor = next
				}
				f.Cursor = ""
				if !slices.Equal(paged, whole) {
					t.Fatalf("%+v: paged by cursor: %s", f, diffIDs(paged, whole))
				}
			}
		}
	})
}

func recIDs(recs []*Record) []string {
	var ids []string
	for _, rec := range recs {
		ids = append(ids, rec.ID)
	}
	return ids
}

// diffIDs says where two listings part.
func diffIDs(got, want []string) string {
	i := 0
	for i < min(len(got), len(want)) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("%d and %d ids, first difference at %d: got %v, want %v", len(got), len(want), i, got[i:min(i+3, len(got))], want[i:min(i+3, len(want))])
}
