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
		if !rd.begin(applyR) {
			t.Fatalf("%s: did not run under %v", what, rd.want)
		}
		check(what, conn.r, rd.want)
		rd.end()
	}
	write := func(what string) {
		t.Helper()
		if !wd.begin(applyW) {
			t.Fatalf("%s: did not run under %v", what, wd.want)
		}
		check(what, conn.w, wd.want)
		wd.end()
	}
	aLongTimeAgo := time.Unix(1, 0)
	// Ahead of the clock: a deadline already past is not applied to an I/O
	// that starts under it (TestLazyDeadlineAbortBeforeBackgroundRead).
	now := time.Now()
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
		if !rd.begin(applyR) {
			t.Fatal("the background read did not run")
		}
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

// TestLazyDeadlineAbortBeforeBackgroundRead replays the keep-alive sequence
// as it runs under load: the handler answers before net/http's background
// read has started, so the abort's deadline (long past) is set with no read
// in progress, and the background read starts under it. That read must fail
// at once (begin reports false) without the past deadline reaching the
// connection; the next request's idle wait then runs under the deadline the
// connection kept, which stands for its own. Every I/O that runs is checked
// as in TestLazyDeadlineKeepAliveSequence. Before, each request applied the
// abort's deadline at the background read and the idle wait's after it.
func TestLazyDeadlineAbortBeforeBackgroundRead(t *testing.T) {
	var rd, wd lazyDeadline
	var reads, writes int
	var conn struct{ r, w time.Time }
	applyR := func(t time.Time) error { reads++; conn.r = t; return nil }
	applyW := func(t time.Time) error { writes++; conn.w = t; return nil }
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
	io := func(what string, d *lazyDeadline, apply func(time.Time) error, have *time.Time) {
		t.Helper()
		if !d.begin(apply) {
			t.Fatalf("%s: did not run under %v", what, d.want)
		}
		check(what, *have, d.want)
		d.end()
	}
	aLongTimeAgo := time.Unix(1, 0)
	now := time.Now()
	const requests = 100
	for i := range requests {
		now = now.Add(time.Millisecond)
		rd.set(now.Add(2*time.Minute), applyR)
		io("the idle wait", &rd, applyR, &conn.r)
		rd.set(now.Add(10*time.Second), applyR)
		rd.set(now.Add(30*time.Second), applyR)
		wd.set(now.Add(60*time.Second), applyW)
		rd.set(now.Add(30*time.Second), applyR)
		wd.set(now.Add(70*time.Second), applyW)
		rd.set(time.Time{}, applyR)
		wd.set(now.Add(40*time.Second), applyW)
		io("the answer", &wd, applyW, &conn.w)
		// finishRequest aborts the background read before it started.
		before, had := reads, conn.r
		rd.set(aLongTimeAgo, applyR)
		if rd.begin(applyR) {
			t.Fatalf("request %d: the background read started under a deadline long past", i)
		}
		if reads != before || !conn.r.Equal(had) {
			t.Fatalf("request %d: the past deadline reached the connection (%v)", i, conn.r)
		}
		if rd.busy != 0 {
			t.Fatalf("request %d: the refused read was counted in (%d)", i, rd.busy)
		}
		rd.set(time.Time{}, applyR)
	}
	// The first request applies the idle wait's and the answer's deadlines;
	// the others none.
	if reads+writes != 2 {
		t.Errorf("%d read and %d write deadlines reached the connection over %d requests, want 2 in all", reads, writes, requests)
	}
}

// TestPastDeadline: only a deadline that has passed is expired, the zero
// one (none) is not, and one set ahead of now is not, however near.
func TestPastDeadline(t *testing.T) {
	for _, c := range []struct {
		name string
		t    time.Time
		want bool
	}{
		{"net/http's aLongTimeAgo", time.Unix(1, 0), true},
		{"the Unix epoch", time.Unix(0, 0), true},
		{"before the process started", processStart.Add(-time.Nanosecond), true},
		{"none", time.Time{}, false},
		{"now plus a second", time.Now().Add(time.Second), false},
		{"a year ahead", time.Now().AddDate(1, 0, 0), false},
	} {
		if got := pastDeadline(c.t); got != c.want {
			t.Errorf("%s (%v): pastDeadline %v, want %v", c.name, c.t, got, c.want)
		}
	}
}
