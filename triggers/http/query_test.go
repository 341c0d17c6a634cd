package http

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

// queryObjectPlain is queryObject as it was before its values were boxed
// by a value.Boxer: the reference of TestQueryObjectBoxedIsPlain.
func queryObjectPlain(raw string) (*value.Object, error) {
	o := value.NewObject(4)
	var firstErr error
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err := errors.Join(err1, err2); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		switch prev, ok := o.Get(k); {
		case !ok:
			o.Set(k, v)
		case isList(prev):
			o.Set(k, append(prev.([]any), v))
		default:
			o.Set(k, []any{prev, v})
		}
	}
	return o, firstErr
}

// TestQueryObjectBoxedIsPlain is the differential test of queryObject's
// boxed values: forms and queries with repeated keys (a list of two, of
// many), empty keys and values, escapes, bad escapes, many fields (more
// than a slab of boxed strings) give the same object, in the same order,
// and the same error as the plain boxing.
func TestQueryObjectBoxedIsPlain(t *testing.T) {
	var many strings.Builder
	for i := range 200 {
		many.WriteString("k" + strings.Repeat("x", i%7) + "=v" + strings.Repeat("y", i) + "&")
	}
	for _, raw := range []string{
		"", "a", "a=", "=b", "a=1", "grant_type=client_credentials&client_id=c-1&client_secret=s3cret",
		"a=1&a=2", "a=1&a=2&a=3&b=x&a=4", "a=&a=&a=", "&&a=1&&", "a+b=c+d&%41=%42", "a=%zz&b=2", "%=1&b=2",
		"q=%E2%82%AC&q=caf%C3%A9", many.String(),
	} {
		got, gotErr := queryObject(raw)
		want, wantErr := queryObjectPlain(raw)
		g, w := value.MustEncodeString(got), value.MustEncodeString(want)
		if g != w || errText(gotErr) != errText(wantErr) {
			t.Errorf("%.40q: queryObject %s, %v; plain %s, %v", raw, g, gotErr, w, wantErr)
		}
	}
}

// fieldCountLoop is fieldCount as it was, a byte at a time: the reference
// of TestFieldCountMatchesLoop.
func fieldCountLoop(raw string) int {
	n, start := 0, 0
	for i := 0; i <= len(raw); i++ {
		if i == len(raw) || raw[i] == '&' {
			if i > start {
				n++
			}
			start = i + 1
		}
	}
	return n
}

// queryTexts are forms, queries and parts of them: empty parts, '&' at
// either end or repeated, escapes good and bad, '+', bytes that are not
// UTF-8, and every text of up to three bytes from a small alphabet.
func queryTexts() []string {
	texts := []string{
		"", "&", "&&", "a", "a&", "&a", "a&&b", "&&a=1&&", "a=1&b=2&c=3",
		"grant_type=client_credentials&client_id=c-1&client_secret=s3cret",
		"a+b=c+d&%41=%42", "a=%zz&b=2", "%=1&b=2", "%4", "%", "+", "++", "%2B", "%25",
		"q=%E2%82%AC&q=caf%C3%A9", "\xff\xfe=\x00&\x80", strings.Repeat("k=v&", 300),
		strings.Repeat("x", 100) + "%", strings.Repeat("y", 100) + "+",
	}
	const alphabet = "a&%+=2F"
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		texts = append(texts, prefix)
		if n == 0 {
			return
		}
		for i := range len(alphabet) {
			gen(prefix+alphabet[i:i+1], n-1)
		}
	}
	gen("", 3)
	return texts
}

// TestFieldCountMatchesLoop: fieldCount counts what the byte loop counted.
func TestFieldCountMatchesLoop(t *testing.T) {
	for _, raw := range queryTexts() {
		if got, want := fieldCount(raw), fieldCountLoop(raw); got != want {
			t.Errorf("%.40q: fieldCount %d, want %d", raw, got, want)
		}
	}
}

// TestQueryUnescapeMatchesURL: queryUnescape answers what
// url.QueryUnescape answers, the text and the error.
func TestQueryUnescapeMatchesURL(t *testing.T) {
	for _, raw := range queryTexts() {
		got, gotErr := queryUnescape(raw)
		want, wantErr := url.QueryUnescape(raw)
		if got != want || errText(gotErr) != errText(wantErr) {
			t.Errorf("%.40q: queryUnescape %q, %v; url.QueryUnescape %q, %v", raw, got, gotErr, want, wantErr)
		}
	}
}

// BenchmarkFormBody parses the token request's form body (client
// credentials in the body, as bench/cpu.sh token sends them).
func BenchmarkFormBody(b *testing.B) {
	data := []byte("grant_type=client_credentials&client_id=hfzeudh6beuic24kma2cca2rul&client_secret=Qx0vYzN2cU1hb3N0c2VjcmV0LXZhbHVlLTAxMjM0NTY3ODk")
	b.ReportAllocs()
	for b.Loop() {
		if r := parseBody(data, true, "application/x-www-form-urlencoded", nil); r.bad != "" {
			b.Fatal(r.bad)
		}
	}
}

// TestLowerMediaTypeIsToLower: lowerMediaType answers strings.ToLower's
// text, for the types it knows and for others, in any case.
func TestLowerMediaTypeIsToLower(t *testing.T) {
	for _, mt := range []string{
		"", "application/json", "application/x-www-form-urlencoded", "Application/JSON",
		"APPLICATION/X-WWW-FORM-URLENCODED", "application/Json", "text/plain", "Text/Plain",
		"multipart/form-data", "application/vnd.api+json", "application/jsonx", "application/jso",
		"ÀPPLICATION/JSON", "application/json\xff",
	} {
		if got, want := lowerMediaType(mt), strings.ToLower(mt); got != want {
			t.Errorf("%q: lowerMediaType %q, strings.ToLower %q", mt, got, want)
		}
	}
}
