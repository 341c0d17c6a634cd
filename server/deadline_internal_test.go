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
	c := newReplayConn(t)
	aLongTimeAgo := time.Unix(1, 0)
	// Ahead of the clock: a deadline already past is not applied to an I/O
	// that starts under it (TestLazyDeadlineAbortBeforeBackgroundRead).
	now := time.Now()
	const requests = 100
	for i := range requests {
		now = now.Add(time.Millisecond)
		c.readRequest(now)
		// The background read, under no deadline.
		if !c.rd.begin(c.applyR) {
			t.Fatal("the background read did not run")
		}
		c.check("the background read", c.conn.r, c.rd.want)
		// The answer is written while it waits.
		c.write("the answer")
		// finishRequest aborts the background read: applied at once.
		before := c.reads
		c.rd.set(aLongTimeAgo, c.applyR)
		if c.reads != before+1 || !c.conn.r.Equal(aLongTimeAgo) {
			t.Fatalf("request %d: the abort of the background read did not reach the connection", i)
		}
		c.rd.end()
		c.rd.set(time.Time{}, c.applyR)
	}
	// Every request applies the idle wait's and the abort's read
	// deadlines; the first one the answer's write deadline too.
	if want := 2*requests + 1; c.reads+c.writes != want {
		t.Errorf("%d read and %d write deadlines reached the connection over %d requests, want %d in all", c.reads, c.writes, requests, want)
	}
}

// replayConn replays a connection's deadlines through two lazyDeadlines,
// as a limited connection sets them, and checks every I/O it runs against
// the deadline set last.
type replayConn struct {
	t             *testing.T
	rd, wd        lazyDeadline
	reads, writes int                      // deadlines that reached the connection
	conn          struct{ r, w time.Time } // what the connection has
}

func newReplayConn(t *testing.T) *replayConn { return &replayConn{t: t} }

func (c *replayConn) applyR(d time.Time) error { c.reads++; c.conn.r = d; return nil }
func (c *replayConn) applyW(d time.Time) error { c.writes++; c.conn.w = d; return nil }

// check fails unless an I/O runs under have, the connection's deadline,
// no later than want, the one set (zero: none) and, if earlier, by at
// most deadlineSlack unless want is lifted.
func (c *replayConn) check(what string, have, want time.Time) {
	c.t.Helper()
	switch {
	case have.IsZero() && !want.IsZero():
		c.t.Fatalf("%s: the connection has no deadline, %v was set", what, want)
	case !want.IsZero() && have.After(want):
		c.t.Fatalf("%s: the connection's deadline %v is later than the one set, %v", what, have, want)
	case !want.IsZero() && have.Before(want.Add(-deadlineSlack)):
		c.t.Fatalf("%s: the connection's deadline %v is more than %v before the one set, %v", what, have, deadlineSlack, want)
	}
}

// read and write run one I/O and check its deadline.
func (c *replayConn) read(what string) {
	c.t.Helper()
	c.io(what, &c.rd, c.applyR, &c.conn.r)
}

func (c *replayConn) write(what string) {
	c.t.Helper()
	c.io(what, &c.wd, c.applyW, &c.conn.w)
}

// io runs one I/O under d, whose deadline apply puts on the connection as
// *have, and checks it.
func (c *replayConn) io(what string, d *lazyDeadline, apply func(time.Time) error, have *time.Time) {
	c.t.Helper()
	if !d.begin(apply) {
		c.t.Fatalf("%s: did not run under %v", what, d.want)
	}
	c.check(what, *have, d.want)
	d.end()
}

// readRequest replays a request up to its answer: the idle wait for it
// under the idle timeout; readRequest's header and whole-request deadlines
// and the write timeout; the pipeline route's body deadline, lifted once
// the body is in (all read from net/http's buffer: no read).
func (c *replayConn) readRequest(now time.Time) {
	c.t.Helper()
	c.rd.set(now.Add(2*time.Minute), c.applyR)
	c.read("the idle wait")
	c.rd.set(now.Add(10*time.Second), c.applyR)
	c.rd.set(now.Add(30*time.Second), c.applyR)
	c.wd.set(now.Add(60*time.Second), c.applyW)
	c.rd.set(now.Add(30*time.Second), c.applyR)
	c.wd.set(now.Add(70*time.Second), c.applyW)
	c.rd.set(time.Time{}, c.applyR)
	c.wd.set(now.Add(40*time.Second), c.applyW)
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
	c := newReplayConn(t)
	aLongTimeAgo := time.Unix(1, 0)
	now := time.Now()
	const requests = 100
	for i := range requests {
		now = now.Add(time.Millisecond)
		c.readRequest(now)
		c.write("the answer")
		// finishRequest aborts the background read before it started.
		before, had := c.reads, c.conn.r
		c.rd.set(aLongTimeAgo, c.applyR)
		if c.rd.begin(c.applyR) {
			t.Fatalf("request %d: the background read started under a deadline long past", i)
		}
		if c.reads != before || !c.conn.r.Equal(had) {
			t.Fatalf("request %d: the past deadline reached the connection (%v)", i, c.conn.r)
		}
		if c.rd.busy != 0 {
			t.Fatalf("request %d: the refused read was counted in (%d)", i, c.rd.busy)
		}
		c.rd.set(time.Time{}, c.applyR)
	}
	// The first request applies the idle wait's and the answer's deadlines;
	// the others none.
	if c.reads+c.writes != 2 {
		t.Errorf("%d read and %d write deadlines reached the connection over %d requests, want 2 in all", c.reads, c.writes, requests)
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
