package server

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/nectar-run/nectar/triggers"
)

// generation is one immutable set of served pipelines and their routes.
// Requests load the current generation once and use it to the end.
type generation struct {
	versions []*version
	byName   map[string]*version
	mux      *http.ServeMux
	routes   []*route
}

// route is one path and the pipelines serving its methods.
type route struct {
	s       *Server
	path    string
	params  []string
	methods map[string]*version
	allow   string
	cors    *triggers.CORS
}

type rejection struct {
	v   *version
	err error
}

// build makes a generation of versions: one per pipeline name (the first
// wins), routes for http triggers (a method served twice on one path, or
// paths the router cannot tell apart, reject the later pipeline).
func (s *Server) build(versions []*version, old *generation) (*generation, []rejection) {
	g := &generation{byName: map[string]*version{}, mux: http.NewServeMux()}
	var rejected []rejection
	for _, v := range versions {
		if other, dup := g.byName[v.p.Name]; dup {
			if v.shipped {
				continue // a file of the same name replaces a shipped pipeline
			}
			err := fmt.Errorf("%s: pipeline name %q is already used by %s", v.file, v.p.Name, other.file)
			s.log.Error("pipeline not served", "file", v.file, "error", err.Error())
			rejected = append(rejected, rejection{v, err})
			continue
		}
		g.byName[v.p.Name] = v
		g.versions = append(g.versions, v)
	}
	byPath := map[string]*route{}
	var paths []string
	keep := g.versions[:0:0]
	for _, v := range g.versions {
		h, ok := triggerHTTP(v)
		if !ok {
			keep = append(keep, v)
			continue
		}
		pattern := h.Path
		if strings.HasSuffix(pattern, "/") {
			pattern += "{$}" // exact match, not a subtree
		}
		r := byPath[pattern]
		if r == nil {
			r = &route{s: s, path: pattern, params: pathParams(h.Path), methods: map[string]*version{}, cors: h.CORS}
			byPath[pattern] = r
			paths = append(paths, pattern)
		}
		var clash string
		for _, m := range h.Methods {
			if other, taken := r.methods[m]; taken {
				clash = fmt.Sprintf("%s %s is already served by pipeline %s", m, h.Path, other.p.Name)
				break
			}
		}
		if clash != "" {
			err := fmt.Errorf("%s: %s", v.file, clash)
			s.log.Error("pipeline not served", "pipeline", v.p.Name, "error", err.Error())
			rejected = append(rejected, rejection{v, err})
			delete(g.byName, v.p.Name)
			continue
		}
		for _, m := range h.Methods {
			r.methods[m] = v
		}
		if r.cors == nil {
			r.cors = h.CORS
		}
		keep = append(keep, v)
	}
	g.versions = keep
	sort.Strings(paths)
	for _, p := range paths {
		r := byPath[p]
		var allow []string
		for m := range r.methods {
			allow = append(allow, m)
		}
		if r.cors != nil && !slices.Contains(allow, http.MethodOptions) {
			allow = append(allow, http.MethodOptions)
		}
		sort.Strings(allow)
		r.allow = strings.Join(allow, ", ")
		if err := register(g.mux, p, r); err != nil {
			for _, v := range r.methods {
				err := fmt.Errorf("%s: route %s: %w", v.file, p, err)
				s.log.Error("pipeline not served", "pipeline", v.p.Name, "error", err.Error())
				rejected = append(rejected, rejection{v, err})
				delete(g.byName, v.p.Name)
				g.versions = slices.DeleteFunc(g.versions, func(x *version) bool { return x == v })
			}
			continue
		}
		g.routes = append(g.routes, r)
	}
	if _, taken := byPath["/{$}"]; !taken {
		g.mux.Handle("/{$}", http.HandlerFunc(notFound))
	}
	g.mux.Handle("/", http.HandlerFunc(notFound))
	for _, v := range g.versions {
		if v.pm == nil {
			kind, route := "manual", ""
			if v.p.Trigger != nil {
				kind = v.p.Trigger.Kind
			}
			if h, ok := triggerHTTP(v); ok {
				route = h.Path
			}
			v.pm = s.metrics.forPipeline(v.p.Name, kind, route)
		}
	}
	return g, rejected
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

func triggerHTTP(v *version) (*triggers.HTTP, bool) {
	if v.p.Trigger == nil {
		return nil, false
	}
	h, ok := v.p.Trigger.Config.(*triggers.HTTP)
	return h, ok
}

func pathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.TrimSuffix(seg[1:len(seg)-1], "..."))
		}
	}
	return out
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "no pipeline serves "+r.Method+" "+r.URL.Path)
}
