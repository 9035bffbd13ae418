package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"sort"
)

//go:embed migrations
var migrations embed.FS

// migrationLock is the PostgreSQL advisory lock key that serializes
// migrations across processes started at the same time.
const migrationLock = 0x61646d6974 // "admit"

// Migrate applies the embedded migrations not yet recorded, in name order,
// each in its own transaction. Several processes may call it at once.
func (db *DB) Migrate(ctx context.Context) error { return db.migrateBefore(ctx, "") }

// PendingMigrations lists the embedded migrations the database has not
// recorded, in the order Migrate would apply them.
func (db *DB) PendingMigrations(ctx context.Context) ([]string, error) {
	names, err := db.migrationFiles()
	if err != nil {
		return nil, err
	}
	if err := db.Ping(ctx); err != nil {
		return nil, err // else an unreachable database would look unmigrated
	}
	var recorded []string
	if rows, err := db.primary.QueryContext(ctx, `SELECT name FROM schema_migrations`); err == nil { // else no table: none applied
		if recorded, err = scanAll(rows, func(s scanner) (name string, err error) { return name, s.Scan(&name) }); err != nil {
			return nil, fmt.Errorf("store: migrations table: %w", err)
		}
	}
	var pending []string
	for _, name := range names {
		if base := path.Base(name); !slices.Contains(recorded, base) {
			pending = append(pending, base)
		}
	}
	return pending, nil
}

// migrationFiles returns the paths of the engine's migrations, in the
// order they apply.
func (db *DB) migrationFiles() ([]string, error) {
	names, err := fs.Glob(migrations, "migrations/"+string(db.engine)+"/*.sql")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// migrateBefore applies the migrations whose names sort before stop (all
// when stop is ""): tests use it to build an older schema to upgrade.
func (db *DB) migrateBefore(ctx context.Context, stop string) error {
	names, err := db.migrationFiles()
	if err != nil {
		return err
	}
	for _, name := range names {
		if stop != "" && path.Base(name) >= stop {
			break
		}
		if err := db.applyMigration(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, path string) error {
	name := path[len("migrations/")+len(db.engine)+1:]
	return db.inTx(ctx, func(tx *Tx) error {
		if db.engine == postgresEngine {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
				return fmt.Errorf("store: migration lock: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("store: migrations table: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = $1`, name).Scan(&n); err != nil {
			return fmt.Errorf("store: migrations table: %w", err)
		}
		if n > 0 {
			return nil
		}
		body, err := migrations.ReadFile(path)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, name, ts(tx.now)); err != nil {
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
		slog.InfoContext(ctx, "migration applied", "name", name, "engine", db.engine)
		return nil
	})
}
