package store

import (
	"context"
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
