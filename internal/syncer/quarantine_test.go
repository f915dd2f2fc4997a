package syncer_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/syncer"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// quarantined returns the quarantine as source/object/id → reason.
func quarantined(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	list, err := st.ListQuarantine(context.Background(), 100)
	require.NoError(t, err)
	out := map[string]string{}
	for _, q := range list {
		require.NotEmpty(t, q.Raw, "the record is kept as it came")
		out[string(q.Source)+"/"+q.Object+"/"+q.ID] = q.Reason
	}
	return out
}

// TestZendeskPoisonRecordsAreQuarantined sends one ticket, one
// organization and one user with a malformed timestamp, and one ticket
// whose comments answer 404, on both stores: the sync completes, every
// other record is stored, the four are in quarantine with their reasons,
// and the cursors are past them. Once Zendesk sends them whole (their
// next change), they are stored and leave the quarantine.
func TestZendeskPoisonRecordsAreQuarantined(t *testing.T) {
	t.Parallel()
	for dbName, newStore := range storetest.Stores {
		t.Run(dbName, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := newStore(t)
			w := simworld.Generate(simworld.Options{Seed: 41, Accounts: 5, Tickets: 60})
			sim := zendesktest.New(zendesktest.Options{World: w, PageSize: 10})
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			zc := zendeskClient(t, srv.URL, quickRetries)
			z := &syncer.Zendesk{Client: zc, Store: st, Start: time.Now().AddDate(-3, 0, 0)}

			bad, gone := w.Tickets[3].ID, w.Tickets[7].ID
			org, user := w.Organizations[1].ID, w.Users[len(w.Users)-1].ID
			sim.SetFaults(zendesktest.Faults{PoisonTickets: []int64{bad}, CommentsNotFound: []int64{gone},
				PoisonOrganizations: []int64{org}, PoisonUsers: []int64{user}})
			_, err := z.Sync(ctx)
			require.NoError(t, err, "one poison record does not stop the source")

			q := quarantined(t, st)
			require.Contains(t, q["zendesk/tickets/"+strconv.FormatInt(bad, 10)], "not a time")
			require.Contains(t, q["zendesk/tickets/"+strconv.FormatInt(gone, 10)], "comments")
			require.Contains(t, q["zendesk/users/"+strconv.FormatInt(user, 10)], "not a time")
			orgKey := "zendesk/organizations/" + strconv.FormatInt(org, 10)
			if _, err := st.Organization(ctx, org); err == nil {
				require.NotContains(t, q, orgKey, "an organization a ticket names is read whole by id, and leaves the quarantine")
			} else {
				require.Contains(t, q[orgKey], "not a time")
			}
			for _, wt := range w.Tickets {
				_, err := st.Ticket(ctx, wt.ID)
				if wt.ID == bad || wt.ID == gone {
					require.Error(t, err, "ticket %d is not stored from a page that could not read it", wt.ID)
					continue
				}
				require.NoError(t, err, "ticket %d is stored although others of its page were poison", wt.ID)
			}
			cur, err := st.GetCursor(ctx, cxaudit.SourceZendesk, syncer.ObjectTickets)
			require.NoError(t, err)
			require.False(t, cur.CompletedAt.IsZero(), "the export got to its end")

			// Whole again, and changed: read and stored; the quarantine empties.
			sim.SetFaults(zendesktest.Faults{})
			for _, id := range []int64{bad, gone} {
				sim.UpdateTicket(id, func(tk *cxaudit.Ticket) { tk.Subject += " (fixed)" })
			}
			_, err = z.Sync(ctx)
			require.NoError(t, err)
			for _, id := range []int64{bad, gone} {
				got, err := st.Ticket(ctx, id)
				require.NoError(t, err)
				require.Contains(t, got.Subject, "(fixed)")
			}
			q = quarantined(t, st)
			require.NotContains(t, q, "zendesk/tickets/"+strconv.FormatInt(bad, 10))
			require.NotContains(t, q, "zendesk/tickets/"+strconv.FormatInt(gone, 10))
			counts, err := st.CountQuarantine(ctx)
			require.NoError(t, err)
			require.Zero(t, counts[store.QuarantineKey{Source: cxaudit.SourceZendesk, Object: syncer.ObjectTickets}])
		})
	}
}

// TestSalesforcePoisonRecordsAreQuarantined sends one Account with a
// SystemModstamp of the wrong type, on both stores: the pass completes,
// every other Account is stored, the one is in quarantine, and once the
// org sends it whole (its next change) it is stored and leaves.
func TestSalesforcePoisonRecordsAreQuarantined(t *testing.T) {
	t.Parallel()
	for dbName, newStore := range storetest.Stores {
		t.Run(dbName, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := newStore(t)
			w := simworld.Generate(simworld.Options{Seed: 42, Accounts: 20})
			sim, s := newSalesforceSync(t, w, st)
			bad := w.Accounts[5].ID
			sim.SetFaults(salesforcetest.Faults{PoisonRecords: []string{bad}})
			_, err := s.Sync(ctx)
			require.NoError(t, err, "one poison record does not stop the source")
			q := quarantined(t, st)
			require.Contains(t, q["salesforce/Account/"+bad], "SystemModstamp")
			for _, a := range w.Accounts {
				_, err := st.Account(ctx, a.ID)
				if a.ID == bad {
					require.Error(t, err)
					continue
				}
				require.NoError(t, err, "account %s", a.ID)
			}

			sim.SetFaults(salesforcetest.Faults{})
			sim.UpdateAccount(bad, func(a *cxaudit.Account) { a.Name += " (fixed)" })
			_, err = s.Sync(ctx)
			require.NoError(t, err)
			got, err := st.Account(ctx, bad)
			require.NoError(t, err)
			require.Contains(t, got.Name, "(fixed)")
			require.Empty(t, quarantined(t, st))
		})
	}
}
