package bizhours_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/bizhours"
)

// Minutes since Sunday 00:00 of a weekday's hour and minute.
func at(wd time.Weekday, hour, minute int) int { return int(wd)*1440 + hour*60 + minute }

// weekdays returns the interval from..to (hours) on Monday to Friday.
func weekdays(from, to int) []bizhours.Interval {
	var out []bizhours.Interval
	for wd := time.Monday; wd <= time.Friday; wd++ {
		out = append(out, bizhours.Interval{Start: at(wd, from, 0), End: at(wd, to, 0)})
	}
	return out
}

func mustCalendar(t testing.TB, s bizhours.Schedule) *bizhours.Calendar {
	t.Helper()
	c, err := s.Calendar()
	require.NoError(t, err)
	return c
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := bizhours.Location(name)
	require.NoError(t, err)
	return loc
}

// Default keeps the semantics of the rules' business_hours_between before
// schedules: the expectations are those of internal/rules/eval_test.go.
func TestDefaultIsMondayToFridayNineToFiveUTC(t *testing.T) {
	t.Parallel()
	at := func(day, hour, minute int) time.Time { return time.Date(2025, 3, day, hour, minute, 0, 0, time.UTC) }
	tests := []struct {
		name string
		a, b time.Time
		want float64
	}{
		{"same day inside", at(12, 10, 0), at(12, 12, 30), 2.5},
		{"before opening to after closing", at(12, 6, 0), at(12, 20, 0), 8},
		{"overnight", at(12, 16, 0), at(13, 10, 0), 2},
		{"weekend", at(15, 9, 0), at(16, 17, 0), 0},           // Saturday to Sunday
		{"friday to monday", at(14, 16, 0), at(17, 10, 0), 2}, // Friday 16:00 to Monday 10:00
		{"one week", at(10, 9, 0), at(17, 9, 0), 40},
		{"three weeks and a day", at(3, 12, 0), at(25, 12, 0), 3*40 + 8},
		{"reversed", at(12, 12, 30), at(12, 10, 0), -2.5},
		{"zero", at(12, 10, 0), at(12, 10, 0), 0},
		// Times in another zone are the same instants.
		{"non-UTC inputs", at(12, 10, 0).In(time.FixedZone("X", -5*3600)), at(12, 12, 30).In(time.FixedZone("Y", 3*3600)), 2.5},
		{"sub-second", at(10, 9, 0).Add(500 * time.Millisecond), at(10, 9, 0).Add(time.Second), 0.5 / 3600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.InDelta(t, tc.want, bizhours.Default().Hours(tc.a, tc.b), 1e-12)
		})
	}
	require.Equal(t, time.UTC, bizhours.Default().Location())
}

// The case: business hours across a weekend and a holiday in a
// non-UTC time zone. Holidays are local days, not UTC days.
func TestHoursAcrossWeekendAndHoliday(t *testing.T) {
	t.Parallel()
	berlin := mustCalendar(t, bizhours.Schedule{
		ID: 1, Name: "EMEA support", TimeZone: "Berlin", Intervals: weekdays(8, 18),
		Holidays: []bizhours.Holiday{{ID: 1, Name: "Labour Day", StartDate: "2025-05-01", EndDate: "2025-05-01"}},
	})
	la := mustCalendar(t, bizhours.Schedule{
		ID: 2, Name: "Americas support", TimeZone: "Pacific Time (US & Canada)", Intervals: weekdays(9, 17),
		Holidays: []bizhours.Holiday{{ID: 2, Name: "Independence Day", StartDate: "2025-07-04", EndDate: "2025-07-04"}},
	})
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	tests := []struct {
		name string
		cal  *bizhours.Calendar
		a, b string
		want float64
	}{
		// Wednesday 17:00 CEST to Monday 09:00 CEST: Wednesday 1 h,
		// Thursday the holiday, Friday 10 h, the weekend, Monday 1 h.
		{"berlin over holiday and weekend", berlin, "2025-04-30T15:00:00Z", "2025-05-05T07:00:00Z", 12},
		{"berlin the holiday itself", berlin, "2025-04-30T22:00:00Z", "2025-05-01T22:00:00Z", 0},
		// 07:30 to 08:30 CEST: only the half hour after opening.
		{"berlin opening in local time", berlin, "2025-05-02T05:30:00Z", "2025-05-02T06:30:00Z", 0.5},
		{"berlin saturday and sunday", berlin, "2025-05-02T22:00:00Z", "2025-05-04T22:00:00Z", 0},
		// Thursday 16:00 PDT to Monday 10:00 PDT: Thursday 1 h, Friday the
		// holiday, the weekend, Monday 1 h.
		{"los angeles over holiday and weekend", la, "2025-07-03T23:00:00Z", "2025-07-07T17:00:00Z", 2},
		// Thursday 16:30 to 17:30 PDT is already July 4 in UTC: the
		// holiday is the local day, so the half hour before closing counts.
		{"los angeles holiday is a local day", la, "2025-07-03T23:30:00Z", "2025-07-04T00:30:00Z", 0.5},
		// Friday 16:00 to 18:00 PDT, the holiday: nothing.
		{"los angeles holiday evening", la, "2025-07-04T23:00:00Z", "2025-07-05T01:00:00Z", 0},
		{"los angeles friday to monday", la, "2025-07-11T23:00:00Z", "2025-07-14T17:00:00Z", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := utc(tc.a), utc(tc.b)
			require.InDelta(t, tc.want, tc.cal.Hours(a, b), 1e-9)
			require.InDelta(t, -tc.want, tc.cal.Hours(b, a), 1e-9, "reversed")
		})
	}
}

