package zendesk

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"time"
)

// DeletedTicket is a soft-deleted ticket, as GET /api/v2/deleted_tickets
// lists it (Zendesk keeps them 30 days before they are scrubbed).
type DeletedTicket struct {
	ID        int64
	DeletedAt time.Time
}

// deletedPageSize is the page size asked of the deleted tickets list.
const deletedPageSize = 100

// DeletedTickets calls fn with each page of the tickets deleted at or after
// since (all of them when since is zero), newest deletion first. The list
// has no filter by time, so it is read sorted by deleted_at, descending,
// and the read stops at the first older deletion.
func (c *Client) DeletedTickets(ctx context.Context, since time.Time, fn func([]DeletedTicket) error) error {
	const op = "list deleted tickets"
	q := url.Values{"sort_by": {"deleted_at"}, "sort_order": {"desc"}, "page[size]": {strconv.Itoa(deletedPageSize)}}
	for {
		var resp struct {
			DeletedTickets []struct {
				ID        int64     `json:"id"`
				DeletedAt time.Time `json:"deleted_at"`
			} `json:"deleted_tickets"`
			Meta struct {
				HasMore     bool   `json:"has_more"`
				AfterCursor string `json:"after_cursor"`
			} `json:"meta"`
		}
		if err := c.get(ctx, op, "/deleted_tickets.json?"+q.Encode(), &resp); err != nil {
			return err
		}
		if resp.DeletedTickets == nil {
			return malformed(op, errors.New("no deleted_tickets in the response"))
		}
		page := make([]DeletedTicket, 0, len(resp.DeletedTickets))
		older := false
		for _, d := range resp.DeletedTickets {
			if d.ID == 0 || d.DeletedAt.IsZero() {
				return malformed(op, errors.New("a deleted ticket without id or deleted_at"))
			}
			if !since.IsZero() && d.DeletedAt.Before(since) {
				older = true
				break
			}
			page = append(page, DeletedTicket{ID: d.ID, DeletedAt: d.DeletedAt})
		}
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if older || !resp.Meta.HasMore {
			return nil
		}
		if resp.Meta.AfterCursor == "" || resp.Meta.AfterCursor == q.Get("page[after]") {
			return malformed(op, errors.New("has_more without a new after_cursor"))
		}
		q.Set("page[after]", resp.Meta.AfterCursor)
	}
}
