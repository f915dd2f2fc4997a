package store

import (
	"context"
	"fmt"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Reads for the KPI scorecard (package report): every record a period's
// figures need, page by page in id order, so a large tenant is read in
// bounded memory per page.

// ReportTicketsAfter returns up to limit tickets with ids above afterID,
// in id order, with their comments, that a scorecard from since on
// measures: those still open, and those created or updated since.
func (q *queries) ReportTicketsAfter(ctx context.Context, since time.Time, afterID int64, limit int) ([]cxaudit.Ticket, error) {
	return q.queryTickets(ctx, limit, `SELECT data, comments FROM zendesk_ticket
		WHERE id > $1 AND (status IN ('new', 'open', 'pending', 'hold') OR created_at >= $2 OR updated_at >= $2)
		ORDER BY id LIMIT $3`, afterID, ms(since), limit)
}

// OrganizationsAfter returns up to limit organizations with ids above
// afterID, in id order.
func (q *queries) OrganizationsAfter(ctx context.Context, afterID int64, limit int) ([]cxaudit.Organization, error) {
	return queryDocs[cxaudit.Organization](ctx, q, `SELECT data FROM zendesk_organization WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit)
}

// AccountsAfter returns up to limit accounts with ids above afterID ("" for
// the first), in id order, with their contacts (and their roles) and
// opportunities as Account returns them.
func (q *queries) AccountsAfter(ctx context.Context, afterID string, limit int) ([]cxaudit.Account, error) {
	accs, err := queryDocs[cxaudit.Account](ctx, q, `SELECT data FROM salesforce_account WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil || len(accs) == 0 {
		return accs, err
	}
	byIndex := make(map[int64]cxaudit.Account, len(accs))
	for i, a := range accs {
		byIndex[int64(i)] = a
	}
	if err := q.withChildrenMany(ctx, byIndex); err != nil {
		return nil, err
	}
	for i := range accs {
		accs[i] = byIndex[int64(i)]
	}
	return accs, nil
}

// KPISnapshot is one figure of the daily scorecard snapshot.
type KPISnapshot struct {
	Day string // YYYY-MM-DD, UTC
	KPI string
	// Dimension is "" for the KPI overall or "priority"; Key the
	// dimension's value ("P1"), "" overall.
	Dimension   string
	Key         string
	Numerator   float64
	Denominator int
	TakenAt     time.Time
}

// PutKPISnapshots stores snapshots; one of the same day, KPI and slice as
// a stored one replaces it.
func (q *queries) PutKPISnapshots(ctx context.Context, snaps []KPISnapshot) error {
	for _, s := range snaps {
		if _, err := q.c.exec(ctx, `INSERT INTO kpi_snapshot (day, kpi, dimension, slice_key, numerator, denominator, taken_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (day, kpi, dimension, slice_key) DO UPDATE SET numerator = excluded.numerator,
				denominator = excluded.denominator, taken_at = excluded.taken_at`,
			s.Day, s.KPI, s.Dimension, s.Key, s.Numerator, s.Denominator, ms(s.TakenAt)); err != nil {
			return fmt.Errorf("store KPI snapshot %s %s: %w", s.Day, s.KPI, err)
		}
	}
	return nil
}

// KPISnapshots returns the snapshots of the days from fromDay to toDay
// (YYYY-MM-DD, both included), by day, KPI, dimension and key.
func (q *queries) KPISnapshots(ctx context.Context, fromDay, toDay string) ([]KPISnapshot, error) {
	return q.kpiSnapshots(ctx, `day >= $1 AND day <= $2 ORDER BY day, kpi, dimension, slice_key`, fromDay, toDay)
}

// kpiSnapshots reads the snapshot rows that where (the WHERE clause, and
// any ORDER BY) selects.
func (q *queries) kpiSnapshots(ctx context.Context, where string, args ...any) ([]KPISnapshot, error) {
	var out []KPISnapshot
	err := q.queryEach(ctx, `SELECT day, kpi, dimension, slice_key, numerator, denominator, taken_at FROM kpi_snapshot
		WHERE `+where, args, func(r rows) error {
		var s KPISnapshot
		var at int64
		if err := r.Scan(&s.Day, &s.KPI, &s.Dimension, &s.Key, &s.Numerator, &s.Denominator, &at); err != nil {
			return err
		}
		s.TakenAt = fromMS(at)
		out = append(out, s)
		return nil
	})
	return out, err
}
