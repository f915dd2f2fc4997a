package store

import (
	"context"
	"strconv"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// The audit sweep re-audits every open ticket, then every organization,
// then every account, in key order. It does not queue them: it reads them a
// batch at a time after the last one audited (SweepPosition), which it
// stores with each batch's findings, so a sweep a killed worker left half
// done resumes where it stopped.

// SweepOrder is the order in which the sweep visits kinds of entity.
var SweepOrder = []cxaudit.EntityKind{cxaudit.EntityTicket, cxaudit.EntityOrganization, cxaudit.EntityAccount}

// Sweep is the state of the audit sweep.
type Sweep struct {
	// Due is true when a sweep was requested since the last one finished.
	Due bool
	// Position is the last entity the running sweep audited; zero before
	// its first batch.
	Position EntityKey
}

func (q *queries) RequestSweep(ctx context.Context) error {
	// Requests coalesce: one made while a sweep runs is met by that sweep.
	// requested_at only grows, so a request is never lost to a clock step.
	_, err := q.c.exec(ctx, `UPDATE audit_sweep SET requested_at = CASE WHEN requested_at >= $1 THEN requested_at + 1 ELSE $1 END WHERE id = 1`,
		time.Now().UnixMilli())
	return err
}

func (q *queries) GetSweep(ctx context.Context) (Sweep, error) {
	var s Sweep
	var requested, finished int64
	var kind string
	err := q.queryOne(ctx, `SELECT requested_at, finished_at, position_kind, position_id FROM audit_sweep WHERE id = 1`, nil,
		&requested, &finished, &kind, &s.Position.ID)
	s.Due, s.Position.Kind = requested > finished, cxaudit.EntityKind(kind)
	return s, err
}

func (q *queries) SaveSweepPosition(ctx context.Context, pos EntityKey) error {
	_, err := q.c.exec(ctx, `UPDATE audit_sweep SET position_kind = $1, position_id = $2 WHERE id = 1`, string(pos.Kind), pos.ID)
	return err
}

func (q *queries) FinishSweep(ctx context.Context) error {
	_, err := q.c.exec(ctx, `UPDATE audit_sweep SET finished_at = requested_at, position_kind = '', position_id = '' WHERE id = 1`)
	return err
}

func (q *queries) OpenTicketsAfter(ctx context.Context, afterID int64, limit int) ([]cxaudit.Ticket, error) {
	return q.queryTickets(ctx, limit, `SELECT data, comments FROM zendesk_ticket WHERE status IN ('new', 'open', 'pending', 'hold') AND id > $1
		ORDER BY id LIMIT $2`, afterID, limit)
}

func (q *queries) SweepKeysAfter(ctx context.Context, kind cxaudit.EntityKind, afterID string, limit int) ([]EntityKey, error) {
	var sql string
	var after any = afterID
	switch kind {
	case cxaudit.EntityOrganization:
		// o.id: a bare "id" in ORDER BY would name the text column selected.
		sql = `SELECT ` + castID("o.id") + ` FROM zendesk_organization o WHERE o.id > $1 ORDER BY o.id LIMIT $2`
		n, err := strconv.ParseInt(afterID, 10, 64)
		if afterID == "" {
			n, err = 0, nil
		}
		if err != nil {
			return nil, cxaudit.Errorf(cxaudit.EINVALID, "sweep position %s %q: %v", kind, afterID, err)
		}
		after = n
	case cxaudit.EntityAccount:
		sql = `SELECT id FROM salesforce_account WHERE id > $1 ORDER BY id LIMIT $2`
	default:
		return nil, cxaudit.Errorf(cxaudit.EINVALID, "the sweep lists %s keys by OpenTicketsAfter", kind)
	}
	var out []EntityKey
	err := q.queryEach(ctx, sql, []any{after, limit}, func(r rows) error {
		k := EntityKey{Kind: kind}
		if err := r.Scan(&k.ID); err != nil {
			return err
		}
		out = append(out, k)
		return nil
	})
	return out, err
}
