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
