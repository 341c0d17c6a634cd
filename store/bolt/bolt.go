// Package bolt is the default implementation of store.Store: one bbolt file,
// nectar.db, in Nectar's data directory. It needs no server and survives a
// crash of the process (every write is synced before it returns), but only
// one process may open the file at a time, so its locks are in-process. Use
// package postgres to run several replicas.
//
// Concurrent writers share commits: a write that arrives while another
// commit is syncing waits and joins the next commit with every other
// waiting write, so N concurrent writes cost far fewer than N syncs, while a
// lone write pays no added delay.
package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bbolt "go.etcd.io/bbolt"
	bbolterrors "go.etcd.io/bbolt/errors"

	"github.com/nectar-run/nectar/internal/wait"
	"github.com/nectar-run/nectar/store"
)

// FileName is the name of the database file inside the data directory.
const FileName = "nectar.db"

// ErrLocked is returned by Open when another process holds the database
// file and does not let go of it within the open timeout.
var ErrLocked = errors.New("bolt: database file is in use by another process")

// Root buckets. User buckets are nested inside data, so that no user bucket
// name can collide with the store's own bookkeeping.
var (
	dataBucket   = []byte("data")
	expiryBucket = []byte("expiry") // keys: expiry (8) + len(bucket) (1) + bucket + key
	metaBucket   = []byte("meta")
	versionKey   = []byte("version")
)

// formatVersion is the version of the on-disk layout written by this code.
const formatVersion = 1

// A record is stored as revision (8 bytes), expiry in Unix nanoseconds
// (8 bytes, 0 for none), then the value.
const headerSize = 16

// Option configures Open.
type Option func(*options)

type options struct {
	timeout        time.Duration
	noSync         bool
	purgeInterval  time.Duration
	acceptPrevious bool
}

// WithTimeout sets how long Open waits for another process to release the
// database file before it returns ErrLocked. The default is 2 seconds, so
// a restart can wait for the previous process to finish closing.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithNoSync stops syncing the file on every commit. Writes then survive a
// crash of the process but not of the machine. Meant for tests and
// benchmarks.
func WithNoSync() Option { return func(o *options) { o.noSync = true } }

// WithAcceptPreviousCommit lets Open open a file whose one meta page is
// damaged, at the commit of the other (sound) page, accepting the loss of
// the damaged page's commit when it was the newest. Open's first commit
// then rewrites the damaged page. Without it Open refuses such a file with
// ErrCorrupt, because bbolt would silently drop the newest commit. Meant
// for nectar store check --accept-previous-commit, the user's explicit
// choice.
func WithAcceptPreviousCommit() Option { return func(o *options) { o.acceptPrevious = true } }

// WithPurgeInterval sets how often expired keys are deleted from the file
// (they are invisible as soon as they expire). The default is one minute;
// 0 disables the periodic purge (Purge still works).
func WithPurgeInterval(d time.Duration) Option { return func(o *options) { o.purgeInterval = d } }

// Store is the bbolt store. Create it with Open; it is safe for concurrent
// use, and one per process is enough.
type Store struct {
	db     *bbolt.DB
	path   string
	closed atomic.Bool
	stop   chan struct{} // closed by Close: stops the purger and lock waiters
	done   chan struct{} // closed when the purger has returned
	once   sync.Once

	commit committer
	cache  readCache

	lmu    sync.Mutex
	leases map[string]*lease
}

var _ store.Store = (*Store)(nil)

