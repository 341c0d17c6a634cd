package server

import (
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/internal/httpjson"
)

// generation is one immutable set of served pipelines and their routes.
// Requests load the current generation once and use it to the end.
type generation struct {
	versions []*version
	byName   map[string]*version
	mux      *http.ServeMux
	routes   []*route
	// exact are the routes of literal patterns (no wildcard, clean, only
	// characters a path never escapes) by their path: a request for exactly
	// that path is theirs whatever else is registered (the router prefers a
	// literal pattern to any wildcard or prefix one), so it is looked up
	// in a map instead of the router's tree.
	exact map[string]*route
}

// route is one path pattern and the pipeline versions serving its
// methods, from the routes their triggers declared (engine.Router).
type route struct {
	s         *Server
	pattern   string
	methods   map[string]routeTarget
	allow     string
	preflight func(w http.ResponseWriter, r *http.Request, allow string)
}

// routeTarget is what serves one method of a route.
type routeTarget struct {
	v       *version
	h       http.Handler
	timeout time.Duration
}

type rejection struct {
	v   *version
	err error
}

// build makes a generation of versions: one per pipeline name (the first
// wins), and the routes their triggers declare (a method served twice on
// one path, or paths the router cannot tell apart, reject the later
// pipeline).
func (s *Server) build(versions []*version) (*generation, []rejection) {
	g := &generation{byName: map[string]*version{}, mux: http.NewServeMux()}
	var rejected []rejection
	reject := func(v *version, err error) {
		s.log.Error("pipeline not served", "pipeline", v.p.Name, "file", v.file, "error", err.Error())
		rejected = append(rejected, rejection{v, err})
		delete(g.byName, v.p.Name)
	}
	for _, v := range versions {
		if other, dup := g.byName[v.p.Name]; dup {
			if v.shipped {
				continue // a file of the same name replaces a shipped pipeline
			}
			reject(v, fmt.Errorf("%s: pipeline name %q is already used by %s", v.file, v.p.Name, other.file))
			g.byName[v.p.Name] = other
			continue
		}
		g.byName[v.p.Name] = v
		g.versions = append(g.versions, v)
	}
	byPattern := map[string]*route{}
	var patterns []string
	keep := g.versions[:0:0]
	for _, v := range g.versions {
		if clash := s.addRoutes(v, byPattern, &patterns); clash != "" {
			reject(v, fmt.Errorf("%s: %s", v.file, clash))
			continue
		}
		keep = append(keep, v)
	}
	g.versions = keep
	sort.Strings(patterns)
	for _, p := range patterns {
		r := byPattern[p]
		var allow []string
		for m := range r.methods {
			allow = append(allow, m)
		}
		if r.preflight != nil && !slices.Contains(allow, http.MethodOptions) {
			allow = append(allow, http.MethodOptions)
		}
		sort.Strings(allow)
		r.allow = strings.Join(allow, ", ")
		if err := register(g.mux, p, r); err != nil {
			for _, t := range r.methods {
				if _, served := g.byName[t.v.p.Name]; served {
					reject(t.v, fmt.Errorf("%s: route %s: %w", t.v.file, p, err))
					g.versions = slices.DeleteFunc(g.versions, func(x *version) bool { return x == t.v })
				}
			}
			continue
		}
		g.routes = append(g.routes, r)
		if literalPattern(p) {
			if g.exact == nil {
				g.exact = map[string]*route{}
			}
			g.exact[p] = r
		}
	}
	if _, taken := byPattern["/{$}"]; !taken {
		g.mux.Handle("/{$}", http.HandlerFunc(notFound))
	}
	g.mux.Handle("/", http.HandlerFunc(notFound))
	for _, v := range g.versions {
		if v.pm == nil {
			kind, path := "manual", ""
			if v.p.Trigger != nil {
				kind = v.p.Trigger.Kind
			}
			if len(v.routes) > 0 {
				path = v.routes[0].Pattern
			}
			v.pm = s.metrics.forPipeline(v.p.Name, kind, strings.TrimSuffix(path, "{$}"))
		}
	}
	return g, rejected
}

