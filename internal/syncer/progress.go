package syncer

import "time"

// Progress is where a sync pass stands after a page committed.
type Progress struct {
	Source string
	Object string
	// Records is how many records of Object this pass has stored so far.
	Records int
	// Position is the newest change time the stream has reached (updated_at
	// or SystemModstamp); a backfill is done when it reaches the present.
	Position time.Time
	// Start is where the stream began: the backfill start, or the cursor's
	// time when the pass began.
	Start time.Time
	Done  bool
}

// Fraction is the share of the time span from Start to now that the
// stream's Position has reached: a measure of time, not of records. Changes
// bunch up in recent days, so a backfill with a third of its records still
// to read can stand close to the present (the gauge read 0.9999 with 2,000
// of 3,000 tickets stored); neither Zendesk's cursor exports nor this
// package know how many records are left. It is 1 only when the pass is
// Done (it reached the end of the stream), and below MaxUnfinished before.
func (p Progress) Fraction(now time.Time) float64 {
	if p.Done {
		return 1
	}
	if p.Position.IsZero() || !now.After(p.Start) {
		return 0
	}
	return min(max(float64(p.Position.Sub(p.Start))/float64(now.Sub(p.Start)), 0), MaxUnfinished)
}

// MaxUnfinished is the highest Fraction of a pass not done yet.
const MaxUnfinished = 0.99

// ProgressFunc is told of the progress after every committed page.
type ProgressFunc func(Progress)
