package triggers_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/triggers"
)

type sends struct{ statuses []int }

func (s *sends) SendNow(status int, _ http.Header, _ []byte) { s.statuses = append(s.statuses, status) }

// A Response kept in a caller's struct and made ready with Init answers as
// one from NewResponse: the first Send goes to the client, once; later ones
// only set what the history keeps; Init forgets everything before it.
func TestResponseInit(t *testing.T) {
	var r triggers.Response
	s := &sends{}
	r.Init(s)
	if _, _, _, set, sent := r.Get(); set || sent {
		t.Fatalf("new response set %v, sent %v", set, sent)
	}
	if !r.Send(201, nil, []byte("a")) {
		t.Fatal("first Send reported not sent")
	}
	if r.Send(202, nil, []byte("b")) {
		t.Fatal("second Send reported sent")
	}
	if status, _, body, set, sent := r.Get(); status != 202 || string(body) != "b" || !set || !sent {
		t.Fatalf("after two sends: %d %q set %v sent %v", status, body, set, sent)
	}
	if len(s.statuses) != 1 || s.statuses[0] != 201 {
		t.Fatalf("sent to the client: %v, want [201]", s.statuses)
	}
	// Made ready again, for another request, without a client to send to.
	r.Init(nil)
	if status, h, body, set, sent := r.Get(); status != 0 || h != nil || body != nil || set || sent {
		t.Fatalf("after Init: %d %v %q set %v sent %v", status, h, body, set, sent)
	}
	if !r.Send(200, nil, nil) {
		t.Fatal("Send without a sender reported not set")
	}
	if len(s.statuses) != 1 {
		t.Fatalf("a response without a sender sent to the old one: %v", s.statuses)
	}
	// NewResponse(nil) has no sender either: a nil func is not called.
	if !triggers.NewResponse(nil).Send(200, nil, nil) {
		t.Fatal("NewResponse(nil).Send reported not set")
	}
}

// Release returns the pooled buffer the last response's body is in, once:
// a buffer a later response replaced, sent or not, is not returned (the
// client may still be being sent it), and neither is one Init forgot.
func TestResponseRelease(t *testing.T) {
	var r triggers.Response
	s := &sends{}
	r.Init(s)
	a, b := []byte("a"), []byte("b")
	r.SetBuf(200, nil, a, &a)
	if got := r.Release(); got != &a {
		t.Fatalf("Release after SetBuf gave %p, want the buffer %p", got, &a)
	}
	if got := r.Release(); got != nil {
		t.Fatal("a second Release gave the buffer again")
	}
	if _, _, body, _, _ := r.Get(); body != nil {
		t.Fatalf("after Release the body is still %q", body)
	}
	r.Init(s)
	r.SendBuf(201, nil, a, &a) // written to the client now
	r.SendBuf(202, nil, b, &b) // only kept
	if got := r.Release(); got != &b {
		t.Fatalf("Release gave %p, want the last body's buffer %p", got, &b)
	}
	r.Init(s)
	r.SetBuf(200, nil, a, &a)
	r.Set(200, nil, b) // replaces a: its buffer is left alone
	if got := r.Release(); got != nil {
		t.Fatal("Release gave a replaced body's buffer")
	}
	r.SetBuf(200, nil, a, &a)
	r.Init(nil)
	if got := r.Release(); got != nil {
		t.Fatal("Release gave a buffer Init forgot")
	}
}

type otherKey struct{}

// errAtParent is a context with ErrAt (as the server's execution context).
type errAtParent struct {
	context.Context
	asked time.Time
}

func (p *errAtParent) ErrAt(now time.Time) error { p.asked = now; return p.Err() }

// WithResponse's context answers as context.WithValue's did: ResponseFrom
// finds the Response, other values, the deadline, Done and Err are the
// parent's, a context derived from it ends with the parent; ErrAt goes to
// a parent that has it, and is Err otherwise.
func TestWithResponse(t *testing.T) {
	parent, cancel := context.WithTimeout(context.WithValue(context.Background(), otherKey{}, "v"), time.Hour)
	var r triggers.Response
	ctx := triggers.WithResponse(parent, &r)
	if got := triggers.ResponseFrom(ctx); got != &r {
		t.Fatalf("ResponseFrom = %p, want %p", got, &r)
	}
	if got := ctx.Value(otherKey{}); got != "v" {
		t.Fatalf("Value(other) = %v, want the parent's", got)
	}
	pd, _ := parent.Deadline()
	if d, ok := ctx.Deadline(); !ok || !d.Equal(pd) {
		t.Fatalf("Deadline = %v %v, want the parent's %v", d, ok, pd)
	}
	if err := ctx.(engine.ErrAter).ErrAt(time.Now()); err != nil {
		t.Fatalf("ErrAt of a live context without ErrAt = %v", err)
	}
	child, stop := context.WithCancel(ctx)
	defer stop()
	if triggers.ResponseFrom(child) != &r {
		t.Fatal("a derived context does not carry the Response")
	}
	cancel()
	<-child.Done()
	if ctx.Err() != context.Canceled || child.Err() != context.Canceled || ctx.(engine.ErrAter).ErrAt(time.Now()) != context.Canceled {
		t.Fatalf("after the parent's cancel: Err %v, child's %v", ctx.Err(), child.Err())
	}
	if triggers.ResponseFrom(context.Background()) != nil {
		t.Fatal("ResponseFrom of a context without one is not nil")
	}

	p := &errAtParent{Context: context.Background()}
	at := time.Now()
	if err := triggers.WithResponse(p, &r).(engine.ErrAter).ErrAt(at); err != nil || !p.asked.Equal(at) {
		t.Fatalf("ErrAt = %v, the parent asked with %v; want nil, %v", err, p.asked, at)
	}
}
