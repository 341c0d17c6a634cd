package triggers

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/nectar-run/nectar/engine"
)

// Response is the HTTP response a pipeline shapes with the respond
// connector. The http trigger (triggers/http) puts one in the context of
// each execution it starts; respond steps (also inside called pipelines and
// parallel branches) set it; the trigger writes it when the execution ends,
// or at once when a step asks to send it early. It is safe for concurrent use.
type Response struct {
	mu     sync.Mutex
	set    bool
	sent   bool
	status int
	header http.Header
	body   []byte
	// buf is the pooled buffer body is in, when a respond step set it
	// with SetBuf or SendBuf (see Release).
	buf  *[]byte
	send Sender
}

// A Sender writes a response to the client at once: Response.Send calls it,
// once.
type Sender interface {
	SendNow(status int, header http.Header, body []byte)
}

type sendFunc func(status int, header http.Header, body []byte)

func (f sendFunc) SendNow(status int, header http.Header, body []byte) { f(status, header, body) }

type responseKey struct{}

// NewResponse returns an empty Response. send, when not nil, writes a
// response to the client at once (Send calls it once).
func NewResponse(send func(status int, header http.Header, body []byte)) *Response {
	r := &Response{}
	if send != nil {
		r.send = sendFunc(send)
	}
	return r
}

// Init makes r an empty Response that Send writes through s (nil: none): for
// a Response kept inside the caller's own per-request struct, which saves
// NewResponse's two allocations.
func (r *Response) Init(s Sender) {
	r.set, r.sent, r.status, r.header, r.body, r.buf, r.send = false, false, 0, nil, nil, nil, s
}

// WithResponse returns ctx carrying r.
func WithResponse(ctx context.Context, r *Response) context.Context {
	return &responseCtx{Context: ctx, r: r}
}

// responseCtx is ctx carrying a Response, as context.WithValue would carry
// it, and which passes ErrAt on to ctx: the engine asks a context that can
// take it with the clock reading it has just taken (engine.ErrAter),
// and the server's execution context can, under the Response.
type responseCtx struct {
	context.Context
	r *Response
}

// Value is r for ResponseFrom's key, otherwise ctx's value.
func (c *responseCtx) Value(key any) any {
	if _, ok := key.(responseKey); ok {
		return c.r
	}
	return c.Context.Value(key)
}

// ErrAt is ctx's ErrAt, or its Err when it has none (which reads the clock
// itself, after now).
func (c *responseCtx) ErrAt(now time.Time) error {
	if ea, ok := c.Context.(engine.ErrAter); ok {
		return ea.ErrAt(now)
	}
	return c.Context.Err()
}

var _ engine.ErrAter = (*responseCtx)(nil)

func (c *responseCtx) String() string { return "triggers.WithResponse" }

// ResponseFrom returns the Response of the HTTP request that started the
// execution, or nil when it was not started by one.
func ResponseFrom(ctx context.Context) *Response {
	r, _ := ctx.Value(responseKey{}).(*Response)
	return r
}

// Set replaces the response; a later Set wins. header may be nil.
func (r *Response) Set(status int, header http.Header, body []byte) {
	r.SetBuf(status, header, body, nil)
}

// SetBuf is Set of a body that is buf's bytes, buf a buffer of
// internal/httpjson's pool (nil: none) that r then holds: the trigger
// gives it back with Release once it has written the response. A buffer
// that a later response replaces is left to the garbage collector, as the
// client may still be being sent it (a respond step of a parallel branch
// sending early).
func (r *Response) SetBuf(status int, header http.Header, body []byte, buf *[]byte) {
	r.mu.Lock()
	r.set, r.status, r.header, r.body, r.buf = true, status, header, body, buf
	r.mu.Unlock()
}

// Send sets the response and writes it to the client now. It reports false
// when a response was already sent; later responses and errors of the
// execution then reach only the execution history.
func (r *Response) Send(status int, header http.Header, body []byte) bool {
	return r.SendBuf(status, header, body, nil)
}

// SendBuf is Send of a body in a pooled buffer, held as SetBuf holds it.
func (r *Response) SendBuf(status int, header http.Header, body []byte, buf *[]byte) bool {
	r.mu.Lock()
	if r.sent || r.send == nil {
		r.set, r.status, r.header, r.body, r.buf = true, status, header, body, buf
		sent := r.sent
		r.mu.Unlock()
		return !sent && r.send == nil
	}
	r.set, r.sent, r.status, r.header, r.body, r.buf = true, true, status, header, body, buf
	send := r.send
	r.mu.Unlock()
	send.SendNow(status, header, body)
	return true
}

// Release returns the pooled buffer the response's body is in (nil when
// it is in none), and forgets the body: for the trigger, once the
// execution has ended and the response is written, to give the buffer
// back to its pool. Only one Release returns a given buffer.
func (r *Response) Release() *[]byte {
	r.mu.Lock()
	b := r.buf
	r.body, r.buf = nil, nil
	r.mu.Unlock()
	return b
}

// Get returns the response set by Set or Send, and whether one was set and
// whether it was already sent.
func (r *Response) Get() (status int, header http.Header, body []byte, set, sent bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, r.header, r.body, r.set, r.sent
}
