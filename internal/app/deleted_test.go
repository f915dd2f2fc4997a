package app_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// TestDeletionsResolveFindings deletes an Account in Salesforce (it goes
// to the recycle bin: queryAll) and a ticket in Zendesk (deleted_tickets)
// that both have open findings; the next cycle removes them from the store
// and resolves every finding on them.
func TestDeletionsResolveFindings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, storetest.NewPostgresSchema(t))
	res, err := b.app.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, res.FailedJobs)

	accs, err := b.app.Store.ListFindings(ctx, store.FindingFilter{Status: cxaudit.FindingOpen, EntityKind: cxaudit.EntityAccount})
	require.NoError(t, err)
	require.NotEmpty(t, accs)
	tks, err := b.app.Store.ListFindings(ctx, store.FindingFilter{Status: cxaudit.FindingOpen, EntityKind: cxaudit.EntityTicket})
	require.NoError(t, err)
	require.NotEmpty(t, tks)
	accountID, ticketID := accs[0].EntityID, tks[0].EntityID
	tid, err := strconv.ParseInt(ticketID, 10, 64)
	require.NoError(t, err)

	b.sims.Salesforce.DeleteAccount(accountID)
	b.sims.Zendesk.DeleteTicket(tid)
	res, err = b.app.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, res.FailedJobs)

	_, err = b.app.Store.Account(ctx, accountID)
	require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err), "the deleted account is gone from the store")
	_, err = b.app.Store.Ticket(ctx, tid)
	require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err), "the deleted ticket is gone (removed by the deleted_tickets pass)")
	for _, e := range []struct {
		kind cxaudit.EntityKind
		id   string
	}{{cxaudit.EntityAccount, accountID}, {cxaudit.EntityTicket, ticketID}} {
		fs, err := b.app.Store.FindingsForEntity(ctx, e.kind, e.id)
		require.NoError(t, err)
		require.NotEmpty(t, fs)
		for _, f := range fs {
			require.Equal(t, cxaudit.FindingResolved, f.Status, "%s %s: %s", e.kind, e.id, f.RuleID)
		}
	}
	require.Positive(t, b.sims.Salesforce.Stats().ByEndpoint["GET /queryAll"])
	require.Positive(t, b.sims.Zendesk.Stats().ByEndpoint[zendesktest.EndpointDeletedTickets])

	// A further cycle reads the deletions again from the cursor (minus the
	// overlap) and changes nothing.
	res, err = b.app.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, res.FailedJobs)
	require.Empty(t, res.Writes)
}
