package http

import (
	"bufio"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

// TestLowerHeaderIsToLower: lowerHeader's constants are strings.ToLower of
// their names, and any other name is lowered the same way.
func TestLowerHeaderIsToLower(t *testing.T) {
	names := append(slices.Clone(commonHeaders), "content-type", "CONTENT-TYPE", "Content-type", "X-Api-Key", "X-API-KEY",
		"", "X", "Accept-Encodings", "Acceptt", "Ärger-Header", "Traceparent2", "Host ")
	for _, k := range names {
		if got, want := lowerHeader(k), strings.ToLower(k); got != want {
			t.Errorf("lowerHeader(%q) = %q, want %q", k, got, want)
		}
	}
}

// TestRequestMetadataHeadersAndCredentials compares requestMetadata's
// headers with the general path (every header, sorted by name with
// slices.Sort, lowered with strings.ToLower, repeated values joined) and
// requestSecrets given requestMetadata's credHeaders with requestSecrets
// looking every credential header up: the same for requests with no
// header, a few, more than the sort's inline room (32), credential headers
// under their canonical names or not, and with auth on; and the same
// metadata built with an execution's room for its strings and without.
func TestRequestMetadataHeadersAndCredentials(t *testing.T) {
	many := ""
	for i := 40; i > 0; i-- {
		many += fmt.Sprintf("X-H%02d: v%d\r\n", i, i)
	}
	cases := map[string]string{
		"none":            "",
		"wrk":             "Content-Type: application/json\r\nContent-Length: 2\r\n",
		"reversed":        "Z-Last: 1\r\nY-Next: 2\r\nContent-Type: application/json\r\nAccept: */*\r\nA: 3\r\n",
		"repeated":        "Accept: a\r\nX-Multi: 1\r\nX-Multi: 2\r\nAccept: b\r\n",
		"six":             "F: 6\r\nE: 5\r\nD: 4\r\nC: 3\r\nB: 2\r\nA: 1\r\n",
		"seven":           "G: 7\r\nF: 6\r\nE: 5\r\nD: 4\r\nC: 3\r\nB: 2\r\nA: 1\r\n",
		"many":            many + "Authorization: Bearer tok-0123456789abcdef\r\n",
		"apikey":          "Apikey: key-0123456789abcdef\r\n",
		"x-api-key":       "X-Api-Key: key-0123456789abcdef\r\nAccept: */*\r\n",
		"lower x-api-key": "x-api-key: key-0123456789abcdef\r\n", // canonicalized by net/http
		"bearer":          "Authorization: Bearer tok-0123456789abcdef\r\n",
		"basic":           "Authorization: Basic dXNlcjpwYXNzd29yZC0wMTIzNDU2Nzg5\r\n",
		"all three":       "Authorization: Bearer tok-0123456789abcdef\r\nApikey: key-aaaaaaaaaaaaaaaa\r\nX-Api-Key: key-bbbbbbbbbbbbbbbb\r\n",
	}
	for name, headers := range cases {
		for _, auth := range [][]string{nil, {"apikey"}} {
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("POST /t?password=pw-0123456789abcdef HTTP/1.1\r\nHost: h\r\n" + headers + "\r\n")))
			if err != nil {
				t.Fatal(err)
			}
			if name == "lower x-api-key" {
				// A map key net/http would not make: set by hand.
				r.Header["apikey"] = []string{"key-cccccccccccccccc"}
			}
			cfg := &HTTP{Auth: auth}
			req, cred := requestMetadata(r, nil, cfg, "", value.NewObjectGroup(), nil)
			// With the room a requestMeta gives it (metaStrings), the same
			// metadata, whether the strings fit there or not.
			var room [metaStrings]string
			inRoom, credInRoom := requestMetadata(r, nil, cfg, "", value.NewObjectGroup(), room[:])
			if a, b := value.MustEncodeString(inRoom), value.MustEncodeString(req); a != b || credInRoom != cred {
				t.Errorf("%s (auth %v): with room %s %v, without %s %v", name, auth, a, credInRoom, b, cred)
			}
			hv, _ := req.Get("headers")
			got := value.MustEncodeString(hv)
			want := value.NewObject(len(r.Header))
			for _, k := range slices.Sorted(func(yield func(string) bool) {
				for k := range r.Header {
					if !yield(k) {
						return
					}
				}
			}) {
				lk := strings.ToLower(k)
				if len(auth) > 0 && (lk == "apikey" || lk == "authorization") {
					continue
				}
				want.Set(lk, strings.Join(r.Header[k], ", "))
			}
			if w := value.MustEncodeString(want); got != w {
				t.Errorf("%s (auth %v): headers %s, want %s", name, auth, got, w)
			}
			gotS := requestSecrets(r, req, cred, false)
			wantS := requestSecrets(r, req, true, true)
			if !slices.Equal(gotS, wantS) {
				t.Errorf("%s (auth %v): secrets %q, want %q", name, auth, gotS, wantS)
			}
		}
	}
}
