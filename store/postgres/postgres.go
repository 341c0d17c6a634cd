// Package postgres is the implementation of store.Store for several Nectar
// replicas sharing one PostgreSQL database (github.com/jackc/pgx/v5). It
// keeps the semantics of the bbolt store exactly (the storetest suite runs
// against both); what changes is that every replica sees every write at
// once, and that Lock excludes across replicas.
//
// Open creates or upgrades the schema: numbered migrations, applied in one
// transaction under a PostgreSQL advisory lock, so replicas starting
// together apply each migration once. All tables are named nectar_*; give
// Nectar its own database or schema (search_path in the DSN).
//
// Locks are lease rows with an expiry, judged by the database clock: a
// replica that dies holding one blocks the others for at most the TTL.
// Releasing a lease notifies waiters on every replica (LISTEN/NOTIFY), so
// they do not wait for a poll.
//
// The store also carries the event bus of its replicas (Store.Bus, an
// events.Bus): tables next to the store's, the same pool, and the same
// listening connection, one per store, which hands each notification to
// the lock waiters or to the bus by its channel.
package postgres

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nectar-run/nectar/internal/wait"
	"github.com/nectar-run/nectar/store"
)

// Option configures Open.
type Option func(*options)

type options struct {
	purgeInterval time.Duration
	maxConns      int32
	logger        *slog.Logger
	cacheMaxAge   time.Duration
}

// WithPurgeInterval sets how often expired keys and leases are deleted
// (they are invisible as soon as they expire). The default is one minute; 0
// disables the periodic purge (Purge still works).
func WithPurgeInterval(d time.Duration) Option { return func(o *options) { o.purgeInterval = d } }

// WithMaxConns caps the connection pool; the default is pool_max_conns in
// the DSN, else DefaultMaxConns.
func WithMaxConns(n int32) Option { return func(o *options) { o.maxConns = n } }

// Store is the PostgreSQL store. Create it with Open; it is safe for
// concurrent use, and one per process is enough.
type Store struct {
	pool   *pgxpool.Pool
	closed atomic.Bool
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once

	wmu     sync.Mutex
	waiters map[string]chan struct{} // closed when the lock may have been freed

	bus atomic.Pointer[Bus] // the open event bus (Store.Bus), woken by listen

	cache     *cache        // reads of the buckets declared with store.CacheReads (cache.go)
	listens   atomic.Uint64 // times the listener connected
	listenPID atomic.Uint32 // the listening connection's backend
}

var _ store.Store = (*Store)(nil)

// DefaultMaxConns is the pool size when neither WithMaxConns nor
// pool_max_conns sets one. pgxpool's own default (4 on small machines) makes
// a serving replica's requests queue for connections: each HTTP execution
// that touches the store holds one for a round trip.
const DefaultMaxConns = 16

// DefaultConnectTimeout bounds each connection attempt (TCP connect, TLS
// and the start-up exchange) when neither the DSN's connect_timeout nor the
// PGCONNECT_TIMEOUT environment variable sets a bound. Without one, a server
// that accepts connections but never answers (a frozen host) makes Open, and
// every later call, wait forever.
const DefaultConnectTimeout = 10 * time.Second

