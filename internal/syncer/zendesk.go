// Package syncer pulls changes from Zendesk and Salesforce into the store,
// incrementally. Every page is committed in one transaction together with
// the cursor that covers it and the audit-queue entries of what changed, so a
// crash at any point loses nothing and a restart resumes after the last
// committed page. A page that fails (rate limit, 5xx, malformed body) is
// returned as an error before anything of it is committed: the cursor never
// moves past data that was not stored.
package syncer

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/tenant"
	"github.com/cxaudit/cxaudit/internal/zendesk"
)

// Cursor object names.
const (
	ObjectTickets       = "tickets"
	ObjectOrganizations = "organizations"
	ObjectUsers         = "users"
	ObjectAgents        = "agents"
	ObjectAccounts      = "accounts"
	ObjectContacts      = "contacts"
	ObjectOpportunities = "opportunities"
)

// ReadyObjects are, by system, the cursor objects whose first complete
// pass makes the system's data whole enough for rules that read across
// records: every Salesforce object (an account's contacts and
// opportunities come after it), and Zendesk's tickets (a customer's
// window of recent tickets).
var ReadyObjects = map[cxaudit.Source][]string{
	cxaudit.SourceSalesforce: {ObjectAccounts, ObjectContacts, ObjectOpportunities, ObjectTasks},
	cxaudit.SourceZendesk:    {ObjectTickets},
}

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
	// RejectFunc, when set, is told of the records of every page put in
	// quarantine.
	RejectFunc func(source cxaudit.Source, rejected []cxaudit.Rejected)
	// ProgressFunc, when set, is told where each stream stands after every
	// page (backfill progress).
	ProgressFunc ProgressFunc
	// SkipComments leaves tickets' comments as they are: for benchmarks of
	// the export stream, and tenants whose rules read no comments.
	SkipComments bool
	// CommentsFunc, when set, says whether the tickets of a status need
	// their comments (rules.Set.NeedsComments of the current rules); nil
	// fetches them for every ticket. It is asked for every page, so a
	// reload of the rules takes effect at the next page.
	CommentsFunc func(status string) bool
	// CommentEvents reads the tickets' comments from the incremental
	// ticket-event export with comment_events (syncCommentEvents) instead
	// of one List Comments call per ticket; CommentsFunc and
	// CommentConcurrency then do not apply.
	CommentEvents bool
	// CommentConcurrency is how many tickets' comments are fetched at
	// once; zero means DefaultCommentConcurrency.
	CommentConcurrency int
	// SchemaEvery is how long a stored schema (custom fields, schedules)
	// is used before it is read again: an admin's new field reaches rules
	// within it, and a sync every few minutes does not spend five requests
	// on what changes a few times a year. Zero means DefaultSchemaEvery;
	// negative reads it on every sync.
	SchemaEvery time.Duration
}

// DefaultCommentConcurrency is how many tickets' comments a page fetches
// at once by default: enough that latency (100–300 ms a request) no
// longer sets the pace, so the account's rate limit does.
const DefaultCommentConcurrency = 8

// DefaultSchemaEvery is how often the Zendesk schema is read by default.
const DefaultSchemaEvery = time.Hour

