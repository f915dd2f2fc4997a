package zendesk_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/zendesk"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

const (
	email = "cxaudit-bot@acme.example.com"
	token = "tok-S3CRET-do-not-leak-81f2"
)

var worldNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

type testBundle struct {
	client *zendesk.Client
	sim    *zendesktest.Sim
	url    string
	world  *simworld.World
}

func setup(t *testing.T, opts zendesktest.Options) *testBundle {
	t.Helper()
	world := simworld.Generate(simworld.Options{Seed: 11, Accounts: 12, Tickets: 45, Now: worldNow})
	opts.World, opts.Email, opts.APIToken = world, email, token
	if opts.Now == nil {
		opts.Now = func() time.Time { return worldNow }
	}
	sim, srv := zendesktest.NewServer(opts)
	t.Cleanup(srv.Close)
	return &testBundle{client: newClient(t, srv.URL, token), sim: sim, url: srv.URL, world: world}
}

func newClient(t *testing.T, url, apiToken string) *zendesk.Client {
	t.Helper()
	c, err := zendesk.New(zendesk.Config{
		URL: url, Email: email, APIToken: apiToken,
		HTTP: remote.Options{RetryMax: 3, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond},
	})
	require.NoError(t, err)
	return c
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		cfg  zendesk.Config
		want string
	}{
		{zendesk.Config{Email: email, APIToken: token}, "Config.URL is empty"},
		{zendesk.Config{URL: "acme.zendesk.com", Email: email, APIToken: token}, "must start with https://"},
		{zendesk.Config{URL: "https://acme.zendesk.com/api/v2", Email: email, APIToken: token}, "must not include /api/v2 (did you mean https://acme.zendesk.com?)"},
		{zendesk.Config{URL: "https://acme.zendesk.com/agent", Email: email, APIToken: token}, "must have no path"},
		{zendesk.Config{URL: "https://bot:" + token + "@acme.zendesk.com", Email: email, APIToken: token}, "must not carry credentials"},
		{zendesk.Config{URL: "https://acme.zendesk.com?x=1", Email: email, APIToken: token}, "must not have a query"},
		{zendesk.Config{URL: "https://acme.zendesk.com", APIToken: token}, "Config.Email is empty"},
		{zendesk.Config{URL: "https://acme.zendesk.com", Email: email}, "Config.APIToken is empty"},
	} {
		_, err := zendesk.New(tt.cfg)
		require.ErrorContains(t, err, tt.want)
		require.Equal(t, cxaudit.EINVALID, cxaudit.ErrorCode(err))
		require.NotContains(t, err.Error(), token)
	}

	c, err := zendesk.New(zendesk.Config{URL: "https://acme.zendesk.com/", Email: email, APIToken: token})
	require.NoError(t, err)
	require.NotContains(t, c.String(), token)
}

func TestMe(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})

	me, err := b.client.Me(context.Background())
	require.NoError(t, err)
	require.Equal(t, b.sim.APIUserID(), me.ID)
	require.Equal(t, email, me.Email)
	require.True(t, me.IsAgent())

	_, err = b.client.Me(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, b.sim.Stats().ByEndpoint[zendesktest.EndpointMe], "remembered")
}

// exportAll walks the ticket export from cursor (or the epoch) to the end.
func exportAll(t *testing.T, c *zendesk.Client, cursor string) ([]cxaudit.Ticket, string) {
	t.Helper()
	var all []cxaudit.Ticket
	for range 1000 {
		page, err := c.ExportTickets(context.Background(), cursor, time.Unix(0, 0))
		require.NoError(t, err)
		all = append(all, page.Tickets...)
		require.NotEmpty(t, page.AfterCursor)
		cursor = page.AfterCursor
		if page.EndOfStream {
			return all, cursor
		}
	}
	t.Fatal("export never ended")
	return nil, ""
}