// WithLogger makes Open say what it waits for (the server's address and the
// connect timeout, never the password). The default logs nothing.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Open connects to the database at dsn (a postgres:// URL or key=value
// string, as pgx accepts), applies the migrations this version of Nectar
// needs, and returns the store. ctx bounds the connection and the
// migrations, not the store's life. The first connection is bounded by
// connect_timeout (DefaultConnectTimeout unless the DSN sets one): a server
// that does not answer within it is an error wrapping store.ErrUnavailable.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := options{purgeInterval: time.Minute, cacheMaxAge: DefaultCacheMaxAge}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors can quote the DSN, password included.
		return nil, errors.New("postgres: the connection string does not parse (want postgres://user:password@host:port/database)")
	}
	switch {
	case o.maxConns > 0:
		cfg.MaxConns = o.maxConns
	case !strings.Contains(dsn, "pool_max_conns"):
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	addr := net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
	if o.logger != nil {
		o.logger.Info("connecting to PostgreSQL", "addr", addr, "database", cfg.ConnConfig.Database,
			"connect_timeout", cfg.ConnConfig.ConnectTimeout.String())
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// The pool connects lazily: connect now, so that a server that is down
	// or does not answer fails Open with a clear error, within the bound.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("postgres: connecting to %s: %w", addr, ctx.Err())
		}
		return nil, fmt.Errorf("postgres: no answer from %s within connect_timeout %s (set connect_timeout=SECONDS in the connection string to wait longer): %w: %w",
			addr, cfg.ConnConfig.ConnectTimeout, store.ErrUnavailable, err)
	}
	if err := storeSchema.migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, stop: make(chan struct{}), waiters: make(map[string]chan struct{}), cache: newCache(o.cacheMaxAge)}
	s.wg.Add(2)
	go s.listen()
	go s.purger(o.purgeInterval)
	return s, nil
}

// Ping checks that the database answers a round trip within ctx; a
// readiness check calls it with a short deadline. Its error wraps
// store.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := s.pool.Ping(ctx); err != nil {
		if s.closed.Load() {
			return store.ErrClosed
		}
		return fmt.Errorf("postgres: %w: %w", store.ErrUnavailable, err)
	}
	return nil
}

// Close stops the background work, waits for calls in progress and closes
// the pool. Calling it again does nothing.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		s.wg.Wait()
		s.pool.Close()
	})
	return nil
}

func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// wrap turns pgx errors into the store's: every failure of the driver or
// the database wraps store.ErrUnavailable, except a call its caller
// cancelled.
func (s *Store) wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case s.closed.Load():
		return store.ErrClosed
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("postgres: %w", err)
	}
	return fmt.Errorf("postgres: %w: %w", store.ErrUnavailable, err)
}

const live = `(expires_at IS NULL OR expires_at > now())`

func expiry(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func item(key string, val []byte, rev int64, exp *time.Time) store.Item {
	it := store.Item{Key: key, Value: val, Rev: uint64(rev)}
	if it.Value == nil {
		it.Value = []byte{}
	}
	if exp != nil {
		it.ExpiresAt = *exp
	}
	return it
}

// Get implements store.Store. A bucket declared with store.CacheReads is
// answered from memory when this replica read the key within the cache's
// bound (WithCacheMaxAge) and no write of it was announced since.
func (s *Store) Get(ctx context.Context, bucket, key string) (store.Item, error) {
	if err := cmp.Or(s.check(ctx), store.CheckKey(bucket, key)); err != nil {
		return store.Item{}, err
	}
	if s.cache.maxAge > 0 && store.ReadsCached(bucket) {
		return s.getCached(ctx, bucket, key)
	}
	return s.get(ctx, bucket, key)
}

func (s *Store) get(ctx context.Context, bucket, key string) (store.Item, error) {
	var val []byte
	var rev int64
	var exp *time.Time
	err := s.pool.QueryRow(ctx, `SELECT value, rev, expires_at FROM nectar_kv WHERE bucket = $1 AND key = $2 AND `+live,
		bucket, []byte(key)).Scan(&val, &rev, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Item{}, store.ErrNotFound
	}
	if err != nil {
		return store.Item{}, s.wrap(err)
	}
	return item(key, val, rev, exp), nil
}

const upsert = `INSERT INTO nectar_kv (bucket, key, value, rev, expires_at)
VALUES ($1, $2, $3, nextval('nectar_rev'), $4)
ON CONFLICT (bucket, key) DO UPDATE SET value = EXCLUDED.value, rev = EXCLUDED.rev, expires_at = EXCLUDED.expires_at`

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, bucket, key string, val []byte, opts ...store.WriteOption) (uint64, error) {
	return s.write(ctx, bucket, key, nil, upsert+` RETURNING rev`, nonNil(val), expiry(store.Options(opts).ExpiresAt))
}

