package zendesk

import (
	"context"
	"errors"
	"fmt"

	"github.com/cxaudit/cxaudit/internal/bizhours"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// The Schedules API:
// https://developer.zendesk.com/api-reference/ticketing/ticket-management/schedules/
// (List Schedules, List Holidays for a Schedule). Neither list is paginated.

type wireSchedule struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	TimeZone  string `json:"time_zone"`
	Intervals []struct {
		StartTime int `json:"start_time"`
		EndTime   int `json:"end_time"`
	} `json:"intervals"`
}

// wireHoliday is a holiday of a schedule; start_date and end_date are
// "YYYY-MM-DD", both inclusive.
type wireHoliday struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	StartDate string `json:"start_date"`
	EndDate   string `json:"end_date"`
}

// Schedules returns the account's business-hours schedules, each with its
// holidays: one request for the list, one per schedule for its holidays.
// They are as Zendesk gives them; bizhours.Schedule.Calendar checks them.
//
// An account whose plan has no business hours (Support Team; schedules
// come with Professional and Enterprise,
// https://support.zendesk.com/hc/en-us/articles/203662206) answers the
// list with 404 (https://github.com/airbytehq/airbyte/issues/18511): it
// has no schedules, which is an empty list, not an error. So is an
// account that deleted all of its schedules ({"schedules": []}). A 403
// is an error: the endpoints are for admins, and the API user is not one.
// Any other failure (401, 429, 5xx, a malformed body) is an error as for
// every read.
func (c *Client) Schedules(ctx context.Context) ([]bizhours.Schedule, error) {
	const op = "list schedules"
	var resp struct {
		Schedules []wireSchedule `json:"schedules"`
	}
	err := c.get(ctx, op, "/business_hours/schedules.json", &resp)
	if cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND {
		return []bizhours.Schedule{}, nil
	}
	if err != nil {
		return nil, err
	}
	if resp.Schedules == nil {
		return nil, malformed(op, errors.New("no schedules in the response"))
	}
	out := make([]bizhours.Schedule, 0, len(resp.Schedules))
	for _, ws := range resp.Schedules {
		if ws.ID == 0 {
			return nil, malformed(op, errors.New("a schedule without id"))
		}
		s := bizhours.Schedule{ID: ws.ID, Name: ws.Name, TimeZone: ws.TimeZone, Intervals: make([]bizhours.Interval, 0, len(ws.Intervals))}
		for _, iv := range ws.Intervals {
			s.Intervals = append(s.Intervals, bizhours.Interval{Start: iv.StartTime, End: iv.EndTime})
		}
		if s.Holidays, err = c.scheduleHolidays(ctx, ws.ID); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// scheduleHolidays returns the holidays of schedule id.
func (c *Client) scheduleHolidays(ctx context.Context, id int64) ([]bizhours.Holiday, error) {
	op := fmt.Sprintf("list holidays of schedule %d", id)
	var resp struct {
		Holidays []wireHoliday `json:"holidays"`
	}
	err := c.get(ctx, op, fmt.Sprintf("/business_hours/schedules/%d/holidays.json", id), &resp)
	if cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND {
		// The list named it a moment ago: it was deleted in between. The
		// list is stale; reading everything again gives a consistent one.
		return nil, &cxaudit.Error{Code: cxaudit.EUNAVAILABLE, Message: err.Error() + " (the schedule was deleted while the schedules were read; read them again)"}
	}
	if err != nil {
		return nil, err
	}
	if resp.Holidays == nil {
		return nil, malformed(op, errors.New("no holidays in the response"))
	}
	out := make([]bizhours.Holiday, 0, len(resp.Holidays))
	for _, h := range resp.Holidays {
		out = append(out, bizhours.Holiday{ID: h.ID, Name: h.Name, StartDate: h.StartDate, EndDate: h.EndDate})
	}
	return out, nil
}
