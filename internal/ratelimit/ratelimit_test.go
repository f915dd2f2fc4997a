package ratelimit_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/ratelimit"
)

// TestBudgetPacesUnderTheLimit runs on synctest's clock: the pace is
// exact, whatever the machine's load.
func TestBudgetPacesUnderTheLimit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// 1200/min: one request every 50ms.
		b := ratelimit.New(ratelimit.Config{System: cxaudit.SourceZendesk, PerMinute: 1200, Burst: 0.001})
		ctx := context.Background()
		start := time.Now()
		for range 6 {
			require.NoError(t, b.Wait(ctx, ratelimit.PrioritySync))
		}
		// Paced after the first two.
		require.GreaterOrEqual(t, time.Since(start), 4*50*time.Millisecond)
		require.LessOrEqual(t, time.Since(start), 5*50*time.Millisecond)
	})
}

func TestBudgetDefersLongWaits(t *testing.T) {
	t.Parallel()
	b := ratelimit.New(ratelimit.Config{System: cxaudit.SourceZendesk, PerMinute: 2, MaxWait: 100 * time.Millisecond})
	ctx := context.Background()
	require.NoError(t, b.Wait(ctx, ratelimit.PrioritySync))
	err := b.Wait(ctx, ratelimit.PrioritySync)
	var rl *cxaudit.RateLimitError
	require.ErrorAs(t, err, &rl)
	require.Greater(t, rl.RetryAfter, 25*time.Second)
	require.Equal(t, cxaudit.SourceZendesk, rl.Source)
}

func TestBudgetEndpointLimit(t *testing.T) {
	t.Parallel()
	b := ratelimit.New(ratelimit.Config{System: cxaudit.SourceZendesk, PerMinute: 700, MaxWait: 200 * time.Millisecond, Burst: 0.001,
		Endpoints: []ratelimit.Endpoint{{Name: "incremental_export", PathContains: "/api/v2/incremental/", PerMinute: 10}}})
	ctx := context.Background()
	require.NoError(t, b.WaitPath(ctx, ratelimit.PrioritySync, "/api/v2/incremental/tickets/cursor.json"))
	// The export must wait 6s; another endpoint need not.
	require.Error(t, b.WaitPath(ctx, ratelimit.PrioritySync, "/api/v2/incremental/users/cursor.json"))
	require.NoError(t, b.WaitPath(ctx, ratelimit.PrioritySync, "/api/v2/tickets/1/comments.json"))
}

// server answers each request with the next of responses.
func server(t *testing.T, respond func(n int, w http.ResponseWriter)) (*httptest.Server, *[]time.Time) {
	var mu sync.Mutex
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		n := len(times)
		mu.Unlock()
		respond(n, w)
	}))
	t.Cleanup(srv.Close)
	return srv, &times
}

func TestTransportHonoursRetryAfterForEveryCaller(t *testing.T) {
	t.Parallel()
	srv, times := server(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	b := ratelimit.New(ratelimit.Config{System: cxaudit.SourceZendesk})
	client := &http.Client{Transport: b.Transport(http.DefaultTransport)}
	resp, err := client.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)

	// Three callers at once: none is sent inside the window.
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			resp, err := client.Get(srv.URL)
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	require.Len(t, *times, 4)
	for _, at := range (*times)[1:] {
		require.GreaterOrEqual(t, at.Sub((*times)[0]), 990*time.Millisecond)
	}
}

func TestTransportCountsOtherIntegrations(t *testing.T) {
	t.Parallel()
	// The account has used 59 of 60 this minute (someone else did).
	srv, _ := server(t, func(n int, w http.ResponseWriter) {
		w.Header().Set("X-Rate-Limit", "60")
		w.Header().Set("X-Rate-Limit-Remaining", "1")
		w.WriteHeader(http.StatusOK)
	})
	b := ratelimit.New(ratelimit.Config{System: cxaudit.SourceZendesk, PerMinute: 60, MaxWait: 10 * time.Millisecond})
	client := &http.Client{Transport: b.Transport(http.DefaultTransport)}
	resp, err := client.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	_, err = client.Get(srv.URL)
	var rl *cxaudit.RateLimitError
	require.ErrorAs(t, err, &rl, "the window is full: the next request must wait")
}

func TestTransportStopsAtTheDailyShare(t *testing.T) {
	t.Parallel()
	var used atomic.Int64
	used.Store(79)
	srv, times := server(t, func(n int, w http.ResponseWriter) {
		w.Header().Set("Sforce-Limit-Info", "api-usage="+itoa(used.Add(1))+"/100")
		w.WriteHeader(http.StatusOK)
	})
	b := ratelimit.New(ratelimit.Config{System: cxaudit.SourceSalesforce, DailyShare: 0.8})
	client := &http.Client{Transport: b.Transport(http.DefaultTransport)}
	resp, err := client.Get(srv.URL) // usage becomes 80/100
	require.NoError(t, err)
	resp.Body.Close()
	_, err = client.Get(srv.URL)
	var rl *cxaudit.RateLimitError
	require.ErrorAs(t, err, &rl)
	require.Equal(t, time.Hour, rl.RetryAfter.Round(time.Minute))
	require.Len(t, *times, 1, "nothing is sent past the share")
	h := b.Health()
	require.True(t, h.OK)
	require.Equal(t, 80, h.DailyUsed)
	require.Equal(t, "daily quota share used", h.PauseReason)
}

