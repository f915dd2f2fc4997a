package zendesktest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

const (
	email = "bot@acme.example.com"
	token = "s3cret-token"
)

var worldNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock for the simulator.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type testBundle struct {
	sim   *zendesktest.Sim
	srv   *httptest.Server
	world *simworld.World
	clock *clock
}

func setup(t *testing.T, opts zendesktest.Options) *testBundle {
	t.Helper()
	world := simworld.Generate(simworld.Options{Seed: 7, Accounts: 15, Tickets: 60, Now: worldNow})
	clk := &clock{now: worldNow}
	opts.World, opts.Email, opts.APIToken, opts.Now = world, email, token, clk.Now
	sim, srv := zendesktest.NewServer(opts)
	t.Cleanup(srv.Close)
	return &testBundle{sim: sim, srv: srv, world: world, clock: clk}
}

func (b *testBundle) do(t *testing.T, method, path string, body any) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			r = bytes.NewBufferString(s)
		} else {
			buf, err := json.Marshal(body)
			require.NoError(t, err)
			r = bytes.NewReader(buf)
		}
	}
	req, err := http.NewRequest(method, b.srv.URL+path, r)
	require.NoError(t, err)
	req.SetBasicAuth(email+"/token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, data
}

func (b *testBundle) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, data := b.do(t, http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(data))
	require.NoError(t, json.Unmarshal(data, v))
}

type ticketPage struct {
	Tickets []struct {
		ID        int64     `json:"id"`
		Status    string    `json:"status"`
		Tags      []string  `json:"tags"`
		UpdatedAt time.Time `json:"updated_at"`
	} `json:"tickets"`
	MetricSets []struct {
		TicketID           int64 `json:"ticket_id"`
		ReplyTimeInMinutes struct {
			Calendar *int64 `json:"calendar"`
		} `json:"reply_time_in_minutes"`
	} `json:"metric_sets"`
	AfterURL    string  `json:"after_url"`
	AfterCursor string  `json:"after_cursor"`
	BeforeURL   *string `json:"before_url"`
	EndOfStream bool    `json:"end_of_stream"`
}

// walkTickets follows the cursor export from path to the end of the
// stream and returns every ticket id in order and the last cursor.
func walkTickets(t *testing.T, b *testBundle, path string) ([]int64, string) {
	t.Helper()
	var ids []int64
	var last time.Time
	for range 1000 {
		var page ticketPage
		b.getJSON(t, path, &page)
		require.NotEmpty(t, page.AfterCursor)
		require.Len(t, page.MetricSets, len(page.Tickets))
		for i, tk := range page.Tickets {
			require.False(t, tk.UpdatedAt.Before(last), "export is ordered by updated_at")
			last = tk.UpdatedAt
			ids = append(ids, tk.ID)
			require.Equal(t, tk.ID, page.MetricSets[i].TicketID)
		}
		if page.EndOfStream {
			return ids, page.AfterCursor
		}
		u, err := url.Parse(page.AfterURL)
		require.NoError(t, err)
		path = u.RequestURI()
	}
	t.Fatal("export never reached end_of_stream")
	return nil, ""
}

func TestExportTicketsWalksEveryTicketOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{PageSize: 7})

	ids, cursor := walkTickets(t, b, "/api/v2/incremental/tickets/cursor.json?start_time=0&include=metric_sets")
	want := make([]int64, 0, len(b.world.Tickets))
	for _, tk := range b.world.Tickets {
		want = append(want, tk.ID)
	}
	require.ElementsMatch(t, want, ids)
	require.Equal(t, len(ids), len(b.world.Tickets), "no ticket twice")

	// Nothing changed: the cursor yields an empty page at the end.
	var page ticketPage
	b.getJSON(t, "/api/v2/incremental/tickets/cursor.json?include=metric_sets&cursor="+cursor, &page)
	require.Empty(t, page.Tickets)
	require.True(t, page.EndOfStream)
	require.Equal(t, cursor, page.AfterCursor)

	// An agent edit, even within the same second, brings the ticket back.
	b.sim.UpdateTicket(3, func(tk *cxaudit.Ticket) { tk.Priority = cxaudit.PriorityUrgent })
	b.sim.AddComment(5, cxaudit.Comment{AuthorID: 1001, Public: true, Body: "Looking into it"})
	ids, _ = walkTickets(t, b, "/api/v2/incremental/tickets/cursor.json?include=metric_sets&cursor="+cursor)
	require.Equal(t, []int64{3, 5}, ids)
}

