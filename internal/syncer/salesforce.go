package syncer

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/store"
)

// DefaultOverlap is how far before the last stored SystemModstamp a
// Salesforce sync starts again. Records are committed in SystemModstamp
// order, but a transaction that commits late can carry an older stamp; the
// overlap catches it, and upserts by Id absorb the repeats.
const DefaultOverlap = 5 * time.Minute

// Salesforce syncs accounts, contacts and opportunities on SystemModstamp.
type Salesforce struct {
	Client  *salesforce.Client
	Store   store.Store
	Logger  *slog.Logger
	Overlap time.Duration
	// ObserveFunc, when set, is told of every page stored.
	ObserveFunc func(object string, records int)
	// ProgressFunc, when set, is told where each object stands after
	// every page.
	ProgressFunc ProgressFunc
}

// Sync runs one incremental pass over every object.
func (s *Salesforce) Sync(ctx context.Context) (Stats, error) {
	var stats Stats
	// The fields read must exist (custom ones are created per org): a
	// missing one fails here, naming it, rather than as a query error.
	if err := s.Client.CheckFields(ctx); err != nil {
		return stats, err
	}
	if err := syncObject(ctx, s, &stats, ObjectAccounts, s.Client.Accounts, func(a cxaudit.Account) (string, time.Time) {
		return a.ID, a.SystemModstamp
	}, func(ctx context.Context, q store.Querier, page []cxaudit.Account) error {
		return q.UpsertAccounts(ctx, page)
	}); err != nil {
		return stats, fmt.Errorf("salesforce accounts: %w", err)
	}
	if err := syncObject(ctx, s, &stats, ObjectContacts, s.Client.Contacts, func(c cxaudit.Contact) (string, time.Time) {
		return c.AccountID, c.SystemModstamp
	}, func(ctx context.Context, q store.Querier, page []cxaudit.Contact) error {
		return q.UpsertContacts(ctx, page)
	}); err != nil {
		return stats, fmt.Errorf("salesforce contacts: %w", err)
	}
	if err := syncObject(ctx, s, &stats, ObjectOpportunities, s.Client.Opportunities, func(o cxaudit.Opportunity) (string, time.Time) {
		return o.AccountID, o.SystemModstamp
	}, func(ctx context.Context, q store.Querier, page []cxaudit.Opportunity) error {
		return q.UpsertOpportunities(ctx, page)
	}); err != nil {
		return stats, fmt.Errorf("salesforce opportunities: %w", err)
	}
	if err := s.syncAccountDeletions(ctx, &stats); err != nil {
		return stats, fmt.Errorf("salesforce deleted accounts: %w", err)
	}
	return stats, nil
}

// syncObject pages through one object since its cursor. Each page commits
// with the newest SystemModstamp it holds and queues the accounts it
// touches (and their Zendesk dependents) for audit.
func syncObject[T any](
	ctx context.Context, s *Salesforce, stats *Stats, object string,
	read func(context.Context, time.Time, func([]T) error) error,
	key func(T) (accountID string, modstamp time.Time),
	upsert func(context.Context, store.Querier, []T) error,
) error {
	cur, err := s.Store.GetCursor(ctx, cxaudit.SourceSalesforce, object)
	if err != nil {
		return err
	}
	var since time.Time
	if cur.Value != "" {
		if since, err = time.Parse(time.RFC3339Nano, cur.Value); err != nil {
			return fmt.Errorf("stored %s cursor %q is not a timestamp: %w", object, cur.Value, err)
		}
		overlap := s.Overlap
		if overlap == 0 {
			overlap = DefaultOverlap
		}
		since = since.Add(-overlap)
	}
	newest := cur.Value
	err = read(ctx, since, func(page []T) error {
		var accountIDs []string
		seen := map[string]bool{}
		for _, r := range page {
			id, stamp := key(r)
			if v := stamp.UTC().Format(time.RFC3339Nano); newest == "" || later(v, newest) {
				newest = v
			}
			if id != "" && !seen[id] {
				seen[id] = true
				accountIDs = append(accountIDs, id)
			}
		}
		keys := make([]store.EntityKey, len(accountIDs))
		for i, id := range accountIDs {
			keys[i] = store.EntityKey{Kind: cxaudit.EntityAccount, ID: id}
		}
		next := store.Cursor{Value: newest, CompletedAt: cur.CompletedAt}
		if err := s.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			if err := upsert(ctx, q, page); err != nil {
				return err
			}
			if err := q.QueueAudit(ctx, keys); err != nil {
				return err
			}
			if err := q.QueueAccountDependents(ctx, accountIDs); err != nil {
				return err
			}
			return q.PutCursor(ctx, cxaudit.SourceSalesforce, object, next)
		}); err != nil {
			return err
		}
		stats.add(object, len(page))
		if s.ObserveFunc != nil {
			s.ObserveFunc(object, len(page))
		}
		if s.ProgressFunc != nil {
			pos, _ := time.Parse(time.RFC3339Nano, newest)
			s.ProgressFunc(Progress{Source: "salesforce", Object: object, Records: stats.Records[object], Position: pos, Start: since})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.Store.PutCursor(ctx, cxaudit.SourceSalesforce, object, store.Cursor{Value: newest, CompletedAt: time.Now()})
}

func later(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && (err2 != nil || ta.After(tb))
}
