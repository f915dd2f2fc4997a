// Package salesforcetest is an in-memory Salesforce REST API for tests, in
// the spirit of net/http/httptest: it serves the Accounts, Contacts,
// Opportunities and Users of a simworld.World, and the Tasks written to it,
// over the real wire format.
//
// It understands the SOQL subset cxaudit uses (SELECT … FROM … WHERE …
// ORDER BY … LIMIT, with AND, OR, NOT, LIKE, IN and one level of
// relationship fields such as Owner.IsActive), pages query results through
// nextRecordsUrl, creates and updates Tasks through sObject Collections
// (composite/sobjects) and the single-record sobjects resource, counts API
// usage against a daily limit (the Sforce-Limit-Info header), and can
// inject faults. Everything is deterministic: the same World and the same
// requests give the same Ids and the same responses.
package salesforcetest

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/simfault"
	"github.com/cxaudit/cxaudit/internal/simworld"
)

// Options configure a simulator.
type Options struct {
	// World is the customer base served. Nil serves an empty org.
	World *simworld.World
	// AccessToken is the bearer token accepted. Empty accepts any non-empty
	// token.
	AccessToken string
	// DailyLimit is the number of API requests allowed per 24 hours.
	// Default 100000.
	DailyLimit int
	// PageSize is the query batch size. Default 2000.
	PageSize int
	// Now is the simulator's clock. Default time.Now.
	Now func() time.Time
	// JWT, when set, serves the OAuth 2.0 JWT bearer token endpoint and
	// accepts the tokens it issues (besides AccessToken, if set; with JWT
	// and no AccessToken only issued tokens are accepted).
	JWT *JWTOptions
	// TaskStatuses are the org's Task Status picklist, in order. Default
	// Salesforce's: Not Started (the default), In Progress, Completed
	// (closed), Waiting on someone else, Deferred.
	TaskStatuses []TaskStatus
}

// TaskStatus is a value of the org's Task Status picklist.
type TaskStatus struct {
	APIName             string
	IsClosed, IsDefault bool
}

// DefaultTaskStatuses are the Task statuses of a new org.
var DefaultTaskStatuses = []TaskStatus{
	{APIName: "Not Started", IsDefault: true}, {APIName: "In Progress"}, {APIName: "Completed", IsClosed: true},
	{APIName: "Waiting on someone else"}, {APIName: "Deferred"},
}

// Stats count what the simulator has served.
type Stats struct {
	// Requests counts every request received, rejected ones included.
	Requests int
	// ByEndpoint counts requests by method and endpoint, for example
	// "GET /query", "GET /query/{locator}", "POST /composite/sobjects".
	ByEndpoint map[string]int
	// QueriesByObject counts the queries (query and queryAll, first pages)
	// by the object they select FROM, for example "Account" or "Task":
	// what a test needs to tell a sync's reads from write-back's lookups,
	// which share the query resource.
	QueriesByObject map[string]int
	// TasksCreated and TasksUpdated count records written.
	TasksCreated int
	TasksUpdated int
	// CompositeCalls counts composite/sobjects requests (POST and PATCH)
	// that reached the handler, including those failed by an injected
	// fault after the write was applied.
	CompositeCalls int
	// LimitExceeded counts requests refused with REQUEST_LIMIT_EXCEEDED,
	// by the daily limit or by a storm (Faults.StormEvery).
	LimitExceeded int
	// Malformed and Truncated count bodies spoiled by Faults.MalformedRate
	// and Faults.TruncateRate.
	Malformed, Truncated int
	// Changes counts records changed by Faults.ChangeEvery.
	Changes int
}

