// Package zendesktest is an in-memory Zendesk Support API, in the spirit of
// net/http/httptest: tests point the real adapter at it over HTTP and then
// inspect what it received and what state it holds.
//
// The simulator is deterministic (given a deterministic clock and fault
// seed), safe for concurrent use, and speaks the wire format of the real
// API for the endpoints cxaudit uses: the cursor-based incremental ticket
// and user exports, the time-based incremental organization export, ticket
// show, ticket comments with cursor pagination, users/me, ticket update
// (a note, the ticket's whole tag list, safe_update; additional_tags and
// remove_tags are ignored there, as Zendesk documents them for bulk updates
// only), the business-hours schedules with their holidays, and the
// webhooks and triggers APIs, calling registered webhooks, signed, on each
// ticket change (webhooks.go). Every
// response carries X-Rate-Limit and X-Rate-Limit-Remaining; over the
// account's limit, or over Update Ticket's own limits, it answers 429 with
// Retry-After.
package zendesktest

import (
	"cmp"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cxaudit/cxaudit/internal/bizhours"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/simfault"
	"github.com/cxaudit/cxaudit/internal/simworld"
)

// Defaults of Options.
const (
	DefaultEmail     = "cxaudit@example.com"
	DefaultAPIToken  = "zendesktest-token"
	DefaultRateLimit = 700
	DefaultPageSize  = 1000
	// DefaultUpdateRateLimit and DefaultTicketUpdateLimit are Update
	// Ticket's own limits: "Standard Account 1 minute 100" and "Standard
	// per (User + Ticket) 10 minute 30"
	// (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket).
	// Agents saving tickets in the UI draw on the same account limit
	// (Zendesk support article 8638126078234).
	DefaultUpdateRateLimit    = 100
	HighVolumeUpdateRateLimit = 300
	DefaultTicketUpdateLimit  = 30
)

// Endpoint keys of Stats.ByEndpoint: the method and route pattern of each
// endpoint the simulator serves. Requests to unknown routes count under
// EndpointUnknown.
const (
	EndpointExportTickets       = "GET /api/v2/incremental/tickets/cursor.json"
	EndpointExportOrganizations = "GET /api/v2/incremental/organizations.json"
	EndpointExportUsers         = "GET /api/v2/incremental/users/cursor.json"
	EndpointShowTicket          = "GET /api/v2/tickets/{id}"
	EndpointTicketComments      = "GET /api/v2/tickets/{id}/comments.json"
	EndpointUpdateTicket        = "PUT /api/v2/tickets/{id}"
	EndpointMe                  = "GET /api/v2/users/me.json"
	EndpointShowUser            = "GET /api/v2/users/{id}"
	EndpointSchedules           = "GET /api/v2/business_hours/schedules.json"
	EndpointScheduleHolidays    = "GET /api/v2/business_hours/schedules/{id}/holidays.json"
	EndpointUnknown             = "unknown"
)