// dstCase is a case of TestHoursOnDaylightSavingDays.
type dstCase struct {
	name     string
	cal      *bizhours.Calendar
	a, b     time.Time
	want     float64
	wantReal bool // want is also b-a: every instant of the span is business time
}

// On the days clocks change (Sundays), intervals are bounded by real
// instants: a wall-clock hour that is skipped counts nothing, one that is
// repeated counts twice, and an interval away from the change keeps its
// length.
func TestHoursOnDaylightSavingDays(t *testing.T) {
	t.Parallel()
	sunday := func(zone string, from, to int) *bizhours.Calendar {
		return mustCalendar(t, bizhours.Schedule{Name: "weekend shift", TimeZone: zone,
			Intervals: []bizhours.Interval{{Start: from, End: to}}})
	}
	local := func(zone string, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, mustZone(t, zone))
	}
	const berlin, la = "Berlin", "Pacific Time (US & Canada)"
	tests := []dstCase{
		// Europe: last Sunday of March, 02:00 -> 03:00; last Sunday of
		// October, 03:00 -> 02:00.
		{"berlin spring whole day", sunday(berlin, 0, 1440), local(berlin, 2025, 3, 29, 12, 0), local(berlin, 2025, 3, 31, 12, 0), 23, false},
		{"berlin autumn whole day", sunday(berlin, 0, 1440), local(berlin, 2025, 10, 25, 12, 0), local(berlin, 2025, 10, 27, 12, 0), 25, false},
		{"berlin spring 01-04", sunday(berlin, 60, 240), local(berlin, 2025, 3, 29, 12, 0), local(berlin, 2025, 3, 31, 12, 0), 2, false},
		{"berlin autumn 01-04", sunday(berlin, 60, 240), local(berlin, 2025, 10, 25, 12, 0), local(berlin, 2025, 10, 27, 12, 0), 4, false},
		{"berlin spring 09-17", sunday(berlin, 540, 1020), local(berlin, 2025, 3, 29, 12, 0), local(berlin, 2025, 3, 31, 12, 0), 8, false},
		{"berlin autumn 09-17", sunday(berlin, 540, 1020), local(berlin, 2025, 10, 25, 12, 0), local(berlin, 2025, 10, 27, 12, 0), 8, false},
		{"berlin spring inside the day", sunday(berlin, 0, 1440), local(berlin, 2025, 3, 30, 1, 0), local(berlin, 2025, 3, 30, 4, 0), 2, true},
		// US: second Sunday of March, 02:00 -> 03:00; first Sunday of
		// November, 02:00 -> 01:00.
		{"la spring whole day", sunday(la, 0, 1440), local(la, 2025, 3, 8, 12, 0), local(la, 2025, 3, 10, 12, 0), 23, false},
		{"la autumn whole day", sunday(la, 0, 1440), local(la, 2025, 11, 1, 12, 0), local(la, 2025, 11, 3, 12, 0), 25, false},
		{"la spring skipped hour", sunday(la, 120, 180), local(la, 2025, 3, 8, 12, 0), local(la, 2025, 3, 10, 12, 0), 0, false},
		{"la autumn repeated hour", sunday(la, 60, 120), local(la, 2025, 11, 1, 12, 0), local(la, 2025, 11, 3, 12, 0), 2, false},
		{"la spring 09-17", sunday(la, 540, 1020), local(la, 2025, 3, 8, 12, 0), local(la, 2025, 3, 10, 12, 0), 8, false},
		{"la autumn 09-17", sunday(la, 540, 1020), local(la, 2025, 11, 1, 12, 0), local(la, 2025, 11, 3, 12, 0), 8, false},
		// Starting at 01:30 in the repeated hour: the first pass (PDT,
		// 08:30Z) leaves 2.5 hours to 03:00 PST, the second (PST, 09:30Z)
		// 1.5 hours.
		{"la autumn from first 01:30", sunday(la, 0, 180), time.Date(2025, 11, 2, 8, 30, 0, 0, time.UTC), local(la, 2025, 11, 3, 12, 0), 2.5, false},
		{"la autumn from second 01:30", sunday(la, 0, 180), time.Date(2025, 11, 2, 9, 30, 0, 0, time.UTC), local(la, 2025, 11, 3, 12, 0), 1.5, false},
	}
	// Until 2011 Newfoundland fell back at 00:01: on 2010-11-07 the clock
	// showed Sunday 00:00-00:01 (NDT), then Saturday 23:01 (NST) again.
	// Sunday's first minute comes before Saturday is over.
	const nf = "Newfoundland"
	satSun := mustCalendar(t, bizhours.Schedule{Name: "midnight shift", TimeZone: nf, Intervals: []bizhours.Interval{
		{Start: at(time.Saturday, 23, 0), End: at(time.Saturday, 24, 0)}, {Start: 0, End: 30}}})
	tests = append(tests,
		// From Saturday 23:30 of the second pass (03:00Z), for 30 days:
		// five Sundays' 00:00-00:30, of which the first minute on
		// 2010-11-07 is already past.
		dstCase{"newfoundland sunday before saturday ends", sunday(nf, 0, 30), time.Date(2010, 11, 7, 3, 0, 0, 0, time.UTC), time.Date(2010, 12, 7, 3, 0, 0, 0, time.UTC), 2.5, false},
		// From Sunday 00:00:30 NDT (02:30:30Z): 30 s of Sunday, then
		// Saturday 23:01-24:00 again, then Sunday 00:00-00:30 NST.
		dstCase{"newfoundland saturday after sunday began", satSun, time.Date(2010, 11, 7, 2, 30, 30, 0, time.UTC), time.Date(2010, 11, 7, 4, 30, 30, 0, time.UTC), 89.5 / 60, false},
	)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.InDelta(t, tc.want, tc.cal.Hours(tc.a, tc.b), 1e-9)
			if tc.wantReal {
				require.InDelta(t, tc.b.Sub(tc.a).Hours(), tc.want, 1e-9)
			}
		})
	}
}

