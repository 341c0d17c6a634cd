package postgres

// Crash makes b behave as a replica that died: it stops renewing leases,
// claiming and acknowledging, and leaves its rows in the database.
func Crash(b *Bus) { b.crashed.Store(true) }

// DropNotifications makes s's listener ignore (drop) the notifications of
// writes to declared buckets, as if they were lost.
func DropNotifications(s *Store, drop bool) { s.cache.drop.Store(drop) }

// Cached reports whether s's read cache holds key of bucket.
func Cached(s *Store, bucket, key string) bool {
	s.cache.mu.RLock()
	defer s.cache.mu.RUnlock()
	_, ok := s.cache.entries[cacheKey{bucket, key}]
	return ok
}

// CacheLen returns the number of entries of s's read cache.
func CacheLen(s *Store) int { return s.cache.len() }

// Listens returns how many times s's listener connected.
func Listens(s *Store) uint64 { return s.listens.Load() }

// ListenerName is the application_name of the listening connection.
const ListenerName = listenerName

// ListenerPID returns the backend pid of s's listening connection.
func ListenerPID(s *Store) uint32 { return s.listenPID.Load() }

// AfterRead makes every read of a cached bucket on s call f between its
// query and its fill of the cache. Set it before s is used concurrently.
func AfterRead(s *Store, f func()) { s.cache.afterRead = f }

// Epoch returns the count of s's cache invalidations.
func Epoch(s *Store) uint64 {
	s.cache.mu.RLock()
	defer s.cache.mu.RUnlock()
	return s.cache.epoch
}