// Open opens or creates dir/nectar.db, creating dir with mode 0700 and the
// file with mode 0600 when they do not exist. It returns an error wrapping
// ErrLocked when another process keeps the file, and one wrapping
// ErrCorrupt, naming the file, when the file is damaged: Open reads every
// page of it first (see Check), which doubles the time bbolt takes to open
// (BenchmarkOpen: about 35 ms more for 100 000 records on 2 cores).
func Open(dir string, opts ...Option) (*Store, error) {
	o := options{timeout: 2 * time.Second, purgeInterval: time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bolt: data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// bbolt rebuilds the free list at open by walking the file in a
	// goroutine of its own, where a damaged page is a panic that kills the
	// process: walk it first where a panic can be caught.
	if fi, err := os.Stat(path); err == nil {
		if fi.Size() == 0 {
			return nil, emptyFile(path)
		}
		if err := verify(path, o.timeout, o.acceptPrevious); err != nil {
			return nil, err
		}
	}
	var db *bbolt.DB
	err := guard(func() error {
		var err error
		db, err = bbolt.Open(path, 0o600, &bbolt.Options{
			Timeout:        o.timeout,
			NoSync:         o.noSync,
			NoFreelistSync: true, // rebuilt at open: cheaper commits, as etcd does
			FreelistType:   bbolt.FreelistMapType,
		})
		return err
	})
	if errors.Is(err, bbolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s (waited %s; is another nectar running with this data directory?)", ErrLocked, path, o.timeout)
	}
	if err != nil {
		if err := damaged(path, err); errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	err = guard(func() error {
		return db.Update(func(tx *bbolt.Tx) error {
			for _, name := range [][]byte{dataBucket, expiryBucket, metaBucket} {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			meta := tx.Bucket(metaBucket)
			if v := meta.Get(versionKey); v != nil {
				if len(v) != 8 || binary.BigEndian.Uint64(v) > formatVersion {
					return fmt.Errorf("file was written by a newer nectar (format %x); upgrade nectar", v)
				}
				return nil
			}
			return meta.Put(versionKey, binary.BigEndian.AppendUint64(nil, formatVersion))
		})
	})
	if err != nil {
		_ = db.Close()
		if err := damaged(path, err); errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	s := &Store{
		db:     db,
		path:   path,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		leases: make(map[string]*lease),
	}
	s.commit.db, s.commit.path, s.commit.cache = db, path, &s.cache
	go s.purger(o.purgeInterval)
	return s, nil
}

// Path returns the path of the database file.
func (s *Store) Path() string { return s.path }

// Close stops the purge, wakes lock waiters with store.ErrClosed, waits for
// transactions in progress and closes the file. Calling it again does
// nothing.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		<-s.done
		if cerr := s.db.Close(); cerr != nil {
			err = fmt.Errorf("bolt: close: %w", cerr)
		}
	})
	return err
}

// check is the preamble of every call.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// wrap turns bbolt's errors into the store's.
func wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bbolterrors.ErrDatabaseNotOpen):
		return store.ErrClosed
	case errors.Is(err, ErrCorrupt):
		return err
	case errors.As(err, new(syscall.Errno)):
		// The file cannot be read or written: a full disk, an I/O error.
		return fmt.Errorf("bolt: %w: %w", store.ErrUnavailable, err)
	}
	return fmt.Errorf("bolt: %w", err)
}

// pingFailures is how long a write the file refused (a full disk) keeps
// Ping failing when no write succeeds after it.
const pingFailures = 30 * time.Second

// Ping implements store.Store: it fails while the file refuses writes (the
// last commit failed with store.ErrUnavailable, less than 30 s ago, and
// none succeeded since), and otherwise reads the file's meta bucket.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.commit.lastFailure(pingFailures); err != nil {
		return fmt.Errorf("bolt: the last write failed: %w", err)
	}
	return s.view(func(tx *bbolt.Tx) error {
		if tx.Bucket(metaBucket) == nil {
			return errors.New("bolt: the meta bucket is missing")
		}
		return nil
	})
}

// view runs fn in a read transaction; a panic of bbolt's on a damaged page
// is an error wrapping ErrCorrupt.
func (s *Store) view(fn func(tx *bbolt.Tx) error) error {
	return wrap(damaged(s.path, guard(func() error { return s.db.View(fn) })))
}

// record is a decoded stored value; value aliases bbolt's memory and is
// valid only inside the transaction.
type record struct {
	rev   uint64
	exp   int64
	value []byte
}

func decode(raw []byte) (record, bool) {
	if len(raw) < headerSize {
		return record{}, false
	}
	return record{
		rev:   binary.BigEndian.Uint64(raw),
		exp:   int64(binary.BigEndian.Uint64(raw[8:])),
		value: raw[headerSize:],
	}, true
}

func (r record) live(now int64) bool { return r.exp == 0 || r.exp > now }

// liveNow is live at the current time, read only for a record that
// expires: a Get of a record without expiry (a token request's client)
// reads no clock.
func (r record) liveNow() bool { return r.exp == 0 || r.live(time.Now().UnixNano()) }

func (r record) item(key string) store.Item {
	r.value = bytes.Clone(r.value)
	return r.sharedItem(key)
}