func TestExportTicketsStartTimeAndPerPage(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})

	cut := worldNow.Add(-10 * 24 * time.Hour)
	var want []int64
	for _, tk := range b.world.Tickets {
		if !tk.UpdatedAt.Before(cut) {
			want = append(want, tk.ID)
		}
	}
	ids, _ := walkTickets(t, b, fmt.Sprintf("/api/v2/incremental/tickets/cursor.json?include=metric_sets&per_page=5&start_time=%d", cut.Unix()))
	require.ElementsMatch(t, want, ids)

	var page ticketPage
	b.getJSON(t, "/api/v2/incremental/tickets/cursor.json?start_time=0", &page)
	require.Len(t, page.Tickets, len(b.world.Tickets), "default page size is 1000")
	require.Empty(t, page.MetricSets, "metric_sets only when included")
	require.Nil(t, page.BeforeURL)

	resp, _ := b.do(t, http.MethodGet, "/api/v2/incremental/tickets/cursor.json?cursor=%%%", nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestExportTicketsReportsDeletedTickets(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})

	var page ticketPage
	b.getJSON(t, "/api/v2/incremental/tickets/cursor.json?start_time=0", &page)
	b.sim.DeleteTicket(9)
	_, ok := b.sim.Ticket(9)
	require.False(t, ok)

	var next ticketPage
	b.getJSON(t, "/api/v2/incremental/tickets/cursor.json?cursor="+page.AfterCursor, &next)
	require.Len(t, next.Tickets, 1)
	require.Equal(t, int64(9), next.Tickets[0].ID)
	require.Equal(t, cxaudit.StatusDeleted, next.Tickets[0].Status)

	resp, _ := b.do(t, http.MethodGet, "/api/v2/tickets/9.json", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{RateLimit: 3})

	for i := range 3 {
		resp, _ := b.do(t, http.MethodGet, "/api/v2/users/me.json", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "3", resp.Header.Get("X-Rate-Limit"))
		require.Equal(t, strconv.Itoa(2-i), resp.Header.Get("X-Rate-Limit-Remaining"))
	}
	b.clock.Advance(20 * time.Second)
	resp, body := b.do(t, http.MethodGet, "/api/v2/users/me.json", nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "40", resp.Header.Get("Retry-After"))
	require.Equal(t, "0", resp.Header.Get("X-Rate-Limit-Remaining"))
	require.Contains(t, string(body), "TooManyRequests")
	require.Equal(t, 1, b.sim.Stats().RateLimited)

	b.clock.Advance(40 * time.Second)
	resp, _ = b.do(t, http.MethodGet, "/api/v2/users/me.json", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "a new window")
}

