package server

import (
	"net/http"
	"strings"
)

// ServeHTTP routes management paths to the API and the rest to the
// pipelines of the current generation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if strings.HasPrefix(p, "/api/") || p == "/api" || p == "/healthz" || p == "/readyz" || p == "/metrics" || strings.HasPrefix(p, "/debug/") {
		s.api.ServeHTTP(w, r)
		return
	}
	s.gen.Load().mux.ServeHTTP(w, r)
}

// Handler returns the server's http.Handler.
func (s *Server) Handler() http.Handler { return s }
