package http

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nectar-run/nectar/engine/value"
)

// FuzzParseBody feeds arbitrary bodies and content types to the parsing of
// an HTTP trigger's request body: it must give a message or a message for
// the client, never panic; a message must encode as JSON; a JSON body's
// text must be what was sent (less a leading BOM or white space) and the
// message's JSON; a form body starting with { is JSON or a 400.
func FuzzParseBody(f *testing.F) {
	for _, s := range []struct{ body, ctype string }{
		{`{"a":1,"b":[true,null,"x"]}`, "application/json"},
		{`{"a":1}`, "application/json; charset=utf-8"},
		{`[1,2]`, "application/vnd.api+json"},
		{`{"a":`, "application/json"},
		{`{"partnerId":"TestSystem","apikey":"k"}`, "application/x-www-form-urlencoded"},
		{` {"a":1} x`, "application/x-www-form-urlencoded"},
		{"a=1&b=2&b=3&c=%zz", "application/x-www-form-urlencoded"},
		{"a=1", "APPLICATION/X-WWW-FORM-URLENCODED ; charset=UTF-8"},
		{"<x>1</x>", "application/xml"},
		{"plain text", "text/plain; charset=iso-8859-1"},
		{"\x00\x01\xff", "application/octet-stream"},
		{"\xff\xfe", ""},
		{`{"a":1}`, ""},
		{"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Disposition: form-data; name=\"g\"\r\n\r\nv\r\n--b--\r\n", "multipart/form-data; boundary=b"},
		{"--b\r\n\r\n", "multipart/form-data; boundary=b"},
		{"x", "multipart/form-data"},
		{"x", ";;;"},
		{"x", "text/"},
		{"   ", "application/json"},
	} {
		f.Add([]byte(s.body), s.ctype)
	}
	f.Fuzz(func(t *testing.T, data []byte, ctype string) {
		req := value.NewObject(2)
		b := parseBody(data, false, ctype, req)
		if b.bad != "" {
			if b.msg != nil && b.raw != "" {
				t.Fatalf("both a message and an error: %q", b.bad)
			}
			if !utf8.ValidString(b.bad) && utf8.Valid(data) && utf8.ValidString(ctype) {
				t.Fatalf("error is not UTF-8: %q", b.bad)
			}
			return
		}
		if b.msg == nil {
			t.Fatalf("no message and no error for %q (%s)", data, ctype)
		}
		if _, err := value.AppendJSON(nil, b.msg); err != nil {
			t.Fatalf("message does not encode: %v", err)
		}
		if b.raw != "" {
			// The history stores raw instead of encoding the message: it is
			// the body, less a leading BOM or white space, and it is the
			// message's JSON.
			if !strings.HasSuffix(string(data), b.raw) {
				t.Fatalf("raw text %q is not the end of the body %q", b.raw, data)
			}
			v, err := value.Decode([]byte(b.raw))
			if err != nil {
				t.Fatalf("raw text %q is not JSON: %v", b.raw, err)
			}
			if got, want := value.MustEncodeString(v), value.MustEncodeString(b.msg); got != want {
				t.Fatalf("raw text %q is %s, the message %s", b.raw, got, want)
			}
		}
		mt := strings.ToLower(strings.TrimSpace(strings.Split(ctype, ";")[0]))
		if t0 := strings.TrimLeft(string(data), " \t\r\n"); mt == "application/x-www-form-urlencoded" && strings.HasPrefix(t0, "{") {
			if _, ok := b.msg.(*value.Object); !ok || b.raw == "" {
				t.Fatalf("a form body starting with { became %T", b.msg)
			}
		}
		if b.unparsed != nil {
			if _, ok := b.msg.(string); !ok || b.unparsed.Size != len(data) {
				t.Fatalf("unparsed body: %T, size %d of %d", b.msg, b.unparsed.Size, len(data))
			}
		}
	})
}
