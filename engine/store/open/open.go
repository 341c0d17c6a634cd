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
package open

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/nectar-run/nectar/engine/secret"
	"github.com/nectar-run/nectar/engine/store"
	"github.com/nectar-run/nectar/engine/store/bolt"
	"github.com/nectar-run/nectar/engine/store/postgres"
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

// Sealer loads the master key (see package secret) for st and checks it
// against the key id recorded in st, recording it on first use. A restart
// or replica with another key so fails at start, with an error wrapping
// secret.ErrWrongKey, rather than on the first secret it reads. It returns
// the key's source for a log line.
func Sealer(ctx context.Context, st store.Store, kind Kind, dataDir string) (*secret.Sealer, string, error) {
	if dataDir == "" {
		dataDir = DefaultDataDir
	}
	if kind == Postgres && os.Getenv(secret.EnvKey) == "" {
		if _, err := os.Stat(filepath.Join(dataDir, secret.KeyFile)); err != nil {
			return nil, "", ErrSharedKey
		}
	}
	s, source, err := secret.Load(dataDir)
	if err != nil {
		return nil, "", err
	}
	if err := CheckKey(ctx, st, s); err != nil {
		return nil, "", fmt.Errorf("%w (key from %s)", err, source)
	}
	return s, source, nil
}

// CheckKey compares s's key id with the one recorded in st, recording it
// when none is.
func CheckKey(ctx context.Context, st store.Store, s *secret.Sealer) error {
	_, err := st.Create(ctx, metaBucket, keyIDKey, []byte(s.KeyID()))
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrExists) {
		return err
	}
	it, err := st.Get(ctx, metaBucket, keyIDKey)
	if err != nil {
		return err
	}
	if string(it.Value) != s.KeyID() {
		return fmt.Errorf("%w: this store's secrets were sealed with key %s, but the master key is %s", secret.ErrWrongKey, it.Value, s.KeyID())
	}
	return nil
}

// RecordKey records s's key id as the store's: the last step of a key
// rotation, after every secret was resealed with s.
func RecordKey(ctx context.Context, st store.Store, s *secret.Sealer) error {
	_, err := st.Put(ctx, metaBucket, keyIDKey, []byte(s.KeyID()))
	return err
}