func TestExportTicketsEqualsTheWorld(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{PageSize: 8})

	got, cursor := exportAll(t, b.client, "")
	want := map[int64]cxaudit.Ticket{}
	for _, tk := range b.world.Tickets {
		tk.Comments = nil
		want[tk.ID] = tk
	}
	require.Len(t, got, len(want))
	for _, tk := range got {
		require.Equal(t, want[tk.ID], tk, "ticket %d", tk.ID)
		require.NotNil(t, tk.Metrics)
	}

	// Later changes, ours included, come after the cursor.
	b.sim.UpdateTicket(7, func(tk *cxaudit.Ticket) { tk.Status = cxaudit.StatusSolved })
	_, err := b.client.UpdateTicket(context.Background(), 8, zendesk.TicketUpdate{Tags: []string{"cxaudit_checked"}})
	require.NoError(t, err)
	b.sim.DeleteTicket(9)
	page, err := b.client.ExportTickets(context.Background(), cursor, time.Time{})
	require.NoError(t, err)
	require.True(t, page.EndOfStream)
	require.Len(t, page.Tickets, 3)
	require.Equal(t, int64(7), page.Tickets[0].ID)
	require.Equal(t, cxaudit.StatusSolved, page.Tickets[0].Status)
	require.Equal(t, int64(8), page.Tickets[1].ID)
	require.True(t, page.Tickets[1].HasTag("cxaudit_checked"))
	require.Equal(t, int64(9), page.Tickets[2].ID)
	require.Equal(t, cxaudit.StatusDeleted, page.Tickets[2].Status)
	require.NotEqual(t, cursor, page.AfterCursor)
}

func TestExportTicketsFromStartTime(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})

	start := worldNow.Add(-7 * 24 * time.Hour)
	page, err := b.client.ExportTickets(context.Background(), "", start)
	require.NoError(t, err)
	require.True(t, page.EndOfStream)
	n := 0
	for _, tk := range b.world.Tickets {
		if !tk.UpdatedAt.Before(start) {
			n++
		}
	}
	require.Len(t, page.Tickets, n)
	for _, tk := range page.Tickets {
		require.False(t, tk.UpdatedAt.Before(start))
	}
}

func TestExportOrganizationsAndUsers(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{PageSize: 5})
	ctx := context.Background()

	orgs := map[int64]cxaudit.Organization{}
	var start int64
	for range 100 {
		page, err := b.client.ExportOrganizations(ctx, start)
		require.NoError(t, err)
		for _, o := range page.Organizations {
			orgs[o.ID] = o
		}
		start = page.EndTime
		if page.EndOfStream {
			break
		}
	}
	require.Len(t, orgs, len(b.world.Organizations))
	for _, o := range b.world.Organizations {
		if o.Tags == nil {
			o.Tags = []string{}
		}
		require.Equal(t, o, orgs[o.ID])
	}

	users := map[int64]cxaudit.User{}
	cursor := ""
	for range 100 {
		page, err := b.client.ExportUsers(ctx, cursor, time.Time{})
		require.NoError(t, err)
		for _, u := range page.Users {
			require.NotContains(t, users, u.ID, "cursor export hands out each user once")
			users[u.ID] = u
		}
		cursor = page.AfterCursor
		if page.EndOfStream {
			break
		}
	}
	require.Len(t, users, len(b.world.Users)+1, "the world's users and the API user")
	for _, u := range b.world.Users {
		require.Equal(t, u, users[u.ID])
	}
}

