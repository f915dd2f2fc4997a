package syncer

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/tenant"
	"github.com/cxaudit/cxaudit/internal/zendesk"
)

// Cursor objects of the deletion passes.
const (
	// ObjectAccountDeletions is the newest SystemModstamp of a deleted
	// Account read through queryAll; the others likewise.
	ObjectAccountDeletions         = "account_deletions"
	ObjectContactDeletions         = "contact_deletions"
	ObjectOpportunityDeletions     = "opportunity_deletions"
	ObjectContactRelationDeletions = "contact_relation_deletions"
	ObjectTaskDeletions            = "task_deletions"
	// ObjectTicketDeletions is the newest deleted_at read from Zendesk's
	// deleted tickets.
	ObjectTicketDeletions = "ticket_deletions"
)

// deletion is one object whose deleted records a pass removes.
type deletion struct {
	object, cursor string
	remove         func(ctx context.Context, q store.Querier, ids []string) error
}

// syncDeletions reads the records deleted since each cursor (with the same
// overlap as the other objects) and removes them: Accounts with their
// contacts and opportunities, and contacts, opportunities and contact
// relations deleted on their own (a deleted Renewal opportunity must not
// keep satisfying a renewal-readiness rule). Each page commits with its
// cursor and queues the accounts, and the organizations and tickets that
// read them, for audit.
func (s *Salesforce) syncDeletions(ctx context.Context, stats *Stats, schema *syncedSchema) error {
	passes := []deletion{
		{tenant.ObjectAccount, ObjectAccountDeletions, func(ctx context.Context, q store.Querier, ids []string) error {
			// Dependents first: the link to an organization is read from
			// the account row.
			if err := q.QueueAccountDependents(ctx, ids); err != nil {
				return err
			}
			return q.DeleteAccounts(ctx, ids)
		}},
		{tenant.ObjectContact, ObjectContactDeletions, func(ctx context.Context, q store.Querier, ids []string) error {
			return q.DeleteContacts(ctx, ids)
		}},
		{tenant.ObjectOpportunity, ObjectOpportunityDeletions, func(ctx context.Context, q store.Querier, ids []string) error {
			return q.DeleteOpportunities(ctx, ids)
		}},
	}
	if rel := schema.Objects[tenant.ObjectContactRelation]; rel != nil && rel.Unavailable == "" {
		passes = append(passes, deletion{tenant.ObjectContactRelation, ObjectContactRelationDeletions,
			func(ctx context.Context, q store.Querier, ids []string) error {
				return q.DeleteContactRelations(ctx, ids)
			}})
	}
	if task := schema.Objects[tenant.ObjectTask]; task != nil && task.Unavailable == "" {
		passes = append(passes, deletion{tenant.ObjectTask, ObjectTaskDeletions,
			func(ctx context.Context, q store.Querier, ids []string) error {
				return q.DeleteTasks(ctx, ids)
			}})
	}
	for _, d := range passes {
		if err := s.syncDeletion(ctx, stats, d); err != nil {
			return fmt.Errorf("salesforce deleted %s: %w", d.object, err)
		}
	}
	return nil
}

func (s *Salesforce) syncDeletion(ctx context.Context, stats *Stats, d deletion) error {
	cur, err := s.Store.GetCursor(ctx, cxaudit.SourceSalesforce, d.cursor)
	if err != nil {
		return err
	}
	since, err := cur.Since(cmpOr(s.Overlap, DefaultOverlap))
	if err != nil {
		return fmt.Errorf("stored %s %w", d.cursor, err)
	}
	newest := cur.Value
	err = s.Client.DeletedRecords(ctx, d.object, since, func(page []salesforce.Deleted) error {
		ids := make([]string, len(page))
		var accounts []string
		seen := map[string]bool{}
		for i, r := range page {
			ids[i] = r.ID
			acc := r.AccountID
			if d.object == tenant.ObjectAccount {
				acc = r.ID
			}
			if acc != "" && !seen[acc] {
				seen[acc] = true
				accounts = append(accounts, acc)
			}
			if v := r.SystemModstamp.UTC().Format(time.RFC3339Nano); newest == "" || later(v, newest) {
				newest = v
			}
		}
		keys := make([]store.EntityKey, len(accounts))
		for i, id := range accounts {
			keys[i] = store.EntityKey{Kind: cxaudit.EntityAccount, ID: id}
		}
		next := store.Cursor{Value: newest, CompletedAt: cur.CompletedAt}
		if err := s.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			if err := d.remove(ctx, q, ids); err != nil {
				return err
			}
			if err := q.Unquarantine(ctx, cxaudit.SourceSalesforce, d.object, ids); err != nil {
				return err
			}
			if d.object != tenant.ObjectAccount {
				if err := q.QueueAccountDependents(ctx, accounts); err != nil {
					return err
				}
			}
			if err := q.QueueAudit(ctx, keys); err != nil {
				return err
			}
			return q.PutCursor(ctx, cxaudit.SourceSalesforce, d.cursor, next)
		}); err != nil {
			return err
		}
		stats.add(d.cursor, len(page))
		if s.ObserveFunc != nil {
			s.ObserveFunc(d.cursor, len(page))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.Store.PutCursor(ctx, cxaudit.SourceSalesforce, d.cursor, store.Cursor{Value: newest, CompletedAt: time.Now()})
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
	since, err := cur.Since(DefaultOverlap)
	if err != nil {
		return fmt.Errorf("stored %s %w", ObjectTicketDeletions, err)
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
		deleted := make([]string, len(keys))
		for i, k := range keys {
			deleted[i] = k.ID
		}
		// A deleted ticket quarantined for its comments (404) is done with.
		if err := q.Unquarantine(ctx, cxaudit.SourceZendesk, ObjectTickets, deleted); err != nil {
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
