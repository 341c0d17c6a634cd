package postgres

import (
	"bytes"
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nectar-run/nectar/store"
)

// The read cache of the buckets declared with store.CacheReads.
//
// Every write of a declared bucket (store.CacheReads or
// store.NotifyWrites) sends, in its transaction, a NOTIFY on cacheChannel
// naming the bucket and the key; PostgreSQL delivers it to every replica's
// listening connection after the commit, and each replica drops the key
// from its cache and calls its watchers (store.Watcher). The writing replica
// also drops the key itself before the write returns, so that its own later
// Gets read the new value.
//
// The bound does not rest on the notifications: an entry is served for at
// most maxAge after the read that filled it started, so a Get returns a
// value the database held at some moment within the last maxAge, whatever
// was lost. A lost notification can only come from a lost listening
// connection; while it is down nothing is cached, and when it is back the
// cache starts empty.
//
// A read that overlaps an invalidation does not fill the cache (epoch):
// otherwise a read that saw the value before a write, and came back after
// that write's notification, would keep the old value.

// cacheChannel is the LISTEN/NOTIFY channel of writes to declared buckets;
// the payload is notifyPayload's.
const cacheChannel = "nectar_kv"

// DefaultCacheMaxAge is the staleness bound of the read cache: a Get of a
// bucket declared with store.CacheReads returns a value the database held
// within this much time, also when a notification is lost; a write is
// normally seen by every replica within milliseconds (its notification).
const DefaultCacheMaxAge = time.Second

// maxCacheEntries bounds the cache's memory: past it, an arbitrary entry
// makes room. Only keys that exist are cached, so unknown keys cannot fill
// it.
const maxCacheEntries = 10000

// WithCacheMaxAge sets the staleness bound of the read cache
// (DefaultCacheMaxAge by default); 0 or less disables the cache, while
// writes are still announced.
func WithCacheMaxAge(d time.Duration) Option { return func(o *options) { o.cacheMaxAge = d } }

type cacheKey struct{ bucket, key string }

type cacheEntry struct {
	it    store.Item
	until time.Time // filled at read start + maxAge
}

type cache struct {
	maxAge time.Duration

	mu      sync.RWMutex
	entries map[cacheKey]cacheEntry
	epoch   uint64 // bumped by every invalidation
	on      bool   // the listener is connected: fills are allowed

	drop      atomic.Bool // test hook: the listener ignores cache notifications
	afterRead func()      // test hook: runs between a read's query and its fill

	wmu      sync.Mutex
	watchers map[string]map[*func()]struct{}
}

func newCache(maxAge time.Duration) *cache {
	return &cache{maxAge: maxAge, entries: map[cacheKey]cacheEntry{}, watchers: map[string]map[*func()]struct{}{}}
}

// get returns a copy of the cached item, if it is fresh.
func (c *cache) get(bucket, key string, now time.Time) (store.Item, bool) {
	c.mu.RLock()
	e, ok := c.entries[cacheKey{bucket, key}]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) || (!e.it.ExpiresAt.IsZero() && !now.Before(e.it.ExpiresAt)) {
		return store.Item{}, false
	}
	it := e.it
	it.Value = bytes.Clone(it.Value)
	return it, true
}

// begin returns what fill needs to know when the read started.
func (c *cache) begin() (uint64, time.Time) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.epoch, time.Now()
}