func TestHoursSplitShiftsAndPartialIntervals(t *testing.T) {
	t.Parallel()
	// Monday to Friday 08:00-12:00 and 13:00-17:00 in Amsterdam, given
	// unsorted, with a duplicate and an overlap that merge away.
	var ivs []bizhours.Interval
	for wd := time.Friday; wd >= time.Monday; wd-- {
		ivs = append(ivs,
			bizhours.Interval{Start: at(wd, 13, 0), End: at(wd, 17, 0)},
			bizhours.Interval{Start: at(wd, 8, 0), End: at(wd, 11, 0)},
			bizhours.Interval{Start: at(wd, 10, 0), End: at(wd, 12, 0)},
			bizhours.Interval{Start: at(wd, 13, 0), End: at(wd, 17, 0)})
	}
	cal := mustCalendar(t, bizhours.Schedule{Name: "split", TimeZone: "Amsterdam", Intervals: ivs})
	ams := mustZone(t, "Europe/Amsterdam")
	mon := func(h, m int) time.Time { return time.Date(2025, 6, 2, h, m, 0, 0, ams) } // a Monday
	tests := []struct {
		name string
		a, b time.Time
		want float64
	}{
		{"whole day", mon(0, 0), mon(23, 59), 8},
		{"across lunch", mon(11, 0), mon(14, 0), 2},
		{"inside lunch", mon(12, 10), mon(12, 50), 0},
		{"starts inside the morning", mon(9, 15), mon(12, 30), 2.75},
		{"ends inside the afternoon", mon(12, 30), mon(16, 20), 3 + 20.0/60},
		{"inside one interval", mon(14, 5), mon(14, 35), 0.5},
		{"to the next week", mon(16, 0), mon(16, 0).AddDate(0, 0, 7), 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.InDelta(t, tc.want, cal.Hours(tc.a, tc.b), 1e-9)
		})
	}
}

