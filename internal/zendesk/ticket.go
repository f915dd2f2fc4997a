package zendesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
// ByCXAudit is set on private comments holding one of cxaudit's markers
// (cxaudit.HasMarker), whoever wrote them: the API token often belongs to
// a shared admin who also answers tickets by hand, and those answers are
// agent activity. ByAgent is left false, as only the caller knows the
// agents.
func (c *Client) TicketComments(ctx context.Context, ticketID int64) ([]cxaudit.Comment, error) {
	const op = "list ticket comments"
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
				ByCXAudit: zc.Public != nil && !*zc.Public && cxaudit.HasMarker(zc.Body),
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
	// Tags, when not nil, is the ticket's whole tag list afterwards:
	// Update Ticket replaces every tag with the list it is sent, and takes
	// no additional_tags or remove_tags (those work only with bulk
	// updates, "Adding tags to tickets without overwriting existing tags",
	// https://developer.zendesk.com/documentation/ticketing/managing-tickets/adding-tags-to-tickets-without-overwriting-existing-tags/).
	// Compute it from the tags the ticket has and send it with
	// SafeUpdateStamp, so that a tag an agent added meanwhile is never
	// lost: the update then fails with ECONFLICT instead.
	Tags []string
	// SafeUpdateStamp, when set, is the updated_at the caller last saw:
	// the update fails with ECONFLICT if the ticket changed since
	// ("Protecting against ticket update collisions",
	// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#protecting-against-ticket-update-collisions).
	SafeUpdateStamp *time.Time
}

// ErrTicketClosed is wrapped by the error of an update a ticket refused
// because it is closed (merged tickets are closed too): it never takes an
// update again, so the write is final.
var ErrTicketClosed = errors.New("the ticket is closed and takes no updates")

// UpdateTicket applies u to ticket id in one PUT and returns the ticket as
// it is afterwards (without Metrics and Comments).
//
// The write is never retried on a 5xx or a timeout: it may have been
// applied, so the caller must read the ticket's comments before writing
// again. A 429 is retried (nothing was done) unless its Retry-After is
// long, which surfaces as *cxaudit.RateLimitError. A 409 (ECONFLICT) means
// the ticket changed since SafeUpdateStamp and nothing was applied: read
// it again and recompute. A closed ticket's refusal wraps ErrTicketClosed.
func (c *Client) UpdateTicket(ctx context.Context, id int64, u TicketUpdate) (cxaudit.Ticket, error) {
	const op = "update ticket"
	if err := u.validate(); err != nil {
		return cxaudit.Ticket{}, err
	}
	var body ticketUpdate
	if u.Tags != nil {
		body.Ticket.Tags = &u.Tags
	}
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
	data, err := c.api.Put(ctx, "/tickets/"+strconv.FormatInt(id, 10)+".json", body)
	if err != nil {
		if closedRefusal(err) {
			return cxaudit.Ticket{}, &cxaudit.Error{Code: cxaudit.EINVALID, Message: fmt.Sprintf("zendesk: %s %d", op, id), Err: ErrTicketClosed}
		}
		return cxaudit.Ticket{}, c.mapError(op, err)
	}
	if err := c.decode(op, data, &resp); err != nil {
		return cxaudit.Ticket{}, err
	}
	if resp.Ticket == nil {
		return cxaudit.Ticket{}, malformed(op, errors.New("ticket missing"))
	}
	return resp.Ticket.domain(), nil
}

// closedRefusal reports whether err is Update Ticket's 422 for a closed
// ticket: {"error":"RecordInvalid","details":{"status":[{"description":
// "Status: closed prevents ticket update"}]}}.
func closedRefusal(err error) bool {
	var zerr zendesk.Error
	if !errors.As(err, &zerr) || zerr.Status() != http.StatusUnprocessableEntity {
		return false
	}
	var body struct {
		Details struct {
			Status []struct {
				Description string `json:"description"`
			} `json:"status"`
		} `json:"details"`
	}
	b := zerr.Body()
	defer b.Close()
	if json.NewDecoder(b).Decode(&body) != nil {
		return false
	}
	for _, d := range body.Details.Status {
		if strings.Contains(d.Description, "closed prevents ticket update") {
			return true
		}
	}
	return false
}

func (u *TicketUpdate) validate() error {
	if strings.TrimSpace(u.NoteHTML) == "" && u.Tags == nil {
		return cxaudit.Errorf(cxaudit.EINVALID, "zendesk: update ticket: nothing to update (no note, no tags)")
	}
	if u.NoteHTML != "" && strings.TrimSpace(u.NoteHTML) == "" {
		return cxaudit.Errorf(cxaudit.EINVALID, "zendesk: update ticket: the note is blank")
	}
	for _, tag := range u.Tags {
		if tag == "" || strings.ContainsFunc(tag, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == ',' }) {
			return cxaudit.Errorf(cxaudit.EINVALID, "zendesk: update ticket: tag %q is empty or holds a space or comma (Zendesk would split it)", tag)
		}
	}
	return nil
}