// write is Put, Create and CompareAndSwap: it runs sql, a statement on
// bucket $1 and key $2 (then args) returning the new revision, announced
// (a declared bucket); a statement that writes no row returns none.
func (s *Store) write(ctx context.Context, bucket, key string, none error, sql string, args ...any) (uint64, error) {
	if err := cmp.Or(s.check(ctx), store.CheckKey(bucket, key)); err != nil {
		return 0, err
	}
	var rev int64
	err := s.announced(ctx, bucket, key, func(q querier) error {
		return q.QueryRow(ctx, sql, append([]any{bucket, []byte(key)}, args...)...).Scan(&rev)
	})
	if errors.Is(err, pgx.ErrNoRows) && none != nil {
		return 0, none
	}
	if err != nil {
		return 0, s.wrap(err)
	}
	return uint64(rev), nil
}

// nonNil keeps a nil value from becoming SQL NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// createSQL writes only over a missing or expired key.
const createSQL = upsert + ` WHERE nectar_kv.expires_at IS NOT NULL AND nectar_kv.expires_at <= now() RETURNING rev`

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, bucket, key string, val []byte, opts ...store.WriteOption) (uint64, error) {
	return s.create(ctx, bucket, key, val, opts, store.ErrExists)
}

func (s *Store) create(ctx context.Context, bucket, key string, val []byte, opts []store.WriteOption, exists error) (uint64, error) {
	return s.write(ctx, bucket, key, exists, createSQL, nonNil(val), expiry(store.Options(opts).ExpiresAt))
}

// CompareAndSwap implements store.Store.
func (s *Store) CompareAndSwap(ctx context.Context, bucket, key string, rev uint64, val []byte, opts ...store.WriteOption) (uint64, error) {
	if rev == 0 {
		return s.create(ctx, bucket, key, val, opts, store.ErrConflict)
	}
	return s.write(ctx, bucket, key, store.ErrConflict, `UPDATE nectar_kv SET value = $3, rev = nextval('nectar_rev'), expires_at = $4
WHERE bucket = $1 AND key = $2 AND rev = $5 AND `+live+` RETURNING rev`,
		nonNil(val), expiry(store.Options(opts).ExpiresAt), int64(rev))
}

// errRetry makes Update try again: a concurrent writer created the key
// between our read and our insert.
var errRetry = errors.New("postgres: retry update")

// Update implements store.Store. The row is locked with SELECT ... FOR
// UPDATE; a missing key cannot be locked, so a concurrent Create can win
// the insert, and then fn runs again on the new value.
func (s *Store) Update(ctx context.Context, bucket, key string, fn store.UpdateFunc, opts ...store.WriteOption) (store.Item, error) {
	if err := cmp.Or(s.check(ctx), store.CheckKey(bucket, key)); err != nil {
		return store.Item{}, err
	}
	w := store.Options(opts)
	for attempt := 0; ; attempt++ {
		it, err := s.update(ctx, bucket, key, fn, w)
		if !retryable(err) || attempt == 20 {
			if err == nil && store.WritesNotified(bucket) {
				s.cache.invalidate(bucket, key)
			}
			return it, err
		}
	}
}

func retryable(err error) bool {
	if errors.Is(err, errRetry) {
		return true
	}
	var pgErr *pgconn.PgError
	// serialization_failure, deadlock_detected, unique_violation
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01" || pgErr.Code == "23505")
}

