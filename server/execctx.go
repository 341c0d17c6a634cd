package server

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nectar-run/nectar/engine"
)

// execContext is the context of one triggered execution: the request's
// values, done when the request's context is, when a shutdown cuts what
// still runs (cut), or at the deadline.
//
// context.WithTimeout and context.AfterFunc would set all of that up for
// every request: a timer, an entry in the request context's children and
// one in the server's, each taken down again at the end. Most executions
// never wait on Done: the engine polls Err between steps, and Err needs
// only the monotonic clock and two atomic loads. So nothing is set up until Done,
// AfterFunc or a derived context asks for a channel; then it is a
// context.WithDeadline of the request's context, cancelled when cut is,
// and everything is answered from it, the same way as before.
type execContext struct {
	parent   context.Context
	cut      context.Context
	deadline time.Time

	mu    sync.Mutex
	inner atomic.Pointer[armedContext] // set once, by arm
	err   atomic.Pointer[error]        // the end seen before arm, or cancel's
}

// errCanceled is what cancel stores (never written: shared by every
// context, it costs no allocation).
var errCanceled = context.Canceled

// armedContext is what arm sets up.
type armedContext struct {
	ctx    context.Context
	cancel context.CancelFunc
	stop   func() bool // the AfterFunc on cut
}

var (
	_ context.Context = (*execContext)(nil)
	// Steps.run asks it with the step's clock reading.
	_ engine.ErrAter = (*execContext)(nil)
	// context.WithCancel and its kin register with an AfterFunc method
	// instead of starting a goroutine per derived context.
	_ interface {
		AfterFunc(func()) func() bool
	} = (*execContext)(nil)
)

// newExecContext returns parent with timeout, ended too when cut is, and
// its cancel function.
func newExecContext(parent, cut context.Context, timeout time.Duration) (*execContext, context.CancelFunc) {
	d := time.Now().Add(timeout)
	if pd, ok := parent.Deadline(); ok && pd.Before(d) {
		d = pd
	}
	c := &execContext{parent: parent, cut: cut, deadline: d}
	return c, c.cancel
}

func (c *execContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *execContext) Done() <-chan struct{} { return c.arm().ctx.Done() }

// ErrAt is Err with now, a clock reading its caller has just taken (the
// engine's, at the end of the step before; with a monotonic reading), as
// the time the deadline is checked against: the check a step list makes
// before each step, without reading the clock again. While nothing has
// ended it is a few loads and a comparison; otherwise it is Err.
func (c *execContext) ErrAt(now time.Time) error {
	if !now.IsZero() && c.inner.Load() == nil && c.err.Load() == nil && c.parent.Err() == nil && c.cut.Err() == nil && now.Before(c.deadline) {
		return nil
	}
	// Ended (or the deadline passed at now, and so at Err's own
	// reading), or no reading: Err.
	return c.Err()
}

func (c *execContext) Err() error {
	if in := c.inner.Load(); in != nil {
		return in.ctx.Err()
	}
	if e := c.err.Load(); e != nil {
		return *e
	}
	var err error
	switch {
	case c.parent.Err() != nil:
		err = c.parent.Err()
	case c.cut.Err() != nil && cutBefore(c.cut, c.deadline):
		err = context.Canceled
	case time.Until(c.deadline) <= 0:
		// Until reads only the monotonic clock (the deadline carries a
		// monotonic reading when it comes from newExecContext's or from
		// a parent's timeout): one clock_gettime per step instead of the
		// two of time.Now.
		err = context.DeadlineExceeded
	default:
		return nil
	}
	c.end(err)
	return c.Err()
}

// Value answers from the armed context once there is one (context.Cause
// and derived contexts find its cancellation there); before, from the
// request's context, unless the context has ended: it is armed then, so
// that its cause is the end's.
func (c *execContext) Value(key any) any {
	if in := c.inner.Load(); in != nil {
		return in.ctx.Value(key)
	}
	if c.Err() != nil {
		return c.arm().ctx.Value(key)
	}
	return c.parent.Value(key)
}

// AfterFunc arranges to call f in its own goroutine once c is done.
func (c *execContext) AfterFunc(f func()) func() bool {
	return context.AfterFunc(c.arm().ctx, f)
}

// arm sets up the channel, timer and registrations of a real context,
// once: a context.WithDeadline of parent, cancelled when cut is. An end
// already seen (or a cancel) ends it at once, with the same error.
func (c *execContext) arm() *armedContext {
	if in := c.inner.Load(); in != nil {
		return in
	}
	end := c.Err() // the end already come, if any (Err records it)
	c.mu.Lock()
	defer c.mu.Unlock()
	if in := c.inner.Load(); in != nil {
		return in
	}
	var in *armedContext
	switch {
	case end == nil:
		ctx, cancel := context.WithDeadline(c.parent, c.deadline)
		in = &armedContext{ctx: ctx, cancel: cancel, stop: context.AfterFunc(c.cut, cancel)}
	case end == context.DeadlineExceeded:
		ctx, cancel := context.WithDeadline(c.parent, c.deadline) // passed: ended
		in = &armedContext{ctx: ctx, cancel: cancel, stop: func() bool { return false }}
	default: // cancelled (a cut before the deadline, a cancel, the request)
		ctx, cancel := context.WithCancel(c.parent)
		cancel()
		in = &armedContext{ctx: ctx, cancel: cancel, stop: func() bool { return false }}
	}
	c.inner.Store(in)
	return in
}

// end records err, the first end seen, when c is not armed; an armed
// context ends by itself.
func (c *execContext) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner.Load() == nil && c.err.Load() == nil {
		c.err.Store(&err)
	}
}

func (c *execContext) cancel() {
	c.mu.Lock()
	in := c.inner.Load()
	if in == nil && c.err.Load() == nil {
		c.err.Store(&errCanceled)
	}
	c.mu.Unlock()
	if in != nil {
		in.stop()
		in.cancel()
	}
}

func (c *execContext) String() string { return "server.execContext" }

// shutdownCut is the cause the server cuts the executions still running
// with: when the cut came. An execution first asked for its end after both
// its deadline and the cut ends as whichever came first, as a timer would
// have ended it.
type shutdownCut struct{ at time.Time }

func (shutdownCut) Error() string { return "cut by shutdown" }

// cutBefore reports whether the cut (already done) came before deadline;
// a cut that does not say when counts as first.
func cutBefore(cut context.Context, deadline time.Time) bool {
	var sc shutdownCut
	if errors.As(context.Cause(cut), &sc) {
		return sc.at.Before(deadline)
	}
	return true
}
