package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/server"
)

// keptPipeline hands its input and metadata to the test (test-notify): a
// step that keeps values beyond the request, as an event's payload or a
// connector's cache does.
const keptPipeline = `name: kept
trigger:
  http: {path: /kept, methods: [POST], max_body: 4MB}
steps:
  - test-notify: {channel: h3-kept}
`

// TestKeptMetadataDoesNotKeepTheRequest: a value kept from a request's
// metadata (its method, its headers object) beyond the request keeps the
// metadata alive, not the request's message: a 1 MiB body is collected
// once the request is answered and recorded, while the test still holds
// metadata.request.method and metadata.request.headers. (When the
// metadata's objects and strings lived in the execution's allocation, a
// kept header kept the execution, and through it the message, the
// answer and the trace, alive.) The 1 MiB body stands for what a value
// kept beyond the request (an event's payload queued or run, a cache)
// should not pin: up to the trigger's max_body per kept value.
func TestKeptMetadataDoesNotKeepTheRequest(t *testing.T) {
	e := start(t, map[string]string{"kept.yaml": keptPipeline}, nil)
	body := `{"big":"` + strings.Repeat("x", 1<<20) + `"}`
	code, _, answer := e.do(t, http.MethodPost, "/kept", body, map[string]string{"Content-Type": "application/json", "X-Kept": "yes"})
	if code != 200 {
		t.Fatalf("status %d: %.200s", code, answer)
	}
	method, headers, input := keptValues(t)
	// A few more requests: something holds the last request's message
	// for a while after its answer (at ce58ad1 too; not a kept value's
	// doing), so that what is checked is the kept values' hold alone.
	for range 3 {
		if code, _, answer := e.do(t, http.MethodPost, "/kept", `{"a":1}`, map[string]string{"Content-Type": "application/json"}); code != 200 {
			t.Fatalf("status %d: %.200s", code, answer)
		}
		receive(t, "h3-kept")
		if err := e.srv.History().Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
	if input.Value() != nil {
		t.Errorf("the request's message (a 1 MiB body) is still alive while only metadata values are kept")
	}
	if s, _ := method.(string); s != http.MethodPost {
		t.Errorf("the kept method reads %#v", method)
	}
	if v, _ := headers.Get("x-kept"); v != "yes" {
		t.Errorf("the kept headers read %s", value.MustEncodeString(headers))
	}
}

// keptValues receives what the kept pipeline handed over and returns the
// metadata values the test keeps, and a weak pointer to the message.
func keptValues(t *testing.T) (method any, headers *value.Object, input weak.Pointer[value.Object]) {
	o := receive(t, "h3-kept")
	m, _ := o.Get("message")
	in, ok := m.(*value.Object)
	if !ok {
		t.Fatalf("the message is %T", m)
	}
	md, _ := o.Get("metadata")
	rv, _ := md.(*value.Object).Get("request")
	req := rv.(*value.Object)
	method, _ = req.Get("method")
	hv, _ := req.Get("headers")
	return method, hv.(*value.Object), weak.Make(in)
}

// TestPooledBodyWrapperAcrossSlowAndAbandonedBodies: a pipeline request's
// body wrapper (deadlineBody) lives in the pooled statusWriter. Bodies
// that arrive in pieces and in time, bodies that stop arriving (408 at the
// trigger's timeout, the client then sending the rest into a closed
// exchange), and bodies abandoned by a client that hangs up, run while
// other clients send bodies at full speed on keep-alive and pipelined
// connections: every answer is its own request's, and the late bytes of
// a timed-out body reach no other request.
func TestPooledBodyWrapperAcrossSlowAndAbandonedBodies(t *testing.T) {
	const quick = `name: quick
trigger:
  http: {path: /quick, methods: [POST], timeout: 300ms}
steps:
  - set: "{{ message }}"
`
	e := start(t, map[string]string{"keep.yaml": keepPipeline, "quick.yaml": quick}, nil)
	addr := serveLimited(t, e, server.Limits{MaxConnections: 64})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// Fast clients, keep-alive, each body its own.
	client := &http.Client{Timeout: time.Minute}
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				ctype, body, want := makeBody([]string{"json", "form", "text"}[j%3], []int{10, 300, 4097, 70000}[j%4], 50000+w*10000+j)
				resp, err := client.Post("http://"+addr+"/keep", ctype, strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !jsonSame(string(b), want) {
					t.Errorf("fast request %d: %d %.200s, want %.200s", j, resp.StatusCode, b, want)
					return
				}
			}
		}()
	}
	rawPost := func(path, ctype string, n int) (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", path, addr, ctype, n)
		return c, bufio.NewReader(c)
	}
	for round := range 4 {
		// A body that stops arriving: 408, then its late rest.
		_, late, _ := makeBody("json", 2000, 70000+round)
		c, br := rawPost("/quick", "application/json", len(late))
		io.WriteString(c, late[:1000])
		// In time, in pieces, on another connection meanwhile.
		_, inTime, want := makeBody("json", 3000, 80000+round)
		c2, br2 := rawPost("/keep", "application/json", len(inTime))
		io.WriteString(c2, inTime[:1500])
		// Abandoned: the client hangs up mid-body.
		c3, _ := rawPost("/keep", "application/json", 5000)
		io.WriteString(c3, `{"s":"abandoned`)
		c3.Close()
		io.WriteString(c2, inTime[1500:])
		resp, err := http.ReadResponse(br2, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !jsonSame(string(b), want) {
			t.Errorf("round %d, body in pieces: %d %.200s, want %.200s", round, resp.StatusCode, b, want)
		}
		resp, err = http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("round %d, body stopped: %d %.200s, want 408", round, resp.StatusCode, b)
		}
		io.WriteString(c, late[1000:]) // into a closed exchange
	}
	close(stop)
	wg.Wait()
}
