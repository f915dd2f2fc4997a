package ratelimit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A server advertising an absurd limit must not make the window allocate a
// send time per request it claims to allow.
func TestWindowResizeIsCapped(t *testing.T) {
	w := newWindow("account", 700, "", time.Minute, 0.1)
	now := time.Now()
	w.times[0], w.n = now, 1
	w.resize(1 << 30)
	require.Equal(t, maxLimit, w.limit)
	require.Len(t, w.times, maxLimit)
	require.Equal(t, 1, w.n, "the send times so far are kept")
	require.Equal(t, now, w.times[0])
}

// A configured limit is capped as an advertised one is: a budget built
// with ZENDESK_EXPORT_RATE_LIMIT=2000000000 allocated 48 GB at start.
func TestNewWindowIsCapped(t *testing.T) {
	t.Parallel()
	w := newWindow("incremental_export", 2_000_000_000, "/incremental/", time.Minute, 0.5)
	require.Equal(t, maxLimit, w.limit)
	require.Len(t, w.times, maxLimit)

	b := New(Config{System: "zendesk", PerMinute: 2_000_000_000,
		Endpoints: []Endpoint{{Name: "incremental_export", PathContains: "/incremental/", PerMinute: 2_000_000_000}}})
	require.Len(t, b.account.times, maxLimit)
	require.Len(t, b.endpoints[0].times, maxLimit)
}