// Options configure a Sim.
type Options struct {
	// World is served: its organizations, users, tickets and schedules
	// are copied. A ticket's Comments become its comments and its Metrics
	// its ticket_metrics; a schedule's Holidays its holidays. Nil serves
	// an empty account.
	World *simworld.World
	// Email and APIToken are the only credentials accepted, as Basic auth
	// "Email/token:APIToken". Defaults DefaultEmail and DefaultAPIToken.
	Email, APIToken string
	// RateLimit is the number of requests allowed per minute (a fixed
	// window on the Now clock). Zero means DefaultRateLimit.
	RateLimit int
	// PageSize is the default page size of the incremental exports. Zero
	// means DefaultPageSize, as in the real API.
	PageSize int
	// Now is the simulator's clock. Default time.Now.
	Now func() time.Time
	// UpdateRateLimit is how many ticket updates the account allows per
	// minute, and TicketUpdateLimit how many updates of one ticket by one
	// user per ten minutes (fixed windows on the Now clock); over either,
	// an update is answered 429 with Retry-After, before anything is
	// applied. Zero means DefaultUpdateRateLimit (HighVolumeUpdateRateLimit
	// when RateLimit is High Volume's 2,500 or more) and
	// DefaultTicketUpdateLimit. Update answers tell the account limit in
	// Zendesk-RateLimit-tickets-update.
	UpdateRateLimit, TicketUpdateLimit int
	// ExportRateLimit, when positive, is how many requests the incremental
	// exports (/api/v2/incremental/…) take per minute, on top of the
	// account's limit: "You can make up to 10 requests per minute to these
	// endpoints" (30 with High Volume), answered 429 with Retry-After over
	// it (https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/).
	// Zero does not enforce it, for tests that page through the exports
	// faster than a minute allows.
	ExportRateLimit int
	// Minute is the span of the per-minute limits (RateLimit and
	// UpdateRateLimit; TicketUpdateLimit's span is ten of them). Default
	// a minute; tests and benchmarks shrink it.
	Minute time.Duration
	// NoBusinessHours answers as an account whose plan has no business
	// hours (Support Team): the schedule endpoints answer 404 and the
	// World's schedules are not served.
	NoBusinessHours bool
}

// Faults are failures the simulator injects at random.
type Faults struct {
	// ErrorRate is the share of requests (0..1) that fail with a 5xx
	// before doing anything.
	ErrorRate float64
	// Latency delays every response.
	Latency time.Duration
	// MalformedRate is the share of successful GET responses (0..1) whose
	// JSON body is cut in half.
	MalformedRate float64
	// LoseWriteResponses makes an injected failure (FailNext or ErrorRate)
	// of a ticket update apply the update before answering with the error,
	// as when a gateway times out on a write that went through.
	LoseWriteResponses bool
	// StormEvery and StormLength make 429 storms: after every StormEvery
	// requests, the next StormLength are answered 429 with Retry-After: 1.
	StormEvery, StormLength int
	// RepeatRecords makes every ticket export page after the first start
	// with the last ticket of the page before, as when a record sits on a
	// page boundary.
	RepeatRecords bool
	// RepeatCursor makes every ticket or user export request that carries
	// a cursor answer that same cursor back, with no records and
	// end_of_stream false: an export that makes no progress, however long
	// it is followed. The real API's after_cursor always fetches the next
	// page (https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/).
	RepeatCursor bool
	// ChangeEvery makes every ChangeEvery-th ticket export request change
	// a ticket first (its subject and updated_at), as an agent would while
	// a backfill runs.
	ChangeEvery int
	// PoisonTickets, PoisonOrganizations and PoisonUsers are records the
	// exports send with a malformed updated_at ("not a time"), as a
	// hostile or broken integration might write them; the rest of their
	// page is whole. Zendesk itself always sends ISO 8601
	// (https://developer.zendesk.com/api-reference/introduction/requests/#data-types).
	PoisonTickets, PoisonOrganizations, PoisonUsers []int64
	// CommentsNotFound are tickets whose comments endpoint answers 404
	// although the ticket is there.
	CommentsNotFound []int64
	// DeleteOnComments are tickets deleted when their comments are first
	// requested, before the request is answered, as an agent or a trigger
	// may delete a ticket between the export and its comments fetch: that
	// request answers 404, as every endpoint but the export (status
	// "deleted") and the deleted-tickets list then does (see DeleteTicket).
	DeleteOnComments []int64
	// CommentsUnavailable are tickets whose comments endpoint answers 503
	// (Zendesk documents 503 for a service briefly unavailable,
	// https://developer.zendesk.com/api-reference/introduction/rate-limits/),
	// whatever the retries: one fetch of a page fails while the others succeed.
	CommentsUnavailable []int64
	// Seed seeds the fault dice.
	Seed uint64
}

