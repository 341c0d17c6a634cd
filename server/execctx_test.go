package server

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

type ctxKey struct{}

// TestExecContext checks the execution context against what
// context.WithTimeout plus context.AfterFunc(cut, cancel) gave: each way it
// can end (deadline, the request's context, a shutdown's cut, cancel), seen
// by Err alone, by Done, by contexts derived from it and by context.Cause,
// before and after something waits on it.
func TestExecContext(t *testing.T) {
	type ends struct {
		name    string
		timeout time.Duration
		end     func(parent, cut context.CancelFunc, cancel context.CancelFunc)
		want    error
	}
	for _, c := range []ends{
		{"deadline", -time.Second, func(_, _, _ context.CancelFunc) {}, context.DeadlineExceeded},
		{"request context", time.Hour, func(p, _, _ context.CancelFunc) { p() }, context.Canceled},
		{"shutdown cut", time.Hour, func(_, cut, _ context.CancelFunc) { cut() }, context.Canceled},
		{"cancel", time.Hour, func(_, _, cancel context.CancelFunc) { cancel() }, context.Canceled},
	} {
		for _, armed := range []bool{false, true} {
			name := c.name
			if armed {
				name += ", waited on before"
			}
			t.Run(name, func(t *testing.T) {
				parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
				defer cancelParent()
				cut, cutAll := context.WithCancel(context.Background())
				defer cutAll()
				ctx, cancel := newExecContext(parent, cut, c.timeout)
				defer cancel()
				if got := ctx.Value(ctxKey{}); got != "v" {
					t.Errorf("Value = %v, want the request's", got)
				}
				var child context.Context
				if armed {
					_ = ctx.Done()
					var stop context.CancelFunc
					child, stop = context.WithCancel(ctx)
					defer stop()
				}
				c.end(cancelParent, cutAll, cancel)
				if armed {
					// A cut reaches an armed context from a goroutine of
					// context.AfterFunc, as it reached the one of
					// context.WithTimeout.
					<-ctx.Done()
				}
				if err := ctx.Err(); !errors.Is(err, c.want) {
					t.Fatalf("Err = %v, want %v", err, c.want)
				}
				<-ctx.Done() // closed: a test that hangs here fails by its timeout
				if err := ctx.Err(); !errors.Is(err, c.want) {
					t.Errorf("Err after Done = %v, want %v", err, c.want)
				}
				if cause := context.Cause(ctx); !errors.Is(cause, c.want) {
					t.Errorf("Cause = %v, want %v", cause, c.want)
				}
				if child == nil {
					var stop context.CancelFunc
					child, stop = context.WithCancel(ctx)
					defer stop()
				}
				<-child.Done()
				if err := child.Err(); !errors.Is(err, c.want) {
					t.Errorf("a derived context's Err = %v, want %v", err, c.want)
				}
				if got := ctx.Value(ctxKey{}); got != "v" {
					t.Errorf("Value after the end = %v, want the request's", got)
				}
			})
		}
	}
}

// TestExecContextRunning checks a context that has not ended: no error,
// its deadline (the request's when earlier), an open Done, and AfterFunc
// that waits for the end.
func TestExecContextRunning(t *testing.T) {
	parent, stop := context.WithDeadline(context.Background(), time.Now().Add(time.Minute))
	defer stop()
	ctx, cancel := newExecContext(parent, context.Background(), time.Hour)
	if err := ctx.Err(); err != nil {
		t.Fatalf("Err = %v", err)
	}
	if d, ok := ctx.Deadline(); !ok || d.After(time.Now().Add(time.Minute)) {
		t.Errorf("Deadline = %v, %v; want the request's, within a minute", d, ok)
	}
	called := make(chan struct{})
	ctx.AfterFunc(func() { close(called) })
	select {
	case <-ctx.Done():
		t.Fatal("Done is closed before the end")
	case <-called:
		t.Fatal("AfterFunc ran before the end")
	default:
	}
	cancel()
	<-called
	if err := ctx.Err(); err != context.Canceled {
		t.Errorf("Err after cancel = %v", err)
	}
}

// BenchmarkExecContext measures an execution's context as the http
// trigger uses it: made from the request's, polled between steps,
// cancelled; against context.WithTimeout and context.AfterFunc, what
// host.Context did before.
func BenchmarkExecContext(b *testing.B) {
	cut, stop := context.WithCancel(context.Background())
	defer stop()
	for _, c := range []struct {
		name string
		make func(parent context.Context) (context.Context, context.CancelFunc)
	}{
		{"execContext", func(parent context.Context) (context.Context, context.CancelFunc) {
			return newExecContext(parent, cut, 30*time.Second)
		}},
		{"WithTimeout+AfterFunc", func(parent context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithTimeout(parent, 30*time.Second)
			stop := context.AfterFunc(cut, cancel)
			return ctx, func() { stop(); cancel() }
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				parent, cancelParent := context.WithCancel(context.Background())
				ctx, cancel := c.make(parent)
				for range 3 {
					_ = ctx.Err()
				}
				cancel()
				cancelParent()
			}
		})
	}
}

