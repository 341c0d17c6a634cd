package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/server"
)

// BenchmarkLimitedKeepAlivePost sends small POST requests one after the
// other on one keep-alive connection to a net/http server with the
// deadlines nectar serve sets, on a limited listener (the lazy deadlines),
// and reads each answer: the connection's work per request around the
// handler (net/http's deadlines, its background read and its abort). Run it
// with -cpu 1 to see the order of events of a loaded server: the handler
// answers before the background read has started.
func BenchmarkLimitedKeepAlivePost(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	lln := server.LimitListener(ln, server.Limits{MaxConnections: 8})
	hs := &http.Server{
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header()["Content-Type"] = []string{"text/plain"}
			_, _ = w.Write([]byte("ok"))
		}),
	}
	go hs.Serve(lln)
	b.Cleanup(func() { hs.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
	br := bufio.NewReader(c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "ok") {
			b.Fatalf("%d %q", resp.StatusCode, body)
		}
	}
}
