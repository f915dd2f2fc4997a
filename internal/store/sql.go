package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/riverqueue/river"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// conn is what both databases offer: pgx pools and transactions on one side,
// database/sql's on the other. SQL uses $N placeholders, which both accept.
type conn interface {
	exec(ctx context.Context, sql string, args ...any) (int64, error)
	query(ctx context.Context, sql string, args ...any) (rows, error)
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// queries implements Querier over a conn. The same value serves the pool
// and, built anew per transaction, each transaction.
type queries struct {
	c       conn
	dialect *dialect
	// enqueue inserts River jobs on c; set by the dialect.
	enqueue func(ctx context.Context, params []river.InsertManyParams) error
}

// dialect holds what is said differently to PostgreSQL (postgres.go) and
// to SQLite (sqlite.go); the rest of the package writes SQL that both
// understand.
type dialect struct {
	// name is Store.Dialect's answer, and the migrations' directory.
	name string
	// findingsOf is the clause after `FROM finding` that selects the
	// findings of entity kind $1 whose entity_id is among ids, in
	// entity_id, rule_id order, with its arguments.
	findingsOf func(kind string, ids []string) (string, []any)
	// rescueOrphans is RescueOrphanedJobs' statement: $1 is the lease
	// expiry before which a client is dead, $2 the caller's own client.
	rescueOrphans string
}

var errNotFound = cxaudit.Errorf(cxaudit.ENOTFOUND, "not found")

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// marshal encodes a document for the store, U+0000 as U+FFFD (text.go).
func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(storableJSON(b)), err
}

// unmarshal decodes a stored document. Documents are read far more often
// than written (every audit reads every open ticket), so they are decoded
// with encoding/json/v2 (github.com/go-json-experiment/json, the module the
// standard library's v2 comes from), about 2.5 times as fast as
// encoding/json on tickets with comments. It reads what encoding/json wrote:
// the options keep v1's leniency on duplicate names and invalid UTF-8.
func unmarshal(data []byte, v any) error {
	return jsonv2.Unmarshal(data, v, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// queryOne scans the first row of a query into dest; errNotFound when none.
func (q *queries) queryOne(ctx context.Context, sql string, args []any, dest ...any) error {
	r, err := q.c.query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer r.Close()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return err
		}
		return errNotFound
	}
	if err := r.Scan(dest...); err != nil {
		return err
	}
	return r.Err()
}

// queryEach calls fn for every row.
func (q *queries) queryEach(ctx context.Context, sql string, args []any, fn func(r rows) error) error {
	r, err := q.c.query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		if err := fn(r); err != nil {
			return err
		}
	}
	return r.Err()
}

// queryDocs decodes the JSON documents the first column of a query returns.
func queryDocs[T any](ctx context.Context, q *queries, sql string, args ...any) ([]T, error) {
	var out []T
	err := q.queryEach(ctx, sql, args, func(r rows) error {
		var data []byte
		if err := r.Scan(&data); err != nil {
			return err
		}
		var v T
		if err := unmarshal(data, &v); err != nil {
			return fmt.Errorf("decode stored record: %w", err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// castID renders a BIGINT id column as text in both dialects.
func castID(col string) string { return "CAST(" + col + " AS TEXT)" }

// placeholders returns "$from, $from+1, …" for n parameters.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

func anys[T any](vals []T) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}

func idList(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i+1))
	}
	return b.String()
}

func (q *queries) deleteIn(ctx context.Context, what string, stmts []string, ids []any) error {
	for len(ids) > 0 {
		n := min(len(ids), deleteBatch)
		in := idList(n)
		for _, stmt := range stmts {
			if _, err := q.c.exec(ctx, strings.ReplaceAll(stmt, "(?)", "("+in+")"), ids[:n]...); err != nil {
				return fmt.Errorf("delete %s: %w", what, err)
			}
		}
		ids = ids[n:]
	}
	return nil
}

// deleteBatch bounds the ids of one statement (SQLite allows 32766
// parameters; Postgres 65535).
const deleteBatch = 1000
