package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gozendesk "github.com/nukosuke/go-zendesk/zendesk"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/zendesk"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

const hookSecret = "whsec-test-0123456789abcdef"

// newHookApp returns an App on databaseURL pointed at the Zendesk
// simulator at zendeskURL (Salesforce not configured), with env on top.
func newHookApp(t *testing.T, zendeskURL, databaseURL string, env map[string]string, opts app.Options, log io.Writer) *app.App {
	t.Helper()
	all := map[string]string{
		"CXAUDIT_DATABASE_URL": databaseURL, "CXAUDIT_RULES_DIR": "../../rules",
		"ZENDESK_URL": zendeskURL, "ZENDESK_EMAIL": demo.SimZendeskEmail, "ZENDESK_API_TOKEN": demo.SimZendeskToken,
		"ZENDESK_RATE_LIMIT": "100000", "CXAUDIT_ZENDESK_WRITE_BUDGET": "0",
	}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := config.FromEnv(func(k string) string { return all[k] })
	require.NoError(t, err)
	if log == nil {
		log = io.Discard
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})), opts)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	return a
}

// post sends body to the webhook endpoint with the given headers.
func post(t *testing.T, h http.Handler, sig, stamp string, body []byte) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, app.WebhookPath, bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("X-Zendesk-Webhook-Signature", sig)
	}
	if stamp != "" {
		req.Header.Set("X-Zendesk-Webhook-Signature-Timestamp", stamp)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.NotContains(t, rec.Body.String(), "signature", "a refusal tells the sender nothing")
	return rec.Code
}

