package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Readiness follows the store: a replica whose store does not answer cannot
// serve (history, consumers, accounts and object-store steps all need it),
// so /readyz answers 503 and a load balancer sends its traffic elsewhere.
// /healthz stays liveness only: the process is up.
const (
	// readyTimeout bounds one check of the store (Store.Ping).
	readyTimeout = time.Second
	// readyCache is how long a check's result is reused: a load balancer
	// polling every replica often costs the store one ping a second.
	readyCache = time.Second
)

// readiness caches the store's last check.
type readiness struct {
	flight singleflight.Group
	mu     sync.Mutex
	at     time.Time
	err    error
	failed bool // the last check failed: logged once per outage
}

// storeReady returns the store's state, checking it at most once per
// readyCache; concurrent callers share one check.
func (s *Server) storeReady() error {
	if s.opts.Store == nil {
		return nil
	}
	r := &s.readiness
	r.mu.Lock()
	if !r.at.IsZero() && time.Since(r.at) < readyCache {
		err := r.err
		r.mu.Unlock()
		return err
	}
	r.mu.Unlock()
	v, _, _ := r.flight.Do("ping", func() (any, error) {
		ctx, cancel := context.WithTimeout(s.bgCtx, readyTimeout)
		defer cancel()
		err := s.opts.Store.Ping(ctx)
		r.mu.Lock()
		r.at, r.err = time.Now(), err
		switch {
		case err != nil && !r.failed:
			s.log.Error("not ready: the store does not answer", "error", err.Error())
		case err == nil && r.failed:
			s.log.Info("ready: the store answers again")
		}
		r.failed = err != nil
		r.mu.Unlock()
		return err, nil
	})
	err, _ := v.(error)
	return err
}

// serveReady answers /readyz: 503 before Start, while shutting down and
// while the store does not answer; the body names what is not ready (the
// store's error stays in the log: /readyz needs no key).
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		writeValue(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "error": "not ready", "code": http.StatusServiceUnavailable})
		return
	}
	if err := s.storeReady(); err != nil {
		writeValue(w, http.StatusServiceUnavailable, map[string]any{
			"status": "not ready", "error": "the store does not answer", "code": http.StatusServiceUnavailable,
			"checks": map[string]string{"store": "unavailable"},
		})
		return
	}
	writeValue(w, http.StatusOK, map[string]any{"status": "ready", "pipelines": len(s.gen.Load().versions), "checks": map[string]string{"store": "ok"}})
}
