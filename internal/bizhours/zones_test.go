package bizhours

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Every Rails display name loads, as its own IANA zone, from the embedded
// zone database (time/tzdata) when the machine has none.
func TestEveryRailsZoneLoads(t *testing.T) {
	t.Parallel()
	require.GreaterOrEqual(t, len(railsZones), 150, "the whole ActiveSupport list")
	for name, iana := range railsZones {
		loc, err := Location(name)
		require.NoError(t, err, name)
		require.Equal(t, iana, loc.String(), name)
		// The same zone by its IANA name.
		direct, err := Location(iana)
		require.NoError(t, err, iana)
		require.Equal(t, iana, direct.String())
	}
}

func TestLocation(t *testing.T) {
	t.Parallel()
	summer := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		offsetSec int // UTC offset on 2025-07-01
	}{
		{"Pacific Time (US & Canada)", -7 * 3600},
		{"Eastern Time (US & Canada)", -4 * 3600},
		{"Berlin", 2 * 3600},
		{"London", 1 * 3600},
		{"Amsterdam", 2 * 3600},
		{"Tokyo", 9 * 3600},
		{"Sydney", 10 * 3600},
		{"Kathmandu", 5*3600 + 45*60},
		{"UTC", 0},
		{"America/Los_Angeles", -7 * 3600},
		{"Europe/Berlin", 2 * 3600},
		{"Etc/UTC", 0},
	} {
		loc, err := Location(tc.name)
		require.NoError(t, err, tc.name)
		_, off := summer.In(loc).Zone()
		require.Equal(t, tc.offsetSec, off, tc.name)
	}

	for _, bad := range []string{"", "Local", "Mars/Olympus", "berlin", "Pacific Time", " Berlin", "../etc/passwd", "/etc/localtime"} {
		_, err := Location(bad)
		require.Error(t, err, "%q", bad)
		require.ErrorContains(t, err, "unknown time zone")
		require.ErrorContains(t, err, `"`+bad+`"`, "names the zone")
	}
}
