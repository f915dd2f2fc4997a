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

// Fraction estimates how far a pass has come, from its position in time:
// 0 at Start, 1 at now.
func (p Progress) Fraction(now time.Time) float64 {
	if p.Done {
		return 1
	}
	if p.Position.IsZero() || !now.After(p.Start) {
		return 0
	}
	return min(max(float64(p.Position.Sub(p.Start))/float64(now.Sub(p.Start)), 0), 1)
}

// ProgressFunc is told of the progress after every committed page.
type ProgressFunc func(Progress)
