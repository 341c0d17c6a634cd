package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/server"
)

// These tests attack the connection deadlines of a limited listener (an
// I/O that starts under a deadline already past fails at once, without the
// deadline reaching the socket) from the side of net/http's background
// read: the watch for a client hanging up while its execution runs. A
// client that hangs up must cancel its execution's context, whatever
// request of its connection it is, however its requests arrived.

// hangUpEnv serves a pipeline /slow (POST, and GET /slowget) whose only
// step is a call upstream that waits for its request to be cancelled,
// through a limited listener; cancelled receives once per cancelled call.
func hangUpEnv(t *testing.T) (addr string, started, cancelled chan struct{}) {
	t.Helper()
	started, cancelled = make(chan struct{}, 16), make(chan struct{}, 16)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-r.Context().Done():
			cancelled <- struct{}{}
		case <-time.After(20 * time.Second): // a bound on a hang, not a measure
		}
	}))
	t.Cleanup(up.Close)
	e := start(t, map[string]string{
		"ok.yaml": "name: ok\ntrigger:\n  http: {path: /ok, methods: [GET, POST]}\nsteps:\n  - set: {ok: true}\n",
		"slow.yaml": `
name: slow
trigger:
  http: {path: /slow, methods: [GET, POST], timeout: 60s}
steps:
  - rest: {method: GET, url: "` + up.URL + `/never"}
`}, nil)
	return serveLimited(t, e, server.Limits{MaxConnections: 10}), started, cancelled
}

// hangUp waits for the execution to call upstream, closes c, and fails
// unless the call is then cancelled (the client's hang-up reached the
// execution) within a bound on a hang.
func hangUp(t *testing.T, c net.Conn, started, cancelled chan struct{}, what string) {
	t.Helper()
	select {
	case <-started:
	case <-time.After(15 * time.Second): // a bound on a hang, not a measure
		t.Fatalf("%s: the slow execution never called upstream", what)
	}
	c.Close()
	select {
	case <-cancelled:
	case <-time.After(15 * time.Second): // a bound on a hang, not a measure
		t.Fatalf("%s: the client hung up, but its execution was never cancelled", what)
	}
}

const (
	getOK   = "GET /ok HTTP/1.1\r\nHost: nectar.test\r\n\r\n"
	postOK  = "POST /ok HTTP/1.1\r\nHost: nectar.test\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
	postSlo = "POST /slow HTTP/1.1\r\nHost: nectar.test\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
	getSlo  = "GET /slow HTTP/1.1\r\nHost: nectar.test\r\n\r\n"
)

// readAnswers reads n answers (200) from br.
func readAnswers(t *testing.T, c net.Conn, br *bufio.Reader, n int) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang, not a measure
	for i := 0; i < n; i++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i+1, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("answer %d: %d", i+1, resp.StatusCode)
		}
	}
	c.SetReadDeadline(time.Time{})
}

// dialHangUp connects to addr, closed at the test's end.
func dialHangUp(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// TestHangUpCancelsOnAKeptAliveConnection: the client sends some requests
// on one connection (one at a time, or all in one write), then one to
// /slow, and hangs up while it runs.
func TestHangUpCancelsOnAKeptAliveConnection(t *testing.T) {
	addr, started, cancelled := hangUpEnv(t)
	cases := []struct {
		name   string
		before []string // sent one at a time, each answered before the next
		burst  string   // then sent in one write, ending in the slow request
		answer int      // answers of the burst read before hanging up
	}{
		{name: "1st POST", burst: postSlo},
		{name: "1st GET", burst: getSlo},
		{name: "2nd POST after GET", before: []string{getOK}, burst: postSlo},
		{name: "2nd POST after POST", before: []string{postOK}, burst: postSlo},
		{name: "2nd GET after POST", before: []string{postOK}, burst: getSlo},
		{name: "10th POST", before: []string{getOK, postOK, getOK, postOK, getOK, postOK, getOK, postOK, postOK}, burst: postSlo},
		{name: "10th GET", before: []string{postOK, postOK, getOK, postOK, getOK, postOK, getOK, postOK, postOK}, burst: getSlo},
		{name: "pipelined POSTs", burst: postOK + postOK + postSlo, answer: 2},
		{name: "pipelined GET POST", burst: getOK + postOK + getSlo, answer: 2},
		{name: "pipelined after kept alive", before: []string{postOK, getOK}, burst: postOK + postSlo, answer: 1},
		{name: "expect 100-continue", before: []string{postOK},
			burst: "POST /slow HTTP/1.1\r\nHost: nectar.test\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, br := dialHangUp(t, addr)
			for _, req := range tc.before {
				if _, err := io.WriteString(c, req); err != nil {
					t.Fatal(err)
				}
				readAnswers(t, c, br, 1)
			}
			if _, err := io.WriteString(c, tc.burst); err != nil {
				t.Fatal(err)
			}
			readAnswers(t, c, br, tc.answer)
			hangUp(t, c, started, cancelled, tc.name)
		})
	}
}

