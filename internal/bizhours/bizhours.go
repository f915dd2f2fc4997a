// Package bizhours counts business hours the way a Zendesk schedule defines
// them: weekly intervals of wall-clock time in the schedule's time zone,
// minus holidays (whole local days).
//
// A Schedule is the data, as Zendesk's Schedules API gives it
// (https://developer.zendesk.com/api-reference/ticketing/ticket-management/schedules/)
// and as cxaudit stores it; Schedule.Calendar checks it and compiles it
// into a Calendar, which answers Hours. Default is the calendar of an
// account without schedules: Monday to Friday, 09:00 to 17:00 UTC.
//
// Business time is a measure of real instants: an instant counts when the
// schedule's wall clock shows a time inside an interval of its weekday, on
// a day that is not a holiday. On the day clocks spring forward, an
// interval that contains the skipped hour is an hour shorter; on the day
// they fall back, an interval that contains the repeated hour counts it
// twice. An interval that avoids the change (09:00 to 17:00 in Europe and
// the US, which change at night) keeps its length.
package bizhours

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// Schedule is a Zendesk business-hours schedule with its holidays.
type Schedule struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// TimeZone is as Zendesk gives it: a Rails display name like
	// "Pacific Time (US & Canada)" (see Location).
	TimeZone  string     `json:"time_zone"`
	Intervals []Interval `json:"intervals"`
	Holidays  []Holiday  `json:"holidays"`
}

// Interval is a period of business hours in minutes since Sunday 00:00 in
// the schedule's time zone: Monday 09:00 to 17:00 is {1980, 2460}. An
// interval can't span calendar days; it may end at midnight (Monday's 1440
// + 1440 = 2880).
type Interval struct {
	Start int `json:"start_time"`
	End   int `json:"end_time"`
}

// Holiday closes the schedule from StartDate to EndDate, both inclusive,
// "YYYY-MM-DD" local days of the schedule's time zone.
type Holiday struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	StartDate string `json:"start_date"`
	EndDate   string `json:"end_date"`
}

const (
	minutesPerDay  = 24 * 60
	minutesPerWeek = 7 * minutesPerDay
	secondsPerDay  = 24 * 60 * 60

	// zoneReach bounds how far a local wall-clock time is from the instant
	// it names: no UTC offset, however historic, reaches a day. The
	// instants showing a wall-clock time of local day d therefore all lie
	// within a day of d's naive (as if UTC) span.
	zoneReach = secondsPerDay

	dateLayout = "2006-01-02"
)

// Calendar is a compiled Schedule. It is immutable and safe for
// concurrent use.
type Calendar struct {
	loc *time.Location
	// days holds the business intervals of each weekday (indexed by
	// time.Weekday) in minutes since local midnight, sorted and disjoint.
	days [7][]span
	// dayMinutes and weekMinutes are the nominal business minutes of each
	// weekday and of a week: the wall-clock lengths of the intervals,
	// which are their real lengths except on days the offset changes.
	dayMinutes  [7]int64
	weekMinutes int64
	// holidays are the closed local days, sorted, disjoint and not
	// adjacent.
	holidays []dayRange
}

// span is an interval of one day in minutes since local midnight,
// 0 <= start < end <= 1440.
type span struct{ start, end int64 }

// dayRange is an inclusive range of local days, numbered as days since
// 1970-01-01.
type dayRange struct{ first, last int64 }

var defaultCalendar = mustCalendar(Schedule{
	Name:     "Default (Monday to Friday, 09:00 to 17:00 UTC)",
	TimeZone: "UTC",
	Intervals: []Interval{
		{1*minutesPerDay + 9*60, 1*minutesPerDay + 17*60},
		{2*minutesPerDay + 9*60, 2*minutesPerDay + 17*60},
		{3*minutesPerDay + 9*60, 3*minutesPerDay + 17*60},
		{4*minutesPerDay + 9*60, 4*minutesPerDay + 17*60},
		{5*minutesPerDay + 9*60, 5*minutesPerDay + 17*60},
	},
})

// Default returns the calendar of an account without schedules: Monday to
// Friday, 09:00 to 17:00 UTC, no holidays.
func Default() *Calendar { return defaultCalendar }

func mustCalendar(s Schedule) *Calendar {
	c, err := s.Calendar()
	if err != nil {
		panic(err)
	}
	return c
}