// A 24/7 schedule counts every real instant, across any offset change, in
// any zone, for any length of span.
func TestHours24x7IsElapsedTime(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for _, zone := range []string{"UTC", "Berlin", "Pacific Time (US & Canada)", "Santiago", "Asia/Beirut", "Australia/Lord_Howe", "Chatham Is."} {
		var ivs []bizhours.Interval
		for wd := time.Sunday; wd <= time.Saturday; wd++ {
			// Two intervals a day that touch, to check merging too.
			ivs = append(ivs, bizhours.Interval{Start: at(wd, 0, 0), End: at(wd, 12, 0)}, bizhours.Interval{Start: at(wd, 12, 0), End: at(wd, 24, 0)})
		}
		cal := mustCalendar(t, bizhours.Schedule{Name: "24/7", TimeZone: zone, Intervals: ivs})
		if zone == "UTC" {
			// Freetown changed its offset twice in four days of September
			// 1939 (-01:00, -00:40, -01:00): each day is corrected once.
			freetown := mustCalendar(t, bizhours.Schedule{Name: "24/7", TimeZone: "Africa/Freetown", Intervals: ivs})
			a, b := time.Date(1939, 8, 1, 0, 0, 0, 0, time.UTC), time.Date(1939, 10, 1, 0, 0, 0, 0, time.UTC)
			require.InDelta(t, b.Sub(a).Hours(), freetown.Hours(a, b), 1e-9)
		}
		for range 200 {
			a := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(10 * 365 * 24 * time.Hour))))
			b := a.Add(time.Duration(r.Int64N(int64(800 * 24 * time.Hour))))
			require.InDelta(t, b.Sub(a).Hours(), cal.Hours(a, b), 1e-6, "%s %s..%s", zone, a, b)
		}
	}
}

