package syncer_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/syncer"
)

// TestFractionIsTimeAndOnlyDoneIsOne: the walkthrough's backfill of 90
// days had 2,000 of 3,000 tickets stored when its position was a minute
// from the present, and the gauge read 0.9999, as if it were done. The
// fraction is of the time span, and a pass not done never reads above
// MaxUnfinished.
func TestFractionIsTimeAndOnlyDoneIsOne(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	start := now.AddDate(0, 0, -90)
	p := syncer.Progress{Source: "zendesk", Object: syncer.ObjectTickets, Records: 2000, Start: start, Position: now.Add(-time.Minute)}
	require.LessOrEqual(t, p.Fraction(now), syncer.MaxUnfinished)
	require.Less(t, p.Fraction(now), 1.0)

	p.Position = start.AddDate(0, 0, 45)
	require.InDelta(t, 0.5, p.Fraction(now), 1e-9, "half the time span")
	p.Position = now.Add(time.Hour) // a clock ahead of ours
	require.Equal(t, syncer.MaxUnfinished, p.Fraction(now))
	p.Position = time.Time{}
	require.Zero(t, p.Fraction(now), "nothing read yet")

	p.Done = true
	require.Equal(t, 1.0, p.Fraction(now), "1 is the end of the stream")
}
