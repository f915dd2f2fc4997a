// Package storetest opens throwaway stores on real databases for tests, and
// holds the conformance suite every store must pass. Postgres stores live in
// schemas of a pool shared by every test process on the server (pool.go).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/store"
)

// DefaultPostgresURL is used when TEST_DATABASE_URL is unset: the local
// server .ci/run starts.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns the URL of the test database server.
func PostgresURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// NewPostgresSchema creates a fresh schema on the test server, dropped when
// the test ends, and returns a URL whose search_path selects it. It fails the
// test, loudly, when PostgreSQL cannot be reached: tests that need it are
// never skipped.
func NewPostgresSchema(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	base := PostgresURL()
	conn, err := pgx.Connect(ctx, base)
	require.NoError(tb, err, "PostgreSQL is required for this test: set TEST_DATABASE_URL or start the local server (see .ci/run)")
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "cxaudit_test_" + hex.EncodeToString(b)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			tb.Errorf("drop test schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	return searchPathURL(base, schema)
}

// searchPathURL is base with a search_path that selects schema.
func searchPathURL(base, schema string) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// NewPostgres returns a migrated Postgres store in a schema of its own,
// empty, for the test's duration: one of the pool's (see pool.go), which
// is emptied and handed back when the test ends.
func NewPostgres(tb testing.TB) *store.Postgres {
	tb.Helper()
	ctx := context.Background()
	p := checkOutSchema(tb)
	s, err := store.OpenPostgres(ctx, searchPathURL(PostgresURL(), p.name))
	require.NoError(tb, err)
	// Registered after the check-in, so run before it: the schema is
	// emptied once the test's connections are closed.
	tb.Cleanup(func() { s.Close() })
	// A schema behind the migrations, from before a migration was added,
	// is brought up to date; a current one has nothing to apply.
	res, err := store.Migrate(ctx, s)
	require.NoError(tb, err)
	p.migrated(tb, res)
	requireMigrated(tb, s)
	return s
}

// NewSQLitePath returns the path of a fresh SQLite file, removed after the test.
func NewSQLitePath(tb testing.TB) string {
	return filepath.Join(tb.TempDir(), "cxaudit.db")
}

// NewSQLite returns a migrated SQLite store in a temporary file.
func NewSQLite(tb testing.TB) *store.SQLite {
	tb.Helper()
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, NewSQLitePath(tb))
	require.NoError(tb, err)
	tb.Cleanup(func() { s.Close() })
	_, err = store.Migrate(ctx, s)
	require.NoError(tb, err)
	return s
}

// Stores opens a fresh store of each kind, by name: the tests that must
// hold on both run over it.
var Stores = map[string]func(testing.TB) store.Store{
	"postgres": func(tb testing.TB) store.Store { return NewPostgres(tb) },
	"sqlite":   func(tb testing.TB) store.Store { return NewSQLite(tb) },
}