// Faults make the simulator misbehave, deterministically for a given Seed.
type Faults struct {
	// ErrorRate is the share of requests answered 503 SERVER_UNAVAILABLE.
	// A write picked for failure is applied first half of the time, as when
	// a response is lost after the commit.
	ErrorRate float64
	// Latency delays every response.
	Latency time.Duration
	// MalformedRate is the share of successful responses whose body is
	// whole but not JSON: its first colon is an equals sign.
	MalformedRate float64
	// TruncateRate is the share of successful responses whose body is cut
	// short: the Content-Length of the whole body is sent, then half of it,
	// and the connection is closed, as when a proxy drops it mid-body.
	TruncateRate float64
	// StormEvery and StormLength make storms of the concurrent request
	// limit: after every StormEvery authorized requests, the next
	// StormLength are refused before doing anything with HTTP 403
	// REQUEST_LIMIT_EXCEEDED "ConcurrentPerOrgLongTxn Limit exceeded.", as
	// Salesforce does (it sends no 429 and no Retry-After). They do not
	// count against the daily limit.
	StormEvery, StormLength int
	// RepeatRecords makes every query page after the first start with the
	// last record of the page before, as when records tie on
	// SystemModstamp at a page boundary.
	RepeatRecords bool
	// RepeatLocator makes every page read through a nextRecordsUrl answer
	// done false with that same nextRecordsUrl (and the same records): a
	// query that makes no progress, however long it is followed. The real
	// API's nextRecordsUrl always names the next batch
	// (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm).
	RepeatLocator bool
	// ChangeEvery makes every ChangeEvery-th query request for Accounts,
	// Contacts or Opportunities (query or nextRecordsUrl, not queryAll)
	// first change the Name and SystemModstamp of a record of that object,
	// as a user would while a backfill pages. The changes take turns: an ordinary
	// edit (SystemModstamp now); one that lands exactly on the boundary,
	// the newest SystemModstamp of that object, where an incremental
	// sync's cursor may already stand (only >= finds it); and one that
	// commits late, a second before that boundary, which only an overlap
	// window catches. A SystemModstamp never moves back.
	ChangeEvery int
	// PoisonRecords are the Ids of records that queries return with a
	// SystemModstamp of the wrong type (true instead of a dateTime), as a
	// broken integration or a corrupt record might; the rest of the page
	// is whole. Salesforce itself sends every dateTime as a string
	// (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest_resources.htm).
	PoisonRecords []string
	// Seed seeds the fault picker.
	Seed uint64
}

// Sim is a simulated Salesforce org. It is an http.Handler and safe for
// concurrent use.
type Sim struct {
	opts Options

	mu          sync.Mutex
	data        store
	cursors     map[string][]json.RawMessage
	cursorOrder []string
	nextCursor  int
	nextTask    int
	usage       int
	windowStart time.Time
	stats       Stats
	failNext    int
	failStatus  int
	faults      Faults
	huge        simfault.Huge // huge.go
	rng         *rand.Rand
	stormCount  int // authorized requests, for StormEvery
	queryCount  int // query requests, for ChangeEvery

	schema       schemaDef
	hidden       map[string]bool      // "object.field" or "object", lower case: hidden from the integration user
	issued       map[string]time.Time // access token -> expiry (zero: none)
	tokensIssued int
}

// maxCursors bounds the query cursors kept open for nextRecordsUrl; the
// oldest is dropped first, as Salesforce expires idle cursors.
const maxCursors = 64