// sharedItem is item without copying the value (GetShared).
func (r record) sharedItem(key string) store.Item {
	it := store.Item{Key: key, Value: r.value, Rev: r.rev}
	if it.Value == nil {
		it.Value = []byte{}
	}
	if r.exp != 0 {
		it.ExpiresAt = time.Unix(0, r.exp)
	}
	return it
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	n := t.UnixNano()
	if n == 0 {
		n = -1 // keep "expires at the epoch" distinct from "never"
	}
	return n
}

// lookup returns the live record at key of bucket, if any.
func lookup(tx *bbolt.Tx, bucket, key string, now int64) (record, bool) {
	b := tx.Bucket(dataBucket).Bucket([]byte(bucket))
	if b == nil {
		return record{}, false
	}
	r, ok := decode(b.Get([]byte(key)))
	if !ok || !r.live(now) {
		return record{}, false
	}
	return r, true
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, bucket, key string) (store.Item, error) {
	return s.get(ctx, bucket, key, false)
}

// GetShared is Get without copying the value: Item.Value is the store's own
// copy, kept in its read cache and given to every GetShared of the key until
// a write replaces it. The caller must only read it, and must not hand it to
// code that could change it. The objectstore connector's get, which decodes
// and compares the bytes only, reads documents this way and spares a copy
// of each.
func (s *Store) GetShared(ctx context.Context, bucket, key string) (store.Item, error) {
	return s.get(ctx, bucket, key, true)
}

// get is Get, with the value shared (GetShared) or copied.
func (s *Store) get(ctx context.Context, bucket, key string, shared bool) (store.Item, error) {
	if err := cmp.Or(s.check(ctx), store.CheckKey(bucket, key)); err != nil {
		return store.Item{}, err
	}
	if r, ok := s.cache.get(bucket, key); ok {
		if !r.liveNow() {
			return store.Item{}, store.ErrNotFound
		}
		if shared {
			return r.sharedItem(key), nil
		}
		return r.item(key), nil
	}
	gen := s.cache.gen.Load() // before the transaction: see readCache
	var it store.Item
	found := false
	err := s.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(dataBucket).Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		r, ok := decode(b.Get([]byte(key)))
		if !ok {
			return nil
		}
		r.value = bytes.Clone(r.value) // the cache's own copy, out of bbolt's memory
		s.cache.put(gen, bucket, key, r)
		if r.liveNow() {
			if shared {
				it, found = r.sharedItem(key), true
			} else {
				it, found = r.item(key), true
			}
		}
		return nil
	})
	if err != nil {
		return store.Item{}, err
	}
	if !found {
		return store.Item{}, store.ErrNotFound
	}
	return it, nil
}

// put writes val at key, keeping the expiry index in step, and returns the
// new revision.
func put(tx *bbolt.Tx, bucket, key string, val []byte, exp int64) (uint64, error) {
	rev, _, err := putRecord(tx, bucket, key, val, exp)
	return rev, err
}

// putRecord is put that also returns the stored copy of val: memory of ours,
// not bbolt's, so it stays valid after the transaction.
func putRecord(tx *bbolt.Tx, bucket, key string, val []byte, exp int64) (uint64, []byte, error) {
	b, err := tx.Bucket(dataBucket).CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return 0, nil, err
	}
	k := []byte(key)
	if old, ok := decode(b.Get(k)); ok && old.exp != 0 {
		if err := tx.Bucket(expiryBucket).Delete(expiryKey(old.exp, bucket, key)); err != nil {
			return 0, nil, err
		}
	}
	rev, err := b.NextSequence()
	if err != nil {
		return 0, nil, err
	}
	rec := make([]byte, headerSize+len(val))
	binary.BigEndian.PutUint64(rec, rev)
	binary.BigEndian.PutUint64(rec[8:], uint64(exp))
	copy(rec[headerSize:], val)
	if err := b.Put(k, rec); err != nil {
		return 0, nil, err
	}
	if exp != 0 {
		if err := tx.Bucket(expiryBucket).Put(expiryKey(exp, bucket, key), nil); err != nil {
			return 0, nil, err
		}
	}
	return rev, rec[headerSize:], nil
}