// TestExportRateLimit: the incremental exports take ExportRateLimit
// requests a minute, on top of the account's limit; other endpoints are
// not counted against it.
func TestExportRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{RateLimit: 100, ExportRateLimit: 2})
	for range 2 {
		resp, _ := b.do(t, http.MethodGet, "/api/v2/incremental/ticket_events.json?start_time=0", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	resp, _ := b.do(t, http.MethodGet, "/api/v2/users/me.json", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "other endpoints are not held by the export limit")
	b.clock.Advance(15 * time.Second)
	resp, body := b.do(t, http.MethodGet, "/api/v2/incremental/organizations.json?start_time=0", nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "%s", body)
	require.Equal(t, "45", resp.Header.Get("Retry-After"))
	require.Equal(t, 1, b.sim.Stats().ExportsRateLimited)
	b.clock.Advance(45 * time.Second)
	resp, _ = b.do(t, http.MethodGet, "/api/v2/incremental/ticket_events.json?start_time=0", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "a new window")
}

func TestUpdateTicketAddsPrivateNoteAndTags(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})

	before, ok := b.sim.Ticket(1)
	require.True(t, ok)
	require.NotEmpty(t, before.Tags)
	b.clock.Advance(time.Hour)

	resp, data := b.do(t, http.MethodPut, "/api/v2/tickets/1.json", map[string]any{"ticket": map[string]any{
		"comment":       map[string]any{"html_body": "<p>cxaudit: 2 findings</p><ul><li>P1 without sev tag</li></ul>", "public": false},
		"tags":          append(slices.Clone(before.Tags), "cxaudit_sev_missing", before.Tags[0]),
		"safe_update":   true,
		"updated_stamp": before.UpdatedAt.Format(time.RFC3339),
	}})
	require.Equal(t, http.StatusOK, resp.StatusCode, string(data))

	var out struct {
		Ticket struct {
			ID        int64     `json:"id"`
			Tags      []string  `json:"tags"`
			UpdatedAt time.Time `json:"updated_at"`
		} `json:"ticket"`
		Audit struct {
			AuthorID int64 `json:"author_id"`
			Events   []struct {
				Type   string `json:"type"`
				Public *bool  `json:"public"`
			} `json:"events"`
		} `json:"audit"`
	}
	require.NoError(t, json.Unmarshal(data, &out))
	require.Equal(t, append(before.Tags, "cxaudit_sev_missing"), out.Ticket.Tags, "the list sent, once each")
	require.Equal(t, worldNow.Add(time.Hour), out.Ticket.UpdatedAt)
	require.Equal(t, b.sim.APIUserID(), out.Audit.AuthorID)
	require.Equal(t, "Comment", out.Audit.Events[0].Type)
	require.False(t, *out.Audit.Events[0].Public)

	after, _ := b.sim.Ticket(1)
	require.Len(t, after.Comments, len(before.Comments)+1)
	note := after.Comments[len(after.Comments)-1]
	require.False(t, note.Public)
	require.Equal(t, b.sim.APIUserID(), note.AuthorID)
	require.Equal(t, "cxaudit: 2 findings\nP1 without sev tag", note.Body)
	require.Equal(t, worldNow.Add(time.Hour), after.UpdatedAt)

	// additional_tags and remove_tags work only with bulk updates
	// (update_many.json?ids=): a single-ticket update ignores them.
	resp, data = b.do(t, http.MethodPut, "/api/v2/tickets/1.json", `{"ticket":{"additional_tags":["x"],"remove_tags":["cxaudit_sev_missing"]}}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(data))
	after, _ = b.sim.Ticket(1)
	require.Equal(t, append(before.Tags, "cxaudit_sev_missing"), after.Tags, "ignored")
	// A plain tags field replaces every tag.
	resp, _ = b.do(t, http.MethodPut, "/api/v2/tickets/1.json", `{"ticket":{"tags":["only"]}}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	after, _ = b.sim.Ticket(1)
	require.Equal(t, []string{"only"}, after.Tags)

	st := b.sim.Stats()
	require.Equal(t, 3, st.TicketUpdates)
	require.Equal(t, 1, st.NotesAdded)
	require.Equal(t, 3, st.ByEndpoint[zendesktest.EndpointUpdateTicket])

	// The note is listed with the ticket's comments.
	var comments struct {
		Comments []struct {
			AuthorID int64  `json:"author_id"`
			Public   bool   `json:"public"`
			HTMLBody string `json:"html_body"`
		} `json:"comments"`
	}
	b.getJSON(t, "/api/v2/tickets/1/comments.json?page[size]=100", &comments)
	last := comments.Comments[len(comments.Comments)-1]
	require.Equal(t, b.sim.APIUserID(), last.AuthorID)
	require.Contains(t, last.HTMLBody, "<li>P1 without sev tag</li>")
}