// New returns a simulator serving opts.World.
func New(opts Options) *Sim {
	if opts.DailyLimit <= 0 {
		opts.DailyLimit = 100000
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 2000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TaskStatuses == nil {
		opts.TaskStatuses = DefaultTaskStatuses
	}
	s := &Sim{
		opts:    opts,
		data:    store{},
		cursors: map[string][]json.RawMessage{},
		stats:   Stats{ByEndpoint: map[string]int{}, QueriesByObject: map[string]int{}},
		rng:     rand.New(rand.NewPCG(0, 0)),
		issued:  map[string]time.Time{},
	}
	var custom []simworld.SalesforceField
	if opts.World != nil {
		custom = opts.World.SalesforceFields
	}
	s.schema = newSchema(custom)
	for _, o := range s.schema {
		s.data[o.name] = map[string]record{}
	}
	for i, ts := range opts.TaskStatuses {
		id := fmt.Sprintf("01J%015d", i+1)
		s.data["TaskStatus"][id] = record{"Id": id, "ApiName": ts.APIName, "MasterLabel": ts.APIName,
			"IsClosed": ts.IsClosed, "IsDefault": ts.IsDefault, "SortOrder": float64(i + 1)}
	}
	for i, name := range taskPriorities {
		id := fmt.Sprintf("01K%015d", i+1)
		s.data["TaskPriority"][id] = record{"Id": id, "ApiName": name, "MasterLabel": name,
			"IsDefault": name == "Normal", "IsHighPriority": name == "High", "SortOrder": float64(i + 1)}
	}
	if w := opts.World; w != nil {
		for _, u := range w.SalesforceUsers {
			s.data["User"][u.ID] = record{"Id": u.ID, "Name": u.Name, "IsActive": u.IsActive}
		}
		for _, a := range w.Accounts {
			s.data["Account"][a.ID] = accountRecord(a)
			for _, c := range a.Contacts {
				s.data["Contact"][c.ID] = contactRecord(c)
				// Every contact has a direct relation to its account, which
				// carries its roles.
				rid := "07k" + c.ID[3:]
				s.data["AccountContactRelation"][rid] = record{
					"Id": rid, "AccountId": c.AccountID, "ContactId": c.ID, "Roles": nullable(strings.Join(c.Roles, ";")),
					"IsDirect": true, "IsActive": true, "SystemModstamp": stamp(c.SystemModstamp), "IsDeleted": false,
				}
			}
			for _, o := range a.Opportunities {
				r := record{
					"Id": o.ID, "AccountId": o.AccountID, "Name": o.Name, "StageName": o.StageName,
					"Type": nullable(o.Type), "Amount": o.Amount, "CloseDate": dateValue(o.CloseDate),
					"IsClosed": o.IsClosed, "IsWon": o.IsWon, "SystemModstamp": stamp(o.SystemModstamp), "IsDeleted": false,
				}
				for k, v := range o.Raw {
					r[k] = v
				}
				s.data["Opportunity"][o.ID] = r
			}
		}
		for _, t := range w.TeamTasks {
			s.data["Task"][t.ID] = record{"Id": t.ID, "WhatId": t.WhatID, "AccountId": t.AccountID, "OwnerId": t.OwnerID,
				"Subject": nullable(t.Subject), "Description": nullable(t.Description), "Priority": t.Priority, "Status": t.Status,
				"ActivityDate": dateValue(t.ActivityDate), "IsClosed": t.IsClosed, "IsDeleted": false,
				"SystemModstamp": stamp(t.SystemModstamp), seededKey: true}
		}
	}
	return s
}

func contactRecord(c cxaudit.Contact) record {
	first, last, _ := strings.Cut(c.Name, " ")
	return record{
		"Id": c.ID, "AccountId": c.AccountID, "Name": c.Name, "FirstName": nullable(first), "LastName": last,
		"Email": nullable(c.Email), "Title": nullable(c.Title), "SystemModstamp": stamp(c.SystemModstamp), "IsDeleted": false,
	}
}

// NewServer starts an httptest.Server in front of a new simulator. The
// caller closes the server.
func NewServer(opts Options) (*Sim, *httptest.Server) {
	s := New(opts)
	return s, httptest.NewServer(s)
}

// accountRecord stores an account as the org has it: its renewal date,
// health and tier in the org's own custom fields (simworld), its other
// custom fields from a.Raw.
func accountRecord(a cxaudit.Account) record {
	r := record{
		"Id": a.ID, "Name": a.Name, "OwnerId": a.OwnerID, "Website": nullable(a.Website),
		"Type": nullable(a.Type), "Industry": nullable(a.Industry), simworld.RenewalDateField: dateValue(a.RenewalDate),
		simworld.HealthField: nullable(a.Health), simworld.TierField: nullable(a.Tier), "SystemModstamp": stamp(a.SystemModstamp),
		"IsDeleted": false,
	}
	for k, v := range a.Raw {
		r[k] = v
	}
	return r
}

// nullable stores an empty string as null, as Salesforce does.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func dateValue(t *time.Time) any {
	if t == nil {
		return nil
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// stamp truncates t to Salesforce's millisecond precision.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func str(v any) string {
	s, _ := v.(string)
	return s
}

func timePtr(v any) *time.Time {
	t, ok := v.(time.Time)
	if !ok {
		return nil
	}
	return &t
}

// Tasks returns every Task written through the API (not the account
// teams' Tasks of World.TeamTasks, see TeamTasks), ordered by Id.
func (s *Sim) Tasks() []cxaudit.Task { return s.tasks(false) }

// TeamTasks returns the account teams' Tasks the org started with
// (World.TeamTasks), as they are now, deleted ones left out.
func (s *Sim) TeamTasks() []cxaudit.Task { return s.tasks(true) }

func (s *Sim) tasks(team bool) []cxaudit.Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	tasks := make([]cxaudit.Task, 0, len(s.data["Task"]))
	for _, r := range s.data["Task"] {
		if (r[seededKey] == true) != team || r["IsDeleted"] == true {
			continue
		}
		t := cxaudit.Task{
			ID: str(r["Id"]), WhatID: str(r["WhatId"]), OwnerID: str(r["OwnerId"]),
			Subject: str(r["Subject"]), Description: str(r["Description"]), Priority: str(r["Priority"]),
			Status: str(r["Status"]), ActivityDate: timePtr(r["ActivityDate"]),
		}
		if team {
			t.AccountID, t.IsClosed = str(r["AccountId"]), r["IsClosed"] == true
		}
		tasks = append(tasks, t)
	}
	slices.SortFunc(tasks, func(a, b cxaudit.Task) int { return strings.Compare(a.ID, b.ID) })
	return tasks
}

