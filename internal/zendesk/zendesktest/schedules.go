package zendesktest

import (
	"net/http"

	"github.com/cxaudit/cxaudit/internal/bizhours"
)

// The Schedules API, as documented at
// https://developer.zendesk.com/api-reference/ticketing/ticket-management/schedules/:
// a schedule is a time zone (a Rails display name, like "Pacific Time (US &
// Canada)") and weekly intervals in minutes since Sunday 00:00; its
// holidays are listed apart.

type wireSchedule struct {
	ID        int64          `json:"id"`
	Name      string         `json:"name"`
	TimeZone  string         `json:"time_zone"`
	Intervals []wireInterval `json:"intervals"`
	CreatedAt string         `json:"created_at"`
	UpdatedAt string         `json:"updated_at"`
}

type wireInterval struct {
	StartTime int `json:"start_time"`
	EndTime   int `json:"end_time"`
}

// wireHoliday is a holiday of a schedule: start_date and end_date are
// "YYYY-MM-DD", both inclusive.
type wireHoliday struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	StartDate string `json:"start_date"`
	EndDate   string `json:"end_date"`
}

// noBusinessHours answers as an account whose plan has no schedules.
// Schedules come with Support Professional and Enterprise
// (https://support.zendesk.com/hc/en-us/articles/203662206); on the Team
// plan the schedule endpoints answer 404
// (https://github.com/airbytehq/airbyte/issues/18511).
func noBusinessHours(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, wireError{Error: "InvalidEndpoint", Description: "Not found"})
}

// listSchedules serves GET /api/v2/business_hours/schedules.json: every
// schedule of the account in one response, without pagination, and
// without holidays (List Schedules in the page above).
func (s *Sim) listSchedules(w http.ResponseWriter, _ *http.Request) {
	if s.noBusinessHours {
		noBusinessHours(w)
		return
	}
	s.mu.Lock()
	list := make([]wireSchedule, 0, len(s.schedules))
	for _, sc := range s.schedules {
		ws := wireSchedule{ID: sc.ID, Name: sc.Name, TimeZone: sc.TimeZone,
			Intervals: make([]wireInterval, 0, len(sc.Intervals)), CreatedAt: ts(s.schedulesAt), UpdatedAt: ts(s.schedulesAt)}
		for _, iv := range sc.Intervals {
			ws.Intervals = append(ws.Intervals, wireInterval{StartTime: iv.Start, EndTime: iv.End})
		}
		list = append(list, ws)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		Schedules []wireSchedule `json:"schedules"`
	}{list})
}

// scheduleHolidays serves GET
// /api/v2/business_hours/schedules/{id}/holidays.json: the schedule's
// holidays in one response (List Holidays for a Schedule in the page
// above); 404 for an unknown schedule.
func (s *Sim) scheduleHolidays(w http.ResponseWriter, r *http.Request) {
	if s.noBusinessHours {
		noBusinessHours(w)
		return
	}
	id, ok := pathID(r)
	if !ok {
		notFound(w)
		return
	}
	s.mu.Lock()
	var sc *bizhours.Schedule
	for i := range s.schedules {
		if s.schedules[i].ID == id {
			sc = &s.schedules[i]
		}
	}
	var list []wireHoliday
	if sc != nil {
		list = make([]wireHoliday, 0, len(sc.Holidays))
		for _, h := range sc.Holidays {
			list = append(list, wireHoliday{ID: h.ID, Name: h.Name, StartDate: h.StartDate, EndDate: h.EndDate})
		}
	}
	s.mu.Unlock()
	if sc == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Holidays []wireHoliday `json:"holidays"`
	}{list})
}
