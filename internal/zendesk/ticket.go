package zendesk

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/nukosuke/go-zendesk/zendesk"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Ticket returns ticket id with its Metrics. Its Comments are not filled
// (see TicketComments).
func (c *Client) Ticket(ctx context.Context, id int64) (cxaudit.Ticket, error) {
	const op = "get ticket"
	var resp struct {
		Ticket     *wireTicket     `json:"ticket"`
		MetricSets []wireMetricSet `json:"metric_sets"`
	}
	if err := c.get(ctx, op, "/tickets/"+strconv.FormatInt(id, 10)+".json?include=metric_sets", &resp); err != nil {
		return cxaudit.Ticket{}, err
	}
	if resp.Ticket == nil {
		return cxaudit.Ticket{}, malformed(op, errors.New("ticket missing"))
	}
	return withMetrics([]wireTicket{*resp.Ticket}, resp.MetricSets)[0], nil
}

// commentsPageSize is the largest page the comments endpoint serves.
const commentsPageSize = 100

// TicketComments returns every comment on ticket id, oldest first.
// ByCXAudit is set on comments written by the API user (see Me) or holding
// NoteMarker; ByAgent is left false, as only the caller knows the agents.
func (c *Client) TicketComments(ctx context.Context, ticketID int64) ([]cxaudit.Comment, error) {
	const op = "list ticket comments"
	me, err := c.Me(ctx)
	if err != nil {
		return nil, err
	}
	var out []cxaudit.Comment
	opts := &zendesk.ListTicketCommentsOptions{
		CursorPagination: zendesk.CursorPagination{PageSize: commentsPageSize},
		Sort:             zendesk.TicketCommentCreatedAtAsc,
	}
	for {
		res, err := c.zd().ListTicketComments(ctx, ticketID, opts)
		if err != nil {
			return nil, c.mapError(op, err)
		}
		for _, zc := range res.TicketComments {
			out = append(out, cxaudit.Comment{
				ID:        zc.ID,
				AuthorID:  zc.AuthorID,
				Public:    zc.Public == nil || *zc.Public,
				Body:      zc.Body,
				CreatedAt: zc.CreatedAt,
				ByCXAudit: zc.AuthorID == me.ID || strings.Contains(zc.Body, NoteMarker),
			})
		}
		if !res.Meta.HasMore {
			return out, nil
		}
		if res.Meta.AfterCursor == "" || res.Meta.AfterCursor == opts.PageAfter {
			return nil, malformed(op, errors.New("has_more without a new after_cursor"))
		}
		opts.PageAfter = res.Meta.AfterCursor
	}
}

// TicketUpdate is what one write-back changes on a ticket.
type TicketUpdate struct {
	// NoteHTML, when set, is added as a private (internal) note.
	NoteHTML string
	// AddTags and RemoveTags change only the tags they name.
	AddTags, RemoveTags []string
	// SafeUpdateStamp, when set, is the updated_at the caller last saw:
	// the update fails with ECONFLICT if the ticket changed since.
	SafeUpdateStamp *time.Time
}

// UpdateTicket applies u to ticket id in one PUT and returns the ticket as
// it is afterwards (without Metrics and Comments).
//
// The write is never retried on a 5xx or a timeout: it may have been
// applied, so the caller must read the ticket's comments before writing
// again. A 429 is retried (nothing was done) unless its Retry-After is
// long, which surfaces as *cxaudit.RateLimitError.
func (c *Client) UpdateTicket(ctx context.Context, id int64, u TicketUpdate) (cxaudit.Ticket, error) {
	const op = "update ticket"
	if err := u.validate(); err != nil {
		return cxaudit.Ticket{}, err
	}
	body := ticketUpdate{Ticket: ticketUpdateFields{AdditionalTags: u.AddTags, RemoveTags: u.RemoveTags}}
	if u.NoteHTML != "" {
		body.Ticket.Comment = &noteBody{HTMLBody: u.NoteHTML, Public: false}
	}
	if u.SafeUpdateStamp != nil {
		body.Ticket.SafeUpdate = true
		body.Ticket.UpdatedStamp = u.SafeUpdateStamp.UTC().Format(time.RFC3339)
	}
	var resp struct {
		Ticket *wireTicket `json:"ticket"`
	}
	if err := c.put(ctx, op, "/tickets/"+strconv.FormatInt(id, 10)+".json", body, &resp); err != nil {
		return cxaudit.Ticket{}, err
	}
	if resp.Ticket == nil {
		return cxaudit.Ticket{}, malformed(op, errors.New("ticket missing"))
	}
	return resp.Ticket.domain(), nil
}

func (u *TicketUpdate) validate() error {
	if strings.TrimSpace(u.NoteHTML) == "" && len(u.AddTags) == 0 && len(u.RemoveTags) == 0 {
		return cxaudit.Errorf(cxaudit.EINVALID, "zendesk: update ticket: nothing to update (no note, no tags)")
	}
	if u.NoteHTML != "" && strings.TrimSpace(u.NoteHTML) == "" {
		return cxaudit.Errorf(cxaudit.EINVALID, "zendesk: update ticket: the note is blank")
	}
	for _, tags := range [][]string{u.AddTags, u.RemoveTags} {
		for _, tag := range tags {
			if tag == "" || strings.ContainsFunc(tag, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == ',' }) {
				return cxaudit.Errorf(cxaudit.EINVALID, "zendesk: update ticket: tag %q is empty or holds a space or comma (Zendesk would split it)", tag)
			}
		}
	}
	for _, tag := range u.AddTags {
		for _, r := range u.RemoveTags {
			if tag == r {
				return cxaudit.Errorf(cxaudit.EINVALID, "zendesk: update ticket: tag %q is both added and removed", tag)
			}
		}
	}
	return nil
}
