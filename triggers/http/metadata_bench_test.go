package http

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkRequestMetadata builds metadata.request for the request wrk
// sends in ratio.sh's transform measure, as net/http parses it.
func BenchmarkRequestMetadata(b *testing.B) {
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(
		"POST /transform HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")))
	if err != nil {
		b.Fatal(err)
	}
	r.RemoteAddr = "127.0.0.1:50000"
	cfg := &HTTP{}
	b.ReportAllocs()
	for b.Loop() {
		requestMetadata(r, nil, cfg, "application/json")
	}
}
