package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Postgres is the production store: several workers share one database,
// and River on riverpgxv5 shares the work between them.
type Postgres struct {
	queries
	Pool  *pgxpool.Pool
	river *river.Client[pgx.Tx]
}

// OpenPostgres connects to url: a postgres:// URL or a libpq keyword/value
// connection string. A search_path parameter selects the schema, as pgx
// passes it to the server. No error carries the password.
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message can echo the URL; never include it.
		return nil, cxaudit.Errorf(cxaudit.EINVALID, "CXAUDIT_DATABASE_URL: not a valid PostgreSQL URL or keyword/value connection string")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	p := &Postgres{Pool: pool}
	p.queries = queries{c: pgConn{pool}, dialect: postgresDialect, enqueue: p.enqueuePool}
	return p, nil
}

// AttachRiver lets the store enqueue jobs, in transactions or not.
func (p *Postgres) AttachRiver(c *river.Client[pgx.Tx]) { p.river = c }

func (p *Postgres) Dialect() string { return postgresDialect.name }

var postgresDialect = &dialect{
	name: "postgres",
	// A join on the array, not a long IN list: PostgreSQL's generic plan
	// for a prepared IN list filters every finding of kind against it.
	findingsOf: func(kind string, ids []string) (string, []any) {
		return `JOIN unnest(CAST($2 AS TEXT[])) AS wanted(entity) ON entity_id = wanted.entity
			WHERE entity_kind = $1 ORDER BY entity_id, rule_id`, []any{kind, ids}
	},
	// attempted_by is a TEXT[]: its last element is the client running the
	// job.
	rescueOrphans: `UPDATE river_job SET state = 'available' WHERE state = 'running' AND (
		attempted_by IS NULL OR cardinality(attempted_by) = 0 OR (
		attempted_by[cardinality(attempted_by)] <> $2 AND
		attempted_by[cardinality(attempted_by)] NOT IN (SELECT client_id FROM worker_lease WHERE expires_at > $1)))`,
}

func (p *Postgres) Close() error {
	p.Pool.Close()
	return nil
}

func (p *Postgres) enqueuePool(ctx context.Context, params []river.InsertManyParams) error {
	if p.river == nil {
		return errNoRiver
	}
	_, err := p.river.InsertMany(ctx, params)
	return err
}

var errNoRiver = cxaudit.Errorf(cxaudit.EINTERNAL, "store: no River client attached; cannot enqueue jobs")

// InTx runs fn in one transaction. A transaction PostgreSQL aborts to
// break a deadlock (40P01) or a serialization conflict (40001) is rolled
// back whole and run again, a few times: fn must therefore touch nothing
// but the database through q, and may run more than once. Syncs of the two
// sources queue the same organizations and tickets for audit at once, and
// the order of their locks cannot always be one.
func (p *Postgres) InTx(ctx context.Context, fn func(ctx context.Context, q Querier) error) error {
	const attempts = 5
	for attempt := 1; ; attempt++ {
		err := p.inTx(ctx, fn)
		var pgErr *pgconn.PgError
		if err == nil || attempt == attempts || !errors.As(err, &pgErr) ||
			(pgErr.Code != pgerrcode.DeadlockDetected && pgErr.Code != pgerrcode.SerializationFailure) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
		}
	}
}

func (p *Postgres) inTx(ctx context.Context, fn func(ctx context.Context, q Querier) error) error {
	return pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
		q := &queries{c: pgConn{tx}, dialect: postgresDialect, enqueue: func(ctx context.Context, params []river.InsertManyParams) error {
			if p.river == nil {
				return errNoRiver
			}
			_, err := p.river.InsertManyTx(ctx, tx, params)
			return err
		}}
		return fn(ctx, q)
	})
}

// pgDB is what pgxpool.Pool and pgx.Tx have in common.
type pgDB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type pgConn struct{ db pgDB }

func (c pgConn) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := c.db.Exec(ctx, sql, storableArgs(args)...)
	return tag.RowsAffected(), err
}

func (c pgConn) query(ctx context.Context, sql string, args ...any) (rows, error) {
	r, err := c.db.Query(ctx, sql, storableArgs(args)...)
	if err != nil {
		return nil, err
	}
	return r, nil
}
