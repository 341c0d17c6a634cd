package http

import (
	"net/http/httptest"
	"testing"
)

// TestRequestLineIsMethodAndPath is the differential test of requestLine's
// precomputed texts: for requests to the trigger's path and to others (a
// wildcard's values, a longer or shorter path, a method that is a prefix
// of one of the trigger's, or has one as its prefix, lower case), it gives
// exactly r.Method + " " + r.URL.Path.
func TestRequestLineIsMethodAndPath(t *testing.T) {
	for _, path := range []string{"/orders", "/orders/{id}", "/a/", "/"} {
		tr, err := compile(&HTTP{Path: path, Methods: []string{"GET", "POST", "PATCH"}, MaxBody: "1KB", Timeout: 1}, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, m := range []string{"GET", "POST", "PATCH", "PUT", "PO", "POSTX", "GETPOST", "post", "DELETE", ""} {
			for _, p := range []string{path, "/orders", "/orders/42", "/orders/", "/order", "/a/", "/a/b", "/"} {
				r := httptest.NewRequest("GET", "http://h"+p, nil)
				r.Method = m
				got, want := tr.(*trigger).requestLine(r), m+" "+p
				if got != want {
					t.Errorf("trigger %s, %q %q: requestLine %q, want %q", path, m, p, got, want)
				}
			}
		}
	}
}
