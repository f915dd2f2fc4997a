package store

import (
	"context"
	"fmt"

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
	p.queries = queries{c: pgConn{pool}, dialect: "postgres", enqueue: p.enqueuePool}
	return p, nil
}

// AttachRiver lets the store enqueue jobs, in transactions or not.
func (p *Postgres) AttachRiver(c *river.Client[pgx.Tx]) { p.river = c }

func (p *Postgres) Dialect() string { return "postgres" }

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

func (p *Postgres) InTx(ctx context.Context, fn func(ctx context.Context, q Querier) error) error {
	return pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
		q := &queries{c: pgConn{tx}, dialect: "postgres", enqueue: func(ctx context.Context, params []river.InsertManyParams) error {
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
