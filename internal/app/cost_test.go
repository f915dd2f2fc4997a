package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/writeback"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// TestWritebackCost measures what write-back costs in API calls on a clean
// cycle: at most one Zendesk call per ticket with findings (one update
// carries the note and every tag change), and at most one Salesforce call
// per 200 Tasks. The figures are logged (go test -run TestWritebackCost -v).
func TestWritebackCost(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.NewSQLitePath(t))
	ctx := context.Background()
	zBefore, sBefore := b.sims.Zendesk.Stats(), b.sims.Salesforce.Stats()
	res, err := b.app.RunOnce(ctx)
	require.NoError(t, err)
	zs, ss := b.sims.Zendesk.Stats(), b.sims.Salesforce.Stats()

	open, err := b.app.Store.ListFindings(ctx, store.FindingFilter{Status: cxaudit.FindingOpen})
	require.NoError(t, err)
	tickets, ticketFindings := map[string]bool{}, 0
	for _, f := range open {
		if f.EntityKind == cxaudit.EntityTicket && !f.Dirty() && f.WrittenStatus == cxaudit.FindingOpen {
			tickets[f.EntityID] = true
			ticketFindings++
		}
	}
	zCalls := zs.ByEndpoint[zendesktest.EndpointUpdateTicket] - zBefore.ByEndpoint[zendesktest.EndpointUpdateTicket]
	sCalls := ss.CompositeCalls - sBefore.CompositeCalls
	tasks := res.Writes[store.WriteSalesforceTask]
	require.NotEmpty(t, tickets)
	require.Positive(t, tasks)
	require.LessOrEqual(t, zCalls, len(tickets), "at most 1 Zendesk call per ticket per cycle")
	require.LessOrEqual(t, sCalls, (tasks+writeback.BatchSize-1)/writeback.BatchSize, "at most 1 Salesforce call per 200 Tasks")
	t.Logf("zendesk: %d write calls for %d findings on %d tickets (%.2f calls/ticket, %.2f calls/finding)",
		zCalls, ticketFindings, len(tickets), float64(zCalls)/float64(len(tickets)), float64(zCalls)/float64(ticketFindings))
	t.Logf("salesforce: %d write calls for %d tasks (%.3f calls/task; limit 1/200 = 0.005)", sCalls, tasks, float64(sCalls)/float64(tasks))
}
