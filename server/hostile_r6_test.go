package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/server"
)

// These tests attack the connection deadlines that a deadline already on
// the socket may stand for (up to a second earlier than the one set, or
// for a lifted one): the timeouts are chosen so that a stood-in deadline
// is the one on the socket when the client stalls or trickles. Every
// timeout must still fire (the connection closed, the 408 answered), and
// a lifted deadline must never end an I/O. The bounds are on hangs only.

// closedWithin reports whether the server closes c (a read ends in EOF or
// a reset) within bound, while tick (if not nil) is called every 50 ms.
func closedWithin(c net.Conn, bound time.Duration, tick func()) bool {
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, c)
		close(closed)
	}()
	end := time.After(bound)
	for {
		select {
		case <-closed:
			return true
		case <-end:
			return false
		case <-time.After(50 * time.Millisecond):
			if tick != nil {
				tick()
			}
		}
	}
}

// keptAlive dials addr and serves one GET /ok on the connection, leaving
// it idle and kept alive.
func keptAlive(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: nectar.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang, not a measure
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	c.SetReadDeadline(time.Time{})
	return c, br
}

const okPipeline = "name: ok\ntrigger:\n  http: {path: /ok, methods: [GET]}\nsteps:\n  - set: {ok: true}\n"

// TestIdleDeadlineStandsForTheHeaderDeadline: with an idle timeout (1 s)
// a little shorter than the header timeout (1900 ms), the idle
// deadline on the socket stands for the header deadline of a request that
// starts at once. A client that then trickles header lines for ever is cut
// off all the same; a client that stays idle is cut off by the idle
// timeout; and one that starts a request at once and stalls is cut off.
func TestIdleDeadlineStandsForTheHeaderDeadline(t *testing.T) {
	e := start(t, map[string]string{"ok.yaml": okPipeline}, nil)
	addr := serveLimited(t, e, server.Limits{MaxConnections: 10, IdleTimeout: time.Second, ReadHeaderTimeout: 1900 * time.Millisecond})
	t.Run("trickled headers", func(t *testing.T) {
		t.Parallel()
		c, _ := keptAlive(t, addr)
		_, _ = io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: nectar.test\r\n")
		if !closedWithin(c, 15*time.Second, func() { _, _ = io.WriteString(c, "X-Slow: 1\r\n") }) {
			t.Fatal("a kept-alive connection trickling its headers was never closed")
		}
	})
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		c, _ := keptAlive(t, addr)
		if !closedWithin(c, 15*time.Second, nil) {
			t.Fatal("an idle kept-alive connection was never closed")
		}
	})
	t.Run("stalled headers", func(t *testing.T) {
		t.Parallel()
		c, _ := keptAlive(t, addr)
		_, _ = io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: nect")
		if !closedWithin(c, 15*time.Second, nil) {
			t.Fatal("a kept-alive connection stalled in its headers was never closed")
		}
	})
	t.Run("second request answered", func(t *testing.T) {
		t.Parallel()
		c, br := keptAlive(t, addr)
		// Sent in two parts, the second after the idle deadline (which
		// stands for the header deadline on the socket) has passed.
		start := time.Now()
		_, _ = io.WriteString(c, "GET /ok HTTP/1.1\r\n")
		time.Sleep(1300 * time.Millisecond)
		_, _ = io.WriteString(c, "Host: nectar.test\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang, not a measure
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			// The server's header deadline is 1900 ms after it read the
			// request's first bytes, so after start + 1900 ms: a close
			// before that is the server's error. After it, the header
			// timeout passed on a loaded machine, which is no error.
			if time.Since(start) < 1900*time.Millisecond {
				t.Fatalf("the connection was closed %v after its request started, before the header timeout (1.9 s): %v", time.Since(start), err)
			}
			t.Skipf("no answer (header timeout on a loaded machine?): %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("second request: %d", resp.StatusCode)
		}
	})
}

// TestSlowBodyOnAKeptAliveConnectionUnderAStoodInDeadline: the header
// deadline (1 s) on the socket stands for the body deadline (the trigger's
// timeout, 1500 ms): a client trickling the body of the second request of
// a kept-alive connection gets its 408 and its connection closed.
func TestSlowBodyOnAKeptAliveConnectionUnderAStoodInDeadline(t *testing.T) {
	e := start(t, map[string]string{"ok.yaml": okPipeline, "slow.yaml": `name: slow
trigger:
  http: {path: /slow, methods: [POST], timeout: 1500ms}
steps:
  - log: {message: never reached}
`}, nil)
	addr := serveLimited(t, e, server.Limits{MaxConnections: 10, ReadHeaderTimeout: time.Second})
	for _, kept := range []bool{false, true} {
		var c net.Conn
		if kept {
			c, _ = keptAlive(t, addr)
		} else {
			var err error
			if c, err = net.Dial("tcp", addr); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
		}
		if _, err := io.WriteString(c, "POST /slow HTTP/1.1\r\nHost: nectar.test\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		}()
		resp, b, err := answer(c, 20*time.Second)
		close(stop)
		if err != nil {
			t.Fatalf("kept alive %v: no answer to a trickled body: %v", kept, err)
		}
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("kept alive %v: %d %s, want 408", kept, resp.StatusCode, b)
		}
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("kept alive %v: the connection of a timed-out body is still open", kept)
			}
		}
	}
}

