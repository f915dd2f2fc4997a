package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/migrations"
)

// poolSchemaPrefix names the schemas NewPostgres lends out, with a number
// after it. It lends them instead of building one per test: running every
// migration took most of a short test's time. A test holds its schema
// under a session advisory lock on a connection of its own, so that test
// binaries running at once on one server (every package's, all on database
// test) never share one, and the pool grows only to the most schemas ever
// held at once. When the test ends the schema is emptied and its lock
// released.
//
// Each schema's comment holds its poolState: whether it was emptied or is
// in use, which of cxaudit's migrations built it, and the rows those
// migrations put in (audit_sweep's one row), which emptying puts back. A
// test binary that died holding a schema left it in use: the next borrower
// empties it first. One built by other migrations (another branch, an
// edited file) is rebuilt, unless it is only behind, files having been
// added since, which Migrate applies.
const poolSchemaPrefix = "cxaudit_pool_"

// migrationTables record which migrations a schema has, cxaudit's and
// River's; emptying a schema keeps them, so that Migrate finds it current.
var migrationTables = []string{"cxaudit_migration", "river_migration"}

// poolState is what a pooled schema's comment records of it.
type poolState struct {
	Clean bool `json:"clean"`
	// Migrations is the fingerprint of the migration files that built the
	// schema (currentMigrations).
	Migrations string `json:"migrations"`
	// Seed holds, by table, the rows the migrations inserted, as JSON
	// arrays of rows; nil until the schema has been migrated.
	Seed map[string]json.RawMessage `json:"seed"`
}

// pooledSchema is a schema a test holds, and the connection that holds its
// lock.
type pooledSchema struct {
	name  string
	conn  *pgx.Conn
	state poolState
	// built is set when the schema was created for this test: its seed is
	// read once it is migrated.
	built bool
}

// checkOutSchema takes a free schema of the pool, under its lock, ready for
// Migrate: as freshly migrated, or by a prefix of the current migrations.
// At cleanup the schema is emptied and handed back.
func checkOutSchema(tb testing.TB) *pooledSchema {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, PostgresURL())
	require.NoError(tb, err, "PostgreSQL is required for this test: set TEST_DATABASE_URL or start the local server (see .ci/run)")
	// Closing the session releases the lock, whatever happened before.
	tb.Cleanup(func() { conn.Close(context.Background()) })
	// A test that left a transaction open on its schema must fail its
	// cleanup, not hang it.
	_, err = conn.Exec(ctx, "SET lock_timeout = '10s'")
	require.NoError(tb, err)

	p := &pooledSchema{conn: conn}
	for n := 0; p.name == ""; n++ {
		name := fmt.Sprintf("%s%d", poolSchemaPrefix, n)
		var ok bool
		require.NoError(tb, conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, poolLockKey(name)).Scan(&ok))
		if ok {
			p.name = name
		}
	}
	fp, names := currentMigrations(tb)
	tb.Cleanup(func() { p.checkIn(tb) })

	var comment *string
	err = conn.QueryRow(ctx, `SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1`, p.name).Scan(&comment)
	exists := err == nil
	if !errors.Is(err, pgx.ErrNoRows) {
		require.NoError(tb, err)
	}
	if exists && (comment == nil || json.Unmarshal([]byte(*comment), &p.state) != nil ||
		p.state.Seed == nil || (p.state.Migrations != fp && !behind(ctx, conn, p.name, names))) {
		_, err = conn.Exec(ctx, "DROP SCHEMA "+p.name+" CASCADE")
		require.NoError(tb, err)
		exists = false
	}
	if !exists {
		_, err = conn.Exec(ctx, "CREATE SCHEMA "+p.name)
		require.NoError(tb, err)
		p.state, p.built = poolState{}, true
	} else if !p.state.Clean {
		require.NoError(tb, p.empty(ctx), "empty schema %s, left in use by a test that did not finish", p.name)
	}
	p.state.Clean = false
	require.NoError(tb, p.saveState(ctx))
	return p
}

// migrated records that the schema is now at the current migrations: when
// Migrate built it or applied some, the rows they inserted are the seed
// that emptying it puts back.
func (p *pooledSchema) migrated(tb testing.TB, res store.MigrateResult) {
	tb.Helper()
	ctx := context.Background()
	if !p.built && len(res.App) == 0 && len(res.River) == 0 {
		return
	}
	fp, _ := currentMigrations(tb)
	p.state.Migrations, p.state.Seed = fp, map[string]json.RawMessage{}
	tables, err := p.tables(ctx)
	require.NoError(tb, err)
	for _, table := range tables {
		var rows json.RawMessage
		require.NoError(tb, p.conn.QueryRow(ctx, "SELECT json_agg(t) FROM "+table+" t").Scan(&rows))
		if rows != nil {
			p.state.Seed[table] = rows
		}
	}
	require.NoError(tb, p.saveState(ctx))
}

