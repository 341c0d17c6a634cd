package http_test

import (
	"os"
	"testing"

	"github.com/nectar-run/nectar/internal/servertest"
)

// TestExample serves example.yaml and calls its route.
func TestExample(t *testing.T) {
	src, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := servertest.Start(t, map[string]string{"example.yaml": string(src)}, nil)
	for _, c := range []struct {
		method string
		code   int
		body   string
	}{
		{"GET", 200, `{"hello":"ada","via":"GET"}`},
		{"POST", 405, ""},
	} {
		code, hdr, body := e.Do(t, c.method, "/hello/ada", "", nil)
		if code != c.code || c.body != "" && body != c.body {
			t.Errorf("%s: %d %s, want %d %s", c.method, code, body, c.code, c.body)
		}
		if c.code == 405 && hdr.Get("Allow") != "GET" {
			t.Errorf("405 without Allow: GET: %q", hdr.Get("Allow"))
		}
	}
}
