package http_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/server"
)

// TestExample serves example.yaml and calls its route.
func TestExample(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "example.yaml"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Options{Dir: dir, HistoryOff: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	for _, c := range []struct {
		method string
		code   int
		body   string
	}{
		{"GET", 200, `{"hello":"ada","via":"GET"}`},
		{"POST", 405, ""},
	} {
		req, _ := http.NewRequest(c.method, hs.URL+"/hello/ada", nil)
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || c.body != "" && string(b) != c.body {
			t.Errorf("%s: %d %s, want %d %s", c.method, resp.StatusCode, b, c.code, c.body)
		}
		if c.code == 405 && resp.Header.Get("Allow") != "GET" {
			t.Errorf("405 without Allow: GET: %q", resp.Header.Get("Allow"))
		}
	}
}
