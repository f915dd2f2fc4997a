package syncer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/syncer"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// TestCommentFetchCost measures the API calls that get the comments of the
// changed tickets two ways, for a backfill and for an incremental pass
// after 1% of the tickets got a comment: the comments endpoint of each
// changed ticket (what the sync does), and the ticket event export with
// comment_events from the same start (pages of 1000 events). It reports
// calls per changed ticket and checks that each way sees every comment.
func TestCommentFetchCost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := simworld.Generate(simworld.Options{Seed: 31, Accounts: 40, Tickets: 3000})
	sim := zendesktest.New(zendesktest.Options{World: w, PageSize: 1000, RateLimit: 100000})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	st := storetest.NewPostgres(t)
	zc := zendeskClient(t, srv.URL, quickRetries)
	start := time.Now().AddDate(-5, 0, 0)
	z := &syncer.Zendesk{Client: zc, Store: st, Start: start}

	// eventPages walks the event export from since and returns its pages
	// and the comments it saw, by ticket (pages overlap at the second they
	// meet: a comment may come twice).
	eventPages := func(since time.Time) (int, map[int64]int) {
		pages, comments, ids := 0, map[int64]int{}, map[int64]bool{}
		url := srv.URL + "/api/v2/incremental/ticket_events.json?include=comment_events&start_time=" + strconv.FormatInt(since.Unix(), 10)
		for {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			require.NoError(t, err)
			req.SetBasicAuth(zendesktest.DefaultEmail+"/token", zendesktest.DefaultAPIToken)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			var page struct {
				TicketEvents []struct {
					TicketID    int64 `json:"ticket_id"`
					ChildEvents []struct {
						ID        int64  `json:"id"`
						EventType string `json:"event_type"`
					} `json:"child_events"`
				} `json:"ticket_events"`
				NextPage    string `json:"next_page"`
				EndOfStream bool   `json:"end_of_stream"`
			}
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
			resp.Body.Close()
			pages++
			for _, e := range page.TicketEvents {
				for _, c := range e.ChildEvents {
					if c.EventType == "Comment" && !ids[c.ID] {
						ids[c.ID] = true
						comments[e.TicketID]++
					}
				}
			}
			if page.EndOfStream {
				return pages, comments
			}
			url = page.NextPage
		}
	}
	commentCalls := func() int { return sim.Stats().ByEndpoint[zendesktest.EndpointTicketComments] }

	// Backfill.
	stats, err := z.Sync(ctx)
	require.NoError(t, err)
	changed := stats.Records[syncer.ObjectTickets]
	require.Positive(t, changed)
	perTicket := commentCalls()
	pages, seen := eventPages(start)
	for _, wt := range w.Tickets {
		if tk, ok := sim.Ticket(wt.ID); ok {
			require.Equal(t, len(tk.Comments), seen[wt.ID], "ticket %d: the event export has every comment", wt.ID)
		}
	}
	t.Logf("backfill of %d tickets: comments endpoint %d calls (%.3f per ticket), event export %d pages (%.4f per ticket)",
		changed, perTicket, float64(perTicket)/float64(changed), pages, float64(pages)/float64(changed))

	// Incremental: 1% of the tickets get a comment.
	since := time.Now().Add(-time.Second)
	want := map[int64]bool{}
	for i := 0; len(want) < len(w.Tickets)/100; i += 100 {
		id := w.Tickets[i].ID
		if tk, ok := sim.Ticket(id); ok && tk.Status != cxaudit.StatusDeleted {
			sim.AddComment(id, cxaudit.Comment{AuthorID: tk.RequesterID, Public: true, Body: "any news?"})
			want[id] = true
		}
	}
	before := commentCalls()
	stats, err = z.Sync(ctx)
	require.NoError(t, err)
	changed = stats.Records[syncer.ObjectTickets]
	require.GreaterOrEqual(t, changed, len(want))
	perTicket = commentCalls() - before
	pages, seen = eventPages(since)
	for id := range want {
		require.Positive(t, seen[id], "ticket %d: its new comment is in the event export", id)
	}
	t.Logf("incremental, %d tickets changed: comments endpoint %d calls (%.3f per ticket), event export %d pages (%.4f per ticket)",
		changed, perTicket, float64(perTicket)/float64(changed), pages, float64(pages)/float64(changed))
}
