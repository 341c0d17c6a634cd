package store

import (
	"maps"
	"sync"
	"sync/atomic"
)

// bucketMode is what the declarations of a bucket asked for.
type bucketMode uint8

const (
	notifyWrites bucketMode = 1 << iota
	cacheReads
)

// declared holds the declarations, by bucket.
var declared struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]bucketMode] // copied on write: read on every store call
}

func declare(bucket string, mode bucketMode) {
	if err := CheckBucket(bucket); err != nil {
		panic("store: declaring a bucket: " + err.Error())
	}
	declared.mu.Lock()
	defer declared.mu.Unlock()
	next := map[string]bucketMode{}
	if cur := declared.m.Load(); cur != nil {
		next = maps.Clone(*cur)
	}
	next[bucket] |= mode
	declared.m.Store(&next)
}

func modeOf(bucket string) bucketMode {
	m := declared.m.Load()
	if m == nil {
		return 0
	}
	return (*m)[bucket]
}

// CacheReads declares bucket read-mostly: a store shared by several
// processes may answer Get from memory, within its staleness bound, and
// announces every write of the bucket to the others (NotifyWrites). It
// panics on an invalid bucket name (a programming error).
func CacheReads(bucket string) { declare(bucket, notifyWrites|cacheReads) }

// NotifyWrites declares that the processes sharing a store want to learn of
// every write of bucket at once (Watcher), without caching its reads. It
// panics on an invalid bucket name.
func NotifyWrites(bucket string) { declare(bucket, notifyWrites) }

// ReadsCached reports whether bucket was declared with CacheReads.
func ReadsCached(bucket string) bool { return modeOf(bucket)&cacheReads != 0 }

// WritesNotified reports whether bucket was declared with CacheReads or
// NotifyWrites.
func WritesNotified(bucket string) bool { return modeOf(bucket)&notifyWrites != 0 }

// Watcher is implemented by stores shared by several processes that
// announce writes (the PostgreSQL store): Watch calls fn after any process
// on the store wrote a bucket declared with CacheReads or NotifyWrites, and
// also after the announcements may have been missed (the store's
// listening connection was re-established), until cancel is called. fn runs
// on the store's listening goroutine: it must return quickly (signal a
// channel), and must not call cancel. A Watcher's announcements are fast,
// not guaranteed: keep polling as a bound.
type Watcher interface {
	Watch(bucket string, fn func()) (cancel func())
}
