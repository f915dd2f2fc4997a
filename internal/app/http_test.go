package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/jobs"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// readyz returns the checks /readyz reports as text (a check that is an
// object, such as rules_disabled, is left out).
func readyz(t *testing.T, a *app.App) (int, map[string]string) {
	t.Helper()
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw), rec.Body.String())
	checks := map[string]string{}
	for name, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			checks[name] = s
		}
	}
	return rec.Code, checks
}

// pausedUntil is cxaudit_source_paused_until_seconds of system.
func pausedUntil(t *testing.T, a *app.App, system string) float64 {
	t.Helper()
	return find(t, gather(t, a), "cxaudit_source_paused_until_seconds", "system", system).GetGauge().GetValue()
}

// TestLongRetryAfterIsCapped: Zendesk answers 429 with Retry-After:
// 999999999 (31 years), then 3600. Each used to snooze the sync job for
// that long, and since sync jobs are unique while scheduled, no later sync
// of Zendesk ran, across restarts, while /readyz said "ok". Now the pause
// lasts CXAUDIT_MAX_RETRY_AFTER: /readyz says paused and until when, the
// metric holds the same time, and the sync asks again within the cap.
func TestLongRetryAfterIsCapped(t *testing.T) {
	t.Parallel()
	const maxRetryAfter = 2 * time.Second
	w := simworld.Generate(simworld.Options{Seed: 13, Accounts: 10, Tickets: 60})
	a, zd, _ := newSimApp(t, w, storetest.NewPostgresSchema(t), map[string]string{"CXAUDIT_MAX_RETRY_AFTER": maxRetryAfter.String()})
	ctx := context.Background()
	require.Zero(t, pausedUntil(t, a, "zendesk"), "not paused before anything asked")

	for _, retryAfter := range []int{999999999, 3600} {
		before := zd.Stats().ByEndpoint[zendesktest.EndpointExportTickets]
		zd.RateLimitNext(1, retryAfter)
		asked := time.Now()
		done := make(chan error, 1)
		go func() {
			res, err := a.RunOnce(ctx)
			if err == nil && res.FailedJobs > 0 {
				err = context.Canceled
			}
			done <- err
		}()

		// While paused, /readyz says until when, and so does the metric;
		// the worker stays ready (a pause is not a fault).
		var check string
		require.Eventually(t, func() bool {
			_, checks := readyz(t, a)
			check = checks["zendesk"]
			return strings.HasPrefix(check, "paused until ")
		}, 10*time.Second, 5*time.Millisecond, "Retry-After %d: /readyz never said paused", retryAfter)
		code, _ := readyz(t, a)
		require.Equal(t, http.StatusOK, code)
		require.True(t, strings.HasSuffix(check, ": Retry-After"), check)
		until, err := time.Parse(time.RFC3339, strings.TrimSuffix(strings.TrimPrefix(check, "paused until "), ": Retry-After"))
		require.NoError(t, err, check)
		require.WithinRange(t, until, asked.Add(-time.Second), asked.Add(maxRetryAfter+time.Second), "Retry-After %d is capped", retryAfter)
		metric := pausedUntil(t, a, "zendesk")
		require.InDelta(t, float64(until.Unix()), metric, 1, "the metric says the same")

		// Within the cap (and a sync's worth of time) the sync asks again
		// and the cycle completes.
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(maxRetryAfter + 30*time.Second):
			t.Fatalf("Retry-After %d: the cycle did not complete within the cap", retryAfter)
		}
		require.Greater(t, zd.Stats().ByEndpoint[zendesktest.EndpointExportTickets], before, "the tickets were exported after the pause")
		_, checks := readyz(t, a)
		require.Equal(t, "ok", checks["zendesk"])
		require.Zero(t, pausedUntil(t, a, "zendesk"), "0 once the pause is over")
	}
}

