package store

import (
	"context"
	"database/sql"
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
// from several replicas at once on PostgreSQL (an advisory lock serialises
// them) and is a no-op when nothing is pending.
func Migrate(ctx context.Context, s Store) (MigrateResult, error) {
	var res MigrateResult
	var err error
	switch st := s.(type) {
	case *Postgres:
		var m *rivermigrate.Migrator[pgx.Tx]
		if m, err = rivermigrate.New(riverpgxv5.New(st.Pool), nil); err == nil {
			res.River, err = migrateRiver(ctx, m)
		}
	case *SQLite:
		var m *rivermigrate.Migrator[*sql.Tx]
		if m, err = rivermigrate.New(riversqlite.New(st.DB), nil); err == nil {
			res.River, err = migrateRiver(ctx, m)
		}
	default:
		return res, fmt.Errorf("migrate: unknown store %T", s)
	}
	if err != nil {
		return res, fmt.Errorf("migrate River: %w", err)
	}
	res.App, err = migrateApp(ctx, s)
	return res, err
}

func migrateRiver[TTx any](ctx context.Context, m *rivermigrate.Migrator[TTx]) ([]int, error) {
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

func migrateApp(ctx context.Context, s Store) ([]string, error) {
	all, err := appMigrations(s.Dialect())
	if err != nil {
		return nil, err
	}
	var applied []string
	err = s.InTx(ctx, func(ctx context.Context, q Querier) error {
		c := q.(*queries).c
		if s.Dialect() == "postgres" {
			if _, err := c.exec(ctx, `SELECT pg_advisory_xact_lock(7046332139)`); err != nil {
				return err
			}
		}
		if _, err := c.exec(ctx, `CREATE TABLE IF NOT EXISTS cxaudit_migration (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		done := map[int]bool{}
		if err := q.(*queries).queryEach(ctx, `SELECT version FROM cxaudit_migration`, nil, func(r rows) error {
			var v int
			err := r.Scan(&v)
			done[v] = true
			return err
		}); err != nil {
			return err
		}
		for _, m := range all {
			if done[m.version] {
				continue
			}
			if _, err := c.exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s/%s: %w", s.Dialect(), m.name, err)
			}
			if _, err := c.exec(ctx, `INSERT INTO cxaudit_migration (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, time.Now().UnixMilli()); err != nil {
				return err
			}
			applied = append(applied, m.name)
		}
		return nil
	})
	return applied, err
}