// A ticket open for a year: whole weeks are skipped, and the holidays and
// both offset changes inside them still count exactly.
func TestHoursOverAYear(t *testing.T) {
	t.Parallel()
	day := func(d string) bizhours.Holiday { return bizhours.Holiday{Name: d, StartDate: d, EndDate: d} }
	berlin := mustCalendar(t, bizhours.Schedule{
		Name: "EMEA support", TimeZone: "Berlin", Intervals: weekdays(8, 18),
		Holidays: []bizhours.Holiday{
			day("2025-01-01"), day("2025-04-18"), day("2025-04-21"), day("2025-05-01"), day("2025-05-29"),
			day("2025-06-09"), day("2025-10-03"), day("2025-12-31"),
			{Name: "Christmas", StartDate: "2025-12-24", EndDate: "2025-12-26"},
			day("2025-12-25"), // inside the range above: merged
			day("2025-03-08"), // a Saturday: changes nothing
		},
	})
	// 2025 has 261 weekdays (52 weeks and a Wednesday); 11 of them are
	// holidays: 250 days of 10 hours.
	jan1 := time.Date(2025, 1, 1, 0, 0, 0, 0, mustZone(t, "Europe/Berlin"))
	require.InDelta(t, 2500, berlin.Hours(jan1, jan1.AddDate(1, 0, 0)), 1e-9)

	la := mustCalendar(t, bizhours.Schedule{
		Name: "Americas support", TimeZone: "Pacific Time (US & Canada)", Intervals: weekdays(9, 17),
		Holidays: []bizhours.Holiday{
			day("2025-01-01"), day("2025-01-20"), day("2025-02-17"), day("2025-05-26"), day("2025-06-19"),
			day("2025-07-04"), day("2025-09-01"), day("2025-11-11"), day("2025-12-25"),
			{Name: "Thanksgiving", StartDate: "2025-11-27", EndDate: "2025-11-28"},
		},
	})
	// 261 weekdays, 11 holidays: 250 days of 8 hours.
	jan1 = time.Date(2025, 1, 1, 0, 0, 0, 0, mustZone(t, "America/Los_Angeles"))
	require.InDelta(t, 2000, la.Hours(jan1, jan1.AddDate(1, 0, 0)), 1e-9)
	// Ten years, reversed: every weekday but 2025's holidays (the only
	// ones given), 8 hours each, counted day by day here.
	end := jan1.AddDate(10, 0, 0)
	got := la.Hours(end, jan1)
	require.Less(t, got, 0.0)
	weekdaysIn10y := 0
	for d := jan1; d.Before(end); d = d.AddDate(0, 0, 1) {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			weekdaysIn10y++
		}
	}
	require.InDelta(t, -float64((weekdaysIn10y-11)*8), got, 1e-9)
}

func TestHoursOfExtremeTimes(t *testing.T) {
	t.Parallel()
	cal := mustCalendar(t, bizhours.Schedule{Name: "EMEA support", TimeZone: "Berlin", Intervals: weekdays(8, 18)})
	now := time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)
	// A zero time (a field that was never set) must not overflow or hang:
	// about 2025 years of 50-hour weeks.
	got := cal.Hours(time.Time{}, now)
	require.InDelta(t, 2024.4*365.2425/7*50, got, 2000)
	require.Equal(t, -got, cal.Hours(now, time.Time{}))
}

func TestCalendarRejectsBadSchedules(t *testing.T) {
	t.Parallel()
	ok := []bizhours.Interval{{Start: at(time.Monday, 9, 0), End: at(time.Monday, 17, 0)}}
	tests := []struct {
		name string
		s    bizhours.Schedule
		want string
	}{
		{"unknown zone", bizhours.Schedule{TimeZone: "Mars/Olympus", Intervals: ok}, `unknown time_zone "Mars/Olympus"`},
		{"empty zone", bizhours.Schedule{Intervals: ok}, `unknown time_zone ""`},
		{"end before start", bizhours.Schedule{TimeZone: "UTC", Intervals: []bizhours.Interval{{Start: 2000, End: 1980}}}, "interval 0 (start_time 2000, end_time 1980): want 0 <= start_time < end_time <= 10080"},
		{"empty interval", bizhours.Schedule{TimeZone: "UTC", Intervals: append(ok, bizhours.Interval{Start: 1980, End: 1980})}, "interval 1 (start_time 1980, end_time 1980)"},
		{"negative", bizhours.Schedule{TimeZone: "UTC", Intervals: []bizhours.Interval{{Start: -60, End: 60}}}, "interval 0 (start_time -60, end_time 60)"},
		{"past the week", bizhours.Schedule{TimeZone: "UTC", Intervals: []bizhours.Interval{{Start: 10000, End: 10081}}}, "interval 0 (start_time 10000, end_time 10081): want"},
		{"spans midnight", bizhours.Schedule{TimeZone: "UTC", Intervals: []bizhours.Interval{{Start: at(time.Monday, 22, 0), End: at(time.Tuesday, 2, 0)}}}, "interval 0 (start_time 2760, end_time 3000) spans two days (Monday to Tuesday)"},
		{"bad start date", bizhours.Schedule{TimeZone: "UTC", Holidays: []bizhours.Holiday{{Name: "Xmas", StartDate: "2025-13-01", EndDate: "2025-12-25"}}}, `holiday 0 "Xmas": start_date "2025-13-01" is not a date`},
		{"bad end date", bizhours.Schedule{TimeZone: "UTC", Holidays: []bizhours.Holiday{{Name: "Xmas", StartDate: "2025-12-24", EndDate: "26.12.2025"}}}, `holiday 0 "Xmas": end_date "26.12.2025" is not a date`},
		{"missing date", bizhours.Schedule{TimeZone: "UTC", Holidays: []bizhours.Holiday{{Name: "Xmas", StartDate: "2025-12-24"}}}, `holiday 0 "Xmas": end_date "" is not a date`},
		{"end before start date", bizhours.Schedule{TimeZone: "UTC", Holidays: []bizhours.Holiday{{Name: "Xmas", StartDate: "2025-12-26", EndDate: "2025-12-24"}}}, `holiday 0 "Xmas": end_date 2025-12-24 is before start_date 2025-12-26`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.s.ID, tc.s.Name = 360001, "EMEA support"
			c, err := tc.s.Calendar()
			require.Nil(t, c)
			require.ErrorContains(t, err, `bizhours: schedule 360001 "EMEA support": `+tc.want)
		})
	}

	// The edges of the week are fine: Sunday from midnight, Saturday to
	// midnight, no intervals at all.
	for _, ivs := range [][]bizhours.Interval{{{Start: 0, End: 60}}, {{Start: at(time.Saturday, 23, 0), End: 10080}}, nil} {
		_, err := bizhours.Schedule{TimeZone: "UTC", Intervals: ivs}.Calendar()
		require.NoError(t, err)
	}
	closed := mustCalendar(t, bizhours.Schedule{TimeZone: "Tokyo"})
	require.Zero(t, closed.Hours(time.Unix(0, 0), time.Unix(0, 0).AddDate(3, 0, 0)))
}

