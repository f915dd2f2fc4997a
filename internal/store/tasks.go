package store

import (
	"context"
	"fmt"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// The account teams' open Tasks (migrations/*/0012_salesforce_task.sql).

func (q *queries) UpsertTasks(ctx context.Context, tasks []cxaudit.Task) error {
	var closed []string
	for _, t := range tasks {
		if t.IsClosed || t.AccountID == "" {
			closed = append(closed, t.ID)
			continue
		}
		data, err := marshal(t)
		if err != nil {
			return err
		}
		if _, err := q.c.exec(ctx, `INSERT INTO salesforce_task (id, account_id, system_modstamp, data) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, system_modstamp = excluded.system_modstamp, data = excluded.data`,
			t.ID, t.AccountID, ms(t.SystemModstamp), data); err != nil {
			return fmt.Errorf("upsert task %s: %w", t.ID, err)
		}
	}
	return q.DeleteTasks(ctx, closed)
}

func (q *queries) DeleteTasks(ctx context.Context, ids []string) error {
	return q.deleteIn(ctx, "tasks", []string{`DELETE FROM salesforce_task WHERE id IN (?)`}, anys(ids))
}

// openTasks returns the open Tasks of the accounts, by account, each in id
// order.
func (q *queries) openTasks(ctx context.Context, accountIDs []string) (map[string][]cxaudit.Task, error) {
	out := map[string][]cxaudit.Task{}
	for start := 0; start < len(accountIDs); start += deleteBatch {
		chunk := accountIDs[start:min(start+deleteBatch, len(accountIDs))]
		ts, err := queryDocs[cxaudit.Task](ctx, q, `SELECT data FROM salesforce_task WHERE account_id IN (`+placeholders(1, len(chunk))+`) ORDER BY id`, anys(chunk)...)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			out[t.AccountID] = append(out[t.AccountID], t)
		}
	}
	return out, nil
}
