package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bound what one client can hold of the server: how long a request
// may take to arrive and to be answered, and how many connections are
// served at once.
//
// # Deadlines
//
// A request's headers must arrive within ReadHeaderTimeout. The body of a
// request to a pipeline must arrive within the trigger's timeout, counted
// from the start of the request (a body still arriving then is answered 408
// and the connection closed); once the body is in, the answer must be
// written within the trigger's timeout plus WriteGrace, counted from then.
// Other requests (the management API, /healthz, /metrics) must arrive
// within ReadTimeout and be answered within WriteTimeout. An idle
// keep-alive connection is closed after IdleTimeout.
//
// # Connections
//
// With MaxConnections above 0, the listener LimitListener returns serves at
// most MaxConnections connections for any request, plus ProbeReserve
// connections that answer only GET (or HEAD) /healthz and /readyz, live at
// most ProbeTimeout and close after their answer. A connection beyond both
// is answered at once with a bare HTTP/1.1 503 and a JSON error body, and
// closed. So a flood of slow clients gets 503s, not the file descriptors
// the server needs for its store and its health probes.
//
// A reserved connection must prove it is a probe: its first bytes must
// arrive within ProbeProof and start "GET /healthz", "GET /readyz" or the
// same with HEAD. Any other request is answered 503 as soon as its first
// bytes show it is not a probe, and a connection that sends nothing is
// closed after ProbeProof; either way its place is free again at once. A
// flood of connections that send nothing thus holds each reserved place at
// most ProbeProof: a probe gets through as soon as one is free, but a flood
// that reopens its connections faster than that can still keep the reserve
// full. For probes that nothing on the main port can crowd out, serve
// HealthHandler on a listener of its own (nectar serve --health-addr).
type Limits struct {
	// MaxConnections caps the connections served at once (0: no cap).
	MaxConnections int
	// ProbeReserve is the number of connections kept, beyond
	// MaxConnections, for health probes (default 8).
	ProbeReserve int
	// ProbeTimeout is the longest a reserved connection lives (default 5s).
	ProbeTimeout time.Duration
	// ProbeProof is how long a reserved connection may take to send the
	// first bytes that show it is a health probe (default 1s).
	ProbeProof time.Duration
	// ReadHeaderTimeout bounds the arrival of a request's headers
	// (default 10s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the arrival of a request other than a pipeline's,
	// body included (default 30s).
	ReadTimeout time.Duration
	// WriteTimeout bounds the answer to a request other than a pipeline's
	// (default 60s).
	WriteTimeout time.Duration
	// WriteGrace is how long a pipeline's answer may take to write beyond
	// the trigger's timeout (default 10s).
	WriteGrace time.Duration
	// IdleTimeout closes idle keep-alive connections (default 2m).
	IdleTimeout time.Duration
	// Logger receives a warning, at most once a minute, while connections
	// are refused (nil: none).
	Logger *slog.Logger
}

func (l Limits) withDefaults() Limits {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&l.ProbeTimeout, 5*time.Second)
	def(&l.ProbeProof, time.Second)
	def(&l.ReadHeaderTimeout, 10*time.Second)
	def(&l.ReadTimeout, 30*time.Second)
	def(&l.WriteTimeout, 60*time.Second)
	def(&l.WriteGrace, 10*time.Second)
	def(&l.IdleTimeout, 2*time.Minute)
	if l.ProbeReserve <= 0 {
		l.ProbeReserve = 8
	}
	return l
}

// HTTPServer returns an http.Server that serves s with lim's deadlines.
// Serve it on LimitListener(ln, lim) to apply lim's connection cap. The
// caller serves it; s.Shutdown shuts it down, in its sequence (call only
// s.Shutdown). Call HTTPServer once.
func (s *Server) HTTPServer(lim Limits) *http.Server {
	lim = lim.withDefaults()
	s.writeGrace.Store(int64(lim.WriteGrace))
	hs := s.httpServer(lim)
	s.hs.Store(hs)
	return hs
}

func (s *Server) httpServer(lim Limits) *http.Server {
	return &http.Server{
		Handler:           probeOnly{s},
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if lc, ok := c.(*limitedConn); ok && lc.probe {
				return context.WithValue(ctx, probeConnKey{}, true)
			}
			return ctx
		},
	}
}

type probeConnKey struct{}

// probeOnly answers only health probes on the reserved connections.
type probeOnly struct{ h http.Handler }