// TestRiverUIRefusesCrossSiteRequests: a page on another site posted
// text/plain to /riverui/api/jobs/delete with the operator's cached basic
// credentials and deleted a job. Cross-site requests are refused now; the
// UI's own request, same-origin with the same text/plain body its fetch
// sends, still works.
func TestRiverUIRefusesCrossSiteRequests(t *testing.T) {
	t.Parallel()
	const user, pass = "ops", "riverui-csrf-pass-4711"
	w := simworld.Generate(simworld.Options{Seed: 17, Accounts: 3, Tickets: 5})
	a, _, _ := newSimApp(t, w, storetest.NewSQLitePath(t), map[string]string{"CXAUDIT_RIVERUI_USERNAME": user, "CXAUDIT_RIVERUI_PASSWORD": pass})
	ctx := context.Background()
	require.NoError(t, a.Store.Enqueue(ctx, jobs.Params(jobs.AuditArgs{})...))
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)

	jobIDs := func() []string {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/riverui/api/jobs?state=available&limit=10", nil)
		require.NoError(t, err)
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var list struct {
			Data []struct {
				ID json.Number `json:"id"`
			} `json:"data"`
		}
		dec := json.NewDecoder(resp.Body)
		dec.UseNumber()
		require.NoError(t, dec.Decode(&list))
		var ids []string
		for _, j := range list.Data {
			ids = append(ids, strings.Trim(j.ID.String(), `"`))
		}
		return ids
	}
	ids := jobIDs()
	require.Len(t, ids, 1)
	del := func(headers map[string]string) int {
		// What the UI's fetch sends: JSON.stringify({ids}) as the body,
		// hence Content-Type text/plain;charset=UTF-8.
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/riverui/api/jobs/delete", strings.NewReader(`{"ids":["`+ids[0]+`"]}`))
		require.NoError(t, err)
		req.SetBasicAuth(user, pass)
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		req.Header.Set("Accept", "application/json")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, h := range []map[string]string{
		{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "https://evil.example"},
		{"Origin": "http://127.0.0.1:1"},
	} {
		require.Equal(t, http.StatusForbidden, del(h), "%v", h)
		require.Equal(t, ids, jobIDs(), "the job is still there after %v", h)
	}
	require.Equal(t, http.StatusOK, del(map[string]string{"Origin": srv.URL, "Sec-Fetch-Site": "same-origin"}), "the UI's own request")
	require.Empty(t, jobIDs(), "the UI deleted the job")
}

// TestTasksWithoutAnOwnerAreSaid: with an account owner inactive and no
// SALESFORCE_TASK_FALLBACK_OWNER_ID, its Task went to Salesforce's default
// owner (the integration user) without a word. Now the worker says so at
// start and once when it happens, and /readyz lists it (still ready),
// naming the account; with a fallback owner set, nothing is said.
func TestTasksWithoutAnOwnerAreSaid(t *testing.T) {
	t.Parallel()
	w := simworld.Generate(simworld.Options{Seed: 5, Accounts: 40, Tickets: 100})
	inactive := map[string]bool{}
	var active string // a user who can own Tasks
	for _, acc := range w.Accounts {
		if !acc.OwnerActive {
			inactive[acc.ID] = true
		} else {
			active = acc.OwnerID
		}
	}
	require.NotEmpty(t, inactive, "the world has accounts whose owner left")

	for _, fallback := range []string{"", active} {
		t.Run("fallback="+fallback, func(t *testing.T) {
			t.Parallel()
			w := simworld.Generate(simworld.Options{Seed: 5, Accounts: 40, Tickets: 100}) // the same world, one per simulator pair
			sims, err := demo.ServeWorld(w, demo.SimOptions{ZendeskRateLimit: 100000})
			require.NoError(t, err)
			t.Cleanup(sims.Close)
			cfg := apptest.Config(t, append(sims.Env(), "CXAUDIT_DATABASE_URL="+storetest.NewSQLitePath(t),
				"CXAUDIT_RULES_DIR=../../rules", "SALESFORCE_TASK_FALLBACK_OWNER_ID="+fallback)...)
			var logs apptest.SyncBuffer
			a := newApp(t, cfg, slog.New(slog.NewJSONHandler(&logs, nil)), app.Options{Migrate: true})
			for range 2 {
				res, err := a.RunOnce(context.Background())
				require.NoError(t, err)
				require.Zero(t, res.FailedJobs)
			}
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			require.Equal(t, http.StatusOK, rec.Code, "a warning leaves the worker ready: %s", rec.Body.String())
			var body struct {
				Warnings map[string]string `json:"warnings"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))

			if fallback != "" {
				require.Empty(t, body.Warnings)
				require.NotContains(t, logs.String(), "SALESFORCE_TASK_FALLBACK_OWNER_ID")
				return
			}
			require.Equal(t, 1, strings.Count(logs.String(), "SALESFORCE_TASK_FALLBACK_OWNER_ID is unset: Tasks on accounts"), "said once at start")
			require.Equal(t, 1, strings.Count(logs.String(), "a Task goes out without an owner"), "said once when it happens")
			msg := body.Warnings["salesforce_task_owner"]
			require.Contains(t, msg, "SALESFORCE_TASK_FALLBACK_OWNER_ID is unset")
			_, account, ok := strings.Cut(msg, "first on account ")
			require.True(t, ok, "it happened, and /readyz says where: %s", msg)
			account, _, _ = strings.Cut(account, ",")
			require.True(t, inactive[account], "%s is an account whose owner is inactive", account)
		})
	}
}
