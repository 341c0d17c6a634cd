package httpjson_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/internal/httpjson"
)

// TestInterimAnswerHasNoDate: an informational status (100-199 but 101,
// which net/http sends as a final answer) makes net/http write an interim
// answer with the handler's headers and no Date, then the final answer
// (200 on the first Write) with its own Date. A respond step may answer
// 103 or 100: JSON and Response add no Date of their own to such an
// answer, so that both answers are what net/http alone sent (3f5d6dd):
// no Date on the interim one, one on the final one.
func TestInterimAnswerHasNoDate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w http.ResponseWriter, code int)
	}{
		{"JSON", func(w http.ResponseWriter, code int) { httpjson.JSON(w, code, []byte(`{}`)) }},
		{"Response", func(w http.ResponseWriter, code int) {
			httpjson.Response(w, code, http.Header{"Content-Type": {"text/plain"}}, []byte("x"))
		}},
	} {
		for _, code := range []int{100, 103, 199} {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tc.write(w, code) }))
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang, not a timing assertion
			raw, _ := io.ReadAll(c)
			c.Close()
			srv.Close()
			br := bufio.NewReader(strings.NewReader(string(raw)))
			interim, err := http.ReadResponse(br, nil)
			if err != nil || interim.StatusCode != code {
				t.Fatalf("%s %d: interim answer %v, %v in %q", tc.name, code, interim, err, raw)
			}
			if d := interim.Header.Values("Date"); len(d) != 0 {
				t.Errorf("%s %d: the interim answer has Date %q; net/http sends none", tc.name, code, d)
			}
			final, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s %d: final answer: %v in %q", tc.name, code, err, raw)
			}
			if d := final.Header.Values("Date"); len(d) != 1 {
				t.Errorf("%s %d: the final answer (%d) has Date %q, want one", tc.name, code, final.StatusCode, d)
			}
		}
	}
}