func TestTicketComments(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})
	ctx := context.Background()

	before, ok := b.sim.Ticket(3)
	require.True(t, ok)
	for range 130 {
		b.sim.AddComment(3, cxaudit.Comment{AuthorID: before.RequesterID, Public: true, Body: "any news?"})
	}
	b.sim.AddComment(3, cxaudit.Comment{AuthorID: 1001, Public: false, Body: "Moved by an agent. cxaudit:0a1b2c3d"})
	b.sim.AddComment(3, cxaudit.Comment{AuthorID: 1001, Public: true, Body: "cxaudit:0a1b2c3d quoted to the customer"})
	b.sim.AddComment(3, cxaudit.Comment{AuthorID: 1001, Public: false, Body: "cxaudit: please check the note above"})
	// The API user is a shared admin: its own answers are agent activity.
	_, err := b.client.UpdateTicket(ctx, 3, zendesk.TicketUpdate{NoteHTML: "<p>Answered by hand</p>"})
	require.NoError(t, err)
	_, err = b.client.UpdateTicket(ctx, 3, zendesk.TicketUpdate{NoteHTML: "<p>Audit summary</p><p><small>cxaudit:0123abcd</small></p>"})
	require.NoError(t, err)

	comments, err := b.client.TicketComments(ctx, 3)
	require.NoError(t, err)
	require.Len(t, comments, len(before.Comments)+135)
	require.GreaterOrEqual(t, b.sim.Stats().ByEndpoint[zendesktest.EndpointTicketComments], 2, "paginated")
	for i, c := range before.Comments {
		require.Equal(t, c.ID, comments[i].ID)
		require.Equal(t, c.Body, comments[i].Body)
		require.Equal(t, c.Public, comments[i].Public)
		require.Equal(t, c.AuthorID, comments[i].AuthorID)
		require.False(t, comments[i].ByCXAudit)
		require.False(t, comments[i].ByAgent, "the caller decides")
	}
	tail := comments[len(comments)-5:]
	require.True(t, tail[0].ByCXAudit, "a private comment with a marker, whoever wrote it")
	require.False(t, tail[1].ByCXAudit, "public: cxaudit's notes are always private")
	require.False(t, tail[2].ByCXAudit, "the word is no marker")
	require.False(t, tail[3].ByCXAudit, "the API user writing by hand")
	require.True(t, tail[4].ByCXAudit, "cxaudit's own note")
	require.False(t, tail[4].Public)
	require.Equal(t, "Audit summary\ncxaudit:0123abcd", tail[4].Body)

	_, err = b.client.TicketComments(ctx, 999999)
	require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err))
}

func TestUpdateTicket(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})
	ctx := context.Background()

	before, _ := b.sim.Ticket(1)
	stamp := before.UpdatedAt
	got, err := b.client.UpdateTicket(ctx, 1, zendesk.TicketUpdate{
		NoteHTML:        "<p>cxaudit: 1 finding</p>",
		Tags:            append(slices.Clone(before.Tags), "cxaudit_p1_untagged"),
		SafeUpdateStamp: &stamp,
	})
	require.NoError(t, err)
	require.Equal(t, append(before.Tags, "cxaudit_p1_untagged"), got.Tags, "the whole list, the ticket's tags kept")

	after, _ := b.sim.Ticket(1)
	require.Equal(t, got.Tags, after.Tags)
	require.Len(t, after.Comments, len(before.Comments)+1)
	note := after.Comments[len(after.Comments)-1]
	require.False(t, note.Public)
	require.Equal(t, b.sim.APIUserID(), note.AuthorID)
	require.Equal(t, 1, b.sim.Stats().ByEndpoint[zendesktest.EndpointUpdateTicket])

	// The stamp is stale now: safe_update refuses.
	_, err = b.client.UpdateTicket(ctx, 1, zendesk.TicketUpdate{NoteHTML: "<p>again</p>", SafeUpdateStamp: &stamp})
	require.Equal(t, cxaudit.ECONFLICT, cxaudit.ErrorCode(err))
	again, _ := b.sim.Ticket(1)
	require.Len(t, again.Comments, len(after.Comments))

	// Nothing to send, or tags Zendesk would mangle: refused before any request.
	for _, u := range []zendesk.TicketUpdate{{}, {Tags: []string{"two words"}}, {Tags: []string{""}}, {NoteHTML: "  "}} {
		_, err = b.client.UpdateTicket(ctx, 1, u)
		require.Equal(t, cxaudit.EINVALID, cxaudit.ErrorCode(err))
	}
	_, err = b.client.UpdateTicket(ctx, 999999, zendesk.TicketUpdate{Tags: []string{"x"}})
	require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err))
	require.Equal(t, 3, b.sim.Stats().ByEndpoint[zendesktest.EndpointUpdateTicket])

	// An empty list removes every tag: it is sent, not left out.
	got, err = b.client.UpdateTicket(ctx, 1, zendesk.TicketUpdate{Tags: []string{}})
	require.NoError(t, err)
	require.Empty(t, got.Tags)

	// A closed ticket refuses for good: the error says so.
	var closed int64
	for _, tk := range b.world.Tickets {
		if tk.Status == cxaudit.StatusClosed {
			closed = tk.ID
			break
		}
	}
	require.NotZero(t, closed)
	_, err = b.client.UpdateTicket(ctx, closed, zendesk.TicketUpdate{NoteHTML: "<p>note</p>"})
	require.ErrorIs(t, err, zendesk.ErrTicketClosed)
	require.Equal(t, cxaudit.EINVALID, cxaudit.ErrorCode(err))
	// Other refusals are not taken for it.
	_, err = b.client.UpdateTicket(ctx, 1, zendesk.TicketUpdate{NoteHTML: "<p>note</p>", SafeUpdateStamp: &stamp})
	require.NotErrorIs(t, err, zendesk.ErrTicketClosed)
}