// A Schedule is stored as JSON under Zendesk's field names.
func TestScheduleJSON(t *testing.T) {
	t.Parallel()
	s := bizhours.Schedule{ID: 7, Name: "EMEA support", TimeZone: "Berlin",
		Intervals: []bizhours.Interval{{Start: 1920, End: 2520}},
		Holidays:  []bizhours.Holiday{{ID: 3, Name: "Christmas", StartDate: "2025-12-24", EndDate: "2025-12-26"}}}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	require.JSONEq(t, `{"id":7,"name":"EMEA support","time_zone":"Berlin",
		"intervals":[{"start_time":1920,"end_time":2520}],
		"holidays":[{"id":3,"name":"Christmas","start_date":"2025-12-24","end_date":"2025-12-26"}]}`, string(b))
	var back bizhours.Schedule
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, s, back)
}

// reference counts business time the slow way: it steps through [a, b) by
// step and asks, for each instant, what the schedule's wall clock shows.
// It is exact when a, b, the intervals and the zone's offsets and changes
// are all multiples of step.
func reference(s bizhours.Schedule, loc *time.Location, a, b time.Time, step time.Duration) float64 {
	holiday := map[string]bool{}
	for _, h := range s.Holidays {
		first, _ := time.Parse("2006-01-02", h.StartDate)
		last, _ := time.Parse("2006-01-02", h.EndDate)
		for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
			holiday[d.Format("2006-01-02")] = true
		}
	}
	var n int
	for t := a; t.Before(b); t = t.Add(step) {
		w := t.In(loc)
		if holiday[w.Format("2006-01-02")] {
			continue
		}
		m := int(w.Weekday())*1440 + w.Hour()*60 + w.Minute()
		for _, iv := range s.Intervals {
			if iv.Start <= m && m < iv.End {
				n++
				break
			}
		}
	}
	return float64(n) * step.Hours()
}

// Zones with unusual offset changes: at midnight (Santiago, Beirut, whose
// autumn change runs the clock back into the previous day), by half an
// hour (Lord Howe), at odd offsets (Chatham, Kathmandu, St John's),
// around Ramadan (Casablanca), none (Tokyo, UTC).
var propertyZones = []string{
	"Berlin", "Pacific Time (US & Canada)", "London", "Santiago", "Asia/Beirut", "America/Havana",
	"Australia/Lord_Howe", "Chatham Is.", "Kathmandu", "Newfoundland", "Casablanca", "Tehran", "Tokyo", "UTC",
}

