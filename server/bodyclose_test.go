package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/internal/servertest"
)

// TestHandlerRequestWithoutBody sends the server's handler a request made
// by http.NewRequest with no body: its Body is nil (only requests a
// server reads have http.NoBody). The pipeline answers it as it answers
// a request with an empty body, with no panic.
func TestHandlerRequestWithoutBody(t *testing.T) {
	e := servertest.Start(t, map[string]string{"echo.yaml": echoPipeline}, nil)
	req, err := http.NewRequest(http.MethodGet, "/customers/42", nil)
	if err != nil {
		t.Fatal(err)
	}
	if req.Body != nil {
		t.Fatal("http.NewRequest gave a body")
	}
	w := httptest.NewRecorder()
	e.Srv.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"id":"42"`) {
		t.Fatalf("GET /customers/42 without a body: %d %s", w.Code, w.Body)
	}
}
