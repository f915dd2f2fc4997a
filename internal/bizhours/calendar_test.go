package bizhours

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tzif returns a version 1 TZif zone (RFC 8536) that starts at UTC and
// changes to each offset (seconds east) at each instant.
func tzif(changes []time.Time, offsets []int32) []byte {
	be := binary.BigEndian
	b := []byte("TZif")
	b = append(b, make([]byte, 16)...) // version 1, reserved
	// isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
	for _, n := range []int{0, 0, 0, len(changes), 1 + len(offsets), 4} {
		b = be.AppendUint32(b, uint32(n))
	}
	for _, c := range changes {
		b = be.AppendUint32(b, uint32(int32(c.Unix())))
	}
	for i := range changes {
		b = append(b, byte(i+1))
	}
	for _, off := range append([]int32{0}, offsets...) {
		b = be.AppendUint32(b, uint32(off))
		b = append(b, 0, 0) // not DST, abbreviation 0
	}
	return append(b, "UTC\x00"...)
}

// Two offset changes a day apart both touch the same days: each day is
// corrected once. (No zone in the database has changes this close since
// 1900; a future one might.)
func TestOffsetChangesCloseTogether(t *testing.T) {
	t.Parallel()
	// 2025-06-10 is a Tuesday: an hour forward at 10:00 UTC, back at
	// 10:00 UTC the next day.
	first, second := time.Date(2025, 6, 10, 10, 0, 0, 0, time.UTC), time.Date(2025, 6, 11, 10, 0, 0, 0, time.UTC)
	loc, err := time.LoadLocationFromTZData("Test/Close", tzif([]time.Time{first, second}, []int32{3600, 0}))
	require.NoError(t, err)
	_, off := first.In(loc).Zone()
	require.Equal(t, 3600, off)

	c, err := Schedule{Name: "tuesdays", TimeZone: "UTC", Intervals: []Interval{{Start: 2 * minutesPerDay, End: 3 * minutesPerDay}}}.Calendar()
	require.NoError(t, err)
	c.loc = loc
	// The 13 Tuesdays from May to July, of which June 10 is 23 hours
	// long: its wall clock skips 10:00 to 11:00.
	from, to := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)
	require.InDelta(t, 13*24-1, c.Hours(from, to), 1e-9)
}
