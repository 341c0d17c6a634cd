package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/idtest"
	"github.com/nectar-run/nectar/store/bolt"
)

// TestExecutionsListPaging: a data directory whose history has segments
// overlapping in start time (each write holds an execution that ran long).
// nectar executions list, run again with the --cursor each page prints,
// lists every execution exactly once at limits 1, 3, 7 and 50, and --all
// does it in one run. (Paging with --before <the last id>, the way before,
// skipped executions.)
func TestExecutionsListPaging(t *testing.T) {
	data, ids := overlappingDataDir(t)
	pageCLI(t, data, ids, []int{1, 3, 7, 50})
	_, errOut, code := nectar(t, "", "--data-dir="+data, "executions", "list", "--cursor", "not-a-cursor")
	if code == 0 || !strings.Contains(errOut, "--cursor: not a cursor a page of nectar executions list printed") {
		t.Errorf("a bad --cursor: exit %d\n%s", code, errOut)
	}
}

// TestExecutionsListPagingThroughServer is TestExecutionsListPaging with
// nectar serve running on the data directory: the command asks it (GET
// /api/executions) and follows its Link rel="next".
func TestExecutionsListPagingThroughServer(t *testing.T) {
	data, ids := overlappingDataDir(t)
	serveBinary(t, t.TempDir(), data)
	pageCLI(t, data, ids, []int{2, 7})
	_, errOut, code := nectar(t, "", "--data-dir="+data, "executions", "list", "--cursor", "not-a-cursor")
	if code == 0 || !strings.Contains(errOut, "cursor: not one a page of GET /api/executions gave") {
		t.Errorf("a bad --cursor: exit %d\n%s", code, errOut)
	}
}

// overlappingDataDir returns a data directory whose history holds 12
// segments of 5 executions, each with one that ran long (started 4
// segments earlier), and the ids of the executions.
func overlappingDataDir(t *testing.T) (data string, ids []string) {
	data = t.TempDir()
	start := time.Now().Add(-time.Hour) // within the history's MaxAge
	synctest.Test(t, func(t *testing.T) {
		st, err := bolt.Open(data)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ctx := context.Background()
		r, err := history.New(ctx, st, history.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for b := range 12 {
			for i := range 5 {
				at := start.Add(time.Duration(10*b+i) * time.Second)
				if i == 4 {
					at = start.Add(time.Duration(10*(b-4)) * time.Second) // ran long
				}
				id := history.NewID(at)
				ids = append(ids, id)
				r.Record(&history.Execution{ID: id, Trigger: "run", Start: at, End: at})
			}
			if err := r.Flush(ctx); err != nil { // one segment a Flush
				t.Fatal(err)
			}
		}
		if err := r.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
	return data, ids
}

// pageCLI runs nectar executions list page by page at each limit, with
// the --cursor each page prints, and then with --all: every id exactly
// once.
func pageCLI(t *testing.T, data string, ids []string, limits []int) {
	t.Helper()
	dd := "--data-dir=" + data
	list := func(args ...string) ([]string, string) {
		t.Helper()
		out, errOut, code := nectar(t, "", append([]string{dd, "executions", "list", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("nectar executions list %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
		}
		var recs []*history.Record
		if err := json.Unmarshal([]byte(out), &recs); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var got []string
		for _, rec := range recs {
			got = append(got, rec.ID)
		}
		_, next, _ := strings.Cut(errOut, "next page: --cursor ")
		return got, strings.TrimSpace(next)
	}
	for _, limit := range limits {
		var got []string
		args := []string{"--limit", fmt.Sprint(limit)}
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			page, next := list(args...)
			got = append(got, page...)
			if next != "" {
				args = []string{"--limit", fmt.Sprint(limit), "--cursor", next}
			} else if len(page) == limit {
				// No cursor printed: page as before, by the last id.
				args = []string{"--limit", fmt.Sprint(limit), "--before", page[len(page)-1]}
			} else {
				break
			}
		}
		idtest.ExactlyOnce(t, fmt.Sprintf("limit %d", limit), got, ids)
	}
	got, next := list("--limit", "4", "--all")
	idtest.ExactlyOnce(t, "--all", got, ids)
	if next != "" {
		t.Errorf("--all printed a next page: %s", next)
	}
}