func TestUpdateTicketIsNotRetriedOn5xx(t *testing.T) {
	t.Parallel()

	t.Run("FailedBeforeApplying", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{})
		before, _ := b.sim.Ticket(2)
		b.sim.FailNext(1, http.StatusServiceUnavailable)

		_, err := b.client.UpdateTicket(context.Background(), 2, zendesk.TicketUpdate{NoteHTML: "<p>cxaudit: note</p>"})
		require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
		require.Equal(t, 1, b.sim.Stats().ByEndpoint[zendesktest.EndpointUpdateTicket], "exactly one PUT")
		after, _ := b.sim.Ticket(2)
		require.Len(t, after.Comments, len(before.Comments))
	})

	t.Run("AppliedThenFailed", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{})
		before, _ := b.sim.Ticket(2)
		b.sim.SetFaults(zendesktest.Faults{LoseWriteResponses: true})
		b.sim.FailNext(1, http.StatusBadGateway)

		_, err := b.client.UpdateTicket(context.Background(), 2, zendesk.TicketUpdate{NoteHTML: "<p>cxaudit: note</p>", Tags: []string{"cxaudit_x"}})
		require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
		require.Equal(t, 1, b.sim.Stats().ByEndpoint[zendesktest.EndpointUpdateTicket], "exactly one PUT")
		after, _ := b.sim.Ticket(2)
		require.Len(t, after.Comments, len(before.Comments)+1, "exactly one note")
		require.Equal(t, 1, b.sim.Stats().NotesAdded)
	})
}

func TestReadsAreRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})

	b.sim.FailNext(2, http.StatusBadGateway)
	tk, err := b.client.Ticket(context.Background(), 5)
	require.NoError(t, err)
	require.Equal(t, int64(5), tk.ID)
	require.NotNil(t, tk.Metrics)
	require.Equal(t, 3, b.sim.Stats().ByEndpoint[zendesktest.EndpointShowTicket])

	b.sim.FailNext(10, http.StatusInternalServerError)
	_, err = b.client.Ticket(context.Background(), 5)
	require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err), "retries exhausted")
}