func TestUpdateTicketSafeUpdateConflict(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})

	before, _ := b.sim.Ticket(2)
	b.clock.Advance(time.Minute)
	b.sim.UpdateTicket(2, func(tk *cxaudit.Ticket) { tk.Status = cxaudit.StatusPending })

	body := map[string]any{"ticket": map[string]any{
		"comment":       map[string]any{"body": "cxaudit: note", "public": false},
		"safe_update":   true,
		"updated_stamp": before.UpdatedAt.Format(time.RFC3339),
	}}
	resp, data := b.do(t, http.MethodPut, "/api/v2/tickets/2.json", body)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	require.JSONEq(t, `{"error":"UpdateConflict","description":"Safe Update prevented the update due to outdated ticket data. Please fetch the latest ticket data and try again."}`, string(data))
	after, _ := b.sim.Ticket(2)
	require.Len(t, after.Comments, len(before.Comments), "nothing applied")

	body["ticket"].(map[string]any)["updated_stamp"] = after.UpdatedAt.Format(time.RFC3339)
	resp, data = b.do(t, http.MethodPut, "/api/v2/tickets/2.json", body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(data))
}

func TestUpdateTicketRejectsBadRequests(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})

	resp, data := b.do(t, http.MethodPut, "/api/v2/tickets/1.json", `{"ticket":`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, string(data), `"error"`)

	resp, _ = b.do(t, http.MethodPut, "/api/v2/tickets/1.json", `{"ticket":{"comment":{"body":" "}}}`)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)

	resp, _ = b.do(t, http.MethodPut, "/api/v2/tickets/999999.json", `{"ticket":{"additional_tags":["x"]}}`)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Zero(t, b.sim.Stats().TicketUpdates)
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})

	for name, set := range map[string]func(*http.Request){
		"none":        func(*http.Request) {},
		"wrong token": func(r *http.Request) { r.SetBasicAuth(email+"/token", "nope") },
		"password":    func(r *http.Request) { r.SetBasicAuth(email, token) },
		"other user":  func(r *http.Request) { r.SetBasicAuth("eve@example.com/token", token) },
	} {
		req, err := http.NewRequest(http.MethodGet, b.srv.URL+"/api/v2/users/me.json", nil)
		require.NoError(t, err)
		set(req)
		resp, err := b.srv.Client().Do(req)
		require.NoError(t, err)
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
		require.JSONEq(t, `{"error":"Couldn't authenticate you"}`, string(data), name)
		require.NotEmpty(t, resp.Header.Get("X-Rate-Limit"), name)
	}

	var me struct {
		User struct {
			ID    int64  `json:"id"`
			Email string `json:"email"`
			Role  string `json:"role"`
		} `json:"user"`
	}
	b.getJSON(t, "/api/v2/users/me.json", &me)
	require.Equal(t, b.sim.APIUserID(), me.User.ID)
	require.Equal(t, email, me.User.Email)
	require.Equal(t, "admin", me.User.Role)
}

func TestUnknownRoute(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})

	resp, data := b.do(t, http.MethodGet, "/api/v2/nope.json", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "application/json")
	require.Contains(t, string(data), "InvalidEndpoint")
	resp, _ = b.do(t, http.MethodDelete, "/api/v2/tickets/1.json", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, 2, b.sim.Stats().ByEndpoint[zendesktest.EndpointUnknown])
}

