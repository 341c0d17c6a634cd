package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/internal/servertest"
)

// TestHandlerRequestWithoutBody sends the server's handler a request made
// by http.NewRequest with no body: its Body is nil (only requests a
// server reads have http.NoBody). The pipeline answers it as it answers
// a request with an empty body, with no panic.
func TestHandlerRequestWithoutBody(t *testing.T) {
	e := servertest.Start(t, map[string]string{"echo.yaml": echoPipeline}, nil)
	req, err := http.NewRequest(http.MethodGet, "/customers/42", nil)
	if err != nil {
		t.Fatal(err)
	}
	if req.Body != nil {
		t.Fatal("http.NewRequest gave a body")
	}
	w := httptest.NewRecorder()
	e.Srv.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"id":"42"`) {
		t.Fatalf("GET /customers/42 without a body: %d %s", w.Code, w.Body)
	}
}

// TestPipelinedBodiesOnOneConnection writes requests back to back on one
// TCP connection, before reading any answer: a body with a length, a
// chunked body, one sent after "Expect: 100-continue", a chunked body over
// max_body (413) and a last request. Each body read to its end is closed
// by the trigger and net/http takes the next request where it ends; the
// rest of a refused body is never read as a request: after the 413 the
// connection either answers the last request or is closed.
func TestPipelinedBodiesOnOneConnection(t *testing.T) {
	const small = "name: small\ntrigger:\n  http: {path: /small, max_body: 16B}\nsteps:\n  - set: {n: \"{{ message.n }}\"}\n"
	e := servertest.Start(t, map[string]string{"echo.yaml": echoPipeline, "small.yaml": small}, nil)
	c, err := net.Dial("tcp", e.HTTP.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	smuggled := "GET /customers/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	big := `{"n":"` + strings.Repeat("a", 40) + smuggled + `"}`
	reqs := "POST /customers/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\":1}\n" +
		"POST /customers/2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":2}\r\n0\r\n\r\n" +
		"POST /customers/3 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n{\"a\":3}" +
		"POST /small HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
		strconv.FormatInt(int64(len(big)), 16) + "\r\n" + big + "\r\n0\r\n\r\n" +
		"GET /customers/4 HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := io.WriteString(c, reqs); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for _, want := range []struct {
		code int
		body string
	}{{200, `"id":"1"`}, {200, `"id":"2"`}, {200, `"id":"3"`}, {413, `larger than 16B`}, {200, `"id":"4"`}} {
		resp, err := http.ReadResponse(br, nil)
		for err == nil && resp.StatusCode == http.StatusContinue { // the third's interim answer
			resp, err = http.ReadResponse(br, nil)
		}
		if err != nil {
			if want.body == `"id":"4"` {
				t.Log("closed after the 413")
				return // closed after the 413: the rest of its body was not read as a request
			}
			t.Fatalf("reading the answer with %s: %v", want.body, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want.code || !strings.Contains(string(b), want.body) || strings.Contains(string(b), "smuggled") {
			t.Fatalf("answer %d %s, want %d with %s", resp.StatusCode, b, want.code, want.body)
		}
	}
}

// TestRefusalAfterExpectContinue sends a request with "Expect: 100-continue"
// and its headers only to a pipeline that refuses it without reading its
// body (401: no credential). The refusal comes without the body: the
// server neither asks an unauthenticated client for its body nor waits for
// it until the trigger's timeout (a minute here; the test gives up after
// 10 s), and closes the connection, whose next bytes may be that body.
func TestRefusalAfterExpectContinue(t *testing.T) {
	const locked = "name: locked\ntrigger:\n  http: {path: /locked, auth: [apikey], timeout: 1m}\nsteps:\n  - set: {ok: true}\n"
	e := servertest.Start(t, map[string]string{"locked.yaml": locked}, nil)
	c, err := net.Dial("tcp", e.HTTP.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "POST /locked HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a hang detector, not a measure
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer without the body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
		t.Fatalf("first answer %d (close %v), want 401 and the connection closed", resp.StatusCode, resp.Close)
	}
}

// TestDeclaredBodyTooLargeAnsweredAtOnce: a request declaring a body over
// the trigger's max_body is refused with 413 before its body is read, and
// the refusal reaches a client that sends nothing more at once, with the
// connection closed. Before, net/http went on to read (and discard) the
// declared body before writing the answer, so a client that never sent it
// got its 413 only at the trigger's timeout.
func TestDeclaredBodyTooLargeAnsweredAtOnce(t *testing.T) {
	const small = "name: small\ntrigger:\n  http: {path: /small, max_body: 10KB, timeout: 5m}\nsteps:\n  - set: {ok: true}\n"
	e := servertest.Start(t, map[string]string{"small.yaml": small}, nil)
	for _, declared := range []string{"10241", "20000", "200000", "10000000"} {
		c, err := net.Dial("tcp", e.HTTP.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, "POST /small HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "+declared+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang detector: the trigger's timeout is 5 minutes
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			c.Close()
			t.Fatalf("Content-Length %s: no answer before the trigger's timeout: %v", declared, err)
		}
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
			t.Fatalf("Content-Length %s: answer %d (close %v), want 413 and the connection closed", declared, resp.StatusCode, resp.Close)
		}
	}
	// A client that sends its whole body at once still reads a clean 413
	// (the body is drained after the answer, not cut with a reset).
	for _, n := range []int{20000, 200000} {
		c, err := net.Dial("tcp", e.HTTP.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_, _ = io.WriteString(c, "POST /small HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(n)+"\r\n\r\n"+strings.Repeat(" ", n))
		}()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			c.Close()
			t.Fatalf("a %d-byte body sent whole: %v", n, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.Close()
		if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "larger than 10KB") {
			t.Fatalf("a %d-byte body sent whole: %d %q %v", n, resp.StatusCode, body, err)
		}
	}
}
