package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// readyz returns the checks /readyz reports.
func readyz(t *testing.T, a *app.App) (int, map[string]string) {
	t.Helper()
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var checks map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &checks))
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
