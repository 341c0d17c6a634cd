package server

import (
	"log/slog"
	"net/http"
	"time"
)

// HealthHandler serves GET and HEAD /healthz and /readyz as the main
// handler does, and answers 404 to anything else: it exposes neither the
// pipelines nor the management API.
//
// Serve it on a listener of its own (HealthServer; nectar serve
// --health-addr), reachable by the load balancer or the orchestrator only:
// its connections are not counted against the main listener's
// MaxConnections, so probes answer however many connections a flood holds
// on the main port, as long as the process runs (/healthz) and its store
// answers (/readyz).
func (s *Server) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && (r.URL.Path == "/healthz" || r.URL.Path == "/readyz") {
			s.api.ServeHTTP(w, r)
			return
		}
		writeError(w, http.StatusNotFound, "this listener serves only GET /healthz and GET /readyz")
	})
}

// HealthServer returns an http.Server for HealthHandler, with short
// deadlines (a probe is one small request). The caller owns it (Serve,
// Shutdown).
func (s *Server) HealthServer() *http.Server {
	return &http.Server{
		Handler:           s.HealthHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       5 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}