func TestRateLimit(t *testing.T) {
	t.Parallel()

	t.Run("LongRetryAfterSurfaces", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{RateLimit: 1})
		_, err := b.client.Ticket(context.Background(), 1)
		require.NoError(t, err)

		_, err = b.client.ExportTickets(context.Background(), "", time.Time{})
		var rl *cxaudit.RateLimitError
		require.ErrorAs(t, err, &rl)
		require.Equal(t, cxaudit.SourceZendesk, rl.Source)
		require.Equal(t, time.Minute, rl.RetryAfter)
		require.Equal(t, 1, b.sim.Stats().RateLimited, "not retried inside the request")

		_, err = b.client.UpdateTicket(context.Background(), 1, zendesk.TicketUpdate{Tags: []string{"x"}})
		require.ErrorAs(t, err, &rl)
	})

	t.Run("ShortRetryAfterIsWaitedOut", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{})
		b.sim.FailNext(1, http.StatusTooManyRequests) // Retry-After: 1

		start := time.Now()
		_, err := b.client.UpdateTicket(context.Background(), 1, zendesk.TicketUpdate{NoteHTML: "<p>cxaudit: n</p>"})
		require.NoError(t, err)
		require.GreaterOrEqual(t, time.Since(start), time.Second)
		st := b.sim.Stats()
		require.Equal(t, 2, st.ByEndpoint[zendesktest.EndpointUpdateTicket], "a 429 is safe to retry, even for a write")
		require.Equal(t, 1, st.NotesAdded)
	})
}

func TestMalformedPageDoesNotMoveTheCursor(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{PageSize: 10})
	ctx := context.Background()

	first, err := b.client.ExportTickets(ctx, "", time.Time{})
	require.NoError(t, err)

	b.sim.SetFaults(zendesktest.Faults{MalformedRate: 1})
	page, err := b.client.ExportTickets(ctx, first.AfterCursor, time.Time{})
	require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
	require.ErrorContains(t, err, "malformed page")
	require.Equal(t, zendesk.TicketPage{}, page, "no cursor to advance to")

	_, err = b.client.TicketComments(ctx, 1)
	require.ErrorContains(t, err, "malformed page")
	_, err = b.client.ExportOrganizations(ctx, 0)
	require.ErrorContains(t, err, "malformed page")

	b.sim.SetFaults(zendesktest.Faults{})
	retried, err := b.client.ExportTickets(ctx, first.AfterCursor, time.Time{})
	require.NoError(t, err)
	require.Len(t, retried.Tickets, 10)
	require.NotEqual(t, first.Tickets[0].ID, retried.Tickets[0].ID)
}

func TestNoSecretInErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})
	ctx := context.Background()
	secrets := []string{token, base64.StdEncoding.EncodeToString([]byte(email + "/token:" + token)), "Authorization", "Basic "}

	var errs []error
	_, err := newClient(t, b.url, "wrong-"+token).Me(ctx)
	require.Equal(t, cxaudit.EUNAUTHORIZED, cxaudit.ErrorCode(err))
	errs = append(errs, err)
	_, err = newClient(t, b.url, token+"x").ExportTickets(ctx, "", time.Time{})
	errs = append(errs, err)
	_, err = b.client.Ticket(ctx, 424242)
	errs = append(errs, err)
	b.sim.FailNext(10, http.StatusServiceUnavailable)
	_, err = b.client.ExportUsers(ctx, "", time.Time{})
	errs = append(errs, err)
	b.sim.FailNext(0, 0)
	b.sim.SetFaults(zendesktest.Faults{MalformedRate: 1})
	_, err = b.client.ExportTickets(ctx, "", time.Time{})
	errs = append(errs, err)
	_, err = newClient(t, "http://127.0.0.1:1", token).Ticket(ctx, 1)
	require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
	errs = append(errs, err)
	_, err = zendesk.New(zendesk.Config{URL: "https://x:" + token + "@acme.zendesk.com", Email: email, APIToken: token})
	errs = append(errs, err)

	for _, err := range errs {
		require.Error(t, err)
		for _, s := range secrets {
			require.False(t, strings.Contains(err.Error(), s), "error %q leaks %q", err, s)
		}
	}
}