func (p probeOnly) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Context().Value(probeConnKey{}) != nil {
		w.Header().Set("Connection", "close")
		if !(r.Method == http.MethodGet || r.Method == http.MethodHead) || r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
			// Hijacked, the connection frees its reserved place before the
			// answer, rather than after the half-second net/http lingers on
			// a closing connection: refused requests do not crowd out probes.
			if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
				if lc, ok := c.(*limitedConn); ok {
					lc.release()
					refuse(c, lc.l.max)
					return
				}
				c.Close()
				return
			}
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "the server is at its connection limit; retry later")
			return
		}
	}
	p.h.ServeHTTP(w, r)
}

// LimitListener returns ln with lim's connection cap (ln itself when
// lim.MaxConnections is 0). See Limits.
func LimitListener(ln net.Listener, lim Limits) net.Listener {
	if lim.MaxConnections <= 0 {
		return ln
	}
	lim = lim.withDefaults()
	return &limitListener{Listener: ln, max: int64(lim.MaxConnections), reserve: int64(lim.ProbeReserve),
		probeTimeout: lim.ProbeTimeout, probeProof: lim.ProbeProof, refusing: make(chan struct{}, refusers), log: lim.Logger}
}

// refusers bounds the connections being answered 503 at once; beyond it a
// refused connection is closed without an answer. Each is held at most
// refuseLinger, waiting for the client to close first (closing a
// connection with unread data resets it, and the client may lose the
// answer).
const (
	refusers     = 32
	refuseLinger = 500 * time.Millisecond
)

type limitListener struct {
	net.Listener
	max, reserve int64
	probeTimeout time.Duration
	probeProof   time.Duration
	active       atomic.Int64
	refusing     chan struct{}
	log          *slog.Logger
	refused      atomic.Int64 // since the last warning
	warned       atomic.Int64 // time of the last warning, Unix nanoseconds
}

// warn logs, at most once a minute, that connections are being refused.
func (l *limitListener) warn() {
	n := l.refused.Add(1)
	if l.log == nil {
		return
	}
	now, last := time.Now().UnixNano(), l.warned.Load()
	if now-last < int64(time.Minute) || !l.warned.CompareAndSwap(last, now) {
		return
	}
	l.refused.Add(-n)
	l.log.Warn("connection limit reached: refusing connections with 503", "max_connections", l.max, "refused", n)
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		n := l.active.Add(1)
		switch {
		case n <= l.max:
			return &limitedConn{Conn: c, l: l}, nil
		case n <= l.max+l.reserve:
			until := time.Now().Add(l.probeTimeout)
			_ = c.SetDeadline(until)
			return &limitedConn{Conn: c, l: l, probe: true, until: until}, nil
		}
		l.active.Add(-1)
		l.warn()
		select {
		case l.refusing <- struct{}{}:
			go func() {
				defer func() { <-l.refusing }()
				refuse(c, l.max)
			}()
		default:
			c.Close()
		}
	}
}

// refuse answers a connection beyond the cap with a 503 and closes it,
// reading what the client sent meanwhile so that the close does not reset
// the connection before the client reads the answer.
func refuse(c net.Conn, max int64) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(refuseLinger))
	body := `{"timestamp":` + strconv.FormatInt(time.Now().UnixMilli(), 10) +
		`,"error":"the server is at its limit of ` + strconv.FormatInt(max, 10) + ` connections; retry later","code":503}`
	resp := "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) +
		"\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body
	if _, err := io.WriteString(c, resp); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}
}

// limitedConn counts itself out of its listener when closed; a probe
// connection never outlives its deadline, whatever the server sets, and
// must prove it is a probe with its first bytes.
//
// Its deadlines are applied lazily (see lazyDeadline): net/http and the
// server set a read deadline eight times a request and a write deadline
// three times, and most of those are replaced before any read or write
// waits on them; of the others, most are stood for by the deadline the
// connection has already (two of a request's four reach it).
type limitedConn struct {
	net.Conn
	l      *limitListener
	probe  bool
	until  time.Time
	closed sync.Once
	// For a probe connection: whether its first bytes were checked, and
	// those bytes (handed to the server before the rest).
	proved bool
	head   []byte
	rd, wd lazyDeadline
	// isClosed is set once Close has closed the connection: an I/O under
	// an expired deadline then gets the connection's own error.
	isClosed atomic.Bool
	// The errors of a read and of a write under an expired deadline
	// (expired), made at the first of each.
	expiredRead, expiredWrite atomic.Pointer[net.OpError]
}

