package http_test

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/internal/servertest"
)

// allocsAtFirstRead is a request body that notes the bytes the process
// had allocated when the handler first reads it: what the handler took
// before the body's first byte arrived.
type allocsAtFirstRead struct {
	r     io.Reader
	total uint64
}

func (b *allocsAtFirstRead) Read(p []byte) (int, error) {
	if b.total == 0 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.total = ms.TotalAlloc
	}
	return b.r.Read(p)
}

func (b *allocsAtFirstRead) Close() error { return nil }

// TestDeclaredBodyTakesOneBuffer: a request declaring a body of 4096 bytes
// (the largest read into a buffer of its exact size) holds, while its
// first byte has not arrived, that one buffer: not the pooled buffer of
// the general path as well, which it never uses. A slow client declaring
// bodies it trickles thus holds 4 KiB per connection, as at 3f5d6dd (the
// pooled buffer then), not 8 KiB.
//
// What the handler allocated before the body's first Read is measured
// from the process's allocation counter (the pool emptied by two GCs
// first); other goroutines may only add to it, so the least of a few
// tries is the handler's.
func TestDeclaredBodyTakesOneBuffer(t *testing.T) {
	e := servertest.Start(t, map[string]string{"m.yaml": `name: m
trigger:
  http: {path: /m, methods: [POST]}
steps:
  - set: "{{ message }}"
`}, nil)
	h := e.Srv.Handler()
	body := `"` + strings.Repeat("x", 4094) + `"`
	send := func() uint64 {
		rd := &allocsAtFirstRead{r: strings.NewReader(body)}
		req := httptest.NewRequest(http.MethodPost, "/m", rd)
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		runtime.GC()
		runtime.GC() // a sync.Pool is empty after two
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Body.String() != body {
			t.Fatalf("%d %.100s", w.Code, w.Body.String())
		}
		return rd.total - ms.TotalAlloc
	}
	send()
	least := uint64(math.MaxUint64)
	for range 5 {
		least = min(least, send())
	}
	if least >= uint64(len(body))+2048 {
		t.Errorf("a request declaring %d bytes allocated %d bytes before its body's first byte: the pooled buffer "+
			"as well as its own", len(body), least)
	}
}
