package syncer_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/ratelimit"
	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/syncer"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// commentsSync is a Zendesk sync of w into st through a simulator with opts.
func commentsSync(t *testing.T, w *simworld.World, st store.Store, opts zendesktest.Options) (*zendesktest.Sim, *syncer.Zendesk) {
	t.Helper()
	opts.World = w
	opts.PageSize = 25
	opts.RateLimit = 1 << 20
	sim := zendesktest.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	zc := zendeskClient(t, srv.URL, remote.Options{RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	return sim, &syncer.Zendesk{Client: zc, Store: st, Start: time.Now().AddDate(-3, 0, 0)}
}

// TestCommentsOnlyWhereRulesNeedThem syncs with the default rules'
// CommentsFunc on both stores: only the tickets a rule can fire on (open,
// new, pending, on hold) cost a comments call and have their comments
// stored; solved and closed ones keep none. A solved ticket that reopens
// comes again in the export and gets its comments then; an open ticket
// that is solved keeps the comments it had.
func TestCommentsOnlyWhereRulesNeedThem(t *testing.T) {
	t.Parallel()
	set, err := rules.LoadDir("../../rules")
	require.NoError(t, err)
	for dbName, newStore := range storetest.Stores {
		t.Run(dbName, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := newStore(t)
			w := simworld.Generate(simworld.Options{Seed: 51, Accounts: 8, Tickets: 200})
			sim, z := commentsSync(t, w, st, zendesktest.Options{})
			z.CommentsFunc = set.NeedsComments
			_, err := z.Sync(ctx)
			require.NoError(t, err)

			var open, closed []int64
			for _, wt := range w.Tickets {
				tk, ok := sim.Ticket(wt.ID)
				if !ok || tk.Status == cxaudit.StatusDeleted {
					continue
				}
				got, err := st.Ticket(ctx, wt.ID)
				require.NoError(t, err)
				if tk.Open() {
					open = append(open, wt.ID)
					require.Len(t, got.Comments, len(tk.Comments), "open ticket %d has its comments", wt.ID)
				} else {
					closed = append(closed, wt.ID)
					require.Empty(t, got.Comments, "%s ticket %d: no comments fetched", tk.Status, wt.ID)
				}
			}
			require.NotEmpty(t, open)
			require.NotEmpty(t, closed)
			require.Equal(t, len(open), sim.Stats().ByEndpoint[zendesktest.EndpointTicketComments], "one comments call per open ticket, none for the others")

			// A solved ticket reopens; an open one is solved.
			reopened, solved := closed[0], open[0]
			for _, id := range closed {
				if tk, _ := sim.Ticket(id); tk.Status == cxaudit.StatusSolved {
					reopened = id
					break
				}
			}
			had, _ := sim.Ticket(solved)
			sim.UpdateTicket(reopened, func(tk *cxaudit.Ticket) { tk.Status = cxaudit.StatusOpen })
			sim.UpdateTicket(solved, func(tk *cxaudit.Ticket) { tk.Status = cxaudit.StatusSolved })
			before := sim.Stats().ByEndpoint[zendesktest.EndpointTicketComments]
			_, err = z.Sync(ctx)
			require.NoError(t, err)
			require.Equal(t, before+1, sim.Stats().ByEndpoint[zendesktest.EndpointTicketComments], "only the reopened ticket's comments are fetched")
			want, _ := sim.Ticket(reopened)
			got, err := st.Ticket(ctx, reopened)
			require.NoError(t, err)
			require.Equal(t, cxaudit.StatusOpen, got.Status)
			require.NotEmpty(t, want.Comments)
			require.Len(t, got.Comments, len(want.Comments), "the reopened ticket has its comments")
			got, err = st.Ticket(ctx, solved)
			require.NoError(t, err)
			require.Equal(t, cxaudit.StatusSolved, got.Status)
			require.Len(t, got.Comments, len(had.Comments), "the solved ticket keeps the comments stored")
		})
	}
}

// storedComments returns every stored ticket's comment IDs.
func storedComments(t *testing.T, st store.Store, w *simworld.World) map[int64][]int64 {
	t.Helper()
	out := map[int64][]int64{}
	for _, wt := range w.Tickets {
		got, err := st.Ticket(context.Background(), wt.ID)
		if err != nil {
			continue
		}
		ids := []int64{}
		for _, c := range got.Comments {
			ids = append(ids, c.ID)
		}
		out[wt.ID] = ids
	}
	return out
}

// TestCommentsFetchedConcurrently syncs the same tenant, with latency, one
// comments fetch at a time and 16 at a time (their answers coming back in
// any order): the stores hold the same comments in the same order, and the
// simulator saw the fetches overlap (never more than the concurrency asked
// for), which is what takes latency out of the pace (measured in
// BenchmarkBackfillRealistic, not timed here).
func TestCommentsFetchedConcurrently(t *testing.T) {
	t.Parallel()
	w := simworld.Generate(simworld.Options{Seed: 52, Accounts: 6, Tickets: 120})
	ctx := context.Background()
	var results []map[int64][]int64
	var inFlight []int
	for _, n := range []int{1, 16} {
		st := storetest.Stores["postgres"](t)
		sim, z := commentsSync(t, w, st, zendesktest.Options{})
		sim.SetFaults(zendesktest.Faults{Latency: 20 * time.Millisecond})
		z.CommentConcurrency = n
		_, err := z.Sync(ctx)
		require.NoError(t, err)
		inFlight = append(inFlight, sim.Stats().MaxInFlight)
		results = append(results, storedComments(t, st, w))
	}
	require.Len(t, results[0], len(w.Tickets))
	require.Equal(t, results[0], results[1], "the same comments, in the same order, whatever the concurrency")
	require.LessOrEqual(t, inFlight[0], 2, "one comments fetch at a time (beside the export read ahead)")
	require.Greater(t, inFlight[1], 4, "fetches overlap at 16")
	require.LessOrEqual(t, inFlight[1], 16+2, "never more than asked for")
}

// TestCommentsTransientFailureFailsThePage: one ticket's comments answer
// 503 whatever the retries while the others of its page succeed; the sync
// fails with a transient error, nothing of that page is stored and the
// cursor stays before it, and the next sync stores it whole.
func TestCommentsTransientFailureFailsThePage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Stores["postgres"](t)
	w := simworld.Generate(simworld.Options{Seed: 53, Accounts: 4, Tickets: 60})
	sim, z := commentsSync(t, w, st, zendesktest.Options{})
	flaky := w.Tickets[30].ID
	sim.SetFaults(zendesktest.Faults{CommentsUnavailable: []int64{flaky}})
	_, err := z.Sync(ctx)
	require.Error(t, err)
	require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err), "%v", err)
	require.Contains(t, err.Error(), "ticket "+strconv.FormatInt(flaky, 10))
	_, err = st.Ticket(ctx, flaky)
	require.Error(t, err, "the failed page is not stored")
	cur, err := st.GetCursor(ctx, cxaudit.SourceZendesk, syncer.ObjectTickets)
	require.NoError(t, err)
	require.True(t, cur.CompletedAt.IsZero())
	require.Empty(t, quarantined(t, st), "a transient failure quarantines nothing")

	sim.SetFaults(zendesktest.Faults{})
	_, err = z.Sync(ctx)
	require.NoError(t, err)
	tk, _ := sim.Ticket(flaky)
	got, err := st.Ticket(ctx, flaky)
	require.NoError(t, err)
	require.Len(t, got.Comments, len(tk.Comments))
}

