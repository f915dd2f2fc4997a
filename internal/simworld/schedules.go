package simworld

import (
	"time"

	"github.com/cxaudit/cxaudit/internal/bizhours"
)

// The ids of the generated tenant's schedules.
const (
	ScheduleEMEA     int64 = 360000010001
	ScheduleAmericas int64 = 360000010002
)

// schedules returns the tenant's business-hours schedules, as an
// Enterprise account with a team on each side of the Atlantic has them:
// "EMEA support" in Berlin, Monday to Friday 08:00 to 18:00, closed on a
// day in the last two weeks and on two days starting next week or the
// week after; "Americas support" in Pacific time, Monday to Friday 09:00
// to 17:00, closed on a Monday soon. Time zones are Zendesk's (Rails')
// names. The dates follow now and draw nothing at random, so the rest of
// the World is the same with or without them.
func schedules(now time.Time) []bizhours.Schedule {
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	// The last weekday at least 12 days ago.
	past := today.AddDate(0, 0, -12)
	for past.Weekday() == time.Saturday || past.Weekday() == time.Sunday {
		past = past.AddDate(0, 0, -1)
	}
	// The first Thursday at least 7 days ahead, and the Friday after.
	offsite := today.AddDate(0, 0, 7)
	for offsite.Weekday() != time.Thursday {
		offsite = offsite.AddDate(0, 0, 1)
	}
	// The first Monday at least 3 days ahead.
	monday := today.AddDate(0, 0, 3)
	for monday.Weekday() != time.Monday {
		monday = monday.AddDate(0, 0, 1)
	}
	date := func(t time.Time) string { return t.Format("2006-01-02") }
	return []bizhours.Schedule{
		{
			ID: ScheduleEMEA, Name: "EMEA support", TimeZone: "Berlin", Intervals: mondayToFriday(8, 18),
			Holidays: []bizhours.Holiday{
				{ID: 1, Name: "Founders' Day", StartDate: date(past), EndDate: date(past)},
				{ID: 2, Name: "Team offsite", StartDate: date(offsite), EndDate: date(offsite.AddDate(0, 0, 1))},
			},
		},
		{
			ID: ScheduleAmericas, Name: "Americas support", TimeZone: "Pacific Time (US & Canada)", Intervals: mondayToFriday(9, 17),
			Holidays: []bizhours.Holiday{
				{ID: 3, Name: "Company holiday", StartDate: date(monday), EndDate: date(monday)},
			},
		},
	}
}

// mondayToFriday returns the intervals from..to (local hours) on Monday to
// Friday, in minutes since Sunday 00:00.
func mondayToFriday(from, to int) []bizhours.Interval {
	var out []bizhours.Interval
	for wd := int(time.Monday); wd <= int(time.Friday); wd++ {
		out = append(out, bizhours.Interval{Start: wd*24*60 + from*60, End: wd*24*60 + to*60})
	}
	return out
}
