package bolt

import (
	"sync"
	"sync/atomic"
)

// readCache keeps the records Get read, so that reading the same key again
// opens no transaction and no bucket: a token request reads its client
// this way. It is exact, not a bounded staleness: every write transaction
// (all of them go through committer.update) moves the generation on once
// it has committed, and an entry is only good in the generation it was
// read in, which it took before its transaction began. A write that has
// returned to its caller has moved the generation on, so no Get that starts
// after it can see an entry read before it. Expiry is checked on each hit,
// against the record's own expiry time.
//
// The cache is bounded: values over maxCachedValue bytes are not kept, and
// past maxCachedKeys keys or maxCachedBytes bytes of values it starts over
// (the key bound alone would let 4096 values of 16 KiB pin 64 MiB). A file
// damaged under a running process (see TestReadCorruptPage) is noticed by
// the reads the cache does not answer, and by the first after a write.
type readCache struct {
	gen atomic.Uint64
	mu  sync.RWMutex
	m   map[string]map[string]cachedRecord // bucket, key
	n   int                                // keys in m
	b   int                                // bytes of the values in m
}

const (
	maxCachedKeys  = 4096
	maxCachedValue = 16 << 10
	maxCachedBytes = 4 << 20
)

type cachedRecord struct {
	gen uint64
	rec record // value is the cache's own copy, never changed; only GetShared hands it out, to be read
}

// written moves the generation on: what was read before is stale.
func (c *readCache) written() { c.gen.Add(1) }

// get returns the record at key of bucket when it was read in the current
// generation.
func (c *readCache) get(bucket, key string) (record, bool) {
	gen := c.gen.Load()
	c.mu.RLock()
	e, ok := c.m[bucket][key]
	c.mu.RUnlock()
	if !ok || e.gen != gen {
		return record{}, false
	}
	return e.rec, true
}

// put keeps r, read in generation gen (taken before its transaction
// began); its value must be a copy of the cache's own.
func (c *readCache) put(gen uint64, bucket, key string, r record) {
	if len(r.value) > maxCachedValue {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n >= maxCachedKeys || c.b+len(r.value) > maxCachedBytes || c.m == nil {
		c.m, c.n, c.b = make(map[string]map[string]cachedRecord), 0, 0
	}
	b := c.m[bucket]
	if b == nil {
		b = make(map[string]cachedRecord)
		c.m[bucket] = b
	}
	old, ok := b[key]
	if !ok {
		c.n++
	}
	c.b += len(r.value) - len(old.rec.value)
	b[key] = cachedRecord{gen: gen, rec: r}
}