// account converts a stored Account. The caller holds s.mu.
func (s *Sim) account(r record) cxaudit.Account {
	owner := s.data.get("User", str(r["OwnerId"]))
	a := cxaudit.Account{
		ID: str(r["Id"]), Name: str(r["Name"]), OwnerID: str(r["OwnerId"]), OwnerActive: owner != nil && owner["IsActive"] == true,
		OwnerName: str(owner["Name"]),
		Website:   str(r["Website"]), Type: str(r["Type"]), Industry: str(r["Industry"]),
		Tier: str(r[simworld.TierField]), Health: str(r[simworld.HealthField]), RenewalDate: timePtr(r[simworld.RenewalDateField]),
		SystemModstamp: r["SystemModstamp"].(time.Time),
	}
	for _, f := range s.schema.object("Account").fields {
		if v, ok := r[f.name]; ok && v != nil && strings.HasSuffix(f.name, "__c") &&
			f.name != simworld.TierField && f.name != simworld.HealthField && f.name != simworld.RenewalDateField {
			if a.Raw == nil {
				a.Raw = map[string]any{}
			}
			a.Raw[f.name] = v
		}
	}
	return a
}

// Accounts returns every Account not deleted, as query reads them, with
// their Contacts and Opportunities not deleted (ordered by Id), ordered by
// Id: the org's state for a test to compare a sync with.
func (s *Sim) Accounts() []cxaudit.Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	live := func(object string) []record {
		var out []record
		for _, id := range slices.Sorted(maps.Keys(s.data[object])) {
			if r := s.data[object][id]; r["IsDeleted"] != true {
				out = append(out, r)
			}
		}
		return out
	}
	var accounts []cxaudit.Account
	byID := map[string]int{}
	for _, r := range live("Account") {
		byID[str(r["Id"])] = len(accounts)
		accounts = append(accounts, s.account(r))
	}
	for _, r := range live("Contact") {
		if i, ok := byID[str(r["AccountId"])]; ok {
			accounts[i].Contacts = append(accounts[i].Contacts, cxaudit.Contact{
				ID: str(r["Id"]), AccountID: str(r["AccountId"]), Name: str(r["Name"]), Email: str(r["Email"]),
				Title: str(r["Title"]), SystemModstamp: r["SystemModstamp"].(time.Time),
			})
		}
	}
	for _, r := range live("Opportunity") {
		if i, ok := byID[str(r["AccountId"])]; ok {
			amount, _ := r["Amount"].(float64)
			accounts[i].Opportunities = append(accounts[i].Opportunities, cxaudit.Opportunity{
				ID: str(r["Id"]), AccountID: str(r["AccountId"]), Name: str(r["Name"]), StageName: str(r["StageName"]),
				Type: str(r["Type"]), Amount: amount, CloseDate: timePtr(r["CloseDate"]), IsClosed: r["IsClosed"] == true,
				IsWon: r["IsWon"] == true, SystemModstamp: r["SystemModstamp"].(time.Time),
			})
		}
	}
	return accounts
}

// Stats returns a copy of the counters.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByEndpoint = maps.Clone(s.stats.ByEndpoint)
	st.QueriesByObject = maps.Clone(s.stats.QueriesByObject)
	return st
}

// UpdateAccount edits an account as a user would: fn changes it and its
// SystemModstamp moves forward. Changes to Id, OwnerActive, Contacts and
// Opportunities are ignored. It panics if the account does not exist.
func (s *Sim) UpdateAccount(id string, fn func(*cxaudit.Account)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.data["Account"][id]
	if r == nil {
		panic(fmt.Sprintf("salesforcetest: no account %q", id))
	}
	a := s.account(r)
	fn(&a)
	a.ID = id
	nr := accountRecord(a)
	nr["SystemModstamp"] = s.bump(r["SystemModstamp"])
	s.data["Account"][id] = nr
}

