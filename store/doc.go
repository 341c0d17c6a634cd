// Package store is the one interface through which Nectar persists its
// state: accounts, OAuth tokens, issued credentials, object-store documents,
// schedule ticks and execution records. It has no dependencies; the
// implementations live in subpackages: bolt (bbolt, one file in the data
// directory, the default) and postgres (PostgreSQL, shared by several
// replicas). Package open chooses between them from the command line, and
// package storetest is the suite every implementation passes.
//
// # Basics
//
// Keys live in named buckets such as "accounts", "tokens",
// "objects/customers" or "executions". A bucket exists as soon as a key is
// written to it; listing an unknown bucket gives nothing. Keys are strings of
// any bytes, ordered bytewise, so a key made of a fixed-width time and an id
// lists in time order. Values are []byte: callers choose the encoding (JSON
// for documents, a sealed blob for secrets, see package secret).
//
// Each key carries a revision, above 0 and higher after every write of that
// key (even across a delete and re-create), so a reader can later write back
// only if nothing changed in between:
//
//	it, err := st.Get(ctx, "accounts", "crm")
//	// ... decide on a new value from it.Value ...
//	_, err = st.CompareAndSwap(ctx, "accounts", "crm", it.Rev, newVal)
//	if errors.Is(err, store.ErrConflict) {
//		// someone else wrote first: read again
//	}
//
// Update does the read-modify-write in one step, holding the key for the
// duration of fn:
//
//	_, err := st.Update(ctx, "counters", "runs", func(cur []byte, ok bool) ([]byte, error) {
//		n, _ := strconv.Atoi(string(cur))
//		return strconv.AppendInt(nil, int64(n+1), 10), nil
//	})
//
// A key may expire (ExpireAt, TTL). An expired key is invisible at once to
// Get, List, Delete, Create and CompareAndSwap, as if missing; its storage is
// reclaimed later, by the next write of the key or by a periodic purge.
//
// Apply writes many keys in one transaction: cheaper than one write each,
// which is how execution history is recorded without slowing runs down.
//
// Lock is a named lease for work that must happen once at a time across
// everything sharing the store: one OAuth refresh per account across
// replicas, for instance. For "at most once per period" (a schedule tick),
// Create a key with an expiry instead: the first writer wins, and the
// others get ErrExists.
//
// # Patterns
//
// One OAuth refresh across replicas: take Lock("refresh/<account>", ttl),
// read the token again (another holder may have refreshed it), refresh only
// if still needed, write the new token, release.
//
// A schedule tick that fires once: Create("ticks", "<schedule>@<time>",
// ..., TTL(...)); only the creator runs the tick.
//
// An at-least-once queue (events): producers Put keys that sort by time
// ("<unix nanos>/<id>"); a consumer Lists a few, claims each with
// Create("claims", key, ..., TTL(lease)), processes it, then Applies the
// deletion of the event and the claim together. A consumer that dies leaves
// a claim that expires, and the event is taken again.
//
// # Concurrency
//
// A Store is safe for concurrent use; share one per process. Writes to one
// key are linearizable: Update, Create and CompareAndSwap never lose a
// concurrent write. Values passed to writes must not be modified until the
// call returns; values returned belong to the caller.
//
// The bbolt store allows one process on the file (others wait for the file
// lock, then fail), so its Lock is in-process. The PostgreSQL store is meant
// for several processes; its Lock is a lease row that expires, so a replica
// that dies holding it cannot block the others for longer than the TTL.
//
// # Read-mostly buckets
//
// A store shared by several processes (PostgreSQL) pays a round trip for
// every Get; for a bucket read on every request and written rarely (the
// OAuth2 clients), a process may keep what it read in memory instead,
// provided every process learns of the writes. The package that owns such
// a bucket declares it once, from init:
//
//	func init() { store.CacheReads("objects/oauth-clients") }
//
// What a declaration changes is up to the implementation: the bbolt store
// reads its memory map and ignores it; the PostgreSQL store announces every
// write of a declared bucket to all the processes on the database
// (LISTEN/NOTIFY, in the writing transaction) and, for CacheReads, answers
// Get from memory. A cached Get is stale by at most the store's stated
// bound (postgres.DefaultCacheMaxAge, 1 s), also when an announcement is
// lost; within one process a write is seen by every Get that starts after
// it returned. NotifyWrites declares a bucket whose writes are announced
// (to a Watcher) without caching its reads.
//
// Declarations are process-wide and cannot be withdrawn. A process that
// writes a declared bucket without having declared it (an older Nectar)
// sends no announcement, and the readers then see its writes within the
// bound.
//
// # Caveats
//
// An UpdateFunc may be called more than once and must not call the Store.
// bbolt runs every write under one writer lock and syncs the file on each
// commit, so many small writes are slow: batch them with Apply. Expiry is
// judged by the clock of the process (bbolt) or of the database server
// (PostgreSQL), so keep clocks in sync across replicas. Keys are at most
// MaxKeySize bytes; no size limit is put on values, but large values
// (megabytes) belong elsewhere.
package store
