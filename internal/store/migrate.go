package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/cxaudit/cxaudit/migrations"
)

// MigrateResult says what a migration run applied.
type MigrateResult struct {
	App   []string // cxaudit migration files applied
	River []int    // River migration versions applied
}

// Migrate brings cxaudit's schema and River's up to date. It is safe to run
// from several replicas, or processes, at once: on PostgreSQL a session
// advisory lock (per schema) serialises whole runs, River's migrations
// included; on SQLite the whole run is one BEGIN IMMEDIATE transaction,
// which holds the file's write lock. The second runner finds nothing to do.
// It is a no-op when nothing is pending.
func Migrate(ctx context.Context, s Store) (MigrateResult, error) {
	switch st := s.(type) {
	case *Postgres:
		return migratePostgres(ctx, st)
	case *SQLite:
		return migrateSQLite(ctx, st)
	}
	return MigrateResult{}, fmt.Errorf("migrate: unknown store %T", s)
}

// migrateLock is the advisory lock a PostgreSQL migration run holds: two
// int4 keys, cxaudit's and the schema's, so that test schemas on one
// server do not wait for each other. (Single-key locks, like the one
// migrateApp also takes, are another key space.)
const migrateLock = `hashtext('cxaudit migrate'), hashtext(current_schema())`

func migratePostgres(ctx context.Context, p *Postgres) (MigrateResult, error) {
	var res MigrateResult
	// River's migrator runs each migration in its own transaction on the
	// pool, and reads which are applied before it starts: two runners
	// both saw none and both applied 001. The lock is held on a
	// connection of its own across the whole run.
	conn, err := p.Pool.Acquire(ctx)
	if err != nil {
		return res, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+migrateLock+`)`); err != nil {
		return res, fmt.Errorf("migrate: take the migration lock: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+migrateLock+`)`); err != nil {
			// Closing the session releases its locks.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	m, err := rivermigrate.New(riverpgxv5.New(p.Pool), nil)
	if err == nil {
		res.River, err = migrateRiver(ctx, m)
	}
	if err != nil {
		return res, fmt.Errorf("migrate River: %w", err)
	}
	err = p.InTx(ctx, func(ctx context.Context, q Querier) error {
		// The lock of older versions, which took none around River's.
		if _, err := q.(*queries).c.exec(ctx, `SELECT pg_advisory_xact_lock(7046332139)`); err != nil {
			return err
		}
		res.App, err = migrateApp(ctx, q.(*queries))
		return err
	})
	return res, err
}

func migrateSQLite(ctx context.Context, s *SQLite) (MigrateResult, error) {
	var res MigrateResult
	m, err := rivermigrate.New(riversqlite.New(s.DB), nil)
	if err != nil {
		return res, fmt.Errorf("migrate River: %w", err)
	}
	// SQLite has no advisory lock; its write lock is the lock. The store's
	// transactions begin IMMEDIATE, so this one holds it from the start
	// and another process waits (busy_timeout) until it commits, then
	// finds everything applied. River's Migrate would commit each
	// migration on its own and race; MigrateTx is deprecated because some
	// PostgreSQL migrations (a new enum value used at once) need a commit
	// in between, which does not apply to SQLite.
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("migrate: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	r, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil) //nolint:staticcheck // see above
	if err != nil {
		return res, fmt.Errorf("migrate River: %w", err)
	}
	for _, v := range r.Versions {
		res.River = append(res.River, v.Version)
	}
	if res.App, err = migrateApp(ctx, &queries{c: sqlConn{tx}, dialect: sqliteDialect}); err != nil {
		return res, err
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("migrate: commit: %w", err)
	}
	return res, nil
}

func migrateRiver(ctx context.Context, m *rivermigrate.Migrator[pgx.Tx]) ([]int, error) {
	r, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, err
	}
	var versions []int
	for _, v := range r.Versions {
		versions = append(versions, v.Version)
	}
	return versions, nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func appMigrations(dialect string) ([]migration, error) {
	entries, err := fs.ReadDir(migrations.FS, dialect)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s/%s: name must start with a number and an underscore", dialect, e.Name())
		}
		b, err := fs.ReadFile(migrations.FS, path.Join(dialect, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrateApp applies cxaudit's pending migrations in q's transaction.
func migrateApp(ctx context.Context, q *queries) ([]string, error) {
	all, err := appMigrations(q.dialect.name)
	if err != nil {
		return nil, err
	}
	c := q.c
	if _, err := c.exec(ctx, `CREATE TABLE IF NOT EXISTS cxaudit_migration (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return nil, err
	}
	done := map[int]bool{}
	if err := q.queryEach(ctx, `SELECT version FROM cxaudit_migration`, nil, func(r rows) error {
		var v int
		err := r.Scan(&v)
		done[v] = true
		return err
	}); err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range all {
		if done[m.version] {
			continue
		}
		if _, err := c.exec(ctx, m.sql); err != nil {
			return nil, fmt.Errorf("migration %s/%s: %w", q.dialect.name, m.name, err)
		}
		if _, err := c.exec(ctx, `INSERT INTO cxaudit_migration (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, time.Now().UnixMilli()); err != nil {
			return nil, err
		}
		applied = append(applied, m.name)
	}
	return applied, nil
}
