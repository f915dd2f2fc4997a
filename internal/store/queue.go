package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// The audit queue: entities to audit again, in the order they changed.

// queueChunk is how many entities one QueueAudit statement queues.
const queueChunk = 500

func (q *queries) QueueAudit(ctx context.Context, keys []EntityKey) error {
	return q.queueAudit(ctx, keys, 0)
}

// HoldAudit queues keys held until ReleaseAudit or until: see the
// migration 0010_audit_queue_hold.
func (q *queries) HoldAudit(ctx context.Context, keys []EntityKey, until time.Time) error {
	return q.queueAudit(ctx, keys, until.UnixNano())
}

// ReleaseAudit lets the held entries of kinds (every kind when none) be
// audited.
func (q *queries) ReleaseAudit(ctx context.Context, kinds ...cxaudit.EntityKind) error {
	query := `UPDATE audit_queue SET held_until = 0 WHERE held_until > 0`
	args := make([]any, len(kinds))
	if len(kinds) > 0 {
		marks := make([]string, len(kinds))
		for i, k := range kinds {
			marks[i], args[i] = "$"+strconv.Itoa(i+1), string(k)
		}
		query += ` AND entity_kind IN (` + strings.Join(marks, ", ") + `)`
	}
	_, err := q.c.exec(ctx, query, args...)
	return err
}

// onConflictQueue is how a queued entry is queued again: audited after its
// new change, and held as long as the longer hold says (QueueAudit never
// releases what a Salesforce pass holds).
const onConflictQueue = `ON CONFLICT (entity_kind, entity_id) DO UPDATE SET queued_at = excluded.queued_at,
	held_until = CASE WHEN excluded.held_until > audit_queue.held_until THEN excluded.held_until ELSE audit_queue.held_until END`

func (q *queries) queueAudit(ctx context.Context, keys []EntityKey, held int64) error {
	now := time.Now().UnixNano()
	// One statement per chunk, not per key (a page of a thousand tickets
	// was a thousand round trips), and each key once in it: ON CONFLICT
	// DO UPDATE may not touch a row twice in one statement.
	seen := make(map[EntityKey]bool, len(keys))
	unique := make([]EntityKey, 0, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			unique = append(unique, k)
		}
	}
	// In one order everywhere (kind, then id), so that two syncs queueing
	// the same rows at once take their locks in the same order.
	slices.SortFunc(unique, compareKeys)
	for start := 0; start < len(unique); start += queueChunk {
		chunk := unique[start:min(start+queueChunk, len(unique))]
		var b strings.Builder
		args := make([]any, 0, 2*len(chunk)+2)
		args = append(args, now, held)
		for i, k := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "($%d, $%d, CAST($1 AS BIGINT), CAST($2 AS BIGINT))", 2*i+3, 2*i+4)
			args = append(args, string(k.Kind), k.ID)
		}
		if _, err := q.c.exec(ctx, `INSERT INTO audit_queue (entity_kind, entity_id, queued_at, held_until) VALUES `+b.String()+`
			`+onConflictQueue, args...); err != nil {
			return fmt.Errorf("queue audit of %d entities: %w", len(chunk), err)
		}
	}
	return nil
}

// compareKeys orders entity keys by kind, then id: the order in which
// every statement here locks audit_queue rows.
func compareKeys(a, b EntityKey) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID))
}

func (q *queries) QueueAccountDependents(ctx context.Context, accountIDs []string) error {
	for start := 0; start < len(accountIDs); start += queueChunk {
		if err := q.queueAccountDependents(ctx, accountIDs[start:min(start+queueChunk, len(accountIDs))]); err != nil {
			return err
		}
	}
	return nil
}