// Stats count what the simulator received.
type Stats struct {
	// Requests counts every request, failed ones included.
	Requests int
	// ByEndpoint counts requests by Endpoint* key.
	ByEndpoint map[string]int
	// TicketUpdates counts ticket updates applied through the API.
	TicketUpdates int
	// NotesAdded counts comments added through the API.
	NotesAdded int
	// RateLimited counts 429 responses.
	RateLimited int
	// UpdatesRateLimited counts the ticket updates of them refused by
	// Update Ticket's own limits (account or per ticket).
	UpdatesRateLimited int
	// ExportsRateLimited counts the export requests of them refused by
	// the exports' own limit (ExportRateLimit).
	ExportsRateLimited int
	// MaxInFlight is the most requests the simulator served at once.
	MaxInFlight int
}

// Sim is a simulated Zendesk account. It implements http.Handler.
type Sim struct {
	email, token string
	rateLimit    int
	pageSize     int
	minute       time.Duration
	updateLimit  int // per account and minute
	ticketLimit  int // per user, ticket and ten minutes
	now          func() time.Time
	mux          *http.ServeMux

	created time.Time    // when the account was made: its fields' created_at
	fields  customFields // the account's custom fields, read-only

	mu       sync.Mutex
	inFlight int // requests being served now (Stats.MaxInFlight)
	orgs     []cxaudit.Organization
	users    []cxaudit.User
	tickets  map[int64]*ticketState
	apiUser  int64

	schedules       []bizhours.Schedule // with their holidays
	schedulesAt     time.Time           // their created_at and updated_at
	noBusinessHours bool

	seq        int64            // change sequence of tickets, orders the export
	order      []orderEntry     // tickets by change sequence; stale entries skipped
	maxUpdated time.Time        // latest ticket updated_at, keeps bumps monotonic
	nextID     int64            // comment and audit ids
	htmlBodies map[int64]string // html_body of comments written as HTML

	windowStart time.Time
	windowCount int
	updates     fixedWindow // Update Ticket, account-wide
	exports     fixedWindow // the incremental exports
	exportLimit int
	ticketWins  map[int64]*fixedWindow // Update Ticket, per ticket (one API user)

	failN, failStatus int
	failRetryAfter    int // Retry-After of FailNext's 429s (RateLimitNext); 0 is 1
	faults            Faults
	faultCount        int // requests judged, for storms
	exportCount       int // ticket export requests, for ChangeEvery
	changes           int // tickets changed by ChangeEvery
	dice              *rand.Rand

	huge simfault.Huge // huge.go

	hooks hooks // webhooks.go

	stats Stats
}

type ticketState struct {
	cxaudit.Ticket
	seq       int64
	deleted   bool
	deletedAt time.Time
}