func (s *Store) update(ctx context.Context, bucket, key string, fn store.UpdateFunc, w store.Write) (store.Item, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return store.Item{}, s.wrap(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after Commit
	k := []byte(key)
	// commit announces the write (a declared bucket) in the transaction.
	commit := func() error {
		if store.WritesNotified(bucket) {
			if err := notify(ctx, tx, []string{bucket}, [][]byte{k}); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	}
	var (
		cur          []byte
		rev          int64
		exp          *time.Time
		alive, found bool
	)
	err = tx.QueryRow(ctx, `SELECT value, rev, expires_at, `+live+` FROM nectar_kv WHERE bucket = $1 AND key = $2 FOR UPDATE`,
		bucket, k).Scan(&cur, &rev, &exp, &alive)
	switch {
	case err == nil:
		found = true
	case !errors.Is(err, pgx.ErrNoRows):
		return store.Item{}, s.wrap(err)
	}
	if !alive {
		cur, exp = nil, nil
	}
	next, err := call(fn, cur, alive)
	switch {
	case errors.Is(err, store.SkipWrite):
		if !alive {
			return store.Item{}, nil
		}
		return item(key, cur, rev, exp), nil
	case errors.Is(err, store.DeleteKey):
		if found {
			if _, err := tx.Exec(ctx, `DELETE FROM nectar_kv WHERE bucket = $1 AND key = $2`, bucket, k); err != nil {
				return store.Item{}, s.wrap(err)
			}
		}
		return store.Item{}, s.wrap(commit())
	case err != nil:
		return store.Item{}, err
	}
	newExp := expiry(w.ExpiresAt)
	if !w.Set && exp != nil {
		newExp = *exp
	}
	if found {
		err = tx.QueryRow(ctx, `UPDATE nectar_kv SET value = $3, rev = nextval('nectar_rev'), expires_at = $4
WHERE bucket = $1 AND key = $2 RETURNING rev, expires_at`, bucket, k, nonNil(next), newExp).Scan(&rev, &exp)
	} else {
		err = tx.QueryRow(ctx, `INSERT INTO nectar_kv (bucket, key, value, rev, expires_at)
VALUES ($1, $2, $3, nextval('nectar_rev'), $4) ON CONFLICT DO NOTHING RETURNING rev, expires_at`,
			bucket, k, nonNil(next), newExp).Scan(&rev, &exp)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.Item{}, errRetry
		}
	}
	if err != nil {
		return store.Item{}, s.wrap(err)
	}
	if err := commit(); err != nil {
		return store.Item{}, s.wrap(err)
	}
	return item(key, next, rev, exp), nil
}

// call runs an UpdateFunc, turning a panic into an error.
func call(fn store.UpdateFunc, cur []byte, ok bool) (next []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: update function panicked: %v", p)
		}
	}()
	return fn(cur, ok)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, bucket, key string) error {
	if err := cmp.Or(s.check(ctx), store.CheckKey(bucket, key)); err != nil {
		return err
	}
	var alive bool
	err := s.announced(ctx, bucket, key, func(q querier) error {
		return q.QueryRow(ctx, `DELETE FROM nectar_kv WHERE bucket = $1 AND key = $2 RETURNING `+live,
			bucket, []byte(key)).Scan(&alive)
	})
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !alive) {
		return store.ErrNotFound
	}
	return s.wrap(err)
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, bucket string, opts store.ListOptions) ([]store.Item, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if err := store.CheckBucket(bucket); err != nil {
		return nil, err
	}
	var q strings.Builder
	q.WriteString(`SELECT key, value, rev, expires_at FROM nectar_kv WHERE bucket = $1 AND ` + live)
	args := []any{bucket}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if opts.Prefix != "" {
		q.WriteString(" AND key >= " + arg([]byte(opts.Prefix)))
		if end := prefixEnd(opts.Prefix); end != nil {
			q.WriteString(" AND key < " + arg(end))
		}
	}
	if opts.After != "" {
		if opts.Reverse {
			q.WriteString(" AND key < " + arg([]byte(opts.After)))
		} else {
			q.WriteString(" AND key > " + arg([]byte(opts.After)))
		}
	}
	q.WriteString(" ORDER BY key")
	if opts.Reverse {
		q.WriteString(" DESC")
	}
	if opts.Limit > 0 {
		q.WriteString(" LIMIT " + arg(opts.Limit))
	}
	rows, err := s.pool.Query(ctx, q.String(), args...)
	if err != nil {
		return nil, s.wrap(err)
	}
	items := []store.Item{}
	var (
		key, val []byte
		rev      int64
		exp      *time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&key, &val, &rev, &exp}, func() error {
		items = append(items, item(string(key), val, rev, exp))
		val = nil // the next row must not reuse this row's buffer
		return nil
	})
	if err != nil {
		return nil, s.wrap(err)
	}
	return items, nil
}