// randomSchedule draws a schedule whose times are multiples of grain
// minutes, with holidays near start.
func randomSchedule(r *rand.Rand, grain int, start time.Time, spanDays int) bizhours.Schedule {
	s := bizhours.Schedule{ID: r.Int64N(1000), Name: "random", TimeZone: propertyZones[r.IntN(len(propertyZones))]}
	slots := 1440 / grain
	for wd := range 7 {
		switch k := r.IntN(10); {
		case k < 3: // closed
		case k < 4: // all day
			s.Intervals = append(s.Intervals, bizhours.Interval{Start: wd * 1440, End: (wd + 1) * 1440})
		default: // a few intervals, which may overlap
			for range 1 + r.IntN(3) {
				from := r.IntN(slots)
				to := from + 1 + r.IntN(slots-from)
				s.Intervals = append(s.Intervals, bizhours.Interval{Start: wd*1440 + from*grain, End: wd*1440 + to*grain})
			}
		}
	}
	for range r.IntN(5) {
		first := start.AddDate(0, 0, r.IntN(spanDays+2)-1)
		last := first.AddDate(0, 0, r.IntN(4))
		s.Holidays = append(s.Holidays, bizhours.Holiday{Name: "h", StartDate: first.Format("2006-01-02"), EndDate: last.Format("2006-01-02")})
	}
	return s
}

// Hours agrees with the slow reference on random schedules and spans:
// short spans at minute precision, long ones (that skip whole weeks over
// holidays and offset changes) at quarter-hour precision.
func TestHoursMatchesReference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		grain   int // minutes
		maxDays int
		cases   int
		seed    uint64
		from    int // year
	}{
		// From 2005, when Newfoundland still changed at 00:01 (not on a
		// quarter hour).
		{"short spans by the minute", 1, 4, 150, 1, 2005},
		{"long spans by the quarter hour", 15, 400, 40, 2, 2015},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(tc.seed, 99))
			step := time.Duration(tc.grain) * time.Minute
			base := time.Date(tc.from, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range tc.cases {
				a := base.Add(time.Duration(r.Int64N(15*365*24*60/int64(tc.grain))) * step)
				b := a.Add(time.Duration(r.Int64N(int64(tc.maxDays)*24*60/int64(tc.grain))) * step)
				var s bizhours.Schedule
				if i%10 == 0 {
					s = bizhours.Schedule{Name: "default", TimeZone: "UTC", Intervals: weekdays(9, 17)}
				} else {
					s = randomSchedule(r, tc.grain, a, int(b.Sub(a).Hours()/24))
				}
				cal := mustCalendar(t, s)
				want := reference(s, cal.Location(), a, b, step)
				msg := fmt.Sprintf("case %d: %+v from %s to %s", i, s, a, b)
				require.InDelta(t, want, cal.Hours(a, b), 1e-9, msg)
				require.InDelta(t, -want, cal.Hours(b, a), 1e-9, msg)
				if s.Name == "default" {
					require.InDelta(t, want, bizhours.Default().Hours(a, b), 1e-9, msg)
				}
			}
		})
	}
}

// BenchmarkHours measures spans up to a ticket open for a year (and ten)
// on a schedule whose zone changes its offset twice a year, with a dozen
// holidays a year: the cost hardly grows with the span.
func BenchmarkHours(b *testing.B) {
	var hs []bizhours.Holiday
	for y := 2025; y < 2036; y++ {
		for m := time.January; m <= time.December; m++ {
			d := time.Date(y, m, 10, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
			hs = append(hs, bizhours.Holiday{Name: d, StartDate: d, EndDate: d})
		}
	}
	cal := mustCalendar(b, bizhours.Schedule{Name: "EMEA support", TimeZone: "Berlin", Intervals: weekdays(8, 18), Holidays: hs})
	from := time.Date(2025, 1, 6, 10, 17, 0, 0, time.UTC)
	for _, span := range []struct {
		name string
		to   time.Time
	}{
		{"1d", from.AddDate(0, 0, 1)},
		{"1w", from.AddDate(0, 0, 7)},
		{"1y", from.AddDate(1, 0, 0)},
		{"10y", from.AddDate(10, 0, 0)},
	} {
		b.Run(span.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = cal.Hours(from, span.to)
			}
		})
	}
}