// TestHangUpCancelsAfterTheNextRequestIsRead: a client that sends its next
// request before reading the answer, and the answer, then hangs up while
// the second runs.
func TestHangUpCancelsAfterTheNextRequestIsRead(t *testing.T) {
	addr, started, cancelled := hangUpEnv(t)
	c, br := dialHangUp(t, addr)
	fmt.Fprint(c, postOK)
	time.Sleep(10 * time.Millisecond) // not a measure: only lets the answer start
	fmt.Fprint(c, postSlo)
	readAnswers(t, c, br, 1)
	hangUp(t, c, started, cancelled, "next request before the answer")
}

// TestHangUpCancelsAfterA100Continue: the client announces its body with
// Expect: 100-continue, waits for the 100 before sending it (on the second
// request of its connection), then hangs up while the execution runs.
func TestHangUpCancelsAfterA100Continue(t *testing.T) {
	addr, started, cancelled := hangUpEnv(t)
	c, br := dialHangUp(t, addr)
	fmt.Fprint(c, postOK)
	readAnswers(t, c, br, 1)
	fmt.Fprint(c, "POST /slow HTTP/1.1\r\nHost: nectar.test\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang, not a measure
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("want a 100 Continue, got %q, %v", line, err)
	}
	fmt.Fprint(c, "{}")
	hangUp(t, c, started, cancelled, "after a 100 Continue")
}

// TestHugeTriggerTimeoutAnswersA100Continue: a trigger's timeout so long
// (1300000h, 148 years; 2562047h, the longest) that the deadline of the
// answer while the body arrives (twice the timeout plus the write grace)
// overflowed a time.Duration: it wrapped round to a deadline long past, the
// 100 Continue could not be written, net/http's writer kept the error, and
// the answer never came (the client saw its connection closed). Deadlines
// are saturated instead: the body and the answer are as good as unbounded.
func TestHugeTriggerTimeoutAnswersA100Continue(t *testing.T) {
	for _, timeout := range []string{"1300000h", "2562047h"} {
		t.Run(timeout, func(t *testing.T) {
			e := start(t, map[string]string{"long.yaml": "name: long\ntrigger:\n  http: {path: /long, timeout: " + timeout + "}\nsteps:\n  - set: {ok: true}\n"}, nil)
			addr := serveLimited(t, e, server.Limits{MaxConnections: 10})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for i, expect := range []string{"", "Expect: 100-continue\r\n", "Expect: 100-continue\r\n"} {
				fmt.Fprintf(c, "POST /long HTTP/1.1\r\nHost: nectar.test\r\n%sContent-Type: application/json\r\nContent-Length: 2\r\n\r\n", expect)
				c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang, not a measure
				if expect != "" {
					resp, err := http.ReadResponse(br, nil)
					if err != nil || resp.StatusCode != http.StatusContinue {
						t.Fatalf("request %d: want a 100 Continue, got %v, %v", i+1, resp, err)
					}
				}
				fmt.Fprint(c, "{}")
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("request %d (%q): no answer: %v", i+1, expect, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(b), `"ok":true`) {
					t.Fatalf("request %d: %d %s", i+1, resp.StatusCode, b)
				}
			}
		})
	}
}
