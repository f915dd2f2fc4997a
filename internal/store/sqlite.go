package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	"github.com/riverqueue/river"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// SQLite is the embedded store: one file, no server, for the demo and
// single-node use. River's SQLite driver needs a single writer, so the pool
// holds one connection; every transaction is BEGIN IMMEDIATE, and a busy
// timeout lets other processes (a `rules preview`, say) wait their turn.
type SQLite struct {
	queries
	DB    *sql.DB
	river *river.Client[*sql.Tx]
}

// OpenSQLite opens (creating if needed) the database file at path. A
// "sqlite://" or "file:" prefix is accepted and stripped.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "sqlite://"), "file:")
	if path == "" {
		return nil, cxaudit.Errorf(cxaudit.EINVALID, "CXAUDIT_DATABASE_URL: empty SQLite path")
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)&_pragma=synchronous(normal)&_pragma=foreign_keys(on)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", redactDatabaseURL(path), err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", redactDatabaseURL(path), err)
	}
	s := &SQLite{DB: db}
	s.queries = queries{c: sqlConn{db}, dialect: sqliteDialect, enqueue: s.enqueuePool}
	return s, nil
}

// AttachRiver lets the store enqueue jobs, in transactions or not.
func (s *SQLite) AttachRiver(c *river.Client[*sql.Tx]) { s.river = c }

func (s *SQLite) Dialect() string { return sqliteDialect.name }

var sqliteDialect = &dialect{
	name: "sqlite",
	findingsOf: func(kind string, ids []string) (string, []any) {
		return `WHERE entity_kind = $1 AND entity_id IN (` + placeholders(2, len(ids)) + `) ORDER BY entity_id, rule_id`,
			append([]any{kind}, anys(ids)...)
	},
	// riversqlite keeps attempted_by as a JSON array: its last element is
	// the client running the job.
	rescueOrphans: `UPDATE river_job SET state = 'available' WHERE state = 'running' AND (
		attempted_by IS NULL OR json_array_length(attempted_by) = 0 OR (
		json_extract(attempted_by, '$[#-1]') <> $2 AND
		json_extract(attempted_by, '$[#-1]') NOT IN (SELECT client_id FROM worker_lease WHERE expires_at > $1)))`,
}

func (s *SQLite) Close() error { return s.DB.Close() }

func (s *SQLite) enqueuePool(ctx context.Context, params []river.InsertManyParams) error {
	if s.river == nil {
		return errNoRiver
	}
	_, err := s.river.InsertMany(ctx, params)
	return err
}

func (s *SQLite) InTx(ctx context.Context, fn func(ctx context.Context, q Querier) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	q := &queries{c: sqlConn{tx}, dialect: sqliteDialect, enqueue: func(ctx context.Context, params []river.InsertManyParams) error {
		if s.river == nil {
			return errNoRiver
		}
		_, err := s.river.InsertManyTx(ctx, tx, params)
		return err
	}}
	if err := fn(ctx, q); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// sqlDB is what *sql.DB and *sql.Tx have in common.
type sqlDB interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type sqlConn struct{ db sqlDB }

func (c sqlConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.db.ExecContext(ctx, q, storableArgs(args)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c sqlConn) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := c.db.QueryContext(ctx, q, storableArgs(args)...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }
