package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are applied in order; migrations[i] brings the schema to
// version i+1. Never edit one that has shipped: append a new one.
var migrations = []string{
	// 1: keys and values, the revision sequence and lock leases. Keys are
	// bytea so that any key works and sorts bytewise, as in bbolt.
	`CREATE TABLE nectar_kv (
	bucket     text NOT NULL,
	key        bytea NOT NULL,
	value      bytea NOT NULL,
	rev        bigint NOT NULL,
	expires_at timestamptz,
	PRIMARY KEY (bucket, key)
);
CREATE INDEX nectar_kv_expires_at ON nectar_kv (expires_at) WHERE expires_at IS NOT NULL;
CREATE SEQUENCE nectar_rev;
CREATE TABLE nectar_locks (
	name       text PRIMARY KEY,
	holder     text NOT NULL,
	expires_at timestamptz NOT NULL
);`,
}

// schema is a set of tables versioned together: its migrations are
// applied in order, recorded in its own version table, under its own
// advisory lock. The store's tables and the event bus's are two schemas,
// so that a store never used as a bus has no event tables.
type schema struct {
	what       string // for errors: "database schema is", "the event tables are"
	table      string // the version table
	lock       int64  // the key of the transaction-level advisory lock
	migrations []string
}

// storeSchema is the store's ("nectar" in ASCII keys its lock).
var storeSchema = schema{what: "database schema is", table: "nectar_schema", lock: 0x6e6563746172, migrations: migrations}

// migrate brings the schema to its latest version. Replicas starting at
// once queue on the advisory lock; each then sees what the previous one
// applied.
func (sc schema) migrate(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, sc.lock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+sc.table+` (
	version    integer PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+sc.table).Scan(&have); err != nil {
			return err
		}
		if have > len(sc.migrations) {
			return fmt.Errorf("%s at version %d, newer than this nectar knows (%d): upgrade nectar", sc.what, have, len(sc.migrations))
		}
		for v := have + 1; v <= len(sc.migrations); v++ {
			if _, err := tx.Exec(ctx, sc.migrations[v-1]); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+sc.table+` (version) VALUES ($1)`, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// SchemaVersion is the schema version this package migrates to.
func SchemaVersion() int { return len(migrations) }
