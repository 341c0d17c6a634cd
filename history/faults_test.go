package history_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/postgres"
	"github.com/nectar-run/nectar/store/postgres/pgtest"
)

// Fault tests record into a PostgreSQL cluster of their own, which they
// stop and restart: the failures are the driver's real ones.

func pgCluster(t *testing.T) (*pgtest.Cluster, *postgres.Store) {
	t.Helper()
	c, err := pgtest.StartCluster()
	if err != nil {
		if errors.Is(err, pgtest.ErrNoPostgres) && os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := postgres.Open(ctx, c.DSN+"&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return c, st
}

// stored returns the ids of the records in st, and how many records the
// segment keys count.
func stored(t *testing.T, st store.Store) (map[string]bool, int) {
	t.Helper()
	ctx := context.Background()
	items, err := st.List(ctx, history.Bucket, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range items {
		_, c, _ := strings.Cut(it.Key, ":")
		k, err := strconv.Atoi(c)
		if err != nil {
			t.Fatalf("segment key %q", it.Key)
		}
		n += k
	}
	recs, err := history.List(ctx, st, history.Filter{Limit: n + 1})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range recs {
		ids[r.ID] = true
	}
	return ids, n
}

func execution() *history.Execution {
	now := time.Now()
	return &history.Execution{ID: history.NewID(now), Trigger: "http", Start: now, End: now, Input: "in", Output: "out"}
}

// flush waits until everything recorded is written; the store must be up.
func flush(t *testing.T, r *history.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// TestHistorySurvivesRestart restarts PostgreSQL in the middle of a burst
// of recorded executions: every record is stored once it is back (a 0.49 s
// restart used to lose hundreds), and none is dropped.
func TestHistorySurvivesRestart(t *testing.T) {
	c, st := pgCluster(t)
	r := newRecorder(t, st, history.Options{MaxRecords: 100000})
	const writers, each = 4, 500
	ids := make(chan string, writers*each)
	var wg sync.WaitGroup
	halfway := make(chan struct{})
	var once sync.Once
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e := execution()
				r.Record(e)
				ids <- e.ID
				if w == 0 && i == each/4 {
					once.Do(func() { close(halfway) })
				}
				time.Sleep(time.Millisecond) // a burst, spread over the restart
			}
		})
	}
	<-halfway
	start := time.Now()
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	down := time.Since(start)
	wg.Wait()
	close(ids)
	flush(t, r)
	got, n := stored(t, st)
	lost := 0
	for id := range ids {
		if !got[id] {
			lost++
		}
	}
	t.Logf("PostgreSQL down %s during %d records: %d stored, %d lost, %d dropped", down.Round(10*time.Millisecond), writers*each, n, lost, r.Dropped())
	if lost > 0 || n != writers*each || r.Dropped() != 0 {
		t.Fatalf("%d of %d records lost (%d stored, %d dropped)", lost, writers*each, n, r.Dropped())
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestHistoryTrimConvergesAfterOutages: with MaxRecords 100, three outages
// each followed by more records used to leave the deletions of the oldest
// records undone while the recorder forgot them, so the history grew by a
// batch per outage until a restart. Now it is back within its limit (plus
// the 10% the trim allows) after each.
func TestHistoryTrimConvergesAfterOutages(t *testing.T) {
	c, st := pgCluster(t)
	const max = 100
	r := newRecorder(t, st, history.Options{MaxRecords: max})
	record := func(n int) {
		for range n {
			r.Record(execution())
		}
	}
	record(95)
	flush(t, r)
	var sizes []int
	for outage := range 3 {
		if err := c.Halt(); err != nil {
			t.Fatal(err)
		}
		record(max)
		// Let the recorder try, and fail, to write during the outage (Flush
		// waits until the records are written, so it gives up here).
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = r.Flush(ctx)
		cancel()
		if err := c.Restart(); err != nil {
			t.Fatal(err)
		}
		record(max)
		flush(t, r)
		_, n := stored(t, st)
		sizes = append(sizes, n)
		if n > max+max/10 {
			t.Fatalf("after outage %d the history holds %d records; MaxRecords is %d (sizes %v)", outage+1, n, max, sizes)
		}
	}
	t.Logf("MaxRecords %d: %v records after each of three outages, %d dropped", max, sizes, r.Dropped())
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestHistoryDropsCountedAtClose: records the store still refuses when
// Close's context ends are dropped, counted by Dropped and logged once.
func TestHistoryDropsCountedAtClose(t *testing.T) {
	c, st := pgCluster(t)
	var logs enginetest.Log
	r := newRecorder(t, st, history.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	const n = 50
	for range n {
		r.Record(execution())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := r.Close(ctx); err == nil {
		t.Log("Close returned within its context")
	}
	// Close gave up waiting; the recorder drops what is pending as it stops.
	// A second Close waits for that end: Dropped counts the records before
	// the log line about them is written, so the count alone does not say
	// the line is there yet.
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute) // a hang, not a timing assertion
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("the recorder did not stop after Close's context ended: %v", err)
	}
	if r.Dropped() != n {
		t.Fatalf("Dropped = %d; want %d", r.Dropped(), n)
	}
	if got := strings.Count(logs.String(), "records dropped"); got != 1 {
		t.Fatalf("%d log lines about dropped records; want 1:\n%s", got, logs.String())
	}
	t.Logf("PostgreSQL stopped at Close: %d records dropped and counted", r.Dropped())
}