// TestDeadlineBeforeShutdownCut: an execution nothing waited on, whose
// deadline passed before the shutdown's cut, ends with DeadlineExceeded
// (504), as the timer of context.WithTimeout would have ended it; one cut
// before its deadline ends with Canceled.
func TestDeadlineBeforeShutdownCut(t *testing.T) {
	for _, c := range []struct {
		name     string
		deadline time.Duration // from now
		cutAt    time.Duration // from now
		want     error
	}{
		{"deadline first", -time.Minute, -time.Second, context.DeadlineExceeded},
		{"cut first, deadline passed since", -time.Second, -time.Minute, context.Canceled},
		{"cut before the deadline", time.Hour, -time.Second, context.Canceled},
	} {
		for _, waited := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, waited on after: %v", c.name, waited), func(t *testing.T) {
				cut, cutAll := context.WithCancelCause(context.Background())
				ctx, cancel := newExecContext(context.Background(), cut, c.deadline)
				defer cancel()
				cutAll(shutdownCut{at: time.Now().Add(c.cutAt)})
				if waited {
					<-ctx.Done()
				}
				if err := ctx.Err(); !errors.Is(err, c.want) {
					t.Errorf("Err = %v, want %v", err, c.want)
				}
			})
		}
	}
}

// wallDeadline is a request context whose deadline is a wall clock time
// (no monotonic reading, like one parsed or sent over the wire) that has
// not ended by itself.
type wallDeadline struct {
	context.Context
	d time.Time
}

func (w wallDeadline) Deadline() (time.Time, bool) { return w.d, true }

// TestExecContextWallClockDeadline: a deadline taken from the request's
// context without a monotonic reading is compared with the wall clock, and
// ends the execution once passed, as one with a reading does.
func TestExecContextWallClockDeadline(t *testing.T) {
	for _, c := range []struct {
		name string
		d    time.Duration // from now
		want error
	}{
		{"passed", -time.Millisecond, context.DeadlineExceeded},
		{"to come", time.Hour, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent := wallDeadline{context.Background(), time.Now().Add(c.d).Round(0)}
			ctx, cancel := newExecContext(parent, context.Background(), 2*time.Hour)
			defer cancel()
			if d, _ := ctx.Deadline(); !d.Equal(parent.d) {
				t.Errorf("Deadline = %v, want the request's %v", d, parent.d)
			}
			if err := ctx.Err(); err != c.want {
				t.Errorf("Err = %v, want %v", err, c.want)
			}
		})
	}
}

// TestExecContextErrAt checks ErrAt, Err as of a clock reading the engine
// has just taken: the deadline is checked against that reading, and an end
// already seen is answered whatever the reading.
func TestExecContextErrAt(t *testing.T) {
	parent, cut := context.Background(), context.Background()
	ctx, cancel := newExecContext(parent, cut, 20*time.Millisecond)
	defer cancel()
	d, _ := ctx.Deadline()
	before := time.Now()
	if err := ctx.ErrAt(before); err != nil {
		t.Fatalf("ErrAt(now) = %v, want nil", err)
	}
	time.Sleep(time.Until(d) + time.Millisecond)
	// The deadline has passed, but not at the reading asked with.
	if err := ctx.ErrAt(before); err != nil {
		t.Fatalf("ErrAt(a reading before the deadline) = %v, want nil", err)
	}
	// No reading: the clock's.
	if err := ctx.ErrAt(time.Time{}); err != context.DeadlineExceeded {
		t.Fatalf("ErrAt(zero) after the deadline = %v, want DeadlineExceeded", err)
	}
	if err := ctx.ErrAt(time.Now()); err != context.DeadlineExceeded {
		t.Fatalf("ErrAt(a reading after the deadline) = %v, want DeadlineExceeded", err)
	}
	// The end is recorded: Err and ErrAt answer it from now on.
	if err := ctx.Err(); err != context.DeadlineExceeded {
		t.Fatalf("Err after the end = %v, want DeadlineExceeded", err)
	}
	if err := ctx.ErrAt(before); err != context.DeadlineExceeded {
		t.Fatalf("ErrAt(a reading before the deadline) after the end = %v, want DeadlineExceeded", err)
	}

	// Cancelled: ErrAt answers it before the deadline.
	ctx2, cancel2 := newExecContext(parent, cut, time.Hour)
	cancel2()
	if err := ctx2.ErrAt(time.Now()); err != context.Canceled {
		t.Fatalf("ErrAt after cancel = %v, want Canceled", err)
	}
	// Armed: answered by the armed context.
	ctx3, cancel3 := newExecContext(parent, cut, -time.Second)
	defer cancel3()
	<-ctx3.Done()
	if err := ctx3.ErrAt(time.Now().Add(-time.Hour)); err != context.DeadlineExceeded {
		t.Fatalf("ErrAt of an armed, ended context = %v, want DeadlineExceeded", err)
	}
}

// BenchmarkExecContextCheck is the check a step list makes before each
// step, on a live execution context: Err reads the monotonic clock, ErrAt
// takes the reading the engine has just taken for the step's record.
func BenchmarkExecContextCheck(b *testing.B) {
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	cut, cutAll := context.WithCancel(context.Background())
	defer cutAll()
	ctx, cancel := newExecContext(parent, cut, time.Hour)
	defer cancel()
	b.Run("Err", func(b *testing.B) {
		for b.Loop() {
			if ctx.Err() != nil {
				b.Fatal("ended")
			}
		}
	})
	b.Run("ErrAt", func(b *testing.B) {
		now := time.Now()
		for b.Loop() {
			if ctx.ErrAt(now) != nil {
				b.Fatal("ended")
			}
		}
	})
}