// addRoutes adds v's routes to byPattern, asking its trigger for them the
// first time. It returns why v cannot be served there ("" when it can): a
// method another pipeline already serves on one of its paths.
func (s *Server) addRoutes(v *version, byPattern map[string]*route, patterns *[]string) string {
	if v.routes == nil {
		if r, ok := v.trigger().(engine.Router); ok {
			v.routes = r.Routes(v.host)
		}
	}
	for _, rt := range v.routes {
		if r := byPattern[rt.Pattern]; r != nil {
			for _, m := range rt.Methods {
				if other, taken := r.methods[m]; taken {
					return fmt.Sprintf("%s %s is already served by pipeline %s", m, strings.TrimSuffix(rt.Pattern, "{$}"), other.v.p.Name)
				}
			}
		}
	}
	for _, rt := range v.routes {
		r := byPattern[rt.Pattern]
		if r == nil {
			r = &route{s: s, pattern: rt.Pattern, methods: map[string]routeTarget{}}
			byPattern[rt.Pattern] = r
			*patterns = append(*patterns, rt.Pattern)
		}
		for _, m := range rt.Methods {
			r.methods[m] = routeTarget{v: v, h: rt.Handler, timeout: rt.Timeout}
		}
		if r.preflight == nil {
			r.preflight = rt.Preflight
		}
	}
	return ""
}

// literalPattern reports whether the router matches p, a route's
// pattern, to exactly one request path, p itself, spelled the same way
// escaped or not: no wildcard, no trailing slash (a subtree), a clean path
// (the router redirects other spellings), and only letters, digits and
// "-._~/".
func literalPattern(p string) bool {
	if p == "" || p[0] != '/' || strings.HasSuffix(p, "/") || path.Clean(p) != p {
		return false
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~', c == '/':
		default:
			return false
		}
	}
	return true
}

// register adds a route, turning the router's panic on a conflicting
// pattern into an error.
func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

func notFound(w http.ResponseWriter, r *http.Request) {
	httpjson.Error(w, http.StatusNotFound, "no pipeline serves "+r.Method+" "+r.URL.Path)
}

// ServeHTTP hands the request to the pipeline serving its method, counted
// in flight for that version; it answers 405 (with Allow) for other
// methods, and OPTIONS with the route's preflight when it has one.
func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t, ok := rt.methods[r.Method]
	if !ok {
		if r.Method == http.MethodOptions && rt.preflight != nil {
			rt.preflight(w, r, rt.allow)
			return
		}
		w.Header().Set("Allow", rt.allow)
		httpjson.Error(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed on "+rt.pattern+"; use "+rt.allow)
		return
	}
	s := rt.s
	if !t.v.acquire() {
		// Retired between the generation's load and now: the current
		// generation serves the request.
		s.gen.Load().mux.ServeHTTP(w, r)
		return
	}
	defer t.v.release(s)
	s.active.add()
	defer s.active.done()
	s.metrics.inflight.Inc()
	defer s.metrics.inflight.Dec()
	body := r.Body
	sw := statusWriters.Get().(*statusWriter)
	sw.ResponseWriter, sw.code = w, 0
	s.bodyDeadline(w, r, t.timeout, &sw.body)
	defer func() {
		// net/http's own body again, whatever the handler read of it:
		// net/http then tells a body left unread (a refusal's) from one
		// it may read to its end before answering, as without the
		// deadline's wrapper; it does not ask a client that sent
		// "Expect: 100-continue" for a body the answer did not need.
		r.Body = body
		t.v.pm.request(sw.status())
		sw.ResponseWriter, sw.body = nil, deadlineBody{}
		statusWriters.Put(sw)
	}()
	t.h.ServeHTTP(sw, r)
	if s.closing.Load() {
		// The answer leaves before the request counts as done: a shutdown
		// waiting for the last request closes the connections right after.
		sw.Flush()
	}
}

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// statusWriter notes the status a handler answers, for
// nectar_http_requests_total.
type statusWriter struct {
	http.ResponseWriter
	code int
	// body is the request's body while it arrives (bodyDeadline), kept
	// here so that it costs the request no allocation of its own: the
	// request holds it only until the handler returns, as it does w.
	body deadlineBody
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the connection's writer (deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