func TestTicketCommentsCursorPagination(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})

	before, _ := b.sim.Ticket(4)
	for i := range 120 {
		b.sim.AddComment(4, cxaudit.Comment{AuthorID: before.RequesterID, Public: true, Body: fmt.Sprintf("ping %d", i)})
	}
	type page struct {
		Comments []struct {
			ID int64 `json:"id"`
		} `json:"comments"`
		Meta struct {
			HasMore     bool   `json:"has_more"`
			AfterCursor string `json:"after_cursor"`
		} `json:"meta"`
		Links struct {
			Next *string `json:"next"`
		} `json:"links"`
	}
	seen := map[int64]bool{}
	path := "/api/v2/tickets/4/comments.json?page[size]=50"
	pages := 0
	for {
		var p page
		b.getJSON(t, path, &p)
		pages++
		for _, c := range p.Comments {
			require.False(t, seen[c.ID])
			seen[c.ID] = true
		}
		if !p.Meta.HasMore {
			require.Nil(t, p.Links.Next)
			break
		}
		u, err := url.Parse(*p.Links.Next)
		require.NoError(t, err)
		require.Equal(t, p.Meta.AfterCursor, u.Query().Get("page[after]"))
		path = u.RequestURI()
	}
	require.Len(t, seen, len(before.Comments)+120)
	require.Equal(t, 3, pages)

	resp, _ := b.do(t, http.MethodGet, "/api/v2/tickets/999999/comments.json", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestExportOrganizationsTimeBased(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{PageSize: 4})

	seen := map[int64]int{}
	start := int64(0)
	for range 100 {
		var p struct {
			Organizations []struct {
				ID         int64   `json:"id"`
				ExternalID *string `json:"external_id"`
			} `json:"organizations"`
			NextPage    string `json:"next_page"`
			EndTime     int64  `json:"end_time"`
			EndOfStream bool   `json:"end_of_stream"`
			Count       int    `json:"count"`
		}
		b.getJSON(t, fmt.Sprintf("/api/v2/incremental/organizations.json?start_time=%d", start), &p)
		require.Len(t, p.Organizations, p.Count)
		require.Contains(t, p.NextPage, fmt.Sprintf("start_time=%d", p.EndTime))
		for _, o := range p.Organizations {
			seen[o.ID]++
		}
		if p.EndOfStream {
			break
		}
		require.Greater(t, p.EndTime, start)
		start = p.EndTime
	}
	require.Len(t, seen, len(b.world.Organizations))
}

func TestExportUsersCursor(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{PageSize: 9})

	var ids []int64
	path := "/api/v2/incremental/users/cursor.json?start_time=0"
	for range 100 {
		var p struct {
			Users []struct {
				ID int64 `json:"id"`
			} `json:"users"`
			AfterCursor string `json:"after_cursor"`
			EndOfStream bool   `json:"end_of_stream"`
		}
		b.getJSON(t, path, &p)
		for _, u := range p.Users {
			ids = append(ids, u.ID)
		}
		if p.EndOfStream {
			break
		}
		path = "/api/v2/incremental/users/cursor.json?cursor=" + p.AfterCursor
	}
	want := []int64{b.sim.APIUserID()}
	for _, u := range b.world.Users {
		want = append(want, u.ID)
	}
	require.ElementsMatch(t, want, ids)
}