// prefixEnd returns the smallest key above every key starting with prefix,
// or nil when there is none (prefix is all 0xff bytes).
func prefixEnd(prefix string) []byte {
	p := []byte(strings.TrimRight(prefix, "\xff"))
	if len(p) == 0 {
		return nil
	}
	p[len(p)-1]++
	return p
}

// Apply implements store.Store. However many ops there are, it sends two
// statements (one DELETE, one INSERT over arrays) in one round trip inside
// one transaction. When ops touch a key twice, the last op wins, as if they
// ran in order.
func (s *Store) Apply(ctx context.Context, ops ...store.Op) error {
	if err := cmp.Or(s.check(ctx), store.CheckOps(ops)); err != nil || len(ops) == 0 {
		return err
	}
	type bk struct{ bucket, key string }
	last := make(map[bk]int, len(ops))
	for i, op := range ops {
		last[bk{op.Bucket, op.Key}] = i
	}
	var (
		delBuckets, putBuckets []string
		delKeys, putKeys, vals [][]byte
		exps                   []*time.Time
		ntfBuckets             []string // the ops on declared buckets, announced
		ntfKeys                [][]byte
	)
	for i, op := range ops {
		if last[bk{op.Bucket, op.Key}] != i {
			continue
		}
		if store.WritesNotified(op.Bucket) {
			ntfBuckets, ntfKeys = append(ntfBuckets, op.Bucket), append(ntfKeys, []byte(op.Key))
		}
		if op.Delete {
			delBuckets, delKeys = append(delBuckets, op.Bucket), append(delKeys, []byte(op.Key))
			continue
		}
		putBuckets, putKeys, vals = append(putBuckets, op.Bucket), append(putKeys, []byte(op.Key)), append(vals, nonNil(op.Value))
		var exp *time.Time
		if !op.ExpiresAt.IsZero() {
			exp = &op.ExpiresAt
		}
		exps = append(exps, exp)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		if len(delKeys) > 0 {
			b.Queue(`DELETE FROM nectar_kv WHERE (bucket, key) IN (SELECT * FROM unnest($1::text[], $2::bytea[]))`, delBuckets, delKeys)
		}
		if len(putKeys) > 0 {
			b.Queue(`INSERT INTO nectar_kv (bucket, key, value, rev, expires_at)
SELECT b, k, v, nextval('nectar_rev'), e FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::timestamptz[]) AS t(b, k, v, e)
ON CONFLICT (bucket, key) DO UPDATE SET value = EXCLUDED.value, rev = EXCLUDED.rev, expires_at = EXCLUDED.expires_at`,
				putBuckets, putKeys, vals, exps)
		}
		if len(ntfKeys) > 0 {
			b.Queue(notifySQL, ntfBuckets, ntfKeys)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	if err == nil {
		for i, k := range ntfKeys {
			s.cache.invalidate(ntfBuckets[i], string(k))
		}
	}
	return s.wrap(err)
}

// Purge deletes the keys and leases that have expired and returns how many
// keys it deleted. The store calls it periodically (WithPurgeInterval).
func (s *Store) Purge(ctx context.Context) (int, error) {
	total := 0
	for {
		if err := s.check(ctx); err != nil {
			return total, err
		}
		tag, err := s.pool.Exec(ctx, `DELETE FROM nectar_kv WHERE ctid IN
(SELECT ctid FROM nectar_kv WHERE expires_at <= now() LIMIT 1000)`)
		if err != nil {
			return total, s.wrap(err)
		}
		total += int(tag.RowsAffected())
		if tag.RowsAffected() < 1000 {
			break
		}
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM nectar_locks WHERE expires_at <= now()`)
	return total, s.wrap(err)
}

func (s *Store) purger(every time.Duration) {
	defer s.wg.Done()
	wait.Every(s.stop, every, func() {
		ctx, cancel := context.WithTimeout(context.Background(), every)
		defer cancel()
		// A failed purge is retried at the next tick; expired keys stay
		// invisible meanwhile, so there is nothing to report.
		_, _ = s.Purge(ctx)
	})
}

func token() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
