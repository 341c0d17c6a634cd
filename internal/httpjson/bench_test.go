package httpjson_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/internal/httpjson"
)

// BenchmarkJSONWire answers a 1 KB JSON body with httpjson.JSON on a real
// http.Server over one loopback connection kept alive: net/http's writing
// of the status line and the headers is in it.
func BenchmarkJSONWire(b *testing.B) {
	body := []byte(`{"v":"` + strings.Repeat("x", 1000) + `"}`)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Execution-Id"] = []string{"01JEXAMPLE0000000000000000"}
		httpjson.JSON(w, http.StatusOK, body)
	})}
	go hs.Serve(ln)
	b.Cleanup(func() { hs.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET / HTTP/1.1\r\nHost: " + ln.Addr().String() + "\r\n\r\n")
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
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d, %v", resp.StatusCode, err)
		}
	}
}
