package syncer_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/syncer"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// TestZendeskSyncUnderFaults syncs with each fault knob of the simulator
// on, retrying the sync as a job would until it completes, and compares
// the store with the simulator: every ticket in its latest state, none
// missing, none extra.
func TestZendeskSyncUnderFaults(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]zendesktest.Faults{
		"429 storms":                {StormEvery: 8, StormLength: 2},
		"truncated bodies":          {MalformedRate: 0.3, Seed: 5},
		"records repeated":          {RepeatRecords: true},
		"changes during backfill":   {ChangeEvery: 2, Seed: 9},
		"all at once, with 5xx too": {MalformedRate: 0.2, ErrorRate: 0.1, RepeatRecords: true, ChangeEvery: 3, Seed: 13},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := simworld.Generate(simworld.Options{Seed: 21, Accounts: 10, Tickets: 300})
			sim := zendesktest.New(zendesktest.Options{World: w, PageSize: 20, RateLimit: 1 << 20})
			sim.SetFaults(f)
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			st := storetest.NewPostgres(t)
			zc := zendeskClient(t, srv.URL, quickRetries)
			z := &syncer.Zendesk{Client: zc, Store: st, Start: time.Now().AddDate(-3, 0, 0), SkipComments: true}

			done := false
			for attempt := 0; attempt < 200 && !done; attempt++ {
				_, err := z.Sync(ctx)
				if err == nil {
					done = true
					break
				}
				code := cxaudit.ErrorCode(err)
				require.Contains(t, []string{cxaudit.EUNAVAILABLE, cxaudit.ERATELIMITED}, code, "only transient failures: %v", err)
			}
			require.True(t, done, "the sync completes")
			if f.StormEvery > 0 {
				require.Positive(t, sim.Stats().RateLimited, "the storms happened")
			}
			sim.SetFaults(zendesktest.Faults{}) // the world stops changing; one more pass picks up the last changes
			_, err := z.Sync(ctx)
			require.NoError(t, err)

			assertStoreMatches(t, st, sim, w)
		})
	}
}

func assertStoreMatches(t *testing.T, st store.Store, sim *zendesktest.Sim, w *simworld.World) {
	t.Helper()
	ctx := context.Background()
	want := 0
	for _, wt := range w.Tickets {
		simT, ok := sim.Ticket(wt.ID)
		got, err := st.Ticket(ctx, wt.ID)
		if !ok {
			continue
		}
		want++
		require.NoError(t, err, "ticket %d is in the store", wt.ID)
		require.Equal(t, simT.Subject, got.Subject, "ticket %d", wt.ID)
		require.True(t, simT.UpdatedAt.Equal(got.UpdatedAt), "ticket %d: updated_at %v, simulator %v", wt.ID, got.UpdatedAt, simT.UpdatedAt)
		require.Equal(t, simT.Status, got.Status, "ticket %d", wt.ID)
	}
	n, err := st.CountTickets(ctx)
	require.NoError(t, err)
	require.Equal(t, want, n, "no ticket stored twice or out of nowhere")
}

// TestMalformedPageNeverAdvancesTheCursor cuts every body short: the sync
// fails, nothing is stored and no cursor moves; once the bodies are whole,
// the sync completes from where it was.
func TestMalformedPageNeverAdvancesTheCursor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := simworld.Generate(simworld.Options{Seed: 22, Accounts: 5, Tickets: 100})
	sim := zendesktest.New(zendesktest.Options{World: w, PageSize: 10})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	st := storetest.NewPostgres(t)
	zc := zendeskClient(t, srv.URL, quickRetries)
	z := &syncer.Zendesk{Client: zc, Store: st, Start: time.Now().AddDate(-3, 0, 0), SkipComments: true}

	// A good first pass, then a change, then only malformed pages.
	_, err := z.Sync(ctx)
	require.NoError(t, err)
	before := map[string]store.Cursor{}
	for _, o := range []string{syncer.ObjectUsers, syncer.ObjectOrganizations, syncer.ObjectTickets, syncer.ObjectTicketDeletions} {
		before[o], err = st.GetCursor(ctx, cxaudit.SourceZendesk, o)
		require.NoError(t, err)
	}
	sim.UpdateTicket(w.Tickets[0].ID, func(tk *cxaudit.Ticket) { tk.Subject = "changed" })
	sim.SetFaults(zendesktest.Faults{MalformedRate: 1})
	for range 3 {
		_, err = z.Sync(ctx)
		require.Error(t, err)
		require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err), "a malformed page is an error, never skipped: %v", err)
	}
	for o, c := range before {
		got, err := st.GetCursor(ctx, cxaudit.SourceZendesk, o)
		require.NoError(t, err)
		require.Equal(t, c.Value, got.Value, "cursor %s did not move", o)
	}
	sim.SetFaults(zendesktest.Faults{})
	_, err = z.Sync(ctx)
	require.NoError(t, err)
	assertStoreMatches(t, st, sim, w)
}