func jobCount(t *testing.T, a *app.App) int {
	t.Helper()
	counts, err := a.Store.JobCounts(context.Background())
	require.NoError(t, err)
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// TestWebhookRefusesUnsigned: unsigned, wrongly signed, tampered, stale
// (either way), malformed-timestamp, oversized and replayed requests are
// refused with 401, 403 or 413 and enqueue nothing; a valid one enqueues
// one job, and 20 valid requests about one ticket in quick succession
// still one. Without a secret the endpoint is not served. Both stores.
func TestWebhookRefusesUnsigned(t *testing.T) {
	t.Parallel()
	for name, newDB := range map[string]func(testing.TB) string{
		"postgres": func(tb testing.TB) string { return storetest.NewPostgresSchema(tb) },
		"sqlite":   func(tb testing.TB) string { return storetest.NewSQLitePath(tb) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, zsrv := zendesktest.NewServer(zendesktest.Options{Email: demo.SimZendeskEmail, APIToken: demo.SimZendeskToken})
			t.Cleanup(zsrv.Close)
			var log apptest.SyncBuffer
			a := newHookApp(t, zsrv.URL, newDB(t), map[string]string{"CXAUDIT_ZENDESK_WEBHOOK_SECRET": hookSecret}, app.Options{Migrate: true}, &log)
			h := a.Handler()
			now := time.Now().UTC()
			stamp := now.Format(time.RFC3339)
			body := []byte(`{"ticket_id": "42"}`)
			sign := zendesktest.Sign

			require.Equal(t, http.StatusUnauthorized, post(t, h, "", "", body), "unsigned")
			require.Equal(t, http.StatusUnauthorized, post(t, h, sign(hookSecret, stamp, body), "", body), "no timestamp")
			require.Equal(t, http.StatusUnauthorized, post(t, h, sign("another-secret-0123456789", stamp, body), stamp, body), "wrong secret")
			require.Equal(t, http.StatusUnauthorized, post(t, h, sign(hookSecret, stamp, body), stamp, []byte(`{"ticket_id": "43"}`)), "tampered body")
			require.Equal(t, http.StatusUnauthorized, post(t, h, "not base64!", stamp, body), "garbage signature")
			for _, d := range []time.Duration{-6 * time.Minute, 6 * time.Minute} {
				old := now.Add(d).Format(time.RFC3339)
				require.Equal(t, http.StatusUnauthorized, post(t, h, sign(hookSecret, old, body), old, body), "stale by %s", d)
			}
			unix := fmt.Sprint(now.Unix())
			require.Equal(t, http.StatusUnauthorized, post(t, h, sign(hookSecret, unix, body), unix, body), "timestamp not RFC 3339")
			big := []byte(`{"ticket_id": "42", "pad": "` + strings.Repeat("x", 300<<10) + `"}`)
			require.Equal(t, http.StatusRequestEntityTooLarge, post(t, h, sign(hookSecret, stamp, big), stamp, big), "body over the limit")
			require.Zero(t, jobCount(t, a), "no refused request enqueues anything")
			require.NotContains(t, log.String(), hookSecret)

			valid := sign(hookSecret, stamp, body)
			require.Equal(t, http.StatusAccepted, post(t, h, valid, stamp, body))
			require.Equal(t, 1, jobCount(t, a))
			require.Equal(t, http.StatusForbidden, post(t, h, valid, stamp, body), "replay")
			require.Equal(t, 1, jobCount(t, a), "a replay enqueues nothing")

			// 20 distinct, validly signed notices about one ticket, in both
			// shapes: one job.
			for i := range 20 {
				b := []byte(fmt.Sprintf(`{"type":"zen:event-type:ticket.status_changed","id":"ev-%d","detail":{"id":"42"}}`, i))
				if i%2 == 1 {
					b = []byte(fmt.Sprintf(`{"ticket_id": 42, "n": %d}`, i))
				}
				require.Equal(t, http.StatusAccepted, post(t, h, sign(hookSecret, stamp, b), stamp, b), string(b))
			}
			require.Equal(t, 1, jobCount(t, a), "a storm about one ticket coalesces into one job")
			other := []byte(`{"type":"zen:event-type:ticket.comment_added","detail":{"id":"43"}}`)
			require.Equal(t, http.StatusAccepted, post(t, h, sign(hookSecret, stamp, other), stamp, other))
			require.Equal(t, 2, jobCount(t, a), "another ticket, another job")
			user := []byte(`{"type":"zen:event-type:user.active_changed","detail":{"id":"7"}}`)
			require.Equal(t, http.StatusOK, post(t, h, sign(hookSecret, stamp, user), stamp, user), "not a ticket: ignored")
			junk := []byte(`{"hello": "world"}`)
			require.Equal(t, http.StatusBadRequest, post(t, h, sign(hookSecret, stamp, junk), stamp, junk))
			require.Equal(t, 2, jobCount(t, a))
			require.NotContains(t, log.String(), hookSecret)
			fams := gather(t, a)
			for outcome, n := range map[string]float64{"unsigned": 2, "bad_signature": 3, "stale": 3, "too_large": 1,
				"replay": 1, "queued": 22, "ignored": 1, "bad_body": 1} {
				require.Equal(t, n, find(t, fams, "cxaudit_webhook_requests_total", "outcome", outcome).GetCounter().GetValue(), outcome)
			}

			// No secret: not served.
			plain := newHookApp(t, zsrv.URL, newDB(t), nil, app.Options{Migrate: true}, nil)
			require.NotEqual(t, http.StatusAccepted, post(t, plain.Handler(), valid, stamp, body))
			require.Zero(t, jobCount(t, plain))
		})
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// hookedWorker is a running worker with the webhook registered in its
// simulator.
type hookedWorker struct {
	a     *app.App
	zd    *zendesktest.Sim
	world *simworld.World
}

// startHookedWorker serves a generated world from the simulator, registers
// the webhook with register (given the worker's webhook URL; it returns
// the signing secret), runs a first cycle as a first deployment would,
// then runs the long-running worker with the secret and a periodic sync
// of 1 h, and waits until its sync on start is done.
func startHookedWorker(t *testing.T, tickets int, register func(zc *zendesk.Client, simURL, hookURL string) string) *hookedWorker {
	t.Helper()
	w := simworld.Generate(simworld.Options{Seed: 21, Accounts: 30, Tickets: tickets})
	zd, zsrv := zendesktest.NewServer(zendesktest.Options{World: w, Email: demo.SimZendeskEmail, APIToken: demo.SimZendeskToken,
		RateLimit: 100000, UpdateRateLimit: 100000, TicketUpdateLimit: 1000})
	t.Cleanup(zsrv.Close)
	ctx := context.Background()
	db := storetest.NewPostgresSchema(t)

	addr := freeAddr(t)
	zc, err := zendesk.New(zendesk.Config{URL: zsrv.URL, Email: demo.SimZendeskEmail, APIToken: demo.SimZendeskToken})
	require.NoError(t, err)
	secret := register(zc, zsrv.URL, "http://"+addr+app.WebhookPath)
	require.NotEmpty(t, secret)

	first := newHookApp(t, zsrv.URL, db, nil, app.Options{Migrate: true}, nil)
	_, err = first.RunOnce(ctx)
	require.NoError(t, err)
	require.NoError(t, first.Close())
	zd.WaitWebhooks()
	calls := len(zd.WebhookCalls())

	var log apptest.SyncBuffer
	env := map[string]string{"CXAUDIT_ZENDESK_WEBHOOK_SECRET": secret, "CXAUDIT_LISTEN_ADDR": addr,
		"CXAUDIT_SYNC_INTERVAL": "1h", "CXAUDIT_SWEEP_INTERVAL": "1h", "CXAUDIT_LOG_LEVEL": "debug"}
	a := newHookApp(t, zsrv.URL, db, env, app.Options{Periodic: true}, &log)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx, 5*time.Second) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
		if t.Failed() {
			t.Logf("worker log (tail):\n%s", tail(log.String(), 4000))
		}
	})
	exports := zd.Stats().ByEndpoint[zendesktest.EndpointExportTickets]
	require.Eventually(t, func() bool {
		return a.Addr() != "" && zd.Stats().ByEndpoint[zendesktest.EndpointExportTickets] > exports &&
			strings.Contains(log.String(), "msg=\"zendesk sync\"")
	}, 30*time.Second, 10*time.Millisecond)
	// Calls made before the worker listened (the first cycle's own
	// updates, if the webhook does not leave them out) are not what is
	// measured.
	require.Eventually(t, func() bool { zd.WaitWebhooks(); return len(zd.WebhookCalls()) == calls }, time.Second, 10*time.Millisecond)
	return &hookedWorker{a: a, zd: zd, world: w}
}