// DeleteAccount deletes an account as a user would: it goes to the
// recycle bin (IsDeleted = true, SystemModstamp moves forward), disappears
// from query and stays visible to queryAll. Its contacts and opportunities
// are deleted with it, as Salesforce cascades them. It panics if the
// account does not exist.
func (s *Sim) DeleteAccount(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.data["Account"][id]
	if r == nil {
		panic(fmt.Sprintf("salesforcetest: no account %q", id))
	}
	r["IsDeleted"] = true
	r["SystemModstamp"] = s.bump(r["SystemModstamp"])
	for _, obj := range []string{"Contact", "Opportunity"} {
		for _, c := range s.data[obj] {
			if c["AccountId"] == id {
				c["IsDeleted"] = true
				c["SystemModstamp"] = s.bump(c["SystemModstamp"])
			}
		}
	}
}

// seededKey marks the Tasks of World.TeamTasks in the org's data; no query
// selects it.
const seededKey = "__team"

// DeleteTask moves a Task to the recycle bin (IsDeleted, SystemModstamp
// moves forward): query no longer returns it, queryAll does. It panics if
// the task does not exist.
func (s *Sim) DeleteTask(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.data["Task"][id]
	if r == nil {
		panic(fmt.Sprintf("salesforcetest: no task %q", id))
	}
	r["IsDeleted"] = true
	r["SystemModstamp"] = s.bump(r["SystemModstamp"])
}

// CompleteTask closes a task, as its owner would: its status becomes the
// org's first closed one. It panics if the task does not exist.
func (s *Sim) CompleteTask(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.data["Task"][id]
	if r == nil {
		panic(fmt.Sprintf("salesforcetest: no task %q", id))
	}
	for _, ts := range s.opts.TaskStatuses {
		if ts.IsClosed {
			r["Status"] = ts.APIName
			break
		}
	}
	r["IsClosed"] = true
	r["SystemModstamp"] = s.bump(r["SystemModstamp"])
}

// bump returns the modstamp for an edit: now, and always after prev.
func (s *Sim) bump(prev any) time.Time {
	now := stamp(s.opts.Now())
	if p, ok := prev.(time.Time); ok && !now.After(p) {
		now = p.Add(time.Millisecond)
	}
	return now
}

// FailNext makes the next n authorized requests fail with status. A write
// failed this way is applied first: the client sees an error for a write
// that happened, as when the response is lost after the commit.
func (s *Sim) FailNext(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failStatus = n, status
}

// SetFaults replaces the random faults.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x5f0e_c0de))
	s.stormCount, s.queryCount = 0, 0
}

// apiError is one entry of Salesforce's JSON error array.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

// response is what a handler answers before faults and the limit header
// are applied.
type response struct {
	status int
	body   any // marshalled as JSON; nil for no body
}

func errorResponse(status int, code, format string, args ...any) response {
	return response{status, []apiError{{Message: fmt.Sprintf(format, args...), ErrorCode: code}}}
}

var pathRE = regexp.MustCompile(`^/services/data/v(\d+\.\d+)/(.*)$`)