// New returns a Sim serving opts.World.
func New(opts Options) *Sim {
	s := &Sim{
		email:       cmp.Or(opts.Email, DefaultEmail),
		token:       cmp.Or(opts.APIToken, DefaultAPIToken),
		rateLimit:   cmp.Or(opts.RateLimit, DefaultRateLimit),
		pageSize:    cmp.Or(opts.PageSize, DefaultPageSize),
		minute:      cmp.Or(opts.Minute, time.Minute),
		updateLimit: cmp.Or(opts.UpdateRateLimit, defaultUpdateLimit(opts.RateLimit)),
		exportLimit: opts.ExportRateLimit,
		ticketLimit: cmp.Or(opts.TicketUpdateLimit, DefaultTicketUpdateLimit),
		ticketWins:  map[int64]*fixedWindow{},
		now:         opts.Now,
		tickets:     map[int64]*ticketState{},
		htmlBodies:  map[int64]string{},
		nextID:      9_000_000,
		dice:        rand.New(rand.NewPCG(0, 0)),
		stats:       Stats{ByEndpoint: map[string]int{}},
	}
	s.hooks.client = &http.Client{Timeout: 10 * time.Second}
	if s.now == nil {
		s.now = time.Now
	}
	created := s.now().UTC().Truncate(time.Second)
	if w := opts.World; w != nil {
		if !w.Now.IsZero() {
			created = w.Now
		}
		s.fields = customFields{ticket: w.TicketFields, organization: w.OrganizationFields, user: w.UserFields}
		for _, o := range w.Organizations {
			s.orgs = append(s.orgs, cloneOrg(o))
		}
		s.users = slices.Clone(w.Users)
		for _, sc := range w.Schedules {
			sc.Intervals, sc.Holidays = slices.Clone(sc.Intervals), slices.Clone(sc.Holidays)
			s.schedules = append(s.schedules, sc)
		}
		ordered := make([]cxaudit.Ticket, len(w.Tickets))
		for i, t := range w.Tickets {
			ordered[i] = cloneTicket(t)
		}
		slices.SortStableFunc(ordered, func(a, b cxaudit.Ticket) int {
			return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(a.ID, b.ID))
		})
		for _, t := range ordered {
			s.seq++
			t.UpdatedAt = t.UpdatedAt.UTC().Truncate(time.Second)
			ts := &ticketState{Ticket: t, seq: s.seq}
			s.tickets[t.ID] = ts
			s.order = append(s.order, orderEntry{seq: s.seq, unix: t.UpdatedAt.Unix(), t: ts})
			if t.UpdatedAt.After(s.maxUpdated) {
				s.maxUpdated = t.UpdatedAt
			}
			for _, c := range t.Comments {
				s.nextID = max(s.nextID, c.ID+1)
			}
		}
	}
	s.created = created.AddDate(-3, 0, 0)
	s.schedulesAt, s.noBusinessHours = created, opts.NoBusinessHours
	s.apiUser = s.ensureAPIUser(created)
	s.routes()
	return s
}

// defaultUpdateLimit is Update Ticket's account limit for an account
// allowed rateLimit requests a minute: 300 with the High Volume add-on
// (2,500 a minute and more), else 100.
func defaultUpdateLimit(rateLimit int) int {
	if rateLimit >= 2500 {
		return HighVolumeUpdateRateLimit
	}
	return DefaultUpdateRateLimit
}

// NewServer starts an httptest.Server serving a new Sim. The caller closes
// the server.
func NewServer(opts Options) (*Sim, *httptest.Server) {
	s := New(opts)
	return s, httptest.NewServer(s)
}

// ensureAPIUser finds the user the API credentials belong to, creating an
// admin with a stable id when the world lacks one.
func (s *Sim) ensureAPIUser(created time.Time) int64 {
	var maxID int64
	for _, u := range s.users {
		if strings.EqualFold(u.Email, s.email) {
			return u.ID
		}
		maxID = max(maxID, u.ID)
	}
	id := max(int64(90_000_000_001), maxID+1)
	s.users = append(s.users, cxaudit.User{ID: id, Name: "cxaudit", Email: s.email, Role: "admin", UpdatedAt: created})
	return id
}

// APIUserID returns the id of the user the API credentials belong to: the
// author of every comment written through the API.
func (s *Sim) APIUserID() int64 { return s.apiUser }

// Ticket returns the current state of ticket id, with its comments, tags
// and metrics. Deleted and unknown tickets are not found.
func (s *Sim) Ticket(id int64) (cxaudit.Ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[id]
	if !ok || t.deleted {
		return cxaudit.Ticket{}, false
	}
	return cloneTicket(t.Ticket), true
}

// Stats returns a copy of the request counters.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByEndpoint = make(map[string]int, len(s.stats.ByEndpoint))
	for k, v := range s.stats.ByEndpoint {
		st.ByEndpoint[k] = v
	}
	return st
}