// TestCommentsOfATicketDeletedMeanwhile: a ticket deleted between the
// export and its comments fetch (the simulator deletes it when its comments
// are requested) is stored as deleted, not quarantined, on both stores,
// while a ticket whose comments answer 404 although it is there is still
// quarantined.
func TestCommentsOfATicketDeletedMeanwhile(t *testing.T) {
	t.Parallel()
	for dbName, newStore := range storetest.Stores {
		t.Run(dbName, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := newStore(t)
			w := simworld.Generate(simworld.Options{Seed: 54, Accounts: 4, Tickets: 60})
			sim, z := commentsSync(t, w, st, zendesktest.Options{})
			gone, refused := w.Tickets[10].ID, w.Tickets[20].ID
			sim.SetFaults(zendesktest.Faults{DeleteOnComments: []int64{gone}, CommentsNotFound: []int64{refused}})
			rejected := map[string]bool{}
			z.RejectFunc = func(_ cxaudit.Source, rs []cxaudit.Rejected) {
				for _, r := range rs {
					rejected[r.ID] = true
				}
			}
			// Look when the ticket export is done: the deleted-tickets
			// stream that follows removes the ticket from the store.
			checked := false
			z.ProgressFunc = func(p syncer.Progress) {
				if p.Object == syncer.ObjectTickets && p.Done && !checked {
					checked = true
					got, err := st.Ticket(ctx, gone)
					require.NoError(t, err, "the deleted ticket is stored")
					require.Equal(t, cxaudit.StatusDeleted, got.Status)
					require.Empty(t, got.Comments)
				}
			}
			_, err := z.Sync(ctx)
			require.NoError(t, err)
			require.True(t, checked)
			require.Equal(t, map[string]bool{strconv.FormatInt(refused, 10): true}, rejected, "only the ticket that is there is quarantined")
			_, err = st.Ticket(ctx, gone)
			require.Error(t, err, "the deleted-tickets stream removed it")
			q := quarantined(t, st)
			require.NotContains(t, q, "zendesk/tickets/"+strconv.FormatInt(gone, 10))
			require.Contains(t, q["zendesk/tickets/"+strconv.FormatInt(refused, 10)], "comments")
			_, err = st.Ticket(ctx, refused)
			require.Error(t, err)
			require.Equal(t, 2, sim.Stats().ByEndpoint[zendesktest.EndpointShowTicket], "Show Ticket asked for the two 404s")
		})
	}
}

