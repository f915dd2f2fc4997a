package simworld_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/bizhours"
	"github.com/cxaudit/cxaudit/internal/simworld"
)

func TestGenerateSchedules(t *testing.T) {
	t.Parallel()
	for _, now := range []time.Time{
		time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),    // a Wednesday
		time.Date(2025, 12, 28, 23, 30, 0, 0, time.UTC), // a Sunday
	} {
		w := simworld.Generate(simworld.Options{Seed: 3, Accounts: 2, Tickets: 5, Now: now})
		require.Len(t, w.Schedules, 2)
		require.Equal(t, w.Schedules, simworld.Generate(simworld.Options{Seed: 4, Now: now}).Schedules, "the same for any seed")

		emea, americas := w.Schedules[0], w.Schedules[1]
		require.Equal(t, simworld.ScheduleEMEA, emea.ID)
		require.Equal(t, "Berlin", emea.TimeZone)
		require.Equal(t, simworld.ScheduleAmericas, americas.ID)
		require.Equal(t, "Pacific Time (US & Canada)", americas.TimeZone)

		// A local day's business hours.
		dayHours := func(s bizhours.Schedule, date string) float64 {
			t.Helper()
			cal, err := s.Calendar()
			require.NoError(t, err)
			d, err := time.ParseInLocation("2006-01-02", date, cal.Location())
			require.NoError(t, err)
			return cal.Hours(d, d.AddDate(0, 0, 1))
		}
		today := now.Truncate(24 * time.Hour)

		require.Len(t, emea.Holidays, 2)
		past, offsite := emea.Holidays[0], emea.Holidays[1]
		pastDay, err := time.Parse("2006-01-02", past.StartDate)
		require.NoError(t, err)
		require.True(t, pastDay.Before(today) && pastDay.After(today.AddDate(0, 0, -30)), "within the last 30 days: %s", past.StartDate)
		require.Zero(t, dayHours(emea, past.StartDate), "a weekday, closed")
		require.Equal(t, 10.0, dayHours(emea, pastDay.AddDate(0, 0, -7).Format("2006-01-02")), "the same weekday the week before: 08:00 to 18:00")

		first, err := time.Parse("2006-01-02", offsite.StartDate)
		require.NoError(t, err)
		require.True(t, first.After(today), "upcoming: %s", offsite.StartDate)
		require.Equal(t, first.AddDate(0, 0, 1).Format("2006-01-02"), offsite.EndDate, "two days")
		require.Zero(t, dayHours(emea, offsite.StartDate))
		require.Zero(t, dayHours(emea, offsite.EndDate))

		require.Len(t, americas.Holidays, 1)
		require.Zero(t, dayHours(americas, americas.Holidays[0].StartDate))
		monday, err := time.Parse("2006-01-02", americas.Holidays[0].StartDate)
		require.NoError(t, err)
		require.Equal(t, time.Monday, monday.Weekday())
		require.Equal(t, 8.0, dayHours(americas, monday.AddDate(0, 0, 1).Format("2006-01-02")), "09:00 to 17:00")
	}
}