func TestFaults(t *testing.T) {
	t.Parallel()

	t.Run("FailNext", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{})
		b.sim.FailNext(2, http.StatusServiceUnavailable)
		for range 2 {
			resp, _ := b.do(t, http.MethodGet, "/api/v2/tickets/1.json", nil)
			require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		}
		resp, _ := b.do(t, http.MethodGet, "/api/v2/tickets/1.json", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)

		b.sim.FailNext(1, http.StatusTooManyRequests)
		resp, _ = b.do(t, http.MethodGet, "/api/v2/tickets/1.json", nil)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Equal(t, "1", resp.Header.Get("Retry-After"))
	})

	t.Run("LostWriteResponse", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{})
		b.sim.SetFaults(zendesktest.Faults{LoseWriteResponses: true})
		b.sim.FailNext(1, http.StatusBadGateway)
		resp, _ := b.do(t, http.MethodPut, "/api/v2/tickets/1.json", `{"ticket":{"comment":{"body":"x","public":false}}}`)
		require.Equal(t, http.StatusBadGateway, resp.StatusCode)
		require.Equal(t, 1, b.sim.Stats().NotesAdded, "applied despite the error")
	})

	t.Run("ErrorRateAndMalformed", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{})
		b.sim.SetFaults(zendesktest.Faults{ErrorRate: 0.5, MalformedRate: 1, Seed: 42})
		var failed, malformed int
		for range 40 {
			resp, data := b.do(t, http.MethodGet, "/api/v2/incremental/tickets/cursor.json?start_time=0", nil)
			if resp.StatusCode >= 500 {
				failed++
				continue
			}
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var v map[string]any
			if json.Unmarshal(data, &v) != nil {
				malformed++
			}
		}
		require.Positive(t, failed)
		require.Equal(t, 40-failed, malformed)
	})
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})
	// Four tickets that accept updates (closed ones answer 422).
	var ids []int64
	for _, tk := range b.world.Tickets {
		if tk.Status != cxaudit.StatusClosed && len(ids) < 4 {
			ids = append(ids, tk.ID)
		}
	}
	require.Len(t, ids, 4)

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			id := ids[i%4]
			req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/api/v2/tickets/%d.json", b.srv.URL, id),
				bytes.NewBufferString(fmt.Sprintf(`{"ticket":{"comment":{"body":"n%d","public":false}}}`, i)))
			req.SetBasicAuth(email+"/token", token)
			resp, err := b.srv.Client().Do(req)
			if err == nil {
				resp.Body.Close()
			}
			b.sim.AddComment(id, cxaudit.Comment{AuthorID: 1001, Body: "agent"})
			_ = b.sim.Stats()
		})
	}
	wg.Wait()
	require.Equal(t, 8, b.sim.Stats().NotesAdded)
	for i := range 8 {
		tk, _ := b.sim.Ticket(ids[i%4])
		require.True(t, slices.ContainsFunc(tk.Comments, func(c cxaudit.Comment) bool { return c.Body == fmt.Sprintf("n%d", i) }))
	}
}

// TestUpdateTicketLimits: Update Ticket has its own limits on top of the
// account's, 100 updates a minute per account and 30 per ten minutes per
// user and ticket; over either, an update is answered 429 with
// Retry-After and not applied.
func TestUpdateTicketLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{UpdateRateLimit: 5, TicketUpdateLimit: 3})
	var open []int64
	for _, tk := range b.world.Tickets {
		if tk.Status != cxaudit.StatusClosed && len(open) < 6 {
			open = append(open, tk.ID)
		}
	}
	update := func(id int64) *http.Response {
		resp, _ := b.do(t, http.MethodPut, fmt.Sprintf("/api/v2/tickets/%d.json", id), `{"ticket":{"comment":{"body":"n","public":false}}}`)
		return resp
	}
	for range 3 {
		require.Equal(t, http.StatusOK, update(open[0]).StatusCode)
	}
	resp := update(open[0])
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "a fourth update of one ticket")
	require.Equal(t, "600", resp.Header.Get("Retry-After"), "until the ten minutes end")
	require.Equal(t, http.StatusOK, update(open[1]).StatusCode)
	require.Equal(t, http.StatusOK, update(open[2]).StatusCode)
	resp = update(open[3])
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "a sixth update in the minute")
	require.Equal(t, "60", resp.Header.Get("Retry-After"))
	resp, _ = b.do(t, http.MethodGet, "/api/v2/users/me.json", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "reads are not limited by it")
	st := b.sim.Stats()
	require.Equal(t, 5, st.TicketUpdates, "nothing refused was applied")
	require.Equal(t, 2, st.UpdatesRateLimited)

	b.clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, update(open[3]).StatusCode, "a new minute")
	require.Equal(t, http.StatusTooManyRequests, update(open[0]).StatusCode, "the ticket's ten minutes are not over")
	b.clock.Advance(9 * time.Minute)
	require.Equal(t, http.StatusOK, update(open[0]).StatusCode)
}