func (z *Zendesk) progress(stats *Stats, object string, position time.Time, done bool) {
	if z.ProgressFunc == nil {
		return
	}
	start := z.start()
	if object != ObjectTickets {
		start = time.Unix(0, 0) // organizations and users are read from the beginning
	}
	z.ProgressFunc(Progress{Source: "zendesk", Object: object, Records: stats.Records[object], Position: position, Start: start, Done: done})
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
//
// Organizations and users are synced in full, from the start of their
// exports, whatever the ticket backfill reaches back to: organizations are
// rarely edited and agents' profiles often untouched for months, yet every
// ticket needs its organization (and through it its account) and whether
// a comment's author is an agent. Agents are read first, in full, from
// the users list (they are few); the export of every user, which on a
// large account is the longest stream, comes after the tickets, and a
// ticket whose organization or requester the store does not have yet
// fetches them by id.
func (z *Zendesk) Sync(ctx context.Context) (Stats, error) {
	var stats Stats
	if err := z.syncSchema(ctx); err != nil {
		return stats, fmt.Errorf("zendesk fields: %w", err)
	}
	if err := z.syncAgents(ctx, &stats); err != nil {
		return stats, fmt.Errorf("zendesk agents: %w", err)
	}
	if err := z.syncOrganizations(ctx, &stats); err != nil {
		return stats, fmt.Errorf("zendesk organizations: %w", err)
	}
	ticketsFrom := time.Now()
	if err := z.syncTickets(ctx, &stats); err != nil {
		return stats, fmt.Errorf("zendesk tickets: %w", err)
	}
	if z.CommentEvents && !z.SkipComments {
		if err := z.syncCommentEvents(ctx, &stats, ticketsFrom); err != nil {
			return stats, fmt.Errorf("zendesk ticket comments (ticket events): %w", err)
		}
	}
	if err := z.syncUsers(ctx, &stats); err != nil {
		return stats, fmt.Errorf("zendesk users: %w", err)
	}
	if err := z.syncTicketDeletions(ctx, &stats); err != nil {
		return stats, fmt.Errorf("zendesk deleted tickets: %w", err)
	}
	return stats, nil
}

// syncSchema reads the account's custom ticket, organization and user
// fields, and its business-hours schedules with their holidays, and
// stores them for the audit, which names and types the values by them and
// counts business hours in the schedules.
func (z *Zendesk) syncSchema(ctx context.Context) error {
	every := z.SchemaEvery
	if every == 0 {
		every = DefaultSchemaEvery
	}
	if every > 0 {
		var prev tenant.ZendeskSchema
		ok, err := z.Store.GetSchema(ctx, store.SchemaZendesk, &prev)
		if err != nil {
			return err
		}
		if ok && time.Since(prev.FetchedAt) < every {
			return nil
		}
	}
	schema, err := z.Client.Schema(ctx)
	if err != nil {
		return err
	}
	if schema.Schedules, err = z.Client.Schedules(ctx); err != nil {
		return err
	}
	schema.FetchedAt = time.Now().UTC()
	return z.Store.PutSchema(ctx, store.SchemaZendesk, schema)
}

// syncAgents stores every agent and admin.
func (z *Zendesk) syncAgents(ctx context.Context, stats *Stats) error {
	agents, err := z.Client.Agents(ctx)
	if err != nil {
		return err
	}
	if err := z.Store.UpsertUsers(ctx, agents); err != nil {
		return err
	}
	z.observe(stats, ObjectAgents, len(agents))
	return nil
}

// fetchMissing fetches the organizations and requesters the tickets name
// that the store does not have. The caller stores them with the tickets.
func (z *Zendesk) fetchMissing(ctx context.Context, tickets []cxaudit.Ticket) ([]cxaudit.Organization, []cxaudit.User, error) {
	var orgIDs, userIDs []int64
	for i := range tickets {
		orgIDs = append(orgIDs, tickets[i].OrganizationID)
		userIDs = append(userIDs, tickets[i].RequesterID)
	}
	orgIDs, err := z.Store.MissingOrganizations(ctx, orgIDs)
	if err != nil {
		return nil, nil, err
	}
	userIDs, err = z.Store.MissingUsers(ctx, userIDs)
	if err != nil {
		return nil, nil, err
	}
	var orgs []cxaudit.Organization
	var users []cxaudit.User
	if len(orgIDs) > 0 {
		if orgs, err = z.Client.Organizations(ctx, orgIDs); err != nil {
			return nil, nil, fmt.Errorf("organizations the tickets name: %w", err)
		}
	}
	if len(userIDs) > 0 {
		if users, err = z.Client.Users(ctx, userIDs); err != nil {
			return nil, nil, fmt.Errorf("requesters the tickets name: %w", err)
		}
	}
	return orgs, users, nil
}

func (z *Zendesk) syncUsers(ctx context.Context, stats *Stats) error {
	for {
		cur, err := z.Store.GetCursor(ctx, cxaudit.SourceZendesk, ObjectUsers)
		if err != nil {
			return err
		}
		page, err := z.Client.ExportUsers(ctx, cur.Value, time.Unix(0, 0))
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
		ids := make([]string, len(page.Users))
		for i, u := range page.Users {
			ids[i] = strconv.FormatInt(u.ID, 10)
		}
		z.logRejected(page.Rejected)
		if err := z.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			if err := q.UpsertUsers(ctx, page.Users); err != nil {
				return err
			}
			if err := z.quarantine(ctx, q, ObjectUsers, ids, page.Rejected); err != nil {
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
		var start int64 // the first pass reads every organization
		if cur.Value != "" {
			if start, err = strconv.ParseInt(cur.Value, 10, 64); err != nil {
				return fmt.Errorf("stored organizations cursor %q is not a Unix time: %w", cur.Value, err)
			}
		}
		page, err := z.Client.ExportOrganizations(ctx, start)
		if err != nil {
			return err
		}
		// A server's end_time in the future would skip every change made
		// until then: the cursor never passes the present.
		page.EndTime = min(page.EndTime, time.Now().Unix())
		next := store.Cursor{Value: strconv.FormatInt(max(page.EndTime, start), 10), CompletedAt: cur.CompletedAt}
		if page.EndOfStream {
			next.CompletedAt = time.Now()
		}
		keys := make([]store.EntityKey, 0, len(page.Organizations))
		ids := make([]string, 0, len(page.Organizations))
		for _, o := range page.Organizations {
			ids = append(ids, strconv.FormatInt(o.ID, 10))
			keys = append(keys, store.EntityKey{Kind: cxaudit.EntityOrganization, ID: ids[len(ids)-1]})
		}
		z.logRejected(page.Rejected)
		if err := z.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			if err := q.UpsertOrganizations(ctx, page.Organizations); err != nil {
				return err
			}
			if err := z.quarantine(ctx, q, ObjectOrganizations, ids, page.Rejected); err != nil {
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

// Reading ahead of the ticket export: the reader fetches up to
// ticketReadAhead pages while the last ones are stored, and the store takes
// every page already read (up to ticketBatchMax tickets) in one
// transaction with the cursor after the last of them. The export's rate
// limit, not the database, sets the pace; only committed pages move the
// cursor, and in order, so reading ahead risks nothing.
const (
	ticketReadAhead = 4
	ticketBatchMax  = 5000
)

// pageRead is a page of the ticket export read ahead, or the error that
// stopped the reading.
type pageRead struct {
	page zendesk.TicketPage
	err  error
}

// last reports whether p ends the stream.
func (p *pageRead) last() bool { return p.page.EndOfStream || p.page.AfterCursor == "" }

func (z *Zendesk) syncTickets(ctx context.Context, stats *Stats) error {
	cur, err := z.Store.GetCursor(ctx, cxaudit.SourceZendesk, ObjectTickets)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	reads := make(chan pageRead, ticketReadAhead-1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(reads)
		z.readTickets(ctx, cur.Value, reads)
	}()
	defer func() {
		cancel()
		<-done
	}()
	for {
		batch, readErr := z.nextTicketBatch(ctx, reads)
		if len(batch) == 0 {
			return readErr
		}
		if err := z.storeTickets(ctx, stats, &cur, batch); err != nil {
			return err
		}
		if readErr != nil {
			return readErr
		}
		if batch[len(batch)-1].last() {
			return nil
		}
	}
}

// readTickets sends the pages of the ticket export after cursor to reads,
// until the end of the stream or the first error, which it sends too.
func (z *Zendesk) readTickets(ctx context.Context, cursor string, reads chan<- pageRead) {
	for {
		p, err := z.Client.ExportTickets(ctx, cursor, z.start())
		r := pageRead{page: p, err: err}
		select {
		case reads <- r:
		case <-ctx.Done():
			return
		}
		if err != nil || r.last() {
			return
		}
		cursor = p.AfterCursor
	}
}

// nextTicketBatch waits for the next page read and takes those read
// since, up to ticketBatchMax tickets (one page when comments are fetched:
// they take long, and a batch commits only when all of them are in). It
// returns the pages and the error that ended the reading, if it came.
func (z *Zendesk) nextTicketBatch(ctx context.Context, reads <-chan pageRead) ([]pageRead, error) {
	var batch []pageRead
	n := 0
	for {
		var r pageRead
		var ok bool
		if len(batch) == 0 {
			select {
			case r, ok = <-reads:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		} else {
			select {
			case r, ok = <-reads:
			default:
				return batch, nil
			}
		}
		if !ok {
			// The reader stopped without a last page: cancelled.
			if err := ctx.Err(); err != nil || len(batch) > 0 {
				return batch, err
			}
			return nil, context.Canceled
		}
		if r.err != nil {
			return batch, r.err
		}
		batch = append(batch, r)
		n += len(r.page.Tickets)
		if r.last() || n >= ticketBatchMax || z.perTicketComments() {
			return batch, nil
		}
	}
}

// storeTickets fetches the comments of the tickets of batch and commits
// them, with the cursor after its last page, in one transaction; cur is
// the cursor before batch and becomes the one after it. A ticket in two
// pages is stored as the later page has it.
func (z *Zendesk) storeTickets(ctx context.Context, stats *Stats, cur *store.Cursor, batch []pageRead) error {
	tickets := batch[0].page.Tickets
	if len(batch) > 1 {
		tickets = mergeTickets(batch)
	}
	var rejected []cxaudit.Rejected
	for _, r := range batch {
		rejected = append(rejected, r.page.Rejected...)
	}
	if z.perTicketComments() {
		var err error
		if tickets, rejected, err = z.fetchComments(ctx, tickets, rejected); err != nil {
			return err
		}
	}
	z.logRejected(rejected)
	keys := make([]store.EntityKey, 0, 2*len(tickets))
	ids := make([]string, 0, len(tickets))
	orgs := map[int64]bool{}
	for i := range tickets {
		t := &tickets[i]
		ids = append(ids, strconv.FormatInt(t.ID, 10))
		keys = append(keys, store.EntityKey{Kind: cxaudit.EntityTicket, ID: ids[len(ids)-1]})
		if t.OrganizationID != 0 && !orgs[t.OrganizationID] {
			orgs[t.OrganizationID] = true
			keys = append(keys, store.EntityKey{Kind: cxaudit.EntityOrganization, ID: strconv.FormatInt(t.OrganizationID, 10)})
		}
		if t.Status == cxaudit.StatusDeleted {
			t.Comments = []cxaudit.Comment{}
		}
	}
	last := batch[len(batch)-1].page
	next := store.Cursor{Value: last.AfterCursor, CompletedAt: cur.CompletedAt}
	if next.Value == "" {
		next.Value = cur.Value
	}
	if last.EndOfStream {
		next.CompletedAt = time.Now()
	}
	missingOrgs, missingUsers, err := z.fetchMissing(ctx, tickets)
	if err != nil {
		return err
	}
	if err := z.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
		if err := q.UpsertOrganizations(ctx, missingOrgs); err != nil {
			return err
		}
		if err := q.UpsertUsers(ctx, missingUsers); err != nil {
			return err
		}
		// An organization or requester the export rejected, read whole by id.
		if err := q.Unquarantine(ctx, cxaudit.SourceZendesk, ObjectOrganizations, orgIDs(missingOrgs)); err != nil {
			return err
		}
		if err := q.Unquarantine(ctx, cxaudit.SourceZendesk, ObjectUsers, userIDs(missingUsers)); err != nil {
			return err
		}
		if err := q.UpsertTickets(ctx, tickets); err != nil {
			return err
		}
		if err := z.quarantine(ctx, q, ObjectTickets, ids, rejected); err != nil {
			return err
		}
		// Tickets whose comments the ticket-event export brings wait for
		// them (syncCommentEvents releases them).
		if z.CommentEvents && !z.SkipComments {
			if err := q.HoldAudit(ctx, keys, time.Now().Add(DefaultCommentHold)); err != nil {
				return err
			}
		} else if err := q.QueueAudit(ctx, keys); err != nil {
			return err
		}
		return q.PutCursor(ctx, cxaudit.SourceZendesk, ObjectTickets, next)
	}); err != nil {
		return err
	}
	*cur = next
	var pos time.Time
	for _, r := range batch {
		z.observe(stats, ObjectTickets, len(r.page.Tickets))
		for _, t := range r.page.Tickets {
			pos = later2(pos, t.UpdatedAt)
		}
	}
	z.progress(stats, ObjectTickets, pos, batch[len(batch)-1].last())
	return nil
}

// fetchComments fetches the comments of the changed tickets that need
// them (CommentsFunc), up to CommentConcurrency at once, before the page
// commits: a ticket is never stored with stale comments under a newer
// cursor. A ticket that needs none keeps Comments nil, and the store keeps
// the comments it has; it needs them again when it changes to a status a
// rule can fire on (a reopened ticket comes again in the export). A
// ticket whose comments answer 404 is looked up (Show Ticket): if it is
// gone too it was deleted after the export read it, and it is stored as
// deleted, as the export reports deletions; otherwise, and on a 422,
// Zendesk refuses its comments for good, and it is not stored from this
// page but quarantined, and the page goes on; its next change reads it
// again. A transient failure (429, 5xx) fails the page, which is retried.
// The requests go through the client's budget, which the shared rate
// limiter keeps within the account's limits whatever the concurrency.
func (z *Zendesk) fetchComments(ctx context.Context, tickets []cxaudit.Ticket, rejected []cxaudit.Rejected) ([]cxaudit.Ticket, []cxaudit.Rejected, error) {
	type result struct {
		comments []cxaudit.Comment
		deleted  bool
		reject   error // the comments' permanent refusal
	}
	results := make([]result, len(tickets))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cmp.Or(z.CommentConcurrency, DefaultCommentConcurrency))
	for i := range tickets {
		t := &tickets[i]
		if t.Status == cxaudit.StatusDeleted || (z.CommentsFunc != nil && !z.CommentsFunc(t.Status)) {
			continue
		}
		g.Go(func() error {
			comments, err := z.Client.TicketComments(gctx, t.ID)
			switch cxaudit.ErrorCode(err) {
			case "":
				if comments == nil {
					comments = []cxaudit.Comment{}
				}
				results[i].comments = comments
				return nil
			case cxaudit.EINVALID:
				results[i].reject = err
				return nil
			case cxaudit.ENOTFOUND:
				_, terr := z.Client.Ticket(gctx, t.ID)
				switch cxaudit.ErrorCode(terr) {
				case cxaudit.ENOTFOUND:
					results[i].deleted = true
				case "":
					results[i].reject = err
				default:
					return fmt.Errorf("ticket %d, whose comments were not found: %w", t.ID, terr)
				}
				return nil
			}
			return fmt.Errorf("comments of ticket %d: %w", t.ID, err)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	kept := tickets[:0]
	for i, t := range tickets {
		r := results[i]
		switch {
		case r.reject != nil:
			rejected = append(rejected, zendesk.RejectTicket(t, "comments: "+r.reject.Error()))
			continue
		case r.deleted:
			logger(z.Logger).Info("zendesk: ticket deleted after the export read it; stored as deleted", "ticket", t.ID)
			t.Status = cxaudit.StatusDeleted
		case r.comments != nil:
			t.Comments = r.comments
		}
		kept = append(kept, t)
	}
	return kept, rejected, nil
}

// quarantine records the rejected records of a page of object and clears
// the entries of the records of ids, stored with it.
func (z *Zendesk) quarantine(ctx context.Context, q store.Querier, object string, ids []string, rejected []cxaudit.Rejected) error {
	return quarantine(ctx, q, cxaudit.SourceZendesk, object, ids, rejected)
}

// quarantine records rejected and clears the entries of ids, but for a
// record a later page of the same batch rejected again.
func quarantine(ctx context.Context, q store.Querier, source cxaudit.Source, object string, ids []string, rejected []cxaudit.Rejected) error {
	if err := q.Quarantine(ctx, source, rejected); err != nil {
		return err
	}
	if len(rejected) > 0 {
		bad := make(map[string]bool, len(rejected))
		for _, r := range rejected {
			bad[r.ID] = true
		}
		ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return bad[id] })
	}
	return q.Unquarantine(ctx, source, object, ids)
}

func orgIDs(orgs []cxaudit.Organization) []string {
	ids := make([]string, len(orgs))
	for i, o := range orgs {
		ids[i] = strconv.FormatInt(o.ID, 10)
	}
	return ids
}

func userIDs(users []cxaudit.User) []string {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = strconv.FormatInt(u.ID, 10)
	}
	return ids
}

// logRejected says which records of a page were quarantined, and why.
func (z *Zendesk) logRejected(rejected []cxaudit.Rejected) {
	for _, r := range rejected {
		logger(z.Logger).Warn("zendesk: record quarantined (cxaudit quarantine list shows it); the sync goes on",
			"object", r.Object, "id", r.ID, "reason", r.Reason)
	}
	if z.RejectFunc != nil && len(rejected) > 0 {
		z.RejectFunc(cxaudit.SourceZendesk, rejected)
	}
}

// mergeTickets returns the tickets of the pages of batch, each once, as
// the latest page has it, in the order they first came.
func mergeTickets(batch []pageRead) []cxaudit.Ticket {
	n := 0
	for _, r := range batch {
		n += len(r.page.Tickets)
	}
	out := make([]cxaudit.Ticket, 0, n)
	at := make(map[int64]int, n)
	for _, r := range batch {
		for _, t := range r.page.Tickets {
			if i, ok := at[t.ID]; ok {
				out[i] = t
				continue
			}
			at[t.ID] = len(out)
			out = append(out, t)
		}
	}
	return out
}

func later2(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
