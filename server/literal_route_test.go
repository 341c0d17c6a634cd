package server

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// literalFiles are two pipelines on literal paths (one with CORS) beside a
// wildcard and a subtree route.
var literalFiles = map[string]string{
	"lit.yaml":  "name: lit\ntrigger:\n  http:\n    path: /orders/export\n    methods: [GET, POST]\n    cors: {origins: [\"https://app.example\"]}\nsteps:\n  - set: {by: lit}\n",
	"dot.yaml":  "name: dot\ntrigger:\n  http:\n    path: /a.b/~c_d-e\n    methods: [GET]\nsteps:\n  - set: {by: dot}\n",
	"wild.yaml": "name: wild\ntrigger:\n  http:\n    path: /orders/{id}\n    methods: [GET]\nsteps:\n  - set: {by: wild, id: '{{ metadata.request.params.id }}'}\n",
	"tree.yaml": "name: tree\ntrigger:\n  http:\n    path: /files/{rest...}\n    methods: [GET]\nsteps:\n  - set: {by: tree}\n",
}

func newLiteralServer(t *testing.T, files map[string]string) (*Server, string) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(context.Background(), Options{Dir: dir, HistoryOff: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s, dir
}

// answer is what a client can see of a response, but the execution id.
func answer(w *httptest.ResponseRecorder) string {
	body := w.Body.String()
	if i := strings.Index(body, `"timestamp":`); i >= 0 { // error bodies carry the time
		if j := strings.IndexByte(body[i:], ','); j >= 0 {
			body = body[:i] + body[i+j+1:]
		}
	}
	h := w.Header()
	return strings.Join([]string{w.Result().Status, "Allow=" + h.Get("Allow"), "Location=" + h.Get("Location"),
		"ACAO=" + h.Get("Access-Control-Allow-Origin"), "ACAM=" + h.Get("Access-Control-Allow-Methods"), body}, " | ")
}

// readRequest parses raw as net/http's server does (RequestURI, RawPath).
func readRequest(t *testing.T, raw string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return r
}

// TestLiteralRouteAnswersAsTheRouter sends the same raw requests (methods,
// spellings, escapes, hosts, CORS preflights) through Server.ServeHTTP,
// which finds a literal route by a map lookup, and through the generation's
// ServeMux alone: every answer must be the router's.
func TestLiteralRouteAnswersAsTheRouter(t *testing.T) {
	s, _ := newLiteralServer(t, literalFiles)
	targets := []string{
		"/orders/export", "/orders/export?x=1", "//orders/export", "/orders//export", "/orders/./export",
		"/orders/x/../export", "/orders/export/", "/orders/export/.", "/ORDERS/export", "/orders/Export",
		"/orders/expor%74", "/orders%2Fexport", "/orders/export%2F", "/orders/export%00", "/orders/export;x",
		"/a.b/~c_d-e", "/a.b/%7Ec_d-e", "/a%2Eb/~c_d-e", "/a.b/~c_d-e/", "/a.b/./~c_d-e", "/files/x", "/files", "/orders/{id}", "/orders/%7Bid%7D", "/files/{rest...}",
		"http://other.example/orders/export", "http://other.example:8080/a.b/~c_d-e",
	}
	methods := []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "get"}
	for _, target := range targets {
		for _, m := range methods {
			for _, extra := range []string{"", "Origin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n", "Host: other.example:1\r\n"} {
				host := "Host: nectar.test\r\n"
				if strings.HasPrefix(extra, "Host:") {
					host = ""
				}
				raw := m + " " + target + " HTTP/1.1\r\n" + host + extra + "\r\n"
				fast, slow := httptest.NewRecorder(), httptest.NewRecorder()
				s.ServeHTTP(fast, readRequest(t, raw))
				g := s.gen.Load()
				if r := readRequest(t, raw); isAPIPath(r.URL.Path) {
					continue
				}
				g.mux.ServeHTTP(slow, readRequest(t, raw))
				if a, b := answer(fast), answer(slow); a != b {
					t.Errorf("%q:\n served %s\n router %s", raw, a, b)
				}
			}
		}
	}
}

func isAPIPath(p string) bool {
	return strings.HasPrefix(p, "/api/") || p == "/api" || p == "/healthz" || p == "/readyz" || p == "/metrics" || strings.HasPrefix(p, "/debug/")
}

// TestLiteralRouteReload reloads the pipelines, removing and adding the
// literal route, while requests for its path run (go test -race): each
// answer is the literal route's, or the wildcard neighbour's while the
// literal one is gone, never a failure.
func TestLiteralRouteReload(t *testing.T) {
	s, dir := newLiteralServer(t, literalFiles)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				w := httptest.NewRecorder()
				s.ServeHTTP(w, httptest.NewRequest("GET", "/orders/export", nil))
				if b := w.Body.String(); w.Code != 200 || !strings.Contains(b, `"by":"lit"`) && !strings.Contains(b, `"by":"wild"`) {
					t.Errorf("%d %s", w.Code, w.Body)
					return
				}
			}
		}()
	}
	lit := filepath.Join(dir, "lit.yaml")
	for i := range 20 {
		if i%2 == 0 {
			if err := os.Remove(lit); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(lit, []byte(literalFiles["lit.yaml"]), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := s.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", "/orders/export", nil))
		if want := map[bool]string{true: `"by":"wild"`, false: `"by":"lit"`}[i%2 == 0]; w.Code != 200 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("after reload %d: %d %s; want %s", i, w.Code, w.Body, want)
		}
	}
	close(stop)
	wg.Wait()
}
