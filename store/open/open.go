// Package open chooses and opens Nectar's store from the command line and
// the environment, and loads the master key that goes with it. It imports
// both implementations so that package store stays free of dependencies;
// commands import open, libraries take a store.Store.
//
// The choice, in order: the --store flag (passed as dsn), else the
// NECTAR_STORE environment variable; a postgres:// or postgresql:// URL
// selects PostgreSQL, and an empty value or "bolt" selects the bbolt file
// in the data directory (--data-dir, default ./.nectar):
//
//	nectar serve                                   # bbolt in ./.nectar/nectar.db
//	nectar serve --data-dir /var/lib/nectar        # bbolt in /var/lib/nectar/nectar.db
//	NECTAR_STORE=postgres://nectar:pw@db/nectar nectar serve
//
// The data directory is used with PostgreSQL too, for the master key file;
// but replicas must share one key, so with PostgreSQL set NECTAR_MASTER_KEY
// on every replica (a key file is used only if it already exists).
//
// Sealer refuses a master key other than the one that sealed the store's
// secrets, naming both key ids (a short fingerprint of the key, not the
// key): every sealed value carries the id of its key in its header, and the
// store records the id of the first key it was opened with. It never
// generates a key for a store that holds sealed values.
package open

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
	"github.com/nectar-run/nectar/store/postgres"
)

// EnvStore is the environment variable read when no --store is given.
const EnvStore = "NECTAR_STORE"

// DefaultDataDir is the data directory when none is given.
const DefaultDataDir = ".nectar"

// Kind names a store implementation.
type Kind string

// The kinds of store.
const (
	Bolt     Kind = "bolt"
	Postgres Kind = "postgres"
)

// Choose returns the kind of store dsn selects, and the DSN after applying
// NECTAR_STORE when dsn is empty. An unknown scheme is an error that does
// not quote the DSN (it may hold a password).
func Choose(dsn string) (Kind, string, error) {
	if dsn == "" {
		dsn = os.Getenv(EnvStore)
	}
	switch {
	case dsn == "" || dsn == "bolt":
		return Bolt, "", nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return Postgres, dsn, nil
	}
	scheme, _, ok := strings.Cut(dsn, "://")
	if !ok || strings.ContainsAny(scheme, "@:/") {
		scheme = "none"
	}
	return "", "", fmt.Errorf("store: unknown store (scheme %q): use \"bolt\" or a postgres:// URL", scheme)
}

// Option configures Open.
type Option func(*options)

type options struct{ logger *slog.Logger }

// WithLogger makes Open log what it waits for: with PostgreSQL, the
// server's address and the connect timeout before the first connection.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Open opens the store that dsn (or NECTAR_STORE) selects: PostgreSQL for a
// postgres:// URL, else bbolt in dataDir (DefaultDataDir when empty). It
// also returns a description for a log line, with any password masked.
//
// Opening PostgreSQL waits at most connect_timeout (from the DSN, else
// postgres.DefaultConnectTimeout) for the server to answer; a server that is
// down or frozen is an error wrapping postgres.ErrUnavailable.
func Open(ctx context.Context, dataDir, dsn string, opts ...Option) (store.Store, string, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	kind, dsn, err := Choose(dsn)
	if err != nil {
		return nil, "", err
	}
	if dataDir == "" {
		dataDir = DefaultDataDir
	}
	switch kind {
	case Postgres:
		var popts []postgres.Option
		if o.logger != nil {
			popts = append(popts, postgres.WithLogger(o.logger))
		}
		st, err := postgres.Open(ctx, dsn, popts...)
		if err != nil {
			return nil, "", err
		}
		return st, "postgres " + Redact(dsn), nil
	default:
		st, err := bolt.Open(dataDir)
		if err != nil {
			return nil, "", err
		}
		return st, "bolt " + st.Path(), nil
	}
}

// Redact returns dsn with its password replaced by "***".
func Redact(dsn string) string {
	if !strings.Contains(dsn, "://") { // key=value form
		fields := strings.Fields(dsn)
		for i, f := range fields {
			if strings.HasPrefix(f, "password=") {
				fields[i] = "password=***"
			}
		}
		return strings.Join(fields, " ")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable connection string)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxx")
		return strings.Replace(u.String(), ":xxx@", ":***@", 1)
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxx")
		u.RawQuery = strings.Replace(q.Encode(), "password=xxx", "password=***", 1)
	}
	return u.String()
}