// TestExportCursorMustMove: an export page that is not the last but hands
// back the cursor it was asked for is malformed; following it looped
// forever (597 export requests a minute).
func TestExportCursorMustMove(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{PageSize: 10})
	ctx := context.Background()
	tickets, err := b.client.ExportTickets(ctx, "", time.Time{})
	require.NoError(t, err)
	users, err := b.client.ExportUsers(ctx, "", time.Time{})
	require.NoError(t, err)
	require.False(t, tickets.EndOfStream)
	require.False(t, users.EndOfStream)

	b.sim.SetFaults(zendesktest.Faults{RepeatCursor: true})
	_, err = b.client.ExportTickets(ctx, tickets.AfterCursor, time.Time{})
	require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
	require.EqualError(t, err, "zendesk: export tickets: malformed page (response body is not the expected JSON): "+
		"after_cursor is the cursor sent and end_of_stream is false: the export makes no progress")
	_, err = b.client.ExportUsers(ctx, users.AfterCursor, time.Time{})
	require.EqualError(t, err, "zendesk: export users: malformed page (response body is not the expected JSON): "+
		"after_cursor is the cursor sent and end_of_stream is false: the export makes no progress")

	// At the end of the stream the cursor stays where it is: that is how
	// an export waits for later changes.
	b.sim.SetFaults(zendesktest.Faults{})
	_, last := exportAll(t, b.client, "")
	page, err := b.client.ExportTickets(ctx, last, time.Time{})
	require.NoError(t, err)
	require.True(t, page.EndOfStream)
	require.Equal(t, last, page.AfterCursor)
}

// TestOneCharacterToken: errors carry no secret by construction, so a
// token of one letter leaves them as they are. Replacing the token in
// messages turned "zendesk: export users" into
// "z<secret>nd<secret>sk: <secret>xport us<secret>rs" for the token "e", which
// also told the token to whoever read the log.
func TestOneCharacterToken(t *testing.T) {
	t.Parallel()
	const tok = "e"
	var logs strings.Builder
	sim, srv := zendesktest.NewServer(zendesktest.Options{
		World: simworld.Generate(simworld.Options{Seed: 3, Accounts: 2, Tickets: 5, Now: worldNow}), Email: email, APIToken: tok,
		Now: func() time.Time { return worldNow },
	})
	t.Cleanup(srv.Close)
	c, err := zendesk.New(zendesk.Config{URL: srv.URL, Email: email, APIToken: tok,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTP:   remote.Options{RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond}})
	require.NoError(t, err)
	ctx := context.Background()

	var got []string
	sim.FailNext(10, http.StatusServiceUnavailable)
	_, err = c.ExportUsers(ctx, "", time.Time{})
	got = append(got, err.Error())
	sim.FailNext(0, 0)
	_, err = c.Ticket(ctx, 424242)
	got = append(got, err.Error())
	sim.SetFaults(zendesktest.Faults{MalformedRate: 1})
	_, err = c.ExportTickets(ctx, "", time.Time{})
	got = append(got, err.Error())
	sim.SetFaults(zendesktest.Faults{})
	wrong, err := zendesk.New(zendesk.Config{URL: srv.URL, Email: email, APIToken: "f"})
	require.NoError(t, err)
	_, err = wrong.Me(ctx)
	got = append(got, err.Error())

	require.Equal(t, []string{
		"zendesk: export users: 503 Service Unavailable: Service Unavailable (Injected failure)",
		"zendesk: get ticket: 404 Not Found: RecordNotFound (Not found)",
		"zendesk: export tickets: malformed page (response body is not the expected JSON): unexpected end of JSON input",
		"zendesk: get current user: 401 Unauthorized: Couldn't authenticate you",
	}, got)
	require.NotContains(t, logs.String(), "<secret>")
	require.NotContains(t, logs.String(), base64.StdEncoding.EncodeToString([]byte(email+"/token:"+tok)))
}
