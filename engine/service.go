package engine

import "sync/atomic"

// ServiceCache remembers what one step's lookup of a service under one key
// gave, so that the step does not search the runtime's services on every
// run. It answers from memory while the runtime is the one it looked in and
// no SetService has run on it since; otherwise it looks again. The zero
// value is ready; a nil *ServiceCache looks up every time. It is safe for
// concurrent use.
type ServiceCache struct{ hit atomic.Pointer[serviceHit] }

type serviceHit struct {
	rt  *Runtime
	gen uint64
	v   any
	ok  bool
}

// Service returns rt.Service(key), from memory when it can. A step passes
// the same key on every call.
func (c *ServiceCache) Service(rt *Runtime, key any) (any, bool) {
	if c == nil {
		return rt.Service(key)
	}
	// The generation is read before the lookup: a SetService between the
	// two leaves a remembered generation that is already stale.
	gen := rt.serviceGen.Load()
	if h := c.hit.Load(); h != nil && h.rt == rt && h.gen == gen {
		return h.v, h.ok
	}
	v, ok := rt.Service(key)
	c.hit.Store(&serviceHit{rt, gen, v, ok})
	return v, ok
}