// TestCommentEventsMatchPerTicket syncs one tenant twice on both stores,
// comments one ticket at a time and from the ticket-event export: the
// stores hold the same comments, in the same order, with no per-ticket
// call. The tickets the ticket pages stored are held out of the audit
// until their comments are in. A comment added afterwards comes with the
// next sync, once.
func TestCommentEventsMatchPerTicket(t *testing.T) {
	t.Parallel()
	for dbName, newStore := range storetest.Stores {
		t.Run(dbName, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := simworld.Generate(simworld.Options{Seed: 55, Accounts: 6, Tickets: 150})
			perTicket, events := newStore(t), newStore(t)
			_, z := commentsSync(t, w, perTicket, zendesktest.Options{})
			_, err := z.Sync(ctx)
			require.NoError(t, err)

			sim, z := commentsSync(t, w, events, zendesktest.Options{})
			z.CommentEvents = true
			held := false
			z.ProgressFunc = func(p syncer.Progress) {
				if p.Object == syncer.ObjectTickets && p.Done && !held {
					held = true
					batch, err := events.NextAuditBatch(ctx, 1000)
					require.NoError(t, err)
					for _, e := range batch {
						require.NotEqual(t, cxaudit.EntityTicket, e.Key.Kind, "ticket %s is audited before its comments are read", e.Key.ID)
					}
				}
			}
			stats, err := z.Sync(ctx)
			require.NoError(t, err)
			require.True(t, held)
			require.Zero(t, sim.Stats().ByEndpoint[zendesktest.EndpointTicketComments], "no per-ticket call")
			require.Positive(t, sim.Stats().ByEndpoint[zendesktest.EndpointExportTicketEvents])
			require.Positive(t, stats.Records[syncer.ObjectTicketComments])
			require.Equal(t, storedComments(t, perTicket, w), storedComments(t, events, w), "the same comments either way")
			require.Equal(t, len(w.Tickets), auditable(t, events, cxaudit.EntityTicket), "every ticket is released for the audit")

			// A new comment comes with the next sync, once.
			id := w.Tickets[0].ID
			sim.AddComment(id, cxaudit.Comment{AuthorID: w.Tickets[0].RequesterID, Public: true, Body: "any news?"})
			before, err := events.Ticket(ctx, id)
			require.NoError(t, err)
			// The event export serves whole seconds: let the second pass.
			time.Sleep(1100 * time.Millisecond)
			_, err = z.Sync(ctx)
			require.NoError(t, err)
			_, err = z.Sync(ctx)
			require.NoError(t, err)
			got, err := events.Ticket(ctx, id)
			require.NoError(t, err)
			require.Len(t, got.Comments, len(before.Comments)+1)
			require.Equal(t, "any news?", got.Comments[len(got.Comments)-1].Body)
		})
	}
}

// TestConcurrentCommentsKeepTheBudget: 16 comment fetches at once through
// a budget of 50 requests per half second, against a simulator enforcing
// the same limit: the budget paces them, so no request is refused (429)
// and the sync takes at least as long as the limit allows.
func TestConcurrentCommentsKeepTheBudget(t *testing.T) {
	t.Parallel()
	const limit, window = 50, 500 * time.Millisecond
	ctx := context.Background()
	w := simworld.Generate(simworld.Options{Seed: 56, Accounts: 4, Tickets: 200})
	sim := zendesktest.New(zendesktest.Options{World: w, PageSize: 100, RateLimit: limit, Minute: window})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	budget := ratelimit.New(ratelimit.Config{System: cxaudit.SourceZendesk, PerMinute: limit, Window: window})
	zc := zendeskClient(t, srv.URL, remote.Options{Budget: budget, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	z := &syncer.Zendesk{Client: zc, Store: storetest.Stores["postgres"](t), Start: time.Now().AddDate(-3, 0, 0), CommentConcurrency: 16}
	start := time.Now()
	_, err := z.Sync(ctx)
	require.NoError(t, err)
	took := time.Since(start)
	s := sim.Stats()
	require.GreaterOrEqual(t, s.ByEndpoint[zendesktest.EndpointTicketComments], len(w.Tickets)/2)
	require.Zero(t, s.RateLimited, "the budget keeps concurrent fetches under the limit")
	windows := s.Requests/limit - 1
	require.GreaterOrEqual(t, took, time.Duration(windows)*window, "%d requests in %v", s.Requests, took)
}
