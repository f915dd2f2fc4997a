package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Zendesk tickets, with their comments and metrics.

func (q *queries) UpsertTickets(ctx context.Context, tickets []cxaudit.Ticket) error {
	if len(tickets) == 0 {
		return nil
	}
	rows, err := ticketRows(tickets)
	if err != nil {
		return err
	}
	switch c := q.c.(type) {
	case pgConn:
		if tx, ok := c.db.(pgx.Tx); ok {
			return q.upsertTicketsPostgres(ctx, tx, rows)
		}
		if pool, ok := c.db.(interface {
			Begin(context.Context) (pgx.Tx, error)
		}); ok {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return q.upsertTicketsPostgres(ctx, tx, rows) })
		}
	case sqlConn:
		if db, ok := c.db.(*sql.DB); ok {
			// One transaction, or every row would commit (and sync) alone.
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if err := q.upsertTicketsSQLite(ctx, tx, rows); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}
		if p, ok := c.db.(preparer); ok {
			return q.upsertTicketsSQLite(ctx, p, rows)
		}
	}
	return cxaudit.Errorf(cxaudit.EINTERNAL, "store: upsert tickets: unknown connection %T", q.c)
}

func (q *queries) PutComments(ctx context.Context, ticketID int64, comments []cxaudit.Comment) error {
	if comments == nil {
		comments = []cxaudit.Comment{}
	}
	data, err := marshal(comments)
	if err != nil {
		return err
	}
	n, err := q.c.exec(ctx, `UPDATE zendesk_ticket SET comments = $2 WHERE id = $1`, ticketID, data)
	if err != nil {
		return fmt.Errorf("store comments of ticket %d: %w", ticketID, err)
	}
	if n == 0 {
		return cxaudit.Errorf(cxaudit.ENOTFOUND, "store comments: ticket %d not synced", ticketID)
	}
	return nil
}

func (q *queries) Ticket(ctx context.Context, id int64) (cxaudit.Ticket, error) {
	var data, comments []byte
	if err := q.queryOne(ctx, `SELECT data, comments FROM zendesk_ticket WHERE id = $1`, []any{id}, &data, &comments); err != nil {
		if errors.Is(err, errNotFound) {
			return cxaudit.Ticket{}, cxaudit.Errorf(cxaudit.ENOTFOUND, "ticket %d not found", id)
		}
		return cxaudit.Ticket{}, err
	}
	return decodeTicket(data, comments)
}

// decodeTicket decodes a stored ticket; comments nil leaves its comments
// out (the ticket windows of rules that do not read them).
func decodeTicket(data, comments []byte) (cxaudit.Ticket, error) {
	var t cxaudit.Ticket
	if err := unmarshal(data, &t); err != nil {
		return t, fmt.Errorf("decode stored ticket: %w", err)
	}
	if comments == nil {
		return t, nil
	}
	if err := unmarshal(comments, &t.Comments); err != nil {
		return t, fmt.Errorf("decode stored comments of ticket %d: %w", t.ID, err)
	}
	return t, nil
}

// queryTickets decodes the tickets a query returns as (data, comments)
// rows; size is how many are expected, to size the result.
func (q *queries) queryTickets(ctx context.Context, size int, sql string, args ...any) ([]cxaudit.Ticket, error) {
	var out []cxaudit.Ticket
	if size > 0 {
		out = make([]cxaudit.Ticket, 0, size)
	}
	err := q.queryEach(ctx, sql, args, func(r rows) error {
		var data, comments []byte
		if err := r.Scan(&data, &comments); err != nil {
			return err
		}
		t, err := decodeTicket(data, comments)
		out = append(out, t)
		return err
	})
	return out, err
}

func (q *queries) CountTickets(ctx context.Context) (int, error) {
	var n int
	err := q.queryOne(ctx, `SELECT COUNT(*) FROM zendesk_ticket`, nil, &n)
	return n, err
}

func (q *queries) TicketsByID(ctx context.Context, ids []int64) ([]cxaudit.Ticket, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return q.queryTickets(ctx, len(ids), `SELECT data, comments FROM zendesk_ticket WHERE id IN (`+placeholders(1, len(ids))+`) ORDER BY id`,
		anys(ids)...)
}

func (q *queries) TicketsForOrganizations(ctx context.Context, orgIDs []int64, since time.Time, withComments bool) (map[int64][]cxaudit.Ticket, error) {
	out := make(map[int64][]cxaudit.Ticket, len(orgIDs))
	if len(orgIDs) == 0 {
		return out, nil
	}
	comments := "NULL"
	if withComments {
		comments = "comments"
	}
	err := q.queryEach(ctx, `SELECT organization_id, data, `+comments+` FROM zendesk_ticket WHERE organization_id IN (`+placeholders(2, len(orgIDs))+`)
		AND created_at >= $1 ORDER BY organization_id, id`, append([]any{ms(since)}, anys(orgIDs)...), func(r rows) error {
		var org int64
		var data, comments []byte
		if err := r.Scan(&org, &data, &comments); err != nil {
			return err
		}
		t, err := decodeTicket(data, comments)
		out[org] = append(out[org], t)
		return err
	})
	return out, err
}

func (q *queries) DeleteTickets(ctx context.Context, ids []int64) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return q.deleteIn(ctx, "tickets", []string{`DELETE FROM zendesk_ticket WHERE id IN (?)`}, args)
}