// Calendar checks s and compiles it. Its time zone must be known to
// Location; each interval must lie within one day of the week
// (0 <= start < end <= 10080, not crossing midnight); each holiday's dates
// must be "YYYY-MM-DD", the start not after the end. Overlapping intervals
// and holidays are merged. Errors name the schedule and the bad entry.
func (s Schedule) Calendar() (*Calendar, error) {
	loc, ok := loadZone(s.TimeZone)
	if !ok {
		return nil, s.errorf("unknown time_zone %q %s", s.TimeZone, zoneHint)
	}
	c := &Calendar{loc: loc}
	for i, iv := range s.Intervals {
		if iv.Start < 0 || iv.End > minutesPerWeek || iv.Start >= iv.End {
			return nil, s.errorf("interval %d (start_time %d, end_time %d): want 0 <= start_time < end_time <= %d (minutes since Sunday 00:00)", i, iv.Start, iv.End, minutesPerWeek)
		}
		day := iv.Start / minutesPerDay
		if iv.End > (day+1)*minutesPerDay {
			return nil, s.errorf("interval %d (start_time %d, end_time %d) spans two days (%s to %s); an interval must end by midnight", i, iv.Start, iv.End, time.Weekday(day), time.Weekday(day+1))
		}
		base := day * minutesPerDay
		c.days[day] = append(c.days[day], span{int64(iv.Start - base), int64(iv.End - base)})
	}
	for wd := range c.days {
		c.days[wd] = mergeSpans(c.days[wd])
		for _, sp := range c.days[wd] {
			c.dayMinutes[wd] += sp.end - sp.start
		}
		c.weekMinutes += c.dayMinutes[wd]
	}
	for i, h := range s.Holidays {
		first, err1 := parseDay(h.StartDate)
		last, err2 := parseDay(h.EndDate)
		switch {
		case err1 != nil:
			return nil, s.errorf("holiday %d %q: start_date %q is not a date like 2025-12-24", i, h.Name, h.StartDate)
		case err2 != nil:
			return nil, s.errorf("holiday %d %q: end_date %q is not a date like 2025-12-24", i, h.Name, h.EndDate)
		case last < first:
			return nil, s.errorf("holiday %d %q: end_date %s is before start_date %s", i, h.Name, h.EndDate, h.StartDate)
		}
		c.holidays = append(c.holidays, dayRange{first, last})
	}
	c.holidays = mergeDays(c.holidays)
	return c, nil
}

func (s Schedule) errorf(format string, args ...any) error {
	return fmt.Errorf("bizhours: schedule %d %q: %s", s.ID, s.Name, fmt.Sprintf(format, args...))
}

