package store_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// dbPassword is carried in every URL below: the local server trusts local
// connections, so it is ignored there, and no error may print it.
const dbPassword = "PGSECRETPW4711"

// testURL returns the URL of a fresh test schema with dbPassword in it.
func testURL(t *testing.T) *url.URL {
	t.Helper()
	u, err := url.Parse(storetest.NewPostgresSchema(t))
	require.NoError(t, err)
	u.User = url.UserPassword(u.User.Username(), dbPassword)
	return u
}

// keywordDSN is u as a libpq keyword/value connection string.
func keywordDSN(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	dsn := fmt.Sprintf("host=%s port=%s user=%s password=%s dbname=%s", u.Hostname(), port, u.User.Username(), dbPassword,
		strings.TrimPrefix(u.Path, "/"))
	for k, vs := range u.Query() {
		dsn += " " + k + "=" + vs[0]
	}
	return dsn
}

// TestOpenPostgresSpellings: the scheme in any case, and a keyword/value
// connection string, select PostgreSQL (they used to be taken for SQLite
// file names).
func TestOpenPostgresSpellings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := testURL(t)
	rest := strings.TrimPrefix(u.String(), "postgres://")
	for _, dsn := range []string{
		"Postgres://" + rest,
		"POSTGRESQL://" + rest,
		"postgresql://" + rest,
		"  postgres://" + rest + "  ",
		keywordDSN(u),
	} {
		s, err := store.Open(ctx, dsn)
		require.NoError(t, err, "%s", strings.ReplaceAll(dsn, dbPassword, "xxxxx"))
		require.Equal(t, "postgres", s.Dialect())
		_, err = store.Migrate(ctx, s)
		require.NoError(t, err)
		_, err = s.CountTickets(ctx)
		require.NoError(t, err)
		require.NoError(t, s.Close())
	}
}

// TestOpenRefusesWithoutThePassword: what looks like a URL or a connection
// string but is not a usable one is an error naming the variable, never an
// SQLite file named after it, and no error prints the password.
func TestOpenRefusesWithoutThePassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := testURL(t)
	host := u.Host
	for _, tc := range []struct {
		dsn     string
		invalid bool // EINVALID, refused before any connection
		words   string
	}{
		{"postgre://postgres:" + dbPassword + "@" + host + "/x", true, `unknown scheme "postgre://"`},
		{"mysql://root:" + dbPassword + "@" + host + "/x", true, `unknown scheme "mysql://"`},
		{"Postgres:/postgres:" + dbPassword + "@" + host + "/x", true, "two slashes"},
		{"postgres:postgres:" + dbPassword + "@" + host + "/x", true, "two slashes"},
		{"postgres://postgres:" + dbPassword + "@" + host + "/x?sslmode=bogus", true, "not a valid PostgreSQL URL"},
		{"postgres://postgres:" + dbPassword + "%ZZ@" + host + "/x", true, "not a valid PostgreSQL URL"},
		{"host=127.0.0.1 user=postgres password='" + dbPassword + " dbname=x", true, "not a valid PostgreSQL URL or keyword/value"},
		{"host=127.0.0.1 port=99999 user=postgres password=" + dbPassword + " dbname=x", true, "not a valid PostgreSQL URL"},
		{"postgres://postgres:" + dbPassword + "@127.0.0.1:1/x?connect_timeout=5", false, "connect to PostgreSQL"},
		{"host=127.0.0.1 port=1 user=postgres password=" + dbPassword + " dbname=x connect_timeout=5", false, "connect to PostgreSQL"},
		{"postgres://postgres:" + dbPassword + "@no-such-host.invalid/x?connect_timeout=5", false, "connect to PostgreSQL"},
		{"postgres://postgres:" + dbPassword + "@" + host + "/no_such_database_4711", false, "no_such_database_4711"},
	} {
		shown := strings.ReplaceAll(tc.dsn, dbPassword, "xxxxx")
		s, err := store.Open(ctx, tc.dsn)
		if s != nil {
			s.Close()
		}
		require.Error(t, err, shown)
		require.NotContains(t, err.Error(), dbPassword, shown)
		require.Contains(t, err.Error(), tc.words, shown)
		if tc.invalid {
			require.Equal(t, cxaudit.EINVALID, cxaudit.ErrorCode(err), "%s: %v", shown, err)
			require.Contains(t, err.Error(), "CXAUDIT_DATABASE_URL", shown)
		}
		_, serr := os.Stat(tc.dsn)
		require.ErrorIs(t, serr, os.ErrNotExist, "no SQLite file is named after %s", shown)
	}
}

// SQLite paths keep working in every spelling.
func TestOpenSQLiteSpellings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	for i, prefix := range []string{"", "sqlite://", "file:", "SQLite://"} {
		path := filepath.Join(dir, fmt.Sprintf("db%d.sqlite", i))
		s, err := store.Open(ctx, prefix+path)
		require.NoError(t, err, prefix)
		require.Equal(t, "sqlite", s.Dialect())
		require.NoError(t, s.Close())
		require.FileExists(t, path)
	}
	_, err := store.Open(ctx, filepath.Join(dir, "missing", "dir", "x.db"))
	require.Error(t, err)
	require.Contains(t, err.Error(), "open SQLite database")
}
