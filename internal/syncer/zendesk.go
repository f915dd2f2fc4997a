// Package syncer pulls changes from Zendesk and Salesforce into the store,
// incrementally. Every page is committed in one transaction together with
// the cursor that covers it and the audit-queue entries of what changed, so a
// crash at any point loses nothing and a restart resumes after the last
// committed page. A page that fails (rate limit, 5xx, malformed body) is
// returned as an error before anything of it is committed: the cursor never
// moves past data that was not stored.
package syncer

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/zendesk"
)

// Cursor object names.
const (
	ObjectTickets       = "tickets"
	ObjectOrganizations = "organizations"
	ObjectUsers         = "users"
	ObjectAccounts      = "accounts"
	ObjectContacts      = "contacts"
	ObjectOpportunities = "opportunities"
)

// Stats counts what a sync pass stored.
type Stats struct {
	Pages   int
	Records map[string]int
}

func (s *Stats) add(object string, n int) {
	if s.Records == nil {
		s.Records = map[string]int{}
	}
	s.Pages++
	s.Records[object] += n
}

// Zendesk syncs users, organizations and tickets with their comments.
type Zendesk struct {
	Client *zendesk.Client
	Store  store.Store
	Logger *slog.Logger
	// Start is where a first sync begins: tickets updated since then.
	// Zero means 90 days ago.
	Start time.Time
	// ObserveFunc, when set, is told of every page stored.
	ObserveFunc func(object string, records int)
	// ProgressFunc, when set, is told where each stream stands after every
	// page (backfill progress).
	ProgressFunc ProgressFunc
	// SkipComments leaves tickets' comments as they are: for benchmarks of
	// the export stream, and tenants whose rules read no comments.
	SkipComments bool
}

func (z *Zendesk) progress(stats *Stats, object string, position time.Time, done bool) {
	if z.ProgressFunc != nil {
		z.ProgressFunc(Progress{Source: "zendesk", Object: object, Records: stats.Records[object], Position: position, Start: z.start(), Done: done})
	}
}

func (z *Zendesk) start() time.Time {
	if z.Start.IsZero() {
		return time.Now().AddDate(0, 0, -90)
	}
	return z.Start
}

func (z *Zendesk) observe(stats *Stats, object string, n int) {
	stats.add(object, n)
	if z.ObserveFunc != nil {
		z.ObserveFunc(object, n)
	}
}

// Sync runs one incremental pass over every object, to the end of each stream.
func (z *Zendesk) Sync(ctx context.Context) (Stats, error) {
	var stats Stats
	// Users first: comments are attributed to agents by their role.
	if err := z.syncUsers(ctx, &stats); err != nil {
		return stats, fmt.Errorf("zendesk users: %w", err)
	}
	if err := z.syncOrganizations(ctx, &stats); err != nil {
		return stats, fmt.Errorf("zendesk organizations: %w", err)
	}
	if err := z.syncTickets(ctx, &stats); err != nil {
		return stats, fmt.Errorf("zendesk tickets: %w", err)
	}
	if err := z.syncTicketDeletions(ctx, &stats); err != nil {
		return stats, fmt.Errorf("zendesk deleted tickets: %w", err)
	}
	return stats, nil
}

func (z *Zendesk) syncUsers(ctx context.Context, stats *Stats) error {
	for {
		cur, err := z.Store.GetCursor(ctx, cxaudit.SourceZendesk, ObjectUsers)
		if err != nil {
			return err
		}
		page, err := z.Client.ExportUsers(ctx, cur.Value, z.start())
		if err != nil {
			return err
		}
		next := store.Cursor{Value: page.AfterCursor, CompletedAt: cur.CompletedAt}
		if next.Value == "" {
			next.Value = cur.Value
		}
		if page.EndOfStream {
			next.CompletedAt = time.Now()
		}
		if err := z.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			if err := q.UpsertUsers(ctx, page.Users); err != nil {
				return err
			}
			return q.PutCursor(ctx, cxaudit.SourceZendesk, ObjectUsers, next)
		}); err != nil {
			return err
		}
		z.observe(stats, ObjectUsers, len(page.Users))
		var pos time.Time
		for _, u := range page.Users {
			pos = later2(pos, u.UpdatedAt)
		}
		z.progress(stats, ObjectUsers, pos, page.EndOfStream || page.AfterCursor == "")
		if page.EndOfStream || page.AfterCursor == "" {
			return nil
		}
	}
}