// mergeSpans sorts spans and merges those that overlap or touch.
func mergeSpans(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	var out []span
	for _, sp := range spans {
		if n := len(out); n > 0 && sp.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// mergeDays sorts day ranges and merges those that overlap or touch.
func mergeDays(days []dayRange) []dayRange {
	slices.SortFunc(days, func(a, b dayRange) int { return cmp.Compare(a.first, b.first) })
	var out []dayRange
	for _, r := range days {
		if n := len(out); n > 0 && r.first <= out[n-1].last+1 {
			out[n-1].last = max(out[n-1].last, r.last)
			continue
		}
		out = append(out, r)
	}
	return out
}

// parseDay returns the day number of a "YYYY-MM-DD" date.
func parseDay(s string) (int64, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return 0, err
	}
	return floorDiv(t.Unix(), secondsPerDay), nil
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Hours returns the business hours between a and b: negative when b is
// before a.
//
// The cost does not grow with the span's length but with the number of
// offset changes and holidays in it: the days near a and b are measured
// one by one; the days between are counted by whole weeks from the
// nominal interval lengths, then holidays are subtracted and the days on
// which the zone's offset changes are corrected to their measured length.
func (c *Calendar) Hours(a, b time.Time) float64 {
	if b.Before(a) {
		return -c.Hours(b, a)
	}
	if !b.After(a) {
		return 0
	}
	// The local days whose business time can lie within [a, b]: a's and
	// b's, and the days next to them, because a wall clock can run back
	// across midnight (Newfoundland fell back at 00:01 until 2011, showing
	// a minute of Sunday before Saturday's last hour).
	lo, hi := c.localDay(a)-1, c.localDay(b)+1
	var edges time.Duration
	if hi-lo < 7 {
		for d := lo; d <= hi; d++ {
			edges += c.dayTime(d, a, b, true)
		}
		return edges.Hours()
	}
	for d := lo; d <= lo+3; d++ {
		edges += c.dayTime(d, a, b, true)
	}
	for d := hi - 3; d <= hi; d++ {
		edges += c.dayTime(d, a, b, true)
	}
	// Days lo+4 to hi-4 lie wholly within (a, b): an instant and its wall
	// clock are less than zoneReach apart, so every instant showing
	// these days comes after a and before b.
	mlo, mhi := lo+4, hi-3
	minutes := c.nominal(mlo, mhi) - c.holidayMinutes(mlo, mhi)
	fixed := edges + c.offsetCorrection(mlo, mhi)
	if minutes < math.MaxInt64/int64(time.Minute)/2 {
		// Summed as one Duration, as the hours of a span shorter than
		// 290 years always were.
		return (fixed + time.Duration(minutes)*time.Minute).Hours()
	}
	return float64(minutes)/60 + fixed.Hours()
}

// localDay returns the number of t's local day.
func (c *Calendar) localDay(t time.Time) int64 {
	_, off := t.In(c.loc).Zone()
	return floorDiv(t.Unix()+int64(off), secondsPerDay)
}

// dayTime measures the business time of local day d: the real instants
// whose wall clock shows a time inside one of d's intervals, within [a, b]
// when clip is set. It walks the zone's offset periods that can show d's
// wall-clock time; within each, wall clock and real time advance together,
// so an interval maps to a real span of its length shifted by the offset.
func (c *Calendar) dayTime(d int64, a, b time.Time, clip bool) time.Duration {
	spans := c.days[weekday(d)]
	if len(spans) == 0 || c.isHoliday(d) {
		return 0
	}
	w0 := d * secondsPerDay // d's midnight, as if UTC
	limit := w0 + secondsPerDay + zoneReach
	var total time.Duration
	t := time.Unix(w0-zoneReach, 0).In(c.loc)
	for {
		_, off := t.Zone()
		start, end := t.ZoneBounds()
		segLo, segHi := int64(math.MinInt64), int64(math.MaxInt64)
		if !start.IsZero() {
			segLo = start.Unix()
		}
		if !end.IsZero() {
			segHi = end.Unix()
		}
		for _, sp := range spans {
			lo := max(w0+sp.start*60-int64(off), segLo)
			hi := min(w0+sp.end*60-int64(off), segHi)
			if hi <= lo {
				continue
			}
			if !clip {
				total += time.Duration(hi-lo) * time.Second
				continue
			}
			from, to := time.Unix(lo, 0), time.Unix(hi, 0)
			if from.Before(a) {
				from = a
			}
			if to.After(b) {
				to = b
			}
			if to.After(from) {
				total += to.Sub(from)
			}
		}
		if end.IsZero() || segHi >= limit {
			return total
		}
		t = end
	}
}

// nominal returns the wall-clock business minutes of days [lo, hi),
// holidays included: whole weeks at once, then the remaining days.
func (c *Calendar) nominal(lo, hi int64) int64 {
	if hi <= lo {
		return 0
	}
	weeks := (hi - lo) / 7
	total := weeks * c.weekMinutes
	for d := lo + weeks*7; d < hi; d++ {
		total += c.dayMinutes[weekday(d)]
	}
	return total
}

// holidayMinutes returns the nominal business minutes of the holidays
// within days [lo, hi).
func (c *Calendar) holidayMinutes(lo, hi int64) int64 {
	var total int64
	for i := c.firstHolidayFrom(lo); i < len(c.holidays) && c.holidays[i].first < hi; i++ {
		total += c.nominal(max(c.holidays[i].first, lo), min(c.holidays[i].last+1, hi))
	}
	return total
}

// offsetCorrection returns, for the days [lo, hi) on which the zone's
// offset changes within reach of an interval, the measured business time
// minus the nominal one. Holidays are skipped: their time is already
// subtracted. Only the days within reach of an offset change can differ
// from their nominal length, so it walks the changes, not the days.
func (c *Calendar) offsetCorrection(lo, hi int64) time.Duration {
	var corr time.Duration
	next := lo // the first day not yet corrected
	t := time.Unix(lo*secondsPerDay-zoneReach, 0).In(c.loc)
	stop := hi*secondsPerDay + zoneReach
	for {
		_, end := t.ZoneBounds()
		if end.IsZero() || end.Unix() > stop {
			return corr
		}
		change := end.Unix()
		// The days whose wall-clock span (widened by zoneReach on each
		// side) contains the change; one more on each side costs nothing
		// and spares an off-by-one.
		first := max(floorDiv(change-zoneReach, secondsPerDay)-1, next)
		last := min(floorDiv(change+zoneReach, secondsPerDay)+1, hi-1)
		for d := first; d <= last; d++ {
			if !c.isHoliday(d) {
				corr += c.dayTime(d, time.Time{}, time.Time{}, false) - time.Duration(c.dayMinutes[weekday(d)])*time.Minute
			}
		}
		next = max(next, last+1)
		t = end
	}
}

// isHoliday reports whether local day d is a holiday.
func (c *Calendar) isHoliday(d int64) bool {
	i := c.firstHolidayFrom(d)
	return i < len(c.holidays) && c.holidays[i].first <= d
}

// firstHolidayFrom returns the index of the first holiday that ends on or
// after day d.
func (c *Calendar) firstHolidayFrom(d int64) int {
	return sort.Search(len(c.holidays), func(i int) bool { return c.holidays[i].last >= d })
}

// weekday returns the weekday of day d (day 0, 1970-01-01, was a
// Thursday).
func weekday(d int64) time.Weekday {
	return time.Weekday(floorMod(d+int64(time.Thursday), 7))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