// metaBucket and keyIDKey record which master key sealed the store's
// secrets.
const (
	metaBucket = "nectar"
	keyIDKey   = "master-key-id"
)

// ErrSharedKey is returned by Sealer for a PostgreSQL store when there is no
// NECTAR_MASTER_KEY and no existing key file: generating a key on one
// replica would leave the others unable to read its secrets.
var ErrSharedKey = errors.New("store: with a PostgreSQL store every replica needs the same master key: set " +
	secret.EnvKey + " (generate one with: head -c 32 /dev/urandom | base64)")

// ErrNoKey is returned by Sealer when there is no master key (no
// NECTAR_MASTER_KEY, no key file) but the store already holds values sealed
// with one: a new key could not open them, so none is generated.
var ErrNoKey = errors.New("store: no master key for this store's sealed values")

// KeyState is what a store says about the master key of its secrets: the
// key id recorded at first use, and the key ids that its sealed values carry
// in their headers (more than one only while a key rotation is unfinished).
type KeyState struct {
	Recorded string         // "" when none is recorded
	Sealed   map[string]int // key id -> number of sealed values
}

// ReadKeyState reads st's recorded key id and the key id of every value in
// the sealed buckets (accounts.SealedBuckets). Values that are not sealed
// blobs are skipped.
func ReadKeyState(ctx context.Context, st store.Store, sealedBuckets ...string) (KeyState, error) {
	ks := KeyState{Sealed: map[string]int{}}
	it, err := st.Get(ctx, metaBucket, keyIDKey)
	switch {
	case err == nil:
		ks.Recorded = string(it.Value)
	case !errors.Is(err, store.ErrNotFound):
		return ks, err
	}
	for _, b := range sealedBuckets {
		items, err := st.List(ctx, b, store.ListOptions{})
		if err != nil {
			return ks, fmt.Errorf("store: reading the key ids of %s: %w", b, err)
		}
		for _, it := range items {
			if id, ok := secret.BlobKeyID(it.Value); ok {
				ks.Sealed[id]++
			}
		}
	}
	return ks, nil
}

// IDs returns the key ids the store expects, for messages: those of its
// sealed values, else the recorded one.
func (ks KeyState) IDs() string {
	if len(ks.Sealed) == 0 {
		return ks.Recorded
	}
	ids := make([]string, 0, len(ks.Sealed))
	for id, n := range ks.Sealed {
		plural := "s"
		if n == 1 {
			plural = ""
		}
		ids = append(ids, fmt.Sprintf("%s (%d sealed value%s)", id, n, plural))
	}
	sort.Strings(ids)
	return strings.Join(ids, ", ")
}

// Accepts returns nil when the key with id may open the store: some of its
// sealed values carry id, or it has none and records id or nothing. Else
// the error wraps secret.ErrWrongKey and names both key ids.
func (ks KeyState) Accepts(id string) error {
	if len(ks.Sealed) > 0 && ks.Sealed[id] > 0 ||
		len(ks.Sealed) == 0 && (ks.Recorded == "" || ks.Recorded == id) {
		return nil
	}
	if len(ks.Sealed) == 0 {
		return fmt.Errorf("%w: this store records master key id %s (the key it was first opened with; nothing is sealed yet), but the master key has id %s",
			secret.ErrWrongKey, ks.Recorded, id)
	}
	return fmt.Errorf("%w: this store's secrets were sealed with key id %s, but the master key has id %s", secret.ErrWrongKey, ks.IDs(), id)
}