// lazyDeadline is a deadline of one direction of a connection as the
// server set it. It reaches the connection only when a read (write) starts
// or is in progress: a deadline only bounds I/O, so one replaced before
// any I/O needs never be set. A deadline set during a read (net/http
// aborting its background read) is applied at once.
//
// The connection's deadline need not be the one set last, only one that
// stands for it: no later (an I/O never outlives its deadline) and at
// most deadlineSlack earlier (see covers). net/http moves a deadline a
// little later on every request of a keep-alive connection (now plus its
// timeout), and lifts the read deadline for its background read: the
// connection's deadline, a little earlier, stands for both, and is not
// changed a few times a request. An I/O that a deadline earlier than the
// one set ends is resumed under the one set (renew): Read and Write
// return a timeout only once the deadline set last has passed.
//
// A deadline that had passed when it was set (net/http's abort of its
// background read sets one long past) is applied only to an I/O in
// progress, which it must end. An I/O that starts under it fails at once
// with the timeout the connection would give (see expired), without the
// deadline reaching the connection, and without a system call: the
// connection keeps its earlier deadline, which stands again for the next
// one set, a little later (the idle wait's). Two deadlines that reached
// the connection on every request of a keep-alive connection do not.
type lazyDeadline struct {
	mu      sync.Mutex
	busy    int       // reads (writes) in progress
	want    time.Time // what the server set last
	applied time.Time // what the connection has
	stale   bool      // the connection's deadline was changed behind applied
	// expired: want had passed when it was set (see pastDeadline).
	expired bool
	// finite is the last deadline set that was not zero (none): the
	// reference a lifted deadline's stand-in is held to (see covers).
	finite time.Time
}

// deadlineSlack is how much earlier than the deadline set the
// connection's may be (see lazyDeadline).
const deadlineSlack = time.Second

// set records t, applying it when I/O is in progress.
// (No defer for the unlocks here and in begin: they run about fifteen
// times a request, and apply, a net.Conn's SetReadDeadline or
// SetWriteDeadline, does not panic.)
func (d *lazyDeadline) set(t time.Time, apply func(time.Time) error) error {
	var err error
	d.mu.Lock()
	d.want, d.expired = t, pastDeadline(t)
	if !t.IsZero() {
		d.finite = t
	}
	if d.busy > 0 {
		err = d.sync(apply)
	}
	d.mu.Unlock()
	return err
}

// begin counts an I/O in and applies the deadline it must run under. It
// reports false, counting nothing in, when that deadline had passed when it
// was set: the I/O is not started, and fails with a timeout (see expired).
func (d *lazyDeadline) begin(apply func(time.Time) error) bool {
	d.mu.Lock()
	if d.expired {
		d.mu.Unlock()
		return false
	}
	d.busy++
	_ = d.sync(apply) // a failure (a closed connection) is the I/O's to report
	d.mu.Unlock()
	return true
}

// processStart is when the process started (its package's
// initialization).
var processStart = time.Now()

// pastDeadline reports whether t, a deadline being set, has certainly
// passed without reading a clock (a clock read costs more under load than
// the rest of a deadline's setting): the past deadlines that interrupt I/O
// (net/http's aLongTimeAgo, time.Unix(1, 0)). Any other deadline is
// applied like any other, and its I/O fails as the connection fails it.
//
// A t with a monotonic reading (time.Now's) has passed if it is before
// processStart, compared by that reading: exact. One without (time.Unix,
// time.Date, a time through Round(0) or UTC()) can be compared only by the
// wall clock, which may have been set back since processStart: such a t
// before processStart may still be ahead of now (the runtime, which
// compares it with now, waits for it). It has passed only if it is also
// before wallLongAgo, which no wall clock is set back past.
func pastDeadline(t time.Time) bool {
	return !t.IsZero() && t.Before(processStart) && (t.Before(wallLongAgo) || t != t.Round(0))
}

// wallLongAgo is the start of 2000: a deadline without a monotonic reading
// before it has passed, whatever the wall clock was set to (see
// pastDeadline).
var wallLongAgo = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func (d *lazyDeadline) end() {
	d.mu.Lock()
	d.busy--
	d.mu.Unlock()
}

func (d *lazyDeadline) sync(apply func(time.Time) error) error {
	if !d.stale && d.covers() {
		return nil
	}
	d.applied, d.stale = d.want, false
	return apply(d.want)
}

// covers reports whether the connection's deadline (applied) may stand
// for the one set (want): it is the same, or it is no later and at most
// deadlineSlack earlier. A lifted deadline (zero) is stood for by one no
// earlier than deadlineSlack before the last deadline set (finite), which
// net/http sets a moment before it lifts the read deadline for its
// background read. An applied deadline that is too early costs an extra
// wake-up (renew), never a timeout.
func (d *lazyDeadline) covers() bool {
	a, w := d.applied, d.want
	switch {
	case a.Equal(w):
		return true
	case a.IsZero(): // no deadline stands only for none
		return false
	case w.IsZero():
		w = d.finite
	case a.After(w):
		return false
	}
	return !a.Before(w.Add(-deadlineSlack))
}

