package zendesk

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// CommentPage is one page of the incremental ticket event export with
// comment_events: the comments added in the ticket updates of the page, by
// ticket, and the time to ask the next page from.
type CommentPage struct {
	// Comments are the comments of the page by ticket id, oldest first.
	Comments map[int64][]cxaudit.Comment
	// Events counts the page's ticket updates.
	Events int
	// EndTime is the start_time of the next page.
	EndTime     int64
	EndOfStream bool
}

// ExportComments returns the comments added at or after start (a Unix
// time), one page of the time-based Incremental Ticket Event Export with
// the comment_events sideload: "Any comment present in the ticket update
// is listed as an object in the event's child_events array" (event_type
// "Comment"), up to 1,000 events a page, under the exports' limit of 10
// requests a minute
// (https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/#incremental-ticket-event-export).
// ByCXAudit is set as TicketComments sets it; ByAgent is left false.
func (c *Client) ExportComments(ctx context.Context, start int64) (CommentPage, error) {
	const op = "export ticket events"
	var resp struct {
		TicketEvents []struct {
			TicketID    int64  `json:"ticket_id"`
			CreatedAt   string `json:"created_at"`
			ChildEvents []struct {
				ID        int64  `json:"id"`
				EventType string `json:"event_type"`
				AuthorID  int64  `json:"author_id"`
				Body      string `json:"body"`
				Public    *bool  `json:"public"`
				CreatedAt string `json:"created_at"`
			} `json:"child_events"`
		} `json:"ticket_events"`
		EndTime     *int64 `json:"end_time"`
		EndOfStream bool   `json:"end_of_stream"`
	}
	path := "/incremental/ticket_events.json?include=comment_events&start_time=" + strconv.FormatInt(max(start, 0), 10)
	if err := c.get(ctx, op, path, &resp); err != nil {
		return CommentPage{}, err
	}
	if resp.TicketEvents == nil || resp.EndTime == nil {
		return CommentPage{}, malformed(op, errors.New("ticket_events or end_time missing"))
	}
	if !resp.EndOfStream && *resp.EndTime <= start {
		return CommentPage{}, malformed(op, errors.New("end_time does not move past start_time and end_of_stream is false: the export makes no progress"))
	}
	page := CommentPage{Comments: map[int64][]cxaudit.Comment{}, Events: len(resp.TicketEvents), EndTime: *resp.EndTime, EndOfStream: resp.EndOfStream}
	for _, e := range resp.TicketEvents {
		for _, ce := range e.ChildEvents {
			if ce.EventType != "Comment" {
				continue
			}
			at := ce.CreatedAt
			if at == "" {
				at = e.CreatedAt
			}
			created, err := time.Parse(time.RFC3339, at)
			if err != nil {
				return CommentPage{}, malformed(op, errors.New("comment "+strconv.FormatInt(ce.ID, 10)+" of ticket "+strconv.FormatInt(e.TicketID, 10)+": created_at: "+err.Error()))
			}
			public := ce.Public == nil || *ce.Public
			page.Comments[e.TicketID] = append(page.Comments[e.TicketID], cxaudit.Comment{ID: ce.ID, AuthorID: ce.AuthorID, Public: public,
				Body: ce.Body, CreatedAt: created, ByCXAudit: !public && cxaudit.HasMarker(ce.Body)})
		}
	}
	return page, nil
}