// UpdateTicket lets an agent edit ticket id through fn. The ticket's
// updated_at is bumped afterwards, so it appears again in the export. It
// panics if the ticket does not exist: that is a broken test.
func (s *Sim) UpdateTicket(id int64, fn func(*cxaudit.Ticket)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTicket(id)
	before := cloneTicket(t.Ticket)
	fn(&t.Ticket)
	t.ID = id
	s.bump(t)
	s.changed(t, &before, t.AssigneeID)
}

// AddComment adds a comment by an agent or the requester to ticket id and
// bumps its updated_at. A zero ID or CreatedAt is filled in.
func (s *Sim) AddComment(id int64, c cxaudit.Comment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTicket(id)
	before := cloneTicket(t.Ticket)
	s.addComment(t, c)
	s.bump(t)
	s.changed(t, &before, c.AuthorID)
}

// DeleteTicket deletes ticket id: the export reports it once more with
// status "deleted", the deleted tickets list holds it, every other endpoint
// answers 404.
func (s *Sim) DeleteTicket(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTicket(id)
	t.deleted = true
	s.bump(t)
	t.deletedAt = t.UpdatedAt
}

// FailNext makes the next n requests fail with status. A 429 carries
// Retry-After: 1.
func (s *Sim) FailNext(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus, s.failRetryAfter = n, status, 0
}

// SetFaults replaces the random faults and reseeds their dice.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.dice = rand.New(rand.NewPCG(f.Seed, f.Seed^0x5deece66d))
}

func (s *Sim) mustTicket(id int64) *ticketState {
	t, ok := s.tickets[id]
	if !ok || t.deleted {
		panic("zendesktest: no ticket " + itoa(id))
	}
	return t
}

// bump marks a change to t: a later updated_at (never earlier than any
// other ticket's, so the change sorts after every cursor handed out) and a
// new place in the export order. Called with s.mu held.
func (s *Sim) bump(t *ticketState) {
	now := s.now().UTC().Truncate(time.Second)
	if now.Before(s.maxUpdated) {
		now = s.maxUpdated
	}
	s.maxUpdated = now
	s.seq++
	t.seq = s.seq
	t.UpdatedAt = now
	s.order = append(s.order, orderEntry{seq: s.seq, unix: now.Unix(), t: t})
	if len(s.order) > 2*len(s.tickets)+1024 {
		s.order = slices.DeleteFunc(s.order, func(e orderEntry) bool { return e.t.seq != e.seq })
	}
}

// orderEntry is a ticket's place in the export order, current while the
// ticket's seq is still seq.
type orderEntry struct {
	seq  int64
	unix int64 // updated_at when the entry was made
	t    *ticketState
}

// addComment appends c to t and records it in the metrics. Called with
// s.mu held.
func (s *Sim) addComment(t *ticketState, c cxaudit.Comment) cxaudit.Comment {
	if c.ID == 0 {
		c.ID = s.newID()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now()
	}
	c.CreatedAt = c.CreatedAt.UTC().Truncate(time.Second)
	t.Comments = append(t.Comments, c)
	m := cxaudit.TicketMetrics{}
	if t.Metrics != nil {
		m = *t.Metrics
	}
	at := c.CreatedAt
	m.LatestCommentAddedAt = &at
	if c.Public && c.AuthorID != t.RequesterID {
		m.Replies++
	}
	t.Metrics = &m
	return c
}

func (s *Sim) newID() int64 {
	s.nextID++
	return s.nextID
}

func cloneTicket(t cxaudit.Ticket) cxaudit.Ticket {
	t.Tags = slices.Clone(t.Tags)
	t.Comments = slices.Clone(t.Comments)
	t.CustomFields = slices.Clone(t.CustomFields)
	if t.Metrics != nil {
		m := *t.Metrics
		t.Metrics = &m
	}
	return t
}

func cloneOrg(o cxaudit.Organization) cxaudit.Organization {
	o.DomainNames = slices.Clone(o.DomainNames)
	o.Tags = slices.Clone(o.Tags)
	return o
}
