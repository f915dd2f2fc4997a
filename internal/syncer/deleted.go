package syncer

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/zendesk"
)

// Cursor objects of the deletion passes.
const (
	// ObjectAccountDeletions is the newest SystemModstamp of a deleted
	// Account read through queryAll.
	ObjectAccountDeletions = "account_deletions"
	// ObjectTicketDeletions is the newest deleted_at read from Zendesk's
	// deleted tickets.
	ObjectTicketDeletions = "ticket_deletions"
)

// syncAccountDeletions reads the Accounts deleted since its cursor (with
// the same overlap as the other objects) and removes them, with their
// contacts and opportunities; each page commits with its cursor and queues
// the accounts, and the organizations and tickets that read them, for
// audit, which finds them gone and resolves their findings.
func (s *Salesforce) syncAccountDeletions(ctx context.Context, stats *Stats) error {
	cur, err := s.Store.GetCursor(ctx, cxaudit.SourceSalesforce, ObjectAccountDeletions)
	if err != nil {
		return err
	}
	var since time.Time
	if cur.Value != "" {
		if since, err = time.Parse(time.RFC3339Nano, cur.Value); err != nil {
			return fmt.Errorf("stored %s cursor %q is not a timestamp: %w", ObjectAccountDeletions, cur.Value, err)
		}
		since = since.Add(-cmpOr(s.Overlap, DefaultOverlap))
	}
	newest := cur.Value
	err = s.Client.DeletedAccounts(ctx, since, func(page []salesforce.Deleted) error {
		ids := make([]string, len(page))
		keys := make([]store.EntityKey, len(page))
		for i, d := range page {
			ids[i] = d.ID
			keys[i] = store.EntityKey{Kind: cxaudit.EntityAccount, ID: d.ID}
			if v := d.SystemModstamp.UTC().Format(time.RFC3339Nano); newest == "" || later(v, newest) {
				newest = v
			}
		}
		next := store.Cursor{Value: newest, CompletedAt: cur.CompletedAt}
		if err := s.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			// Dependents first: the link to an organization is read from
			// the account row.
			if err := q.QueueAccountDependents(ctx, ids); err != nil {
				return err
			}
			if err := q.DeleteAccounts(ctx, ids); err != nil {
				return err
			}
			if err := q.QueueAudit(ctx, keys); err != nil {
				return err
			}
			return q.PutCursor(ctx, cxaudit.SourceSalesforce, ObjectAccountDeletions, next)
		}); err != nil {
			return err
		}
		stats.add(ObjectAccountDeletions, len(page))
		if s.ObserveFunc != nil {
			s.ObserveFunc(ObjectAccountDeletions, len(page))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.Store.PutCursor(ctx, cxaudit.SourceSalesforce, ObjectAccountDeletions, store.Cursor{Value: newest, CompletedAt: time.Now()})
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// syncTicketDeletions reads Zendesk's deleted tickets, newest first, down
// to its cursor (the newest deleted_at already applied, re-read from an
// overlap back), and removes them from the store in one transaction with
// the new cursor. The export reports most deletions too (status
// "deleted"); this catches the ones it cannot, such as tickets deleted
// before a backfill reached them.
func (z *Zendesk) syncTicketDeletions(ctx context.Context, stats *Stats) error {
	cur, err := z.Store.GetCursor(ctx, cxaudit.SourceZendesk, ObjectTicketDeletions)
	if err != nil {
		return err
	}
	var since time.Time
	if cur.Value != "" {
		if since, err = time.Parse(time.RFC3339Nano, cur.Value); err != nil {
			return fmt.Errorf("stored %s cursor %q is not a timestamp: %w", ObjectTicketDeletions, cur.Value, err)
		}
		since = since.Add(-DefaultOverlap)
	}
	var (
		ids    []int64
		newest = cur.Value
	)
	err = z.Client.DeletedTickets(ctx, since, func(page []zendesk.DeletedTicket) error {
		for _, d := range page {
			ids = append(ids, d.ID)
			if v := d.DeletedAt.UTC().Format(time.RFC3339Nano); newest == "" || later(v, newest) {
				newest = v
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	keys := make([]store.EntityKey, len(ids))
	for i, id := range ids {
		keys[i] = store.EntityKey{Kind: cxaudit.EntityTicket, ID: strconv.FormatInt(id, 10)}
	}
	if err := z.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
		if err := q.DeleteTickets(ctx, ids); err != nil {
			return err
		}
		if err := q.QueueAudit(ctx, keys); err != nil {
			return err
		}
		return q.PutCursor(ctx, cxaudit.SourceZendesk, ObjectTicketDeletions, store.Cursor{Value: newest, CompletedAt: time.Now()})
	}); err != nil {
		return err
	}
	z.observe(stats, ObjectTicketDeletions, len(ids))
	return nil
}