// del removes key and its expiry index entry; it reports whether a live
// record was there.
func del(tx *bbolt.Tx, bucket, key string, now int64) (bool, error) {
	b := tx.Bucket(dataBucket).Bucket([]byte(bucket))
	if b == nil {
		return false, nil
	}
	k := []byte(key)
	old, ok := decode(b.Get(k))
	if !ok {
		return false, nil
	}
	if old.exp != 0 {
		if err := tx.Bucket(expiryBucket).Delete(expiryKey(old.exp, bucket, key)); err != nil {
			return false, err
		}
	}
	return old.live(now), b.Delete(k)
}

func expiryKey(exp int64, bucket, key string) []byte {
	k := make([]byte, 0, 9+len(bucket)+len(key))
	k = binary.BigEndian.AppendUint64(k, uint64(exp))
	k = append(k, byte(len(bucket)))
	k = append(k, bucket...)
	return append(k, key...)
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, bucket, key string, val []byte, opts ...store.WriteOption) (uint64, error) {
	return s.swap(ctx, bucket, key, 0, val, opts, nil)
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, bucket, key string, val []byte, opts ...store.WriteOption) (uint64, error) {
	return s.swap(ctx, bucket, key, 0, val, opts, store.ErrExists)
}

// CompareAndSwap implements store.Store.
func (s *Store) CompareAndSwap(ctx context.Context, bucket, key string, rev uint64, val []byte, opts ...store.WriteOption) (uint64, error) {
	return s.swap(ctx, bucket, key, rev, val, opts, store.ErrConflict)
}

// swap writes key when its revision is want (0: absent), and returns
// mismatch otherwise; a nil mismatch writes whatever the revision.
func (s *Store) swap(ctx context.Context, bucket, key string, want uint64, val []byte, opts []store.WriteOption, mismatch error) (uint64, error) {
	if err := cmp.Or(s.check(ctx), store.CheckKey(bucket, key)); err != nil {
		return 0, err
	}
	exp := unixNano(store.Options(opts).ExpiresAt)
	var rev uint64
	var result error
	err := s.commit.run(func(tx *bbolt.Tx) (err error) {
		rev, result = 0, nil
		if mismatch != nil {
			if cur, _ := lookup(tx, bucket, key, time.Now().UnixNano()); cur.rev != want {
				result = mismatch
				return nil
			}
		}
		rev, err = put(tx, bucket, key, val, exp)
		return err
	})
	if err != nil {
		return 0, err
	}
	return rev, result
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, bucket, key string, fn store.UpdateFunc, opts ...store.WriteOption) (store.Item, error) {
	if err := cmp.Or(s.check(ctx), store.CheckKey(bucket, key)); err != nil {
		return store.Item{}, err
	}
	w := store.Options(opts)
	var it store.Item
	var result error
	err := s.commit.run(func(tx *bbolt.Tx) error {
		it, result = store.Item{}, nil
		now := time.Now().UnixNano()
		cur, ok := lookup(tx, bucket, key, now)
		next, err := call(fn, cur.value, ok)
		switch {
		case errors.Is(err, store.SkipWrite):
			if ok {
				it = cur.item(key)
			}
			return nil
		case errors.Is(err, store.DeleteKey):
			_, err := del(tx, bucket, key, now)
			return err
		case err != nil:
			result = err
			return nil
		}
		exp := cur.exp
		if w.Set {
			exp = unixNano(w.ExpiresAt)
		}
		// next may alias cur, which is bbolt's memory: hand the caller
		// the stored copy instead.
		rev, stored, err := putRecord(tx, bucket, key, next, exp)
		if err != nil {
			return err
		}
		it = store.Item{Key: key, Value: stored, Rev: rev}
		if exp != 0 {
			it.ExpiresAt = time.Unix(0, exp)
		}
		return nil
	})
	if err != nil {
		return store.Item{}, err
	}
	return it, result
}

// call runs an UpdateFunc, turning a panic into an error so that one bad
// function cannot take down the commit it shares with other writers.
func call(fn store.UpdateFunc, cur []byte, ok bool) (next []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: update function panicked: %v", p)
		}
	}()
	if !ok {
		cur = nil
	}
	return fn(cur, ok)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, bucket, key string) error {
	if err := cmp.Or(s.check(ctx), store.CheckKey(bucket, key)); err != nil {
		return err
	}
	var found bool
	err := s.commit.run(func(tx *bbolt.Tx) (err error) {
		found, err = del(tx, bucket, key, time.Now().UnixNano())
		return err
	})
	if err != nil {
		return err
	}
	if !found {
		return store.ErrNotFound
	}
	return nil
}