// Sealer loads the master key (see package secret) for st and checks it
// against st (see CheckKey), so that a restart or replica with another key
// fails at start, with an error wrapping secret.ErrWrongKey that names both
// key ids, rather than on every secret it reads. A key file is generated
// only for a bbolt store that holds no sealed value (the new key is then
// recorded as the store's); otherwise a missing key is ErrNoKey, or
// ErrSharedKey for a PostgreSQL store. sealedBuckets are the buckets of
// sealed values (accounts.SealedBuckets). It returns the key's source for a
// log line.
func Sealer(ctx context.Context, st store.Store, kind Kind, dataDir string, sealedBuckets ...string) (*secret.Sealer, string, error) {
	if dataDir == "" {
		dataDir = DefaultDataDir
	}
	key, source, err := secret.FindKey(dataDir)
	generated := false
	if errors.Is(err, fs.ErrNotExist) {
		ks, kerr := ReadKeyState(ctx, st, sealedBuckets...)
		switch {
		case kerr != nil:
			return nil, "", kerr
		case len(ks.Sealed) > 0:
			return nil, "", fmt.Errorf("%w: %s is not set and %s does not exist, but this store's secrets were sealed with key id %s; "+
				"restore %s from a backup or set %s to that key (a new key could not open them, so none was generated)",
				ErrNoKey, secret.EnvKey, filepath.Join(dataDir, secret.KeyFile), ks.IDs(), secret.KeyFile, secret.EnvKey)
		case kind == Postgres:
			return nil, "", ErrSharedKey
		}
		key, source, err = secret.LoadKey(dataDir)
		generated = true
	}
	if err != nil {
		return nil, "", err
	}
	s, err := secret.NewSealer(key)
	if err != nil {
		return nil, "", err
	}
	if generated {
		// Nothing is sealed: the new key becomes the store's, whatever
		// key id an earlier one recorded.
		if err := RecordKey(ctx, st, s); err != nil {
			return nil, "", err
		}
	}
	if err := CheckKey(ctx, st, s, sealedBuckets...); err != nil {
		if errors.Is(err, secret.ErrWrongKey) {
			return nil, "", fmt.Errorf("%w (key from %s); start with the key that sealed them: restore %s from a backup or set %s to it%s",
				err, source, secret.KeyFile, secret.EnvKey, pendingHint(ctx, st, dataDir, sealedBuckets))
		}
		return nil, "", err
	}
	return s, source, nil
}

// pendingHint points at the new key of a rotation that stopped after
// resealing, when the store expects it.
func pendingHint(ctx context.Context, st store.Store, dataDir string, sealedBuckets []string) string {
	path := filepath.Join(dataDir, secret.KeyFile+".next")
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	key, err := secret.ParseKey(string(b))
	if err != nil {
		return ""
	}
	s, err := secret.NewSealer(key)
	if err != nil {
		return ""
	}
	if ks, err := ReadKeyState(ctx, st, sealedBuckets...); err != nil || ks.Accepts(s.KeyID()) != nil {
		return ""
	}
	return fmt.Sprintf("; %s holds key id %s, left by an unfinished nectar accounts rotate-key: rename it to %s", path, s.KeyID(), secret.KeyFile)
}

// CheckKey checks s's key against st (see KeyState.Accepts) and records its
// id when st records none, or records another while every sealed value
// carries s's (a key rotation that ended before RecordKey).
func CheckKey(ctx context.Context, st store.Store, s *secret.Sealer, sealedBuckets ...string) error {
	ks, err := ReadKeyState(ctx, st, sealedBuckets...)
	if err != nil {
		return err
	}
	id := s.KeyID()
	if err := ks.Accepts(id); err != nil {
		return err
	}
	switch {
	case ks.Recorded == "":
		_, err := st.Create(ctx, metaBucket, keyIDKey, []byte(id))
		if errors.Is(err, store.ErrExists) {
			// Another replica recorded its key first: it must be ours.
			ks, err = ReadKeyState(ctx, st)
			if err != nil {
				return err
			}
			return ks.Accepts(id)
		}
		return err
	case ks.Recorded != id && len(ks.Sealed) == 1:
		return RecordKey(ctx, st, s)
	}
	return nil
}

// RecordKey records s's key id as the store's: the last step of a key
// rotation, after every secret was resealed with s.
func RecordKey(ctx context.Context, st store.Store, s *secret.Sealer) error {
	_, err := st.Put(ctx, metaBucket, keyIDKey, []byte(s.KeyID()))
	return err
}