// makeUrgent makes n open tickets below urgent urgent, every, and returns
// how long each took from the change to cxaudit's note on it in the
// simulator (each gets severity.urgent_without_sev_tag). It checks that
// the periodic sync did not run meanwhile: the notes came through the
// webhook.
func (h *hookedWorker) makeUrgent(t *testing.T, n int, every time.Duration) []time.Duration {
	t.Helper()
	zd := h.zd
	exports := zd.Stats().ByEndpoint[zendesktest.EndpointExportTickets]
	var ids []int64
	for _, tk := range h.world.Tickets {
		if len(ids) == n {
			break
		}
		if tk.Open() && tk.Priority != cxaudit.PriorityUrgent && !slices.ContainsFunc(tk.Tags, func(s string) bool { return strings.HasPrefix(s, "sev") }) {
			ids = append(ids, tk.ID)
		}
	}
	require.Len(t, ids, n)
	notes := func(id int64) int {
		tk, _ := zd.Ticket(id)
		c := 0
		for _, cm := range tk.Comments {
			if cm.AuthorID == zd.APIUserID() {
				c++
			}
		}
		return c
	}
	type pending struct {
		at     time.Time
		before int
	}
	var mu sync.Mutex
	waiting := map[int64]pending{}
	var lat []time.Duration
	stopPoll := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-stopPoll:
				return
			case <-time.After(5 * time.Millisecond):
			}
			mu.Lock()
			for id, p := range waiting {
				if notes(id) > p.before {
					lat = append(lat, time.Since(p.at))
					delete(waiting, id)
				}
			}
			mu.Unlock()
		}
	}()
	for _, id := range ids {
		mu.Lock()
		waiting[id] = pending{at: time.Now(), before: notes(id)}
		zd.UpdateTicket(id, func(tk *cxaudit.Ticket) { tk.Priority = cxaudit.PriorityUrgent })
		mu.Unlock()
		time.Sleep(every)
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(waiting) == 0
	}, 60*time.Second, 20*time.Millisecond, "every change reaches its ticket as a note")
	close(stopPoll)
	<-polled
	require.Equal(t, exports, zd.Stats().ByEndpoint[zendesktest.EndpointExportTickets], "the notes came through the webhook, not the periodic sync")
	zd.WaitWebhooks()
	calls := zd.WebhookCalls()
	require.GreaterOrEqual(t, len(calls), n)
	for _, c := range calls {
		require.Equal(t, http.StatusAccepted, c.Status, "ticket %d: %s", c.TicketID, c.Err)
	}
	slices.Sort(lat)
	return lat
}

// TestWebhookLatency: with the webhook and trigger cxaudit webhooks setup
// creates, the simulator calls the running worker on each ticket change,
// and the worker syncs, audits and writes back that ticket. 200 changes,
// 25 ms apart; each is timed from the change to cxaudit's note on the
// ticket in the simulator. The periodic sync (1 h) does not run meanwhile.
//
//	go test ./internal/app -run TestWebhookLatency -count=1 -v
func TestWebhookLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("200 changes through the worker")
	}
	const changes = 200
	h := startHookedWorker(t, 700, func(zc *zendesk.Client, _, url string) string {
		setup, err := zc.SetupWebhook(context.Background(), url)
		require.NoError(t, err)
		return setup.Secret
	})
	require.Empty(t, h.zd.WebhookCalls(), "cxaudit's own updates in the first cycle call no webhook")
	lat := h.makeUrgent(t, changes, 25*time.Millisecond)
	p50, p99, worst := lat[len(lat)/2-1], lat[(len(lat)*99+99)/100-1], lat[len(lat)-1]
	t.Logf("webhook latency, change → note in the simulator, over %d changes 25 ms apart (Postgres): p50 %s, p99 %s, max %s",
		len(lat), p50.Round(time.Millisecond), p99.Round(time.Millisecond), worst.Round(time.Millisecond))
	if raceDetector {
		t.Log("-race: the 5 s goal is not asserted (the race detector slows the worker several times)")
		return
	}
	require.LessOrEqual(t, p99, 5*time.Second, "p99 within the goal")
}