// Apply implements store.Store.
func (s *Store) Apply(ctx context.Context, ops ...store.Op) error {
	if err := cmp.Or(s.check(ctx), store.CheckOps(ops)); err != nil || len(ops) == 0 {
		return err
	}
	return s.commit.run(func(tx *bbolt.Tx) error {
		now := time.Now().UnixNano()
		for _, op := range ops {
			var err error
			if op.Delete {
				_, err = del(tx, op.Bucket, op.Key, now)
			} else {
				_, err = put(tx, op.Bucket, op.Key, op.Value, unixNano(op.ExpiresAt))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, bucket string, opts store.ListOptions) ([]store.Item, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if err := store.CheckBucket(bucket); err != nil {
		return nil, err
	}
	var items []store.Item
	err := s.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(dataBucket).Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		now := time.Now().UnixNano()
		c := b.Cursor()
		prefix := []byte(opts.Prefix)
		var k, v []byte
		step := c.Next
		if opts.Reverse {
			step = c.Prev
			k, v = seekBelow(c, opts)
		} else {
			k, v = seekAbove(c, opts)
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = step() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r, ok := decode(v)
			if !ok || !r.live(now) {
				continue
			}
			items = append(items, r.item(string(k)))
			if opts.Limit > 0 && len(items) == opts.Limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if items == nil {
		items = []store.Item{}
	}
	return items, nil
}

// seekAbove positions c at the first key of an ascending listing.
func seekAbove(c *bbolt.Cursor, opts store.ListOptions) ([]byte, []byte) {
	if opts.After == "" || opts.After < opts.Prefix {
		if opts.Prefix == "" {
			return c.First()
		}
		return c.Seek([]byte(opts.Prefix))
	}
	k, v := c.Seek([]byte(opts.After))
	if k != nil && string(k) == opts.After {
		return c.Next()
	}
	return k, v
}

// seekBelow positions c at the first key of a descending listing: the last
// key below both After and the end of the prefix range.
func seekBelow(c *bbolt.Cursor, opts store.ListOptions) ([]byte, []byte) {
	var hi string // exclusive upper bound; "" for none
	if opts.Prefix != "" {
		hi = prefixEnd(opts.Prefix)
	}
	if opts.After != "" && (hi == "" || opts.After < hi) {
		hi = opts.After
	}
	if hi == "" {
		return c.Last()
	}
	if k, _ := c.Seek([]byte(hi)); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// prefixEnd returns the smallest key above every key starting with prefix,
// or "" when there is none (prefix is all 0xff bytes).
func prefixEnd(prefix string) string {
	p := strings.TrimRight(prefix, "\xff")
	if p == "" {
		return ""
	}
	return p[:len(p)-1] + string([]byte{p[len(p)-1] + 1})
}

// Purge deletes the keys that have expired and returns how many it
// deleted. The store calls it periodically (WithPurgeInterval); expired keys
// are invisible before that anyway.
func (s *Store) Purge(ctx context.Context) (int, error) {
	total := 0
	for {
		if err := s.check(ctx); err != nil {
			return total, err
		}
		n := 0
		err := s.commit.run(func(tx *bbolt.Tx) error {
			n = 0
			now := time.Now().UnixNano()
			idx := tx.Bucket(expiryBucket)
			c := idx.Cursor()
			// Deleting through the cursor while iterating skips keys in
			// bbolt, so collect a chunk first.
			var keys [][]byte
			for k, _ := c.First(); k != nil && len(keys) < 1000; k, _ = c.Next() {
				if int64(binary.BigEndian.Uint64(k)) > now || len(k) < 9 {
					break
				}
				keys = append(keys, bytes.Clone(k))
			}
			data := tx.Bucket(dataBucket)
			for _, k := range keys {
				bn := int(k[8])
				if len(k) < 9+bn {
					continue
				}
				bucket, key := k[9:9+bn], k[9+bn:]
				if b := data.Bucket(bucket); b != nil {
					if r, ok := decode(b.Get(key)); ok && !r.live(now) {
						if err := b.Delete(key); err != nil {
							return err
						}
					}
				}
				if err := idx.Delete(k); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}

func (s *Store) purger(every time.Duration) {
	defer close(s.done)
	wait.Every(s.stop, every, func() {
		// A failed purge is retried at the next tick; expired keys stay
		// invisible meanwhile, so there is nothing to report.
		_, _ = s.Purge(context.Background())
	})
}
