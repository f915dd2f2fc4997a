package syncer

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

// ObjectTicketComments is the cursor of the ticket-event export that
// brings the tickets' comments when CommentEvents is set (a Unix time).
const ObjectTicketComments = "ticket_comments"

// DefaultCommentHold is how long, at most, the tickets a sync stored stay
// out of the audit while their comments are read from the ticket-event
// export (CommentEvents): a sync that dies before it read them releases
// them then.
const DefaultCommentHold = time.Hour

// perTicketComments reports whether the ticket pages fetch their tickets'
// comments one ticket at a time.
func (z *Zendesk) perTicketComments() bool { return !z.SkipComments && !z.CommentEvents }

// syncCommentEvents reads the comments added since its cursor from the
// incremental ticket-event export with comment_events, and adds them to the
// stored tickets, a page at a time with the cursor in one transaction. It
// runs after the ticket export, and reads no further than until (when that
// pass began): every ticket that had a comment before then is stored, so
// no comment is dropped for want of its ticket; a ticket the store does not
// have (deleted, or quarantined) is skipped. A comment read twice (pages
// meet at a second, a page is retried) is kept once. When it reaches
// until, it releases the tickets and organizations the ticket pages held
// (see storeTickets) for the audit.
//
// What it costs: one export request per 1,000 ticket updates, under the
// exports' 10 a minute, instead of one List Comments call per ticket. Its
// limits: comments older than the backfill's start (Start) are not read,
// so a long-lived ticket updated in the window has only its recent ones;
// and the tickets of a backfill are audited only once the export has
// caught up, not page by page.
func (z *Zendesk) syncCommentEvents(ctx context.Context, stats *Stats, until time.Time) error {
	for {
		cur, err := z.Store.GetCursor(ctx, cxaudit.SourceZendesk, ObjectTicketComments)
		if err != nil {
			return err
		}
		start := z.start().Unix()
		if cur.Value != "" {
			if start, err = strconv.ParseInt(cur.Value, 10, 64); err != nil {
				return fmt.Errorf("stored %s cursor %q is not a Unix time: %w", ObjectTicketComments, cur.Value, err)
			}
		}
		done := start >= until.Unix()
		var page struct {
			comments map[int64][]cxaudit.Comment
			end      int64
		}
		if !done {
			p, err := z.Client.ExportComments(ctx, start)
			if err != nil {
				return err
			}
			page.comments, page.end = p.Comments, p.EndTime
			// Read again from until next time: a ticket with a comment
			// after it may not be stored yet.
			if p.EndOfStream || p.EndTime >= until.Unix() {
				page.end, done = min(p.EndTime, until.Unix()), true
			}
		}
		next := store.Cursor{Value: strconv.FormatInt(max(page.end, start), 10), CompletedAt: cur.CompletedAt}
		if done {
			next.CompletedAt = time.Now()
		}
		ids := make([]int64, 0, len(page.comments))
		for id := range page.comments {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		added := 0
		if err := z.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			added = 0
			stored, err := q.TicketsByID(ctx, ids)
			if err != nil {
				return err
			}
			changed := stored[:0]
			keys := make([]store.EntityKey, 0, len(stored))
			for _, t := range stored {
				merged, n := mergeComments(t.Comments, page.comments[t.ID])
				if n == 0 || t.Status == cxaudit.StatusDeleted {
					continue
				}
				t.Comments, added = merged, added+n
				changed = append(changed, t)
				keys = append(keys, store.EntityKey{Kind: cxaudit.EntityTicket, ID: strconv.FormatInt(t.ID, 10)})
			}
			if err := q.UpsertTickets(ctx, changed); err != nil {
				return err
			}
			if err := q.QueueAudit(ctx, keys); err != nil {
				return err
			}
			if done {
				if err := q.ReleaseAudit(ctx, cxaudit.EntityTicket, cxaudit.EntityOrganization); err != nil {
					return err
				}
			}
			return q.PutCursor(ctx, cxaudit.SourceZendesk, ObjectTicketComments, next)
		}); err != nil {
			return err
		}
		z.observe(stats, ObjectTicketComments, added)
		if done {
			return nil
		}
	}
}

// mergeComments returns have with the comments of add it lacks, oldest
// first (by time, then id), and how many it added.
func mergeComments(have, add []cxaudit.Comment) ([]cxaudit.Comment, int) {
	seen := make(map[int64]bool, len(have))
	for _, c := range have {
		seen[c.ID] = true
	}
	out := slices.Clone(have)
	n := 0
	for _, c := range add {
		if !seen[c.ID] {
			seen[c.ID] = true
			out = append(out, c)
			n++
		}
	}
	if n > 0 {
		slices.SortStableFunc(out, func(a, b cxaudit.Comment) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
		})
	}
	return out, n
}