// renew is called when an I/O ended in a timeout of the connection's
// deadline. It reports false when that timeout is the one set (the
// deadline the connection has is the one set, or the one set, as clamp
// makes it, has passed); otherwise it applies the one set and reports
// true: the I/O goes on under it.
func (d *lazyDeadline) renew(apply func(time.Time) error, clamp func(time.Time) time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.stale && d.applied.Equal(d.want) {
		return false
	}
	if t := clamp(d.want); !t.IsZero() && !time.Now().Before(t) {
		return false
	}
	d.applied, d.stale = d.want, false
	return apply(d.want) == nil
}

// current returns the deadline the server set last.
func (d *lazyDeadline) current() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.want
}

// forget marks the connection's deadline as changed behind d's back (by
// prove): the next I/O applies d's again.
func (d *lazyDeadline) forget() {
	d.mu.Lock()
	d.stale = true
	d.mu.Unlock()
}

// probeStarts are the starts of the only requests a reserved connection
// serves.
var probeStarts = []string{"GET /healthz ", "GET /healthz?", "GET /readyz ", "GET /readyz?",
	"HEAD /healthz ", "HEAD /healthz?", "HEAD /readyz ", "HEAD /readyz?"}

// probeStart reports whether b starts a probe request (yes), cannot be one
// (no), or is too short to tell.
func probeStart(b []byte) (yes, no bool) {
	for _, p := range probeStarts {
		n := min(len(b), len(p))
		if string(b[:n]) == p[:n] {
			if n == len(p) {
				return true, false
			}
			return false, false
		}
	}
	return false, true
}

func (c *limitedConn) Read(p []byte) (int, error) {
	if c.probe && !c.proved {
		c.proved = true
		if err := c.prove(); err != nil {
			return 0, err
		}
	}
	if len(c.head) > 0 {
		n := copy(p, c.head)
		c.head = c.head[n:]
		return n, nil
	}
	if !c.rd.begin(c.applyRead) {
		if len(p) == 0 || c.isClosed.Load() {
			// A read of nothing returns at once whatever the deadline,
			// and a closed connection says it is closed, not timed out:
			// as the connection itself does.
			return c.Conn.Read(p)
		}
		return 0, c.expired("read")
	}
	defer c.rd.end()
	n, err := c.Conn.Read(p)
	for err != nil && errors.Is(err, os.ErrDeadlineExceeded) && c.rd.renew(c.applyRead, c.clamp) {
		// The connection's deadline was earlier than the one set.
		if n > 0 {
			return n, nil
		}
		n, err = c.Conn.Read(p)
	}
	return n, err
}

func (c *limitedConn) Write(p []byte) (int, error) {
	if !c.wd.begin(c.applyWrite) {
		if c.isClosed.Load() {
			return c.Conn.Write(p) // closed: the error says so, not a timeout
		}
		return 0, c.expired("write")
	}
	defer c.wd.end()
	n, err := c.Conn.Write(p)
	for n < len(p) && err != nil && errors.Is(err, os.ErrDeadlineExceeded) && c.wd.renew(c.applyWrite, c.clamp) {
		var m int
		m, err = c.Conn.Write(p[n:]) // the connection's deadline was earlier than the one set
		n += m
	}
	return n, err
}

// expired returns the error of a read (op "read") or write ("write") under
// a deadline already passed, as net's connection returns it: a *net.OpError
// with os.ErrDeadlineExceeded, a timeout. Each is made once for the
// connection, at its first use (a read's once a request), and returned
// again: those who get an OpError read it (net/http checks its Timeout).
// Reads (writes) from several goroutines at once may each make one; one
// is kept.
func (c *limitedConn) expired(op string) error {
	e := &c.expiredRead
	if op == "write" {
		e = &c.expiredWrite
	}
	if oe := e.Load(); oe != nil {
		return oe
	}
	la := c.Conn.LocalAddr()
	var network string
	if la != nil {
		network = la.Network()
	}
	oe := &net.OpError{Op: op, Net: network, Source: la, Addr: c.Conn.RemoteAddr(), Err: os.ErrDeadlineExceeded}
	e.CompareAndSwap(nil, oe)
	return oe
}

