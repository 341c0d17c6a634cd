package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/server"
)

// serveLimited serves e's server as nectar serve does, with lim, on a new
// loopback port, and returns its address.
func serveLimited(t *testing.T, e *env, lim server.Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := e.srv.HTTPServer(lim)
	go hs.Serve(server.LimitListener(ln, lim))
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// slowBody opens a connection and sends the headers of a POST to path
// announcing a 1000-byte JSON body, and its first byte.
func slowBody(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", path, addr); err != nil {
		t.Fatal(err)
	}
	return c
}

// answer reads one response from c, waiting at most wait (a hang, not a
// timing assertion), and returns it with its body.
func answer(c net.Conn, wait time.Duration) (*http.Response, []byte, error) {
	c.SetReadDeadline(time.Now().Add(wait))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// checkError fails unless b is the standard JSON error object with code.
func checkError(t *testing.T, what string, b []byte, code int) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
		Code  int    `json:"code"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Code != code || e.Error == "" {
		t.Errorf("%s: body %q is not a JSON error with code %d (%v)", what, b, code, err)
	}
}

// TestSlowBodyIsCutOffAtTheTriggersTimeout: a client that trickles its body
// a byte at a time gets 408 once the trigger's timeout (1s) has passed, and
// its connection is closed; before, only the header timeout applied and
// the connection stayed open for as long as the client kept sending.
func TestSlowBodyIsCutOffAtTheTriggersTimeout(t *testing.T) {
	e := start(t, map[string]string{"slow.yaml": `name: slow
trigger:
  http: {path: /slow, methods: [POST], timeout: 1s}
steps:
  - log: {message: never reached}
`}, nil)
	addr := serveLimited(t, e, server.Limits{MaxConnections: 20})
	c := slowBody(t, addr, "/slow")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; i < 500; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	resp, b, err := answer(c, 20*time.Second)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("slow body: %d %s, want 408", resp.StatusCode, b)
	}
	checkError(t, "slow body", b, http.StatusRequestTimeout)
	// The server closes the connection: a read ends (EOF or reset), it
	// does not wait.
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the connection of a timed-out body is still open")
		}
	}
}

// TestConnectionFloodKeepsHealthz: with a cap of 20 connections, 40 clients
// holding slow bodies get 20 connections and 20 answers 503 with a JSON
// body, while /healthz and /readyz still answer 200 and a new request to a
// pipeline gets 503 at once. Before, every connection was accepted and
// held, until the process ran out of file descriptors and /healthz with it.
func TestConnectionFloodKeepsHealthz(t *testing.T) {
	e := start(t, map[string]string{"hold.yaml": `name: hold
trigger:
  http: {path: /hold, methods: [POST], timeout: 1m}
steps:
  - log: {message: never reached}
`}, nil)
	const max, flood = 20, 40
	addr := serveLimited(t, e, server.Limits{MaxConnections: max, ProbeReserve: 4})
	type result struct {
		code int
		body []byte
	}
	answers := make(chan result, flood)
	for range flood {
		c := slowBody(t, addr, "/hold")
		go func() {
			resp, b, err := answer(c, time.Minute)
			if err != nil {
				return // held: no answer until the test closes it
			}
			c.Close() // as a client does after Connection: close
			answers <- result{resp.StatusCode, b}
		}()
	}
	for i := range flood - max {
		select {
		case r := <-answers:
			if r.code != http.StatusServiceUnavailable {
				t.Fatalf("refused connection %d: %d %s, want 503", i, r.code, r.body)
			}
			checkError(t, "refused connection", r.body, http.StatusServiceUnavailable)
		case <-time.After(20 * time.Second):
			t.Fatalf("%d of the %d connections beyond the cap of %d got no answer", flood-max-i, flood-max, max)
		}
	}
	// The cap is full of slow bodies: probes still answer, other requests
	// get 503.
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("%s during the flood: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s during the flood: %d %s", path, resp.StatusCode, b)
		}
	}
	resp, err := client.Post("http://"+addr+"/hold", "application/json", strings.NewReader(`{"id":1}`))
	if err != nil {
		t.Fatalf("a request beyond the cap: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a request beyond the cap: %d %s, want 503", resp.StatusCode, b)
	}
	checkError(t, "a request beyond the cap", b, http.StatusServiceUnavailable)
	select {
	case r := <-answers:
		t.Fatalf("a connection within the cap was answered %d %s while its body was still coming", r.code, r.body)
	default:
	}
}

// TestPipelineAnswersPastTheServersWriteTimeout: a pipeline whose trigger
// allows longer than the server's WriteTimeout still gets its answer out
// (here its 504, after its 1.5s timeout, past a WriteTimeout of 0.5s): the
// write deadline of a pipeline request follows its trigger's timeout.
func TestPipelineAnswersPastTheServersWriteTimeout(t *testing.T) {
	e := start(t, map[string]string{"long.yaml": `name: long
trigger:
  http: {path: /long, methods: [POST], timeout: 1500ms}
steps:
  - test-block: {}
`}, nil)
	addr := serveLimited(t, e, server.Limits{MaxConnections: 20, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Post("http://"+addr+"/long", "application/json", strings.NewReader(`{"id":1}`))
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("%d %s, want the pipeline's 504", resp.StatusCode, b)
	}
	checkError(t, "long pipeline", b, http.StatusGatewayTimeout)
}

// TestConnDeadlines checks the deadlines of a connection LimitListener
// returns, which reach the socket only when a read or write needs them: a
// deadline set between reads bounds the next read, one set during a
// blocked read (how net/http aborts its background read) ends it at once,
// a deadline lifted before a read does not bound it, and a write deadline
// bounds the next write.
func TestConnDeadlines(t *testing.T) {
	c, client := server.LimitedPair(t)
	buf := make([]byte, 8)
	timedOut := func(err error) bool {
		ne, ok := err.(net.Error)
		return ok && ne.Timeout()
	}

	// Set, then read: the read is bounded.
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(buf); !timedOut(err) {
		t.Fatalf("a read after a past deadline: %v, want a timeout", err)
	}
	// Lifted before the read: the read waits for the data.
	c.SetReadDeadline(time.Now().Add(-time.Second))
	c.SetReadDeadline(time.Time{})
	go client.Write([]byte("ping"))
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("a read after the deadline was lifted: %q, %v", buf[:n], err)
	}
	// Set while a read waits: the read ends.
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(buf)
		done <- err
	}()
	for cut := false; !cut; {
		// Set until the read has started and is cut (the read may start
		// after the first set, which it then applies itself).
		c.SetReadDeadline(time.Now().Add(-time.Second))
		select {
		case err := <-done:
			if !timedOut(err) {
				t.Fatalf("a read cut by a deadline set meanwhile: %v, want a timeout", err)
			}
			cut = true
		case <-time.After(10 * time.Millisecond):
		}
	}
	c.SetReadDeadline(time.Time{})
	c.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := c.Write([]byte("pong")); !timedOut(err) {
		t.Fatalf("a write after a past deadline: %v, want a timeout", err)
	}
	c.SetWriteDeadline(time.Time{})
	if _, err := c.Write([]byte("pong")); err != nil {
		t.Fatalf("a write after the deadline was lifted: %v", err)
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second)) // a hang, not a timing assertion
	if n, err := io.ReadFull(client, buf[:4]); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("the client read %q, %v", buf[:n], err)
	}
}