// TestAPIRunOutlivesTheReadTimeout: a management request is read under
// ReadHeaderTimeout and ReadTimeout (both 500 ms); net/http then lifts the read deadline for its
// background read (the watch for a client hanging up), which the deadline
// on the socket stands for. A run that lasts past it (an upstream holding
// its answer 1.5 s) must not be taken for a client that hung up: it is
// answered 200.
func TestAPIRunOutlivesTheReadTimeout(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(1500 * time.Millisecond): // the fixture's hold, not a measure
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"held":true}`)
	}))
	defer up.Close()
	e := start(t, nil, nil)
	addr := serveLimited(t, e, server.Limits{MaxConnections: 10, ReadHeaderTimeout: 500 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 20 * time.Second})
	src := "name: held\nsteps:\n  - rest: {method: GET, url: \"" + up.URL + "/hold\"}\n"
	b, _ := json.Marshal(server.RunRequest{Source: src, File: "/tmp/held.yaml", Input: json.RawMessage(`{}`)})
	client := &http.Client{Timeout: 20 * time.Second}
	for i := range 2 { // a new connection, then a kept-alive one
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/run", strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer admin-key")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"held":true`) || strings.Contains(string(body), `"error"`) {
			t.Fatalf("run %d: %d %s, want 200 with the upstream's answer", i, resp.StatusCode, body)
		}
	}
}

// TestKeptAliveClientThatNeverReadsTheAnswer: the answer to the second
// request of a kept-alive connection (16 MB, never read) is written under
// the first answer's write deadline, which stands for its own (set a few
// milliseconds later): the blocked write must still end at the deadline
// set (the trigger's timeout plus the write grace), so that the execution
// finishes and is recorded, 200.
func TestKeptAliveClientThatNeverReadsTheAnswer(t *testing.T) {
	var fields []string
	for i := range 16 {
		fields = append(fields, "f"+strconv.Itoa(i)+`: "{{ message.s }}"`)
	}
	e := start(t, map[string]string{"big.yaml": `
name: big
trigger:
  http: {path: /big, timeout: 2s, max_body: 8MB}
steps:
  - if: message.s != nil
    set: {` + strings.Join(fields, ", ") + `}
`}, nil)
	addr := serveLimited(t, e, server.Limits{MaxConnections: 10, WriteGrace: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	post := func(body string) {
		req := "POST /big HTTP/1.1\r\nHost: nectar.test\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
	}
	post(`{}`)
	c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang, not a measure
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	resp.Body.Close()
	post(`{"s":"` + strings.Repeat("x", 1<<20) + `"}`)
	// The second answer is never read. Its execution ends when its write
	// is cut.
	ctx := context.Background()
	for bound := time.Now().Add(15 * time.Second); ; { // a bound on a hang, not a measure
		if err := e.srv.History().Flush(ctx); err != nil {
			t.Fatal(err)
		}
		recs, err := history.List(ctx, e.st, history.Filter{Pipeline: "big"})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 1 {
			for _, r := range recs {
				if r.Code != http.StatusOK {
					t.Fatalf("an execution answered %d (%s %s), want 200", r.Code, r.Status, r.Error)
				}
			}
			return
		}
		if time.Now().After(bound) {
			t.Fatal("the execution whose answer is never read never ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProbeConnectionTricklingHeadersIsCapped: a reserved (probe)
// connection lives at most ProbeTimeout (1500 ms here), whatever deadline
// the server sets or the socket keeps standing for it: one that proves it
// is a probe ("GET /healthz") and then trickles header lines for ever,
// each well within the header timeout (10 s), is closed all the same.
func TestProbeConnectionTricklingHeadersIsCapped(t *testing.T) {
	e := start(t, map[string]string{"ok.yaml": okPipeline}, nil)
	addr := serveLimited(t, e, server.Limits{MaxConnections: 1, ProbeReserve: 1, ProbeTimeout: 1500 * time.Millisecond, ReadHeaderTimeout: 10 * time.Second})
	hold, _ := keptAlive(t, addr) // the one regular place, held
	_ = hold
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: nectar.test\r\n"); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(c, 15*time.Second, func() { _, _ = io.WriteString(c, "X-Slow: 1\r\n") }) {
		t.Fatal("a probe connection trickling its headers outlived its cap")
	}
}