// endpoint names a request for Stats.ByEndpoint.
func endpoint(r *http.Request) string {
	m := pathRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return r.Method + " " + r.URL.Path
	}
	rest := strings.TrimSuffix(m[2], "/")
	switch {
	case rest == "query":
		return r.Method + " /query"
	case strings.HasPrefix(rest, "query/"):
		return r.Method + " /query/{locator}"
	case rest == "queryAll":
		return r.Method + " /queryAll"
	case strings.HasPrefix(rest, "queryAll/"):
		return r.Method + " /queryAll/{locator}"
	case strings.HasPrefix(rest, "sobjects/") && strings.HasSuffix(rest, "/describe"):
		return r.Method + " /" + rest
	case strings.HasPrefix(rest, "sobjects/") && strings.Count(rest, "/") == 2:
		i := strings.LastIndexByte(rest, '/')
		return r.Method + " /" + rest[:i] + "/{id}"
	}
	return r.Method + " /" + rest
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	s.stats.ByEndpoint[endpoint(r)]++
	latency := s.faults.Latency
	s.mu.Unlock()

	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}

	if isTokenPath(r.URL.Path) {
		resp := s.token(r)
		b, _ := json.Marshal(resp.body)
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(resp.status)
		_, _ = w.Write(b)
		return
	}
	resp, usage, spoil := s.serve(r)
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", usage, s.opts.DailyLimit))
	if resp.body == nil {
		w.WriteHeader(resp.status)
		return
	}
	b, err := json.Marshal(resp.body)
	if err != nil {
		panic(err)
	}
	switch spoil {
	case spoilMalformed:
		if i := bytes.IndexByte(b, ':'); i >= 0 {
			// The first colon follows the first key, never a value.
			b[i] = '='
		} else {
			b = append(b, '=')
		}
	case spoilTruncated:
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		b = b[:len(b)/2]
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	if spoil == spoilNone && s.huge.Serve(w, r, resp.status, b) {
		return
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(b)
}

// How serve asks ServeHTTP to spoil a body.
const (
	spoilNone = iota
	spoilMalformed
	spoilTruncated
)

// serve authorizes, meters and routes one request, applying faults. It
// returns the response, the API usage to report and how to spoil the
// body.
func (s *Sim) serve(r *http.Request) (response, int, int) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")

	s.mu.Lock()
	defer s.mu.Unlock()
	authorized := ok && token != ""
	switch {
	case !authorized:
	case s.opts.AccessToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.AccessToken)) == 1:
	case s.opts.JWT != nil:
		authorized = s.issuedValid(token)
	default:
		authorized = s.opts.AccessToken == ""
	}
	if !authorized {
		return errorResponse(http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid"), s.usage, spoilNone
	}
	if f := s.faults; f.StormEvery > 0 && f.StormLength > 0 {
		s.stormCount++
		if n := s.stormCount % (f.StormEvery + f.StormLength); n == 0 || n > f.StormEvery {
			s.stats.LimitExceeded++
			return errorResponse(http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."), s.usage, spoilNone
		}
	}
	now := s.opts.Now()
	if s.windowStart.IsZero() || now.Sub(s.windowStart) >= 24*time.Hour {
		s.windowStart, s.usage = now, 0
	}
	s.usage++
	if s.usage > s.opts.DailyLimit {
		s.stats.LimitExceeded++
		return errorResponse(http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), s.usage, spoilNone
	}

	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	var fail int
	applyFirst := write
	switch {
	case s.failNext > 0:
		s.failNext--
		fail = s.failStatus
	case s.faults.ErrorRate > 0 && s.rng.Float64() < s.faults.ErrorRate:
		fail = http.StatusServiceUnavailable
		applyFirst = write && s.rng.IntN(2) == 0
	}
	if fail != 0 {
		if applyFirst {
			s.route(r)
		}
		return faultResponse(fail), s.usage, spoilNone
	}
	s.maybeChange(r)
	resp := s.route(r)
	spoil := spoilNone
	if resp.status < 300 && resp.body != nil {
		switch {
		case s.faults.MalformedRate > 0 && s.rng.Float64() < s.faults.MalformedRate:
			spoil = spoilMalformed
			s.stats.Malformed++
		case s.faults.TruncateRate > 0 && s.rng.Float64() < s.faults.TruncateRate:
			spoil = spoilTruncated
			s.stats.Truncated++
		}
	}
	return resp, s.usage, spoil
}

func faultResponse(status int) response {
	switch {
	case status == http.StatusUnauthorized:
		return errorResponse(status, "INVALID_SESSION_ID", "Session expired or invalid")
	case status == http.StatusForbidden:
		return errorResponse(status, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
	case status == http.StatusServiceUnavailable:
		return errorResponse(status, "SERVER_UNAVAILABLE", "Server temporarily unavailable; please retry.")
	case status >= 500:
		return errorResponse(status, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567-89 (-1)")
	}
	return errorResponse(status, "BAD_REQUEST", "Simulated failure.")
}

// route dispatches an authorized request. The caller holds s.mu.
func (s *Sim) route(r *http.Request) response {
	m := pathRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return errorResponse(http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
	version, rest := m[1], strings.TrimSuffix(m[2], "/")
	parts := strings.Split(rest, "/")
	allow := func(methods ...string) (response, bool) {
		if slices.Contains(methods, r.Method) {
			return response{}, true
		}
		return errorResponse(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
			"HTTP Method '%s' not allowed. Allowed are %s", r.Method, strings.Join(methods, ",")), false
	}
	switch {
	case rest == "query":
		if resp, ok := allow(http.MethodGet); !ok {
			return resp
		}
		return s.query(r.URL.Query().Get("q"), version, false)
	case rest == "queryAll":
		if resp, ok := allow(http.MethodGet); !ok {
			return resp
		}
		return s.query(r.URL.Query().Get("q"), version, true)
	case len(parts) == 2 && (parts[0] == "query" || parts[0] == "queryAll"):
		if resp, ok := allow(http.MethodGet); !ok {
			return resp
		}
		return s.queryMore(parts[1], version)
	case rest == "composite/sobjects":
		if resp, ok := allow(http.MethodPost, http.MethodPatch); !ok {
			return resp
		}
		s.stats.CompositeCalls++
		return s.collection(r)
	case len(parts) == 2 && parts[0] == "sobjects":
		if resp, ok := allow(http.MethodPost); !ok {
			return resp
		}
		return s.createOne(r, parts[1])
	case len(parts) == 3 && parts[0] == "sobjects" && parts[2] == "describe":
		if resp, ok := allow(http.MethodGet); !ok {
			return resp
		}
		return s.describe(parts[1], version)
	case len(parts) == 3 && parts[0] == "sobjects":
		if resp, ok := allow(http.MethodPatch); !ok {
			return resp
		}
		return s.updateOne(r, parts[1], parts[2])
	}
	return errorResponse(http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
}

type queryResult struct {
	TotalSize      int               `json:"totalSize"`
	Done           bool              `json:"done"`
	NextRecordsURL string            `json:"nextRecordsUrl,omitempty"`
	Records        []json.RawMessage `json:"records"`
}

// query runs soql; all includes deleted records (the queryAll resource).
func (s *Sim) query(soql, version string, all bool) response {
	if strings.TrimSpace(soql) == "" {
		return errorResponse(http.StatusBadRequest, "MALFORMED_QUERY", "A query string has to be specified")
	}
	q, err := parse(soql)
	if err == nil {
		var p *plan
		if p, err = compile(soql, q, s.visible(), s.data); err == nil {
			s.stats.QueriesByObject[p.obj.name]++
			p.all = all
			rows := p.run(s.data, version)
			if len(rows) <= s.opts.PageSize {
				return response{http.StatusOK, queryResult{TotalSize: len(rows), Done: true, Records: s.poisoned(rows)}}
			}
			s.nextCursor++
			id := fmt.Sprintf("01g%015d", s.nextCursor)
			s.cursors[id] = rows
			s.cursorOrder = append(s.cursorOrder, id)
			if len(s.cursorOrder) > maxCursors {
				delete(s.cursors, s.cursorOrder[0])
				s.cursorOrder = s.cursorOrder[1:]
			}
			return s.page(id, 0, version)
		}
	}
	if qe, ok := err.(*queryError); ok {
		return errorResponse(http.StatusBadRequest, qe.code, "%s", qe.msg)
	}
	return errorResponse(http.StatusBadRequest, "MALFORMED_QUERY", "%v", err)
}

// poisoned returns recs with the records of Faults.PoisonRecords spoilt.
func (s *Sim) poisoned(recs []json.RawMessage) []json.RawMessage {
	if len(s.faults.PoisonRecords) == 0 {
		return recs
	}
	out := slices.Clone(recs)
	for i, raw := range out {
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		if id, _ := m["Id"].(string); slices.Contains(s.faults.PoisonRecords, id) {
			m["SystemModstamp"] = true
			out[i], _ = json.Marshal(m)
		}
	}
	return out
}

func (s *Sim) queryMore(locator, version string) response {
	id, off, ok := strings.Cut(locator, "-")
	n, err := strconv.Atoi(off)
	if !ok || err != nil || n < 0 || s.cursors[id] == nil || n > len(s.cursors[id]) {
		return errorResponse(http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
	}
	return s.page(id, n, version)
}

func (s *Sim) page(id string, off int, version string) response {
	rows := s.cursors[id]
	end := min(off+s.opts.PageSize, len(rows))
	start := off
	if s.faults.RepeatRecords && off > 0 {
		start-- // the last record of the page before, again
	}
	res := queryResult{TotalSize: len(rows), Done: end == len(rows), Records: s.poisoned(rows[start:end])}
	if !res.Done {
		res.NextRecordsURL = fmt.Sprintf("/services/data/v%s/query/%s-%d", version, id, end)
	}
	if s.faults.RepeatLocator && off > 0 {
		res.Done, res.NextRecordsURL = false, fmt.Sprintf("/services/data/v%s/query/%s-%d", version, id, off)
	}
	return response{http.StatusOK, res}
}