// TestWebhookTicketEvents: a webhook subscribed to Zendesk's ticket events
// (the ticket in detail.id) works as well as the trigger's: each change
// reaches its ticket as a note, through the webhook.
func TestWebhookTicketEvents(t *testing.T) {
	t.Parallel()
	h := startHookedWorker(t, 200, func(_ *zendesk.Client, simURL, url string) string {
		c, err := gozendesk.NewClient(nil)
		require.NoError(t, err)
		require.NoError(t, c.SetEndpointURL(simURL+"/api/v2"))
		c.SetCredential(gozendesk.NewAPITokenCredential(demo.SimZendeskEmail, demo.SimZendeskToken))
		hook, err := c.CreateWebhook(context.Background(), &gozendesk.Webhook{Name: "cxaudit events", Endpoint: url, HTTPMethod: "POST",
			RequestFormat: "json", Status: "active", Subscriptions: []string{"zen:event-type:ticket.priority_changed"}})
		require.NoError(t, err)
		sec, err := c.GetWebhookSigningSecret(context.Background(), hook.ID)
		require.NoError(t, err)
		return sec.Secret
	})
	lat := h.makeUrgent(t, 10, 50*time.Millisecond)
	require.Len(t, lat, 10)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestWebhookDuringRunningJob: a change that comes while the ticket's job
// runs, after that job read the ticket, is not lost to the job's
// uniqueness: the notice queues the ticket's rerun, which reads it.
func TestWebhookDuringRunningJob(t *testing.T) {
	t.Parallel()
	w := simworld.Generate(simworld.Options{Seed: 4, Accounts: 5, Tickets: 20})
	zd, zsrv := zendesktest.NewServer(zendesktest.Options{World: w, Email: demo.SimZendeskEmail, APIToken: demo.SimZendeskToken, RateLimit: 100000})
	t.Cleanup(zsrv.Close)
	var log apptest.SyncBuffer
	a := newHookApp(t, zsrv.URL, storetest.NewPostgresSchema(t), map[string]string{"CXAUDIT_ZENDESK_WEBHOOK_SECRET": hookSecret,
		"CXAUDIT_LISTEN_ADDR": "127.0.0.1:0"}, app.Options{Migrate: true}, &log)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, 5*time.Second) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
	})
	require.Eventually(t, func() bool { return a.Addr() != "" }, 10*time.Second, 5*time.Millisecond)

	// Every request takes 300 ms: the job reads the ticket, then its
	// comments.
	zd.SetFaults(zendesktest.Faults{Latency: 300 * time.Millisecond})
	id := w.Tickets[0].ID
	notice := func(n int) {
		stamp := time.Now().UTC().Format(time.RFC3339)
		b := []byte(fmt.Sprintf(`{"ticket_id": "%d", "n": %d}`, id, n))
		require.Equal(t, http.StatusAccepted, post(t, a.Handler(), zendesktest.Sign(hookSecret, stamp, b), stamp, b))
	}
	notice(1)
	// The job asks for the comments once it has the ticket: it has the
	// ticket as it was, and the agent changes it now.
	require.Eventually(t, func() bool { return zd.Stats().ByEndpoint[zendesktest.EndpointTicketComments] == 1 }, 10*time.Second, time.Millisecond)
	zd.UpdateTicket(id, func(tk *cxaudit.Ticket) { tk.Subject = "changed while the job ran" })
	notice(2)
	notice(3)
	require.Eventually(t, func() bool {
		got, err := a.Store.Ticket(context.Background(), id)
		return err == nil && got.Subject == "changed while the job ran"
	}, 20*time.Second, 10*time.Millisecond, "the change is read\n%s", tail(log.String(), 3000))
	require.Equal(t, 2, zd.Stats().ByEndpoint[zendesktest.EndpointShowTicket], "two reads: the job and its one rerun")
}
