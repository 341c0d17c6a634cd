package store

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"
)

// MaxKeySize is the longest key, in bytes, that every implementation
// accepts. PostgreSQL indexes cannot hold much larger keys, so the limit is
// the same for all of them.
const MaxKeySize = 1024

// MaxBucketSize is the longest bucket name, in bytes.
const MaxBucketSize = 255

// Store is everything Nectar persists: accounts, tokens, credentials,
// object-store documents, schedules and execution records. Keys live in
// named buckets, ordered bytewise; each key has a value, a revision and an
// optional expiry. See the package documentation for the model.
//
// A Store is safe for concurrent use by many goroutines. Every method
// except Close honours ctx as far as the implementation can: it is checked
// before work starts, and a PostgreSQL store also cancels queries with it.
type Store interface {
	// Get returns the item at key, or ErrNotFound when it is missing or
	// expired. The returned Value is the caller's to keep.
	Get(ctx context.Context, bucket, key string) (Item, error)

	// Put writes val at key whatever is there, replacing value and expiry
	// (no option: no expiry), and returns the new revision.
	Put(ctx context.Context, bucket, key string, val []byte, opts ...WriteOption) (uint64, error)

	// Create writes val at key only when the key is missing or expired, and
	// returns the new revision; otherwise it returns ErrExists.
	Create(ctx context.Context, bucket, key string, val []byte, opts ...WriteOption) (uint64, error)

	// CompareAndSwap writes val at key only when the key's current
	// revision is rev (0 meaning "missing or expired"), replacing value and
	// expiry, and returns the new revision; otherwise it returns
	// ErrConflict.
	CompareAndSwap(ctx context.Context, bucket, key string, rev uint64, val []byte, opts ...WriteOption) (uint64, error)

	// Update reads key, calls fn with its current value and writes what fn
	// returns, atomically: no other write to key happens in between. fn may
	// return SkipWrite to leave the key alone or DeleteKey to delete it;
	// any other error aborts Update and is returned as it is.
	//
	// fn may be called more than once (a PostgreSQL store retries when a
	// concurrent Create wins a race), so it must only compute. It must not
	// keep or modify cur, which is valid only during the call, and must not
	// call the Store (a bbolt store holds its single writer lock).
	//
	// Without a WriteOption the key keeps its current expiry (a new key gets
	// none); pass NoExpiry to clear it. Update returns the item as written.
	Update(ctx context.Context, bucket, key string, fn UpdateFunc, opts ...WriteOption) (Item, error)

	// Delete removes key, or returns ErrNotFound when it is missing or
	// expired.
	Delete(ctx context.Context, bucket, key string) error

	// List returns the live items of bucket in key order (bytewise), as
	// opts select. An unknown bucket is empty, not an error.
	List(ctx context.Context, bucket string, opts ListOptions) ([]Item, error)

	// Apply performs ops in one transaction: all of them or none. It is the
	// cheap way to write many records (an execution batch). A Delete of a
	// missing key is not an error inside Apply.
	Apply(ctx context.Context, ops ...Op) error

	// Lock takes the named mutual-exclusion lease shared by everything that
	// uses this store (one process for bbolt, every replica for
	// PostgreSQL), waiting until it is free or ctx is done, in which case it
	// returns an error wrapping ctx.Err(). The lease ends when release is
	// called or, if the holder forgets or dies, after ttl; a holder whose
	// work may outlast ttl must not rely on the lease. release is safe to
	// call more than once and after the lease expired.
	Lock(ctx context.Context, name string, ttl time.Duration) (release func(), err error)

	// Ping checks, within ctx, that the store can serve calls: that the
	// database answers (PostgreSQL) or the file is open (bbolt). Readiness
	// checks call it with a short deadline, so it must be cheap.
	Ping(ctx context.Context) error

	// Close releases the store's resources, waiting for calls in progress
	// to finish. Calls after Close return ErrClosed.
	Close() error
}

// Item is one key of a bucket as a Store returns it.
type Item struct {
	Key   string
	Value []byte
	// Rev is the key's revision: above 0, and higher after every write of
	// the key, including a delete and re-create. Revisions of different
	// keys are not comparable.
	Rev uint64
	// ExpiresAt is when the key stops being visible; zero means never.
	ExpiresAt time.Time
}

// UpdateFunc computes the new value of a key for Update. exists is false
// when the key is missing or expired (cur is then nil).
type UpdateFunc func(cur []byte, exists bool) ([]byte, error)

// ListOptions selects the items List returns. The zero value lists the
// whole bucket in ascending key order.
type ListOptions struct {
	// Prefix keeps only keys that start with it.
	Prefix string
	// After starts the listing strictly past this key in the listing order
	// (below it when Reverse): pass the last key of a page to get the next.
	After string
	// Limit caps the number of items; 0 means no limit.
	Limit int
	// Reverse lists in descending key order.
	Reverse bool
}

