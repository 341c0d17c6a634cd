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