func TestTransportBacksOffAfter401(t *testing.T) {
	t.Parallel()
	srv, times := server(t, func(n int, w http.ResponseWriter) { w.WriteHeader(http.StatusUnauthorized) })
	b := ratelimit.New(ratelimit.Config{System: cxaudit.SourceZendesk})
	client := &http.Client{Transport: b.Transport(http.DefaultTransport)}
	resp, err := client.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	for range 5 {
		_, err = client.Get(srv.URL)
		require.Equal(t, cxaudit.EUNAUTHORIZED, cxaudit.ErrorCode(err))
	}
	require.Len(t, *times, 1, "no hammering")
	require.False(t, b.Health().OK)
	require.True(t, ratelimit.IsBudgetError(err))

	b.ResetAuth()
	resp, err = client.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Len(t, *times, 2)
}

func TestWritersGoFirst(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// One request every 100ms; a backlog of sync requests must not
		// delay a writer by more than an interval or two.
		b := ratelimit.New(ratelimit.Config{System: cxaudit.SourceZendesk, PerMinute: 600, Burst: 0.001})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for ctx.Err() == nil {
					if err := b.Wait(ctx, ratelimit.PrioritySync); err != nil && !errors.Is(err, context.Canceled) {
						t.Error(err)
						return
					}
				}
			})
		}
		time.Sleep(300 * time.Millisecond)
		start := time.Now()
		require.NoError(t, b.Wait(ctx, ratelimit.PriorityWrite))
		require.LessOrEqual(t, time.Since(start), 200*time.Millisecond)
		cancel()
		wg.Wait()
	})
}

func itoa(n int64) string {
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}

// A Retry-After pauses the system for at most MaxPause, however long it
// asks for (999999999 seconds closed the gate for 31 years), then the
// next request asks again.
func TestRetryAfterIsCappedAtMaxPause(t *testing.T) {
	t.Parallel()
	for _, retryAfter := range []string{"999999999", "3600", "Fri, 31 Dec 2060 23:59:59 GMT"} {
		now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		b := ratelimit.New(ratelimit.Config{System: cxaudit.SourceZendesk, MaxPause: 5 * time.Minute, NowFunc: func() time.Time { return now }})
		b.Observe(http.StatusTooManyRequests, http.Header{"Retry-After": {retryAfter}})
		h := b.Health()
		require.Equal(t, "Retry-After", h.PauseReason, retryAfter)
		require.Equal(t, now.Add(5*time.Minute), h.PausedUntil, retryAfter)
		var rl *cxaudit.RateLimitError
		require.ErrorAs(t, b.Wait(context.Background(), ratelimit.PrioritySync), &rl)
		require.Equal(t, 5*time.Minute, rl.RetryAfter)

		now = now.Add(5 * time.Minute)
		require.NoError(t, b.Wait(context.Background(), ratelimit.PrioritySync), "after the cap the system is asked again")
		require.True(t, b.Health().PausedUntil.IsZero())
	}
	// A short one is honoured as asked.
	now := time.Now()
	b := ratelimit.New(ratelimit.Config{System: cxaudit.SourceZendesk, NowFunc: func() time.Time { return now }})
	b.Observe(http.StatusTooManyRequests, http.Header{"Retry-After": {"42"}})
	require.Equal(t, now.Add(42*time.Second), b.Health().PausedUntil)
}

// Seconds past what a time.Duration holds are the longest wait, not an
// overflow into a negative one (which was no wait at all).
func TestRetryAfterParsesHugeValues(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"1":                             time.Second,
		"1.5":                           1500 * time.Millisecond,
		"999999999":                     999999999 * time.Second,
		"1e20":                          math.MaxInt64,
		"1e308":                         math.MaxInt64,
		"Mon, 02 Nov 2026 10:01:00 GMT": time.Minute,
		"Mon, 02 Nov 2026 09:00:00 GMT": 0,
	} {
		d, ok := ratelimit.RetryAfter(http.Header{"Retry-After": {v}}, now)
		require.True(t, ok, v)
		require.Equal(t, want, d, v)
	}
	for _, v := range []string{"", "soon", "-1", "NaN", "Inf"} {
		_, ok := ratelimit.RetryAfter(http.Header{"Retry-After": {v}}, now)
		require.False(t, ok, v)
	}
}
