package store

import (
	"context"
	"net/url"
	"regexp"
	"strings"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Open opens the store a database URL names:
//
//   - postgres:// or postgresql:// (the scheme in any case, as URL schemes
//     are case-insensitive) or a libpq keyword/value connection string
//     ("host=db user=cxaudit password=… dbname=cxaudit"), which pgx parses,
//     selects PostgreSQL;
//   - sqlite:// or file: followed by a path, or a plain path, is an SQLite
//     file.
//
// Anything else that looks like a URL (scheme://…) or a connection string
// (key=value …) is refused rather than taken for a file name: a mistyped
// scheme once created an SQLite file named after the PostgreSQL URL, and
// printed its password in the error. No error prints the password.
func Open(ctx context.Context, databaseURL string) (Store, error) {
	s := strings.TrimSpace(databaseURL)
	if scheme, rest, ok := strings.Cut(s, "://"); ok && schemeRE.MatchString(scheme) {
		switch strings.ToLower(scheme) {
		case "postgres", "postgresql":
			// pgx matches the scheme case-sensitively.
			return opened(OpenPostgres(ctx, "postgres://"+rest))
		case "sqlite":
			return opened(OpenSQLite(ctx, rest))
		case "file":
			return opened(OpenSQLite(ctx, "file://"+rest))
		}
		return nil, cxaudit.Errorf(cxaudit.EINVALID,
			"CXAUDIT_DATABASE_URL: unknown scheme %q (want postgres:// or postgresql:// for PostgreSQL, or the path of an SQLite file)", scheme+"://")
	}
	if lower := strings.ToLower(s); strings.HasPrefix(lower, "postgres:") || strings.HasPrefix(lower, "postgresql:") {
		return nil, cxaudit.Errorf(cxaudit.EINVALID, "CXAUDIT_DATABASE_URL: a PostgreSQL URL starts with postgres:// (two slashes)")
	}
	if dsnRE.MatchString(s) {
		return opened(OpenPostgres(ctx, s))
	}
	return opened(OpenSQLite(ctx, s))
}

// opened returns a store as a Store, and a nil Store (not a typed nil
// pointer in it) with an error.
func opened[S Store](s S, err error) (Store, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

var (
	// schemeRE is a URL scheme (RFC 3986 section 3.1).
	schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)
	// dsnRE is the start of a libpq keyword/value connection string: a
	// keyword, optional spaces, an equals sign. No SQLite path a person
	// would choose starts so; one that does can be given as ./name.
	dsnRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\s*=`)
	// dsnPasswordRE finds the password of a keyword/value string, quoted
	// or not.
	dsnPasswordRE = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)
)

// redactDatabaseURL returns s with any password in it replaced by
// "xxxxx": the user:password of a URL, the password= of a connection
// string. Errors that name a database use it.
func redactDatabaseURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
	}
	if i := strings.Index(s, "@"); i >= 0 && strings.Contains(s[:i], "://") {
		// A URL url.Parse refuses (a bad escape, say) may still hold
		// user:password before its host.
		scheme, _, _ := strings.Cut(s, "://")
		return scheme + "://xxxxx" + s[i:]
	}
	return dsnPasswordRE.ReplaceAllString(s, "${1}xxxxx")
}