func (c *limitedConn) applyRead(t time.Time) error  { return c.Conn.SetReadDeadline(c.clamp(t)) }
func (c *limitedConn) applyWrite(t time.Time) error { return c.Conn.SetWriteDeadline(c.clamp(t)) }

// prove reads the first bytes of a reserved connection, waiting at most
// the listener's probeProof. A connection that sends nothing by then is
// closed; one whose bytes start another request is answered 503 and
// closed. Either frees its reserved place at once.
func (c *limitedConn) prove() error {
	c.rd.forget()
	_ = c.Conn.SetReadDeadline(c.clamp(time.Now().Add(c.l.probeProof)))
	var buf [16]byte
	n := 0
	for {
		m, err := c.Conn.Read(buf[n:])
		n += m
		yes, no := probeStart(buf[:n])
		switch {
		case yes:
			c.head = append([]byte(nil), buf[:n]...)
			return nil // the server's deadline is applied again at the next read
		case no:
			c.release()
			refuse(c.Conn, c.l.max)
			return io.EOF // net/http closes the connection without a word of its own
		case err != nil:
			c.Close()
			return err
		}
	}
}

// Close frees c's place before closing it, as the refusals do: a client
// that sees its connection closed and reconnects at once finds the place
// free.
func (c *limitedConn) Close() error {
	c.release()
	err := c.Conn.Close()
	c.isClosed.Store(true) // after: a Read or Write then fails as closed at once
	return err
}

// CloseWrite half-closes a TCP connection, as net/http does before closing
// one (so that the client reads the last answer rather than a reset).
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// release counts c out of its listener (once).
func (c *limitedConn) release() { c.closed.Do(func() { c.l.active.Add(-1) }) }

func (c *limitedConn) clamp(t time.Time) time.Time {
	if c.probe && (t.IsZero() || t.After(c.until)) {
		return c.until
	}
	return t
}

func (c *limitedConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func (c *limitedConn) SetReadDeadline(t time.Time) error  { return c.rd.set(t, c.applyRead) }
func (c *limitedConn) SetWriteDeadline(t time.Time) error { return c.wd.set(t, c.applyWrite) }

// bodyDeadline bounds the arrival of a pipeline request's body by the
// trigger's timeout, counted from the request's start; once the body is
// in, it lifts the read deadline (so that the server's watch for a client
// hanging up does not cancel the running execution) and gives the answer
// the timeout plus the write grace.
//
// The deadlines are set on w itself when it has them (net/http's own
// writer, which bodyDeadline is handed), else through an
// http.ResponseController (which finds them behind wrappers), allocated
// only then. The body's wrapper is b, the caller's (held with the
// request's statusWriter, which lives as long as the handler runs).
func (s *Server) bodyDeadline(w http.ResponseWriter, r *http.Request, timeout time.Duration, b *deadlineBody) {
	var d deadliner
	if wd, ok := w.(deadliner); ok {
		d = wd
	} else {
		d = http.NewResponseController(w)
	}
	now := time.Now()
	grace := time.Duration(s.writeGrace.Load())
	if grace <= 0 {
		grace = 10 * time.Second
	}
	if d.SetReadDeadline(now.Add(timeout)) != nil {
		return // not a connection of an http.Server (a test recorder)
	}
	answer := addSaturated(timeout, grace)
	_ = d.SetWriteDeadline(now.Add(addSaturated(timeout, answer)))
	if r.Body == nil || r.Body == http.NoBody {
		_ = d.SetReadDeadline(time.Time{})
		_ = d.SetWriteDeadline(time.Now().Add(answer))
		return
	}
	*b = deadlineBody{ReadCloser: r.Body, d: d, r: r, answer: answer}
	r.Body = b
}

// addSaturated returns a+b (both positive), or the longest duration when
// that overflows: a trigger's timeout may be as long as a duration can be,
// and twice it plus the write grace must not wrap round to a deadline long
// past.
func addSaturated(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// deadliner sets a connection's deadlines: net/http's ResponseWriter, or
// an http.ResponseController.
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// deadlineBody is a request's body until it has been read to its end:
// then it lifts the read deadline, gives the answer its time (answer from
// now), and puts net/http's own body back in the request (r), once.
type deadlineBody struct {
	io.ReadCloser
	d      deadliner
	r      *http.Request
	answer time.Duration
	done   bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.d.SetReadDeadline(time.Time{})
		_ = b.d.SetWriteDeadline(time.Now().Add(b.answer))
		// The request holds net/http's own body again: once the handler
		// closes it, net/http sees a body read to its end and closed, and
		// does not read it again (io.CopyN to io.Discard) before answering.
		b.r.Body = b.ReadCloser
	}
	return n, err
}
