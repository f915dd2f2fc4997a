package syncer

import (
	"context"
	"fmt"
	"strconv"

	"github.com/riverqueue/river"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

// TicketResult is what SyncTicket did.
type TicketResult struct {
	// Stored is true when the ticket was stored and queued for audit;
	// false when Zendesk no longer has it or the store holds a newer copy.
	Stored bool
}

// SyncTicket reads one ticket and its comments (a webhook said it changed)
// and stores them as the incremental sync would: the organization and
// requester the store lacks with it, and the ticket and its organization
// queued for audit, with the jobs of after (the audit) enqueued in the same
// transaction. The ticket cursor does not move: the periodic sync still
// reads the change, which is its safety net.
//
// A copy the store already holds with a later updated_at is kept (two
// reads of one ticket may commit out of order). A ticket Zendesk answers
// 404 for is left to the deletion sync.
func (z *Zendesk) SyncTicket(ctx context.Context, id int64, after ...river.InsertManyParams) (TicketResult, error) {
	var res TicketResult
	t, err := z.Client.Ticket(ctx, id)
	if cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND {
		if z.Logger != nil {
			z.Logger.Debug("webhook ticket not found in Zendesk; the deletion sync handles it", "ticket_id", id)
		}
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("zendesk ticket %d: %w", id, err)
	}
	if !z.SkipComments {
		comments, err := z.Client.TicketComments(ctx, id)
		if err != nil {
			return res, fmt.Errorf("comments of ticket %d: %w", id, err)
		}
		if comments == nil {
			comments = []cxaudit.Comment{}
		}
		t.Comments = comments
	}
	tickets := []cxaudit.Ticket{t}
	missingOrgs, missingUsers, err := z.fetchMissing(ctx, tickets)
	if err != nil {
		return res, err
	}
	keys := []store.EntityKey{{Kind: cxaudit.EntityTicket, ID: strconv.FormatInt(t.ID, 10)}}
	if t.OrganizationID != 0 {
		keys = append(keys, store.EntityKey{Kind: cxaudit.EntityOrganization, ID: strconv.FormatInt(t.OrganizationID, 10)})
	}
	err = z.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
		res = TicketResult{}
		stored, err := q.Ticket(ctx, id)
		switch {
		case err == nil && stored.UpdatedAt.After(t.UpdatedAt):
			return nil
		case err != nil && cxaudit.ErrorCode(err) != cxaudit.ENOTFOUND:
			return err
		}
		if err := q.UpsertOrganizations(ctx, missingOrgs); err != nil {
			return err
		}
		if err := q.UpsertUsers(ctx, missingUsers); err != nil {
			return err
		}
		if err := q.UpsertTickets(ctx, tickets); err != nil {
			return err
		}
		if err := q.QueueAudit(ctx, keys); err != nil {
			return err
		}
		res.Stored = true
		return q.Enqueue(ctx, after...)
	})
	if err != nil {
		return TicketResult{}, fmt.Errorf("store zendesk ticket %d: %w", id, err)
	}
	return res, nil
}
