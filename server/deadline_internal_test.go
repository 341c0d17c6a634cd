package server

import (
	"testing"
	"time"
)

// TestLazyDeadlineKeepAliveSequence replays the deadlines net/http and the
// pipeline route set on a keep-alive connection, request after request,
// with the reads and writes between them, and counts the deadlines that
// reach the connection. The connection's deadline must never be later than
// the one set while an I/O runs (checked at every I/O); it may be earlier by
// at most deadlineSlack, or stand for a lifted one. Of the three read
// deadlines and one write deadline a request applied before, two must be
// left: the background read's lifted deadline and the answer's.
func TestLazyDeadlineKeepAliveSequence(t *testing.T) {
	var rd, wd lazyDeadline
	var reads, writes int
	var conn struct{ r, w time.Time } // what the connection has
	applyR := func(t time.Time) error { reads++; conn.r = t; return nil }
	applyW := func(t time.Time) error { writes++; conn.w = t; return nil }
	// An I/O runs under conn's deadline, which must be no later than the
	// one set (zero: none) and, if earlier, by at most deadlineSlack unless
	// the one set is lifted.
	check := func(what string, have, want time.Time) {
		t.Helper()
		switch {
		case have.IsZero() && !want.IsZero():
			t.Fatalf("%s: the connection has no deadline, %v was set", what, want)
		case !want.IsZero() && have.After(want):
			t.Fatalf("%s: the connection's deadline %v is later than the one set, %v", what, have, want)
		case !want.IsZero() && have.Before(want.Add(-deadlineSlack)):
			t.Fatalf("%s: the connection's deadline %v is more than %v before the one set, %v", what, have, deadlineSlack, want)
		}
	}
	read := func(what string) {
		t.Helper()
		rd.begin(applyR)
		check(what, conn.r, rd.want)
		rd.end()
	}
	write := func(what string) {
		t.Helper()
		wd.begin(applyW)
		check(what, conn.w, wd.want)
		wd.end()
	}
	aLongTimeAgo := time.Unix(1, 0)
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	const requests = 100
	for i := range requests {
		now = now.Add(time.Millisecond)
		// Idle: wait for the next request under the idle timeout.
		rd.set(now.Add(2*time.Minute), applyR)
		read("the idle wait")
		// readRequest: header and whole-request deadlines, the write
		// timeout; the pipeline route's body deadline, lifted once the
		// body is in (all read from net/http's buffer: no read).
		rd.set(now.Add(10*time.Second), applyR)
		rd.set(now.Add(30*time.Second), applyR)
		wd.set(now.Add(60*time.Second), applyW)
		rd.set(now.Add(30*time.Second), applyR)
		wd.set(now.Add(70*time.Second), applyW)
		rd.set(time.Time{}, applyR)
		wd.set(now.Add(40*time.Second), applyW)
		// The background read, under no deadline.
		rd.begin(applyR)
		check("the background read", conn.r, rd.want)
		// The answer is written while it waits.
		write("the answer")
		// finishRequest aborts the background read: applied at once.
		before := reads
		rd.set(aLongTimeAgo, applyR)
		if reads != before+1 || !conn.r.Equal(aLongTimeAgo) {
			t.Fatalf("request %d: the abort of the background read did not reach the connection", i)
		}
		rd.end()
		rd.set(time.Time{}, applyR)
	}
	// Every request applies the idle wait's and the abort's read
	// deadlines; the first one the answer's write deadline too.
	if want := 2*requests + 1; reads+writes != want {
		t.Errorf("%d read and %d write deadlines reached the connection over %d requests, want %d in all", reads, writes, requests, want)
	}
}
