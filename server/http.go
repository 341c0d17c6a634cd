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
	g := s.gen.Load()
	if rt := g.exact[p]; rt != nil && r.URL.RawPath == "" && r.Method != http.MethodConnect {
		// What the router would find, without walking its tree (see
		// generation.exact); it would set the pattern too.
		r.Pattern = rt.pattern
		rt.ServeHTTP(w, r)
		return
	}
	g.mux.ServeHTTP(w, r)
}

// Handler returns the server's http.Handler.
func (s *Server) Handler() http.Handler { return s }
