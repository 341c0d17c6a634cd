package http

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
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
		requestMetadata(r, nil, cfg, "application/json", value.NewObjectGroup(), nil)
	}
}

// TestRequestMetadataEmptyParamsAndQuery: without path parameters or a
// query, params and query are two empty objects (made together), each its
// own: what is set in one is not in the other; with them, they hold the
// request's values.
func TestRequestMetadataEmptyParamsAndQuery(t *testing.T) {
	cfg := &HTTP{}
	for _, tc := range []struct {
		target     string
		params     []string
		wantParams string
		wantQuery  string
	}{
		{"/transform", nil, `{}`, `{}`},
		{"/transform?a=1", nil, `{}`, `{"a":"1"}`},
		{"/o/42", []string{"id"}, `{"id":"42"}`, `{}`},
		{"/o/42?b=2", []string{"id"}, `{"id":"42"}`, `{"b":"2"}`},
	} {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + tc.target + " HTTP/1.1\r\nHost: h\r\n\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		if len(tc.params) > 0 {
			r.SetPathValue("id", "42") // as the router does for /o/{id}
		}
		req, _ := requestMetadata(r, tc.params, cfg, "", value.NewObjectGroup(), nil)
		pv, _ := req.Get("params")
		qv, _ := req.Get("query")
		po, _ := pv.(*value.Object)
		q, _ := qv.(*value.Object)
		if po == nil || q == nil {
			t.Fatalf("%s: params %T, query %T", tc.target, pv, qv)
		}
		if got := value.MustEncodeString(po); got != tc.wantParams {
			t.Errorf("%s: params %s, want %s", tc.target, got, tc.wantParams)
		}
		if got := value.MustEncodeString(q); got != tc.wantQuery {
			t.Errorf("%s: query %s, want %s", tc.target, got, tc.wantQuery)
		}
		po.Set("only_in_params", "x")
		if _, ok := q.Get("only_in_params"); ok {
			t.Errorf("%s: a key set in params is in query", tc.target)
		}
	}
}