// checkIn empties the schema and releases it. A schema that cannot be
// emptied is dropped instead: the next test to draw its number builds it
// afresh.
func (p *pooledSchema) checkIn(tb testing.TB) {
	ctx := context.Background()
	err := p.empty(ctx)
	if err == nil {
		p.state.Clean = true
		err = p.saveState(ctx)
	}
	if err != nil {
		tb.Errorf("empty test schema %s: %v", p.name, err)
		if _, err := p.conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+p.name+" CASCADE"); err != nil {
			tb.Errorf("drop test schema %s: %v", p.name, err)
		}
	}
	if _, err := p.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, poolLockKey(p.name)); err != nil {
		tb.Errorf("release test schema %s: %v", p.name, err)
	}
}

// empty truncates every table of the schema but the migration tables,
// restarting their sequences (River's job ids start from 1 again), and
// puts the seed back: the next test finds what a freshly migrated schema
// holds.
func (p *pooledSchema) empty(ctx context.Context) error {
	tables, err := p.tables(ctx)
	if err != nil || len(tables) == 0 {
		return err
	}
	return pgx.BeginFunc(ctx, p.conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "TRUNCATE "+strings.Join(tables, ", ")+" RESTART IDENTITY CASCADE"); err != nil {
			return err
		}
		for table, rows := range p.state.Seed {
			if _, err := tx.Exec(ctx, "INSERT INTO "+table+" OVERRIDING SYSTEM VALUE SELECT * FROM json_populate_recordset(NULL::"+table+", $1)", string(rows)); err != nil {
				return fmt.Errorf("put back the rows of %s: %w", table, err)
			}
		}
		return nil
	})
}

// tables lists the schema's tables but the migration tables, qualified.
func (p *pooledSchema) tables(ctx context.Context) ([]string, error) {
	rows, err := p.conn.Query(ctx, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
		WHERE schemaname = $1 AND tablename <> ALL($2) ORDER BY tablename`, p.name, migrationTables)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (p *pooledSchema) saveState(ctx context.Context) error {
	b, err := json.Marshal(p.state)
	if err != nil {
		return err
	}
	// COMMENT takes a literal only; the state is escaped as one.
	_, err = p.conn.Exec(ctx, "COMMENT ON SCHEMA "+p.name+" IS '"+strings.ReplaceAll(string(b), "'", "''")+"'")
	return err
}

// behind reports whether schema was built by some of names and nothing
// else: migrations added since, which Migrate applies.
func behind(ctx context.Context, conn *pgx.Conn, schema string, names []string) bool {
	rows, err := conn.Query(ctx, "SELECT name FROM "+schema+".cxaudit_migration")
	if err != nil {
		return false
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(applied) >= len(names) {
		return false
	}
	for _, a := range applied {
		if !slices.Contains(names, a) {
			return false
		}
	}
	return true
}

// requireMigrated fails the test unless s has every migration, cxaudit's
// and River's: a pooled schema is handed out only when current.
func requireMigrated(tb testing.TB, s *store.Postgres) {
	tb.Helper()
	ctx := context.Background()
	_, want := currentMigrations(tb)
	rows, err := s.Pool.Query(ctx, "SELECT name FROM cxaudit_migration ORDER BY version")
	require.NoError(tb, err)
	applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(tb, err)
	require.Equal(tb, want, applied, "cxaudit's migrations")
	m, err := rivermigrate.New(riverpgxv5.New(s.Pool), nil)
	require.NoError(tb, err)
	existing, err := m.ExistingVersions(ctx)
	require.NoError(tb, err)
	all := m.AllVersions()
	require.NotEmpty(tb, existing, "River's migrations")
	require.Equal(tb, all[len(all)-1].Version, existing[len(existing)-1].Version, "River's migrations")
}

// currentMigrations returns a fingerprint of cxaudit's PostgreSQL
// migration files (names and contents) and their names, in order.
func currentMigrations(tb testing.TB) (string, []string) {
	tb.Helper()
	entries, err := fs.ReadDir(migrations.FS, "postgres")
	require.NoError(tb, err)
	h := sha256.New()
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		b, err := fs.ReadFile(migrations.FS, path.Join("postgres", e.Name()))
		require.NoError(tb, err)
		names = append(names, e.Name())
		fmt.Fprintf(h, "%s\x00%d\x00", e.Name(), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], names
}

// poolLockKey is the advisory lock key of a pooled schema, in the
// single-key space, apart from the two-key locks Migrate takes.
func poolLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("cxaudit storetest pool " + schema))
	return int64(h.Sum64())
}