func (q *queries) queueAccountDependents(ctx context.Context, accountIDs []string) error {
	now := time.Now().UnixNano()
	// The organizations linked to any of the accounts (by external_id or by
	// domain), then their open tickets: two statements, each inserting in
	// (kind, id) order like QueueAudit, so that a Zendesk sync queueing the
	// same rows at once takes its locks in the same order.
	var in strings.Builder
	args := []any{now, int64(0)}
	for i, id := range accountIDs {
		if i > 0 {
			in.WriteString(", ")
		}
		fmt.Fprintf(&in, "$%d", i+3)
		args = append(args, id)
	}
	orgs := `SELECT o.id FROM zendesk_organization o WHERE o.external_id IN (` + in.String() + `)
		UNION SELECT d.organization_id FROM zendesk_organization_domain d
			JOIN salesforce_account a ON a.domain = d.domain WHERE a.id IN (` + in.String() + `)`
	if _, err := q.c.exec(ctx, `INSERT INTO audit_queue (entity_kind, entity_id, queued_at, held_until)
		SELECT 'organization', `+castID("l.id")+`, CAST($1 AS BIGINT), CAST($2 AS BIGINT) FROM (`+orgs+`) l ORDER BY 2
		`+onConflictQueue, args...); err != nil {
		return fmt.Errorf("queue organizations of %d accounts: %w", len(accountIDs), err)
	}
	if _, err := q.c.exec(ctx, `INSERT INTO audit_queue (entity_kind, entity_id, queued_at, held_until)
		SELECT 'ticket', `+castID("t.id")+`, CAST($1 AS BIGINT), CAST($2 AS BIGINT) FROM zendesk_ticket t
		WHERE t.status IN ('new', 'open', 'pending', 'hold') AND t.organization_id IN (`+orgs+`) ORDER BY 2
		`+onConflictQueue, args...); err != nil {
		return fmt.Errorf("queue tickets of %d accounts: %w", len(accountIDs), err)
	}
	return nil
}

func (q *queries) NextAuditBatch(ctx context.Context, limit int) ([]QueueEntry, error) {
	return q.auditEntries(ctx, `held_until <= $2`, limit, time.Now().UnixNano())
}

// auditEntries reads up to limit entries of the audit queue that match
// where (whose $1 is the limit, args the rest), in queue order.
func (q *queries) auditEntries(ctx context.Context, where string, limit int, args ...any) ([]QueueEntry, error) {
	var out []QueueEntry
	err := q.queryEach(ctx, `SELECT entity_kind, entity_id, queued_at FROM audit_queue WHERE `+where+`
		ORDER BY queued_at, entity_kind, entity_id LIMIT $1`,
		append([]any{limit}, args...), func(r rows) error {
			var e QueueEntry
			var kind string
			if err := r.Scan(&kind, &e.Key.ID, &e.QueuedAt); err != nil {
				return err
			}
			e.Key.Kind = cxaudit.EntityKind(kind)
			out = append(out, e)
			return nil
		})
	return out, err
}

func (q *queries) DoneAudit(ctx context.Context, entries []QueueEntry) error {
	if len(entries) == 0 {
		return nil
	}
	var b strings.Builder
	args := make([]any, 0, 3*len(entries))
	for i, e := range entries {
		if i > 0 {
			b.WriteString(", ")
		}
		n := 3 * i
		b.WriteString("(CAST($" + strconv.Itoa(n+1) + " AS TEXT), CAST($" + strconv.Itoa(n+2) + " AS TEXT), CAST($" + strconv.Itoa(n+3) + " AS BIGINT))")
		args = append(args, string(e.Key.Kind), e.Key.ID, e.QueuedAt)
	}
	_, err := q.c.exec(ctx, `DELETE FROM audit_queue WHERE (entity_kind, entity_id, queued_at) IN (VALUES `+b.String()+`)`, args...)
	return err
}

func (q *queries) NextAuditBatchAfter(ctx context.Context, after QueueEntry, limit int) ([]QueueEntry, error) {
	return q.auditEntries(ctx, `(queued_at > $2 OR (queued_at = $2 AND (entity_kind > $3 OR (entity_kind = $3 AND entity_id > $4)))) AND held_until <= $5`,
		limit, after.QueuedAt, string(after.Key.Kind), after.Key.ID, time.Now().UnixNano())
}

func (q *queries) SweepKeys(ctx context.Context) ([]EntityKey, error) {
	var out []EntityKey
	err := q.queryEach(ctx, `SELECT 'ticket', `+castID("id")+` FROM zendesk_ticket WHERE status IN ('new', 'open', 'pending', 'hold')
		UNION ALL SELECT 'organization', `+castID("id")+` FROM zendesk_organization
		UNION ALL SELECT 'account', id FROM salesforce_account`, nil, func(r rows) error {
		var k EntityKey
		var kind string
		if err := r.Scan(&kind, &k.ID); err != nil {
			return err
		}
		k.Kind = cxaudit.EntityKind(kind)
		out = append(out, k)
		return nil
	})
	return out, err
}