// Op is one write of an Apply batch.
type Op struct {
	Bucket, Key string
	Value       []byte
	// ExpiresAt is the expiry of a put; zero means none.
	ExpiresAt time.Time
	// Delete makes the op remove the key instead of writing Value.
	Delete bool
}

// PutOp returns an Op writing val at key.
func PutOp(bucket, key string, val []byte, opts ...WriteOption) Op {
	w := Options(opts)
	return Op{Bucket: bucket, Key: key, Value: val, ExpiresAt: w.ExpiresAt}
}

// DeleteOp returns an Op removing key.
func DeleteOp(bucket, key string) Op {
	return Op{Bucket: bucket, Key: key, Delete: true}
}

// WriteOption changes how a write sets the key's expiry. The zero
// WriteOption does nothing.
type WriteOption struct {
	expiresAt time.Time
	set       bool
}

// ExpireAt makes the written key expire at t. A t in the past writes a key
// that is already invisible.
func ExpireAt(t time.Time) WriteOption { return WriteOption{expiresAt: t, set: true} }

// TTL makes the written key expire d after now (the time TTL is called).
func TTL(d time.Duration) WriteOption { return ExpireAt(time.Now().Add(d)) }

// NoExpiry makes the written key never expire; Update needs it to clear an
// expiry, since it otherwise keeps the current one.
func NoExpiry() WriteOption { return WriteOption{set: true} }

// Write is the effect of a list of WriteOptions; implementations call
// Options to read it.
type Write struct {
	// ExpiresAt is the expiry to write; zero means none.
	ExpiresAt time.Time
	// Set tells whether any option set the expiry (Update keeps the current
	// expiry when it is false).
	Set bool
}

// Options folds opts, the last one winning. It is for implementations of
// Store.
func Options(opts []WriteOption) Write {
	var w Write
	for _, o := range opts {
		if o.set {
			w = Write{ExpiresAt: o.expiresAt, Set: true}
		}
	}
	return w
}

// CheckKey returns an error wrapping ErrInvalid when bucket or key cannot
// be stored by every implementation: a bucket must be 1 to MaxBucketSize
// bytes of UTF-8 without NUL; a key must be 1 to MaxKeySize bytes, any
// bytes. Implementations of Store call it; callers may too.
func CheckKey(bucket, key string) error {
	if err := CheckBucket(bucket); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	if len(key) > MaxKeySize {
		return fmt.Errorf("%w: key of %d bytes is longer than %d", ErrInvalid, len(key), MaxKeySize)
	}
	return nil
}

// CheckBucket returns an error wrapping ErrInvalid when bucket is not a
// valid bucket name (see CheckKey).
func CheckBucket(bucket string) error {
	switch {
	case bucket == "":
		return fmt.Errorf("%w: empty bucket name", ErrInvalid)
	case len(bucket) > MaxBucketSize:
		return fmt.Errorf("%w: bucket name of %d bytes is longer than %d", ErrInvalid, len(bucket), MaxBucketSize)
	case !utf8.ValidString(bucket):
		return fmt.Errorf("%w: bucket name is not UTF-8", ErrInvalid)
	}
	for i := 0; i < len(bucket); i++ {
		if bucket[i] == 0 {
			return fmt.Errorf("%w: bucket name contains NUL", ErrInvalid)
		}
	}
	return nil
}

// CheckOps returns the error of the first op whose bucket or key CheckKey
// refuses. Implementations of Apply call it before writing anything.
func CheckOps(ops []Op) error {
	for _, op := range ops {
		if err := CheckKey(op.Bucket, op.Key); err != nil {
			return err
		}
	}
	return nil
}

// CheckLock returns the error Lock returns for the lock name when ready (an
// implementation's check of ctx and of its own state) failed or ttl is not
// positive. Implementations of Lock call it first.
func CheckLock(name string, ttl time.Duration, ready error) error {
	if ready != nil {
		return fmt.Errorf("store: lock %q: %w", name, ready)
	}
	if ttl <= 0 {
		return fmt.Errorf("%w: lock ttl %s is not positive", ErrInvalid, ttl)
	}
	return nil
}

// WaitLock waits, for an implementation of Lock, until the lock name may be
// free: wake is closed, wait has passed, ctx is done (an error wrapping
// ctx.Err()) or stop is closed (ErrClosed, the store is closing).
func WaitLock(ctx context.Context, name string, wake <-chan struct{}, wait time.Duration, stop <-chan struct{}) error {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-wake:
	case <-timer.C:
	case <-ctx.Done():
		return fmt.Errorf("store: lock %q: %w", name, ctx.Err())
	case <-stop:
		return ErrClosed
	}
	return nil
}
