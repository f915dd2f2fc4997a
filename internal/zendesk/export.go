package zendesk

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// TicketPage is one page of the incremental ticket export. Tickets carry
// their Metrics; their Comments are not filled (see TicketComments).
// Deleted tickets come with status "deleted".
type TicketPage struct {
	Tickets []cxaudit.Ticket
	// Rejected are the records of the page that could not be read: the
	// caller quarantines them and goes on.
	Rejected []cxaudit.Rejected
	// AfterCursor resumes the export after this page. It is set even at the
	// end of the stream: keep it to pick up later changes.
	AfterCursor string
	EndOfStream bool
}

// ExportTickets returns the page of the cursor-based incremental ticket
// export after cursor, or, when cursor is empty, the first page of tickets
// updated at or after start. A ticket changed after it was exported
// appears again later in the stream.
func (c *Client) ExportTickets(ctx context.Context, cursor string, start time.Time) (TicketPage, error) {
	const op = "export tickets"
	q := exportQuery(cursor, start)
	q.Set("include", "metric_sets")
	var resp struct {
		Tickets     []json.RawMessage `json:"tickets"`
		MetricSets  []json.RawMessage `json:"metric_sets"`
		AfterCursor string            `json:"after_cursor"`
		EndOfStream bool              `json:"end_of_stream"`
	}
	if err := c.get(ctx, op, "/incremental/tickets/cursor.json?"+q.Encode(), &resp); err != nil {
		return TicketPage{}, err
	}
	after, err := c.checkCursorPage(op, resp.Tickets == nil, cursor, resp.AfterCursor, resp.EndOfStream)
	if err != nil {
		return TicketPage{}, err
	}
	c.logger.DebugContext(ctx, "zendesk: exported tickets", "count", len(resp.Tickets), "end_of_stream", resp.EndOfStream)
	tickets, rejected := decodeEach[wireTicket]("tickets", resp.Tickets)
	sets, badSets := decodeEach[wireMetricSet]("ticket_metric_sets", resp.MetricSets)
	return TicketPage{Tickets: withMetrics(tickets, sets), Rejected: append(rejected, badSets...), AfterCursor: after, EndOfStream: resp.EndOfStream}, nil
}

// UserPage is one page of the incremental user export.
type UserPage struct {
	Users []cxaudit.User
	// Rejected: see TicketPage.
	Rejected    []cxaudit.Rejected
	AfterCursor string
	EndOfStream bool
}

// ExportUsers returns the page of the cursor-based incremental user export
// after cursor, or, when cursor is empty, the first page of users updated
// at or after start.
func (c *Client) ExportUsers(ctx context.Context, cursor string, start time.Time) (UserPage, error) {
	const op = "export users"
	var resp struct {
		Users       []json.RawMessage `json:"users"`
		AfterCursor string            `json:"after_cursor"`
		EndOfStream bool              `json:"end_of_stream"`
	}
	if err := c.get(ctx, op, "/incremental/users/cursor.json?"+exportQuery(cursor, start).Encode(), &resp); err != nil {
		return UserPage{}, err
	}
	after, err := c.checkCursorPage(op, resp.Users == nil, cursor, resp.AfterCursor, resp.EndOfStream)
	if err != nil {
		return UserPage{}, err
	}
	users, rejected := decodeEach[wireUser]("users", resp.Users)
	page := UserPage{Users: make([]cxaudit.User, 0, len(users)), Rejected: rejected, AfterCursor: after, EndOfStream: resp.EndOfStream}
	for i := range users {
		page.Users = append(page.Users, users[i].domain())
	}
	return page, nil
}

// OrganizationPage is one page of the time-based incremental organization
// export. Pass EndTime as the next start. Pages overlap at their edges: an
// organization may come twice.
type OrganizationPage struct {
	Organizations []cxaudit.Organization
	// Rejected: see TicketPage.
	Rejected    []cxaudit.Rejected
	EndTime     int64
	EndOfStream bool
}

// ExportOrganizations returns the organizations updated at or after start
// (a unix time), one page of the time-based incremental export.
func (c *Client) ExportOrganizations(ctx context.Context, start int64) (OrganizationPage, error) {
	const op = "export organizations"
	var resp struct {
		Organizations []json.RawMessage `json:"organizations"`
		EndTime       *int64            `json:"end_time"`
		EndOfStream   bool              `json:"end_of_stream"`
	}
	path := "/incremental/organizations.json?start_time=" + strconv.FormatInt(max(start, 0), 10)
	if err := c.get(ctx, op, path, &resp); err != nil {
		return OrganizationPage{}, err
	}
	if resp.Organizations == nil || resp.EndTime == nil {
		return OrganizationPage{}, malformed(op, errors.New("organizations or end_time missing"))
	}
	orgs, rejected := decodeEach[wireOrganization]("organizations", resp.Organizations)
	page := OrganizationPage{Organizations: make([]cxaudit.Organization, 0, len(orgs)), Rejected: rejected, EndTime: *resp.EndTime, EndOfStream: resp.EndOfStream}
	for i := range orgs {
		page.Organizations = append(page.Organizations, orgs[i].domain())
	}
	return page, nil
}

func exportQuery(cursor string, start time.Time) url.Values {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	} else {
		q.Set("start_time", strconv.FormatInt(max(start.Unix(), 0), 10))
	}
	return q
}

// checkCursorPage refuses a page that would leave the caller without a way
// forward, and returns the cursor to resume from. A page that is not the
// last must move the cursor: one that answers the cursor it was asked for
// would be asked for again forever, each time charged to the export's
// 10 requests a minute.
func (c *Client) checkCursorPage(op string, missingItems bool, cursor, after string, eos bool) (string, error) {
	switch {
	case missingItems:
		return "", malformed(op, errors.New("items missing"))
	case after == "" && !eos:
		return "", malformed(op, errors.New("after_cursor missing"))
	case !eos && cursor != "" && after == cursor:
		return "", malformed(op, errors.New("after_cursor is the cursor sent and end_of_stream is false: the export makes no progress"))
	case after == "":
		return cursor, nil
	}
	return after, nil
}