func (z *Zendesk) syncOrganizations(ctx context.Context, stats *Stats) error {
	for {
		cur, err := z.Store.GetCursor(ctx, cxaudit.SourceZendesk, ObjectOrganizations)
		if err != nil {
			return err
		}
		start := z.start().Unix()
		if cur.Value != "" {
			if start, err = strconv.ParseInt(cur.Value, 10, 64); err != nil {
				return fmt.Errorf("stored organizations cursor %q is not a Unix time: %w", cur.Value, err)
			}
		}
		page, err := z.Client.ExportOrganizations(ctx, start)
		if err != nil {
			return err
		}
		next := store.Cursor{Value: strconv.FormatInt(max(page.EndTime, start), 10), CompletedAt: cur.CompletedAt}
		if page.EndOfStream {
			next.CompletedAt = time.Now()
		}
		keys := make([]store.EntityKey, 0, len(page.Organizations))
		for _, o := range page.Organizations {
			keys = append(keys, store.EntityKey{Kind: cxaudit.EntityOrganization, ID: strconv.FormatInt(o.ID, 10)})
		}
		if err := z.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			if err := q.UpsertOrganizations(ctx, page.Organizations); err != nil {
				return err
			}
			if err := q.QueueAudit(ctx, keys); err != nil {
				return err
			}
			return q.PutCursor(ctx, cxaudit.SourceZendesk, ObjectOrganizations, next)
		}); err != nil {
			return err
		}
		z.observe(stats, ObjectOrganizations, len(page.Organizations))
		z.progress(stats, ObjectOrganizations, time.Unix(page.EndTime, 0), page.EndOfStream || page.EndTime <= start)
		// The time-based export ends when a page reaches the present; a page
		// that did not move the clock would repeat forever.
		if page.EndOfStream || page.EndTime <= start {
			return nil
		}
	}
}

// fetched is a page of the ticket export read ahead.
type fetched struct {
	page zendesk.TicketPage
	err  error
}

func (z *Zendesk) syncTickets(ctx context.Context, stats *Stats) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The next page is read while this one is stored: the export's rate
	// limit, not the database, sets the pace. Only committed pages move
	// the cursor, so reading ahead risks nothing.
	var ahead chan fetched
	defer func() {
		if ahead != nil {
			cancel()
			<-ahead
		}
	}()
	for {
		cur, err := z.Store.GetCursor(ctx, cxaudit.SourceZendesk, ObjectTickets)
		if err != nil {
			return err
		}
		var page zendesk.TicketPage
		if ahead != nil {
			f := <-ahead
			ahead = nil
			page, err = f.page, f.err
		} else {
			page, err = z.Client.ExportTickets(ctx, cur.Value, z.start())
		}
		if err != nil {
			return err
		}
		if !page.EndOfStream && page.AfterCursor != "" {
			ahead = make(chan fetched, 1)
			go func(cursor string) {
				p, err := z.Client.ExportTickets(ctx, cursor, z.start())
				ahead <- fetched{p, err}
			}(page.AfterCursor)
		}
		// Comments of every changed ticket, fetched before the page commits:
		// a ticket is never stored with stale comments under a newer cursor.
		keys := make([]store.EntityKey, 0, 2*len(page.Tickets))
		orgs := map[int64]bool{}
		for i := range page.Tickets {
			t := &page.Tickets[i]
			keys = append(keys, store.EntityKey{Kind: cxaudit.EntityTicket, ID: strconv.FormatInt(t.ID, 10)})
			if t.OrganizationID != 0 && !orgs[t.OrganizationID] {
				orgs[t.OrganizationID] = true
				keys = append(keys, store.EntityKey{Kind: cxaudit.EntityOrganization, ID: strconv.FormatInt(t.OrganizationID, 10)})
			}
			if t.Status == cxaudit.StatusDeleted {
				t.Comments = []cxaudit.Comment{}
				continue
			}
			if z.SkipComments {
				continue
			}
			comments, err := z.Client.TicketComments(ctx, t.ID)
			if err != nil {
				return fmt.Errorf("comments of ticket %d: %w", t.ID, err)
			}
			if comments == nil {
				comments = []cxaudit.Comment{}
			}
			t.Comments = comments
		}
		next := store.Cursor{Value: page.AfterCursor, CompletedAt: cur.CompletedAt}
		if next.Value == "" {
			next.Value = cur.Value
		}
		if page.EndOfStream {
			next.CompletedAt = time.Now()
		}
		if err := z.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			if err := q.UpsertTickets(ctx, page.Tickets); err != nil {
				return err
			}
			if err := q.QueueAudit(ctx, keys); err != nil {
				return err
			}
			return q.PutCursor(ctx, cxaudit.SourceZendesk, ObjectTickets, next)
		}); err != nil {
			return err
		}
		z.observe(stats, ObjectTickets, len(page.Tickets))
		var pos time.Time
		for _, t := range page.Tickets {
			pos = later2(pos, t.UpdatedAt)
		}
		z.progress(stats, ObjectTickets, pos, page.EndOfStream || page.AfterCursor == "")
		if page.EndOfStream || page.AfterCursor == "" {
			return nil
		}
	}
}

func later2(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
