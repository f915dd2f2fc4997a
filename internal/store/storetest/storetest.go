// Package storetest opens throwaway stores on real databases for tests, and
// holds the conformance suite every store must pass.
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
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// NewPostgres returns a migrated Postgres store in a fresh schema.
func NewPostgres(tb testing.TB) *store.Postgres {
	tb.Helper()
	ctx := context.Background()
	s, err := store.OpenPostgres(ctx, NewPostgresSchema(tb))
	require.NoError(tb, err)
	tb.Cleanup(func() { s.Close() })
	_, err = store.Migrate(ctx, s)
	require.NoError(tb, err)
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