// fill keeps it, read from the database after begin returned epoch and
// start, unless an invalidation happened since or the listener is down.
func (c *cache) fill(bucket string, it store.Item, epoch uint64, start time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on || c.epoch != epoch {
		return
	}
	if len(c.entries) >= maxCacheEntries {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	it.Value = bytes.Clone(it.Value)
	c.entries[cacheKey{bucket, it.Key}] = cacheEntry{it: it, until: start.Add(c.maxAge)}
}

// invalidate drops bucket's keys, or the whole bucket when keys is nil.
func (c *cache) invalidate(bucket string, keys ...string) {
	c.mu.Lock()
	c.epoch++
	if keys == nil {
		for k := range c.entries {
			if k.bucket == bucket {
				delete(c.entries, k)
			}
		}
	}
	for _, key := range keys {
		delete(c.entries, cacheKey{bucket, key})
	}
	c.mu.Unlock()
}

// reset empties the cache and allows fills (on) or stops them until the
// next reset: the listener calls it when it connects and when it loses its
// connection.
func (c *cache) reset(on bool) {
	c.mu.Lock()
	c.epoch++
	c.on = on
	clear(c.entries)
	c.mu.Unlock()
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// Watch implements store.Watcher.
func (s *Store) Watch(bucket string, fn func()) (cancel func()) {
	c := s.cache
	p := &fn
	c.wmu.Lock()
	if c.watchers[bucket] == nil {
		c.watchers[bucket] = map[*func()]struct{}{}
	}
	c.watchers[bucket][p] = struct{}{}
	c.wmu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.wmu.Lock()
			delete(c.watchers[bucket], p)
			if len(c.watchers[bucket]) == 0 {
				delete(c.watchers, bucket)
			}
			c.wmu.Unlock()
		})
	}
}

// notifyWatchers calls the watchers of bucket, or every watcher when bucket
// is empty.
func (c *cache) notifyWatchers(bucket string) {
	c.wmu.Lock()
	var fns []func()
	for b, set := range c.watchers {
		if bucket == "" || b == bucket {
			for p := range set {
				fns = append(fns, *p)
			}
		}
	}
	c.wmu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// notified handles a notification of cacheChannel.
func (c *cache) notified(payload string) {
	if c.drop.Load() {
		return
	}
	bucket, key, ok := parsePayload(payload)
	if !ok {
		c.reset(true) // not ours to understand: forget everything
		c.notifyWatchers("")
		return
	}
	c.invalidate(bucket, key)
	c.notifyWatchers(bucket)
}

// notifyPayload is the SQL expression of a notification's payload for
// bucket $b and key $k (bytea): "<bytes of bucket>:<bucket><hex of key>".
func notifyPayload(b, k string) string {
	return `octet_length(` + b + `)::text || ':' || ` + b + ` || encode(` + k + `, 'hex')`
}

func parsePayload(p string) (bucket, key string, ok bool) {
	n, rest, found := strings.Cut(p, ":")
	size, err := strconv.Atoi(n)
	if !found || err != nil || size < 0 || size > len(rest) {
		return "", "", false
	}
	k, err := hex.DecodeString(rest[size:])
	if err != nil {
		return "", "", false
	}
	return rest[:size], string(k), true
}

// querier is what a write needs: the pool, or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// announced runs write, which writes key of bucket through q, and, when
// bucket is declared, notifies every replica in the same transaction and
// drops the key from this replica's cache once it committed.
func (s *Store) announced(ctx context.Context, bucket, key string, write func(q querier) error) error {
	if !store.WritesNotified(bucket) {
		return write(s.pool)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := write(tx); err != nil {
			return err
		}
		return notify(ctx, tx, []string{bucket}, [][]byte{[]byte(key)})
	})
	if err == nil {
		s.cache.invalidate(bucket, key)
	}
	return err
}

// notifySQL notifies the writes of keys $2[i] of buckets $1[i].
var notifySQL = `SELECT pg_notify('` + cacheChannel + `', ` + notifyPayload("b", "k") + `)
FROM unnest($1::text[], $2::bytea[]) AS t(b, k)`

// notify sends, in tx, the notification of each write (buckets[i],
// keys[i]).
func notify(ctx context.Context, tx pgx.Tx, buckets []string, keys [][]byte) error {
	_, err := tx.Exec(ctx, notifySQL, buckets, keys)
	return err
}

// getCached answers Get for a bucket declared with store.CacheReads.
func (s *Store) getCached(ctx context.Context, bucket, key string) (store.Item, error) {
	if it, ok := s.cache.get(bucket, key, time.Now()); ok {
		return it, nil
	}
	epoch, start := s.cache.begin()
	it, err := s.get(ctx, bucket, key)
	if s.cache.afterRead != nil {
		s.cache.afterRead()
	}
	if err == nil {
		s.cache.fill(bucket, it, epoch, start)
	}
	return it, err
}
