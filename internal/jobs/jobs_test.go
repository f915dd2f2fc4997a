package jobs

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

func TestRetryPolicyBacksOffAndCaps(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MaxBackoff: 30 * time.Second}
	for _, tt := range []struct {
		failures int
		min, max time.Duration
	}{
		{1, time.Second, 1100 * time.Millisecond},
		{2, 2 * time.Second, 2200 * time.Millisecond},
		{5, 16 * time.Second, 17600 * time.Millisecond},
		{6, 30 * time.Second, 33 * time.Second},
		{40, 30 * time.Second, 33 * time.Second},
	} {
		job := &rivertype.JobRow{Errors: make([]rivertype.AttemptError, tt.failures)}
		d := time.Until(p.NextRetry(job))
		require.GreaterOrEqual(t, d, tt.min-50*time.Millisecond, "failures %d", tt.failures)
		require.LessOrEqual(t, d, tt.max, "failures %d", tt.failures)
	}
}

func TestOutcome(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	require.NoError(t, outcome(logger, "k", nil))

	var snooze *river.JobSnoozeError
	require.ErrorAs(t, outcome(logger, "k", &cxaudit.RateLimitError{Source: cxaudit.SourceZendesk, RetryAfter: 42 * time.Second}), &snooze)
	require.Equal(t, 42*time.Second, snooze.Duration)
	require.ErrorAs(t, outcome(logger, "k", &cxaudit.RateLimitError{}), &snooze)
	require.Equal(t, time.Second, snooze.Duration, "never snooze for nothing")

	var cancel *river.JobCancelError
	require.ErrorAs(t, outcome(logger, "k", cxaudit.Errorf(cxaudit.EUNAUTHORIZED, "bad token")), &cancel)

	plain := errors.New("boom")
	require.Equal(t, plain, outcome(logger, "k", plain))
}

// A snooze longer than Max (what a Retry-After of 31 years asked for) is
// cut to Max; shorter ones and other outcomes pass unchanged.
func TestSnoozeLimit(t *testing.T) {
	t.Parallel()
	m := &SnoozeLimit{Max: 5 * time.Minute, Logger: slog.New(slog.DiscardHandler)}
	job := &rivertype.JobRow{Kind: "zendesk_sync"}
	work := func(err error) error {
		return m.Work(t.Context(), job, func(context.Context) error { return err })
	}
	var snooze *river.JobSnoozeError
	long := outcome(slog.New(slog.DiscardHandler), "zendesk_sync",
		&cxaudit.RateLimitError{Source: cxaudit.SourceZendesk, RetryAfter: 999999999 * time.Second})
	require.ErrorAs(t, work(long), &snooze)
	require.Equal(t, 5*time.Minute, snooze.Duration)
	require.ErrorAs(t, work(river.JobSnooze(time.Hour)), &snooze)
	require.Equal(t, 5*time.Minute, snooze.Duration)
	require.ErrorAs(t, work(river.JobSnooze(42*time.Second)), &snooze)
	require.Equal(t, 42*time.Second, snooze.Duration)

	plain := errors.New("boom")
	require.Equal(t, plain, work(plain))
	require.NoError(t, work(nil))

	unlimited := &SnoozeLimit{}
	require.ErrorAs(t, unlimited.Work(t.Context(), job, func(context.Context) error { return river.JobSnooze(time.Hour) }), &snooze)
	require.Equal(t, time.Hour, snooze.Duration)
}
