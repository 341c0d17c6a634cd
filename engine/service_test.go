package engine_test

import (
	"sync"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

type cacheKey struct{}

// TestServiceCacheFollowsSetService looks a service up through one
// ServiceCache in two runtimes and across SetService calls: each answer is
// what rt.Service gives at that moment (missing, set, replaced, the other
// runtime's), never a remembered one gone stale; a nil cache looks up.
func TestServiceCacheFollowsSetService(t *testing.T) {
	var c engine.ServiceCache
	a, b := &engine.Runtime{}, &engine.Runtime{}
	check := func(rt *engine.Runtime, want any, wantOK bool) {
		t.Helper()
		for range 2 { // the second answer comes from memory
			v, ok := c.Service(rt, cacheKey{})
			if v != want || ok != wantOK {
				t.Fatalf("got %v, %v; want %v, %v", v, ok, want, wantOK)
			}
		}
	}
	check(a, nil, false)
	a.SetService(cacheKey{}, "a1")
	check(a, "a1", true)
	a.SetService(cacheKey{}, "a2")
	check(a, "a2", true)
	check(b, nil, false)
	b.SetService(cacheKey{}, "b1")
	check(b, "b1", true)
	check(a, "a2", true)
	var nilCache *engine.ServiceCache
	if v, ok := nilCache.Service(a, cacheKey{}); v != "a2" || !ok {
		t.Fatalf("nil cache: got %v, %v", v, ok)
	}
}

// TestServiceCacheConcurrentSet reads through one cache while another
// goroutine replaces the service: once SetService has returned, the next
// read gives the new value (run with -race).
func TestServiceCacheConcurrentSet(t *testing.T) {
	var c engine.ServiceCache
	rt := &engine.Runtime{}
	rt.SetService(cacheKey{}, 0)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					c.Service(rt, cacheKey{})
				}
			}
		})
	}
	for i := 1; i <= 200; i++ {
		rt.SetService(cacheKey{}, i)
		if v, _ := c.Service(rt, cacheKey{}); v != i {
			close(stop)
			wg.Wait()
			t.Fatalf("after SetService(%d): got %v", i, v)
		}
	}
	close(stop)
	wg.Wait()
}
