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

// migrationLock is the key of the transaction-level advisory lock that
// serialises migrations across replicas ("nectar" in ASCII).
const migrationLock = 0x6e6563746172

// migrate brings the schema to the latest version. Replicas starting at
// once queue on the advisory lock; each then sees what the previous one
// applied.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS nectar_schema (
	version    integer PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM nectar_schema`).Scan(&have); err != nil {
			return err
		}
		if have > len(migrations) {
			return fmt.Errorf("database schema is at version %d, newer than this nectar knows (%d): upgrade nectar", have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO nectar_schema (version) VALUES ($1)`, v); err != nil {
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
