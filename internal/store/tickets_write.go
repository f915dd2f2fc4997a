package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Bulk upserts of tickets, the largest stream a sync stores (a backfill
// writes hundreds of thousands). PostgreSQL takes a page in two statements
// over arrays (unnest), one round trip each whatever the page size; SQLite
// takes it through one prepared statement in one transaction. Both keep
// UpsertTickets' contract: a ticket's comments are replaced only when its
// Comments is non-nil.

type ticketRow struct {
	id, org, created, updated int64
	status, priority, data    string
	comments                  *string
}

func ticketRows(tickets []cxaudit.Ticket) ([]ticketRow, error) {
	rows := make([]ticketRow, 0, len(tickets))
	// The last version of a ticket in a page wins, as one by one.
	index := make(map[int64]int, len(tickets))
	for _, t := range tickets {
		comments := t.Comments
		t.Comments = nil
		data, err := marshal(t)
		if err != nil {
			return nil, err
		}
		// COPY and the prepared statement bypass storableArgs.
		r := ticketRow{id: t.ID, org: t.OrganizationID, created: ms(t.CreatedAt), updated: ms(t.UpdatedAt),
			status: storableText(t.Status), priority: storableText(t.Priority), data: data}
		if comments != nil {
			c, err := marshal(comments)
			if err != nil {
				return nil, err
			}
			r.comments = &c
		}
		if i, ok := index[t.ID]; ok {
			if r.comments == nil {
				r.comments = rows[i].comments
			}
			rows[i] = r
			continue
		}
		index[t.ID] = len(rows)
		rows = append(rows, r)
	}
	return rows, nil
}

const upsertTicketSQL = `INSERT INTO zendesk_ticket (id, organization_id, status, priority, created_at, updated_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7)
	ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id, status = excluded.status, priority = excluded.priority,
		created_at = excluded.created_at, updated_at = excluded.updated_at, data = excluded.data`

func (q *queries) upsertTicketsPostgres(ctx context.Context, db pgx.Tx, rows []ticketRow) error {
	// COPY into a temporary table (created once per session, emptied at
	// commit), then one INSERT … ON CONFLICT from it.
	if _, err := db.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS cxaudit_ticket_stage (
		id BIGINT, organization_id BIGINT, status TEXT, priority TEXT, created_at BIGINT, updated_at BIGINT, data JSONB, comments JSONB
	) ON COMMIT DELETE ROWS`); err != nil {
		return fmt.Errorf("upsert tickets: stage table: %w", err)
	}
	if _, err := db.Exec(ctx, `TRUNCATE cxaudit_ticket_stage`); err != nil {
		return err
	}
	src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := rows[i]
		var comments any
		if r.comments != nil {
			comments = *r.comments
		}
		return []any{r.id, r.org, r.status, r.priority, r.created, r.updated, r.data, comments}, nil
	})
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"cxaudit_ticket_stage"},
		[]string{"id", "organization_id", "status", "priority", "created_at", "updated_at", "data", "comments"}, src); err != nil {
		return fmt.Errorf("upsert %d tickets: copy: %w", len(rows), err)
	}
	// Tickets with comments replace them; tickets without keep theirs.
	if _, err := db.Exec(ctx, `INSERT INTO zendesk_ticket (id, organization_id, status, priority, created_at, updated_at, data, comments)
		SELECT id, organization_id, status, priority, created_at, updated_at, data, comments FROM cxaudit_ticket_stage WHERE comments IS NOT NULL
		ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id, status = excluded.status, priority = excluded.priority,
			created_at = excluded.created_at, updated_at = excluded.updated_at, data = excluded.data, comments = excluded.comments`); err != nil {
		return fmt.Errorf("upsert %d tickets: %w", len(rows), err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO zendesk_ticket (id, organization_id, status, priority, created_at, updated_at, data)
		SELECT id, organization_id, status, priority, created_at, updated_at, data FROM cxaudit_ticket_stage WHERE comments IS NULL
		ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id, status = excluded.status, priority = excluded.priority,
			created_at = excluded.created_at, updated_at = excluded.updated_at, data = excluded.data`); err != nil {
		return fmt.Errorf("upsert %d tickets: %w", len(rows), err)
	}
	return nil
}

func (q *queries) upsertTicketsSQLite(ctx context.Context, db preparer, rows []ticketRow) error {
	up, err := db.PrepareContext(ctx, upsertTicketSQL)
	if err != nil {
		return err
	}
	defer up.Close()
	com, err := db.PrepareContext(ctx, `UPDATE zendesk_ticket SET comments = $2 WHERE id = $1`)
	if err != nil {
		return err
	}
	defer com.Close()
	for _, r := range rows {
		if _, err := up.ExecContext(ctx, r.id, r.org, r.status, r.priority, r.created, r.updated, r.data); err != nil {
			return fmt.Errorf("upsert ticket %d: %w", r.id, err)
		}
		if r.comments != nil {
			if _, err := com.ExecContext(ctx, r.id, *r.comments); err != nil {
				return fmt.Errorf("store comments of ticket %d: %w", r.id, err)
			}
		}
	}
	return nil
}

type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}
