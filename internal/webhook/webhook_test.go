package webhook_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/webhook"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

const secret = "whsec-unit-0123456789"

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newVerifier(c *clock, maxSeen int) *webhook.Verifier {
	v := webhook.NewVerifier(secret)
	v.Now, v.MaxSeen = c.Now, maxSeen
	return v
}

// TestVerifyAsZendeskSigns: what the simulator signs as Zendesk documents
// verifies; the window holds either way; a replay is refused until the
// timestamp it carries is stale anyway, then forgotten.
func TestVerifyAsZendeskSigns(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	v := newVerifier(c, 10)
	body := []byte(`{"ticket_id": "7"}`)
	at := func(d time.Duration) string { return c.now.Add(d).Format(time.RFC3339) }

	stamp := at(0)
	sig := zendesktest.Sign(secret, stamp, body)
	require.NoError(t, v.Verify(sig, stamp, body))
	require.ErrorIs(t, v.Verify(sig, stamp, body), webhook.ErrReplay)
	for _, d := range []time.Duration{-5 * time.Minute, 5 * time.Minute} {
		s := at(d)
		require.NoError(t, v.Verify(zendesktest.Sign(secret, s, body), s, body), "%s is within the window", d)
	}
	for _, d := range []time.Duration{-5*time.Minute - time.Second, 5*time.Minute + time.Second} {
		s := at(d)
		require.ErrorIs(t, v.Verify(zendesktest.Sign(secret, s, body), s, body), webhook.ErrStale, "%s", d)
	}
	require.ErrorIs(t, v.Verify(zendesktest.Sign("other-secret-0123456789", stamp, body), stamp, body), webhook.ErrSignature)
	require.ErrorIs(t, v.Verify("", stamp, body), webhook.ErrMissing)
	require.ErrorIs(t, v.Verify(sig, "", body), webhook.ErrMissing)
	require.ErrorIs(t, v.Verify(sig, "1733054400", body), webhook.ErrTimestamp)
	require.ErrorIs(t, v.Verify("%%%", stamp, body), webhook.ErrSignature)

	// Ten minutes on, the first signature's timestamp is stale: it is
	// refused as such, and forgotten.
	c.now = c.now.Add(10*time.Minute + time.Second)
	require.ErrorIs(t, v.Verify(sig, stamp, body), webhook.ErrStale)
}

// TestReplayMemoryIsBounded: past MaxSeen signatures within the window,
// requests are refused (ErrFull) rather than remembered without bound or
// forgotten early; once the old ones expire there is room again.
func TestReplayMemoryIsBounded(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	v := newVerifier(c, 3)
	sign := func(i int) (string, string, []byte) {
		stamp := c.now.Format(time.RFC3339)
		body := []byte(`{"ticket_id": ` + string(rune('1'+i)) + `}`)
		return zendesktest.Sign(secret, stamp, body), stamp, body
	}
	for i := range 3 {
		s, st, b := sign(i)
		require.NoError(t, v.Verify(s, st, b))
	}
	s, st, b := sign(3)
	require.ErrorIs(t, v.Verify(s, st, b), webhook.ErrFull)
	c.now = c.now.Add(11 * time.Minute)
	for i := range 3 {
		s, st, b := sign(i + 4)
		require.NoError(t, v.Verify(s, st, b), "expired signatures make room")
	}
}

func TestTicketID(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]int64{
		`{"type":"zen:event-type:ticket.status_changed","detail":{"id":"35436"}}`: 35436,
		`{"type":"zen:event-type:ticket.created","detail":{"id":35436}}`:          35436,
		`{"ticket_id": "12"}`:   12,
		`{"ticket_id": 12}`:     12,
		`{"ticket_id": " 12 "}`: 12,
	} {
		id, ok, err := webhook.TicketID([]byte(body))
		require.NoError(t, err, body)
		require.True(t, ok, body)
		require.Equal(t, want, id, body)
	}
	_, ok, err := webhook.TicketID([]byte(`{"type":"zen:event-type:user.active_changed","detail":{"id":"7"}}`))
	require.NoError(t, err)
	require.False(t, ok, "a user event is not about a ticket")
	for _, body := range []string{`{}`, `[]`, `nope`, `{"ticket_id": "{{ticket.id}}"}`, `{"ticket_id": -3}`,
		`{"type":"zen:event-type:ticket.created","detail":{}}`, `{"ticket_id": "12abc"}`} {
		_, _, err := webhook.TicketID([]byte(body))
		require.ErrorIs(t, err, webhook.ErrBody, body)
	}
}
