package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Deletions the sync reads from Zendesk and Salesforce. A deleted entity's
// row goes; the audit treats a missing entity as gone and resolves its
// findings.

// deleteBatch bounds the ids of one statement (SQLite allows 32766
// parameters; Postgres 65535).
const deleteBatch = 1000

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

func (q *queries) DeleteTickets(ctx context.Context, ids []int64) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return q.deleteIn(ctx, "tickets", []string{`DELETE FROM zendesk_ticket WHERE id IN (?)`}, args)
}

func (q *queries) DeleteAccounts(ctx context.Context, ids []string) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return q.deleteIn(ctx, "accounts", []string{
		`DELETE FROM salesforce_contact WHERE account_id IN (?)`,
		`DELETE FROM salesforce_opportunity WHERE account_id IN (?)`,
		`DELETE FROM salesforce_contact_relation WHERE account_id IN (?)`,
		`DELETE FROM salesforce_task WHERE account_id IN (?)`,
		`DELETE FROM salesforce_account WHERE id IN (?)`,
	}, args)
}
