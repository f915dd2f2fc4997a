package zendesktest

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

const maxPageSize = 1000

func badRequest(w http.ResponseWriter, format string, args ...any) {
	writeJSON(w, http.StatusBadRequest, wireError{Error: "InvalidValue", Description: fmt.Sprintf(format, args...)})
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, wireError{Error: "RecordNotFound", Description: "Not found"})
}

// pathID parses a path segment like "123" or "123.json".
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(strings.TrimSuffix(r.PathValue("id"), ".json"), 10, 64)
	return id, err == nil && id > 0
}

// perPage reads the per_page parameter of an export.
func (s *Sim) perPage(q url.Values) (int, error) {
	v := q.Get("per_page")
	if v == "" {
		return s.pageSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("per_page must be a positive integer")
	}
	return min(n, maxPageSize), nil
}

// startTime reads the start_time parameter of an export.
func startTime(q url.Values) (int64, error) {
	n, err := strconv.ParseInt(q.Get("start_time"), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("start_time must be a unix timestamp")
	}
	return n, nil
}

// A position in a cursor export: the (updated_at, key) of the last item
// handed out. The key is the change sequence for tickets and the id for
// users. Cursors are opaque to clients.
type position struct {
	unix int64
	key  int64
}

func (p position) encode() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d", p.unix, p.key))
}

func decodePosition(s string) (position, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return position{}, err
	}
	var p position
	if _, err := fmt.Sscanf(string(b), "%d.%d", &p.unix, &p.key); err != nil {
		return position{}, err
	}
	return p, nil
}

func (p position) less(q position) bool {
	return p.unix < q.unix || p.unix == q.unix && p.key < q.key
}

// exportStart reads cursor or start_time: the position items must come
// after.
func exportStart(q url.Values) (position, error) {
	if c := q.Get("cursor"); c != "" {
		p, err := decodePosition(c)
		if err != nil {
			return position{}, fmt.Errorf("cursor is invalid")
		}
		return p, nil
	}
	if !q.Has("start_time") {
		return position{}, fmt.Errorf("start_time or cursor is required")
	}
	st, err := startTime(q)
	if err != nil {
		return position{}, err
	}
	return position{unix: st, key: -1}, nil
}

// cursorURL is the after_url of a cursor export.
func cursorURL(r *http.Request, cursor string) string {
	q := r.URL.Query()
	q.Del("start_time")
	q.Set("cursor", cursor)
	return baseURL(r) + r.URL.Path + "?" + q.Encode()
}

func (s *Sim) exportTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := exportStart(q)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	size, err := s.perPage(q)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	withMetrics := slices.Contains(strings.Split(q.Get("include"), ","), "metric_sets")
	base := baseURL(r)

	if s.repeatCursor(w, r, "tickets") {
		return
	}
	s.mu.Lock()
	if s.faults.ChangeEvery > 0 {
		s.exportCount++
		if s.exportCount%s.faults.ChangeEvery == 0 && len(s.tickets) > 0 {
			ids := slices.Sorted(maps.Keys(s.tickets))
			t := s.tickets[ids[s.dice.IntN(len(ids))]]
			if !t.deleted {
				s.changes++
				t.Subject = fmt.Sprintf("%s (changed %d)", strings.SplitN(t.Subject, " (changed", 2)[0], s.changes)
				s.bump(t)
			}
		}
	}
	// The export order follows the change sequence, and updated_at with
	// it: find the first ticket after the position, then take a page.
	from, _ := slices.BinarySearchFunc(s.order, after, func(e orderEntry, p position) int {
		if p.key < 0 && e.unix < p.unix || p.key >= 0 && e.seq <= p.key {
			return -1
		}
		return 1
	})
	if s.faults.RepeatRecords && after.key >= 0 {
		// Step back to the last live entry handed out: it is sent again.
		for i := from - 1; i >= 0; i-- {
			if e := s.order[i]; e.t.seq == e.seq {
				from = i
				break
			}
		}
	}
	var page []*ticketState
	more := false
	for _, e := range s.order[from:] {
		if e.t.seq != e.seq || (after.key < 0 && e.t.UpdatedAt.Unix() < after.unix) {
			continue
		}
		if len(page) == size {
			more = true
			break
		}
		page = append(page, e.t)
	}
	resp := struct {
		Tickets      []wireTicket    `json:"tickets"`
		MetricSets   []wireMetricSet `json:"metric_sets,omitempty"`
		AfterURL     *string         `json:"after_url"`
		AfterCursor  *string         `json:"after_cursor"`
		BeforeURL    *string         `json:"before_url"`
		BeforeCursor *string         `json:"before_cursor"`
		EndOfStream  bool            `json:"end_of_stream"`
	}{Tickets: []wireTicket{}, EndOfStream: !more}
	if withMetrics {
		resp.MetricSets = []wireMetricSet{}
	}
	last := after
	if last.key < 0 {
		// Nothing handed out yet: resume from the start time.
		last = position{unix: after.unix, key: s.seqBefore(after.unix)}
	}
	for _, t := range page {
		resp.Tickets = append(resp.Tickets, s.toWireTicket(base, t))
		if withMetrics && !t.deleted {
			resp.MetricSets = append(resp.MetricSets, toWireMetricSet(base, t))
		}
		last = position{unix: t.UpdatedAt.Unix(), key: t.seq}
	}
	s.mu.Unlock()

	cursor := last.encode()
	next := cursorURL(r, cursor)
	resp.AfterCursor, resp.AfterURL = &cursor, &next
	writePoisoned(w, resp, "tickets", s.poison(func(f Faults) []int64 { return f.PoisonTickets }))
}

// repeatCursor answers a cursor export request with its own cursor, no
// records (under key) and end_of_stream false, when Faults.RepeatCursor is
// set, and reports whether it did.
func (s *Sim) repeatCursor(w http.ResponseWriter, r *http.Request, key string) bool {
	s.mu.Lock()
	repeat := s.faults.RepeatCursor
	s.mu.Unlock()
	cursor := r.URL.Query().Get("cursor")
	if !repeat || cursor == "" {
		return false
	}
	next := cursorURL(r, cursor)
	writeJSON(w, http.StatusOK, map[string]any{
		key: []any{}, "after_cursor": cursor, "after_url": next, "before_cursor": nil, "before_url": nil,
		"end_of_stream": false,
	})
	return true
}

// seqBefore returns the change sequence just before the first ticket
// updated at or after unix, so a cursor made from it resumes there.
// Called with s.mu held.
func (s *Sim) seqBefore(unix int64) int64 {
	i, _ := slices.BinarySearchFunc(s.order, unix, func(e orderEntry, unix int64) int {
		if e.unix < unix {
			return -1
		}
		return 1
	})
	for ; i < len(s.order); i++ {
		if e := s.order[i]; e.t.seq == e.seq && e.t.UpdatedAt.Unix() >= unix {
			return e.seq - 1
		}
	}
	return s.seq
}

func (s *Sim) exportUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := exportStart(q)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	size, err := s.perPage(q)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	base := baseURL(r)

	if s.repeatCursor(w, r, "users") {
		return
	}
	s.mu.Lock()
	var all []cxaudit.User
	for _, u := range s.users {
		if after.less(position{unix: u.UpdatedAt.Unix(), key: u.ID}) {
			all = append(all, u)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b cxaudit.User) int {
		return cmp.Or(cmp.Compare(a.UpdatedAt.Unix(), b.UpdatedAt.Unix()), cmp.Compare(a.ID, b.ID))
	})
	page := all[:min(size, len(all))]
	resp := struct {
		Users        []wireUser `json:"users"`
		AfterURL     *string    `json:"after_url"`
		AfterCursor  *string    `json:"after_cursor"`
		BeforeURL    *string    `json:"before_url"`
		BeforeCursor *string    `json:"before_cursor"`
		EndOfStream  bool       `json:"end_of_stream"`
	}{Users: []wireUser{}, EndOfStream: len(page) == len(all)}
	last := after
	for _, u := range page {
		resp.Users = append(resp.Users, s.toWireUser(base, u))
		last = position{unix: u.UpdatedAt.Unix(), key: u.ID}
	}
	cursor := last.encode()
	next := cursorURL(r, cursor)
	resp.AfterCursor, resp.AfterURL = &cursor, &next
	writePoisoned(w, resp, "users", s.poison(func(f Faults) []int64 { return f.PoisonUsers }))
}

// exportOrganizations is a time-based export: a page holds the
// organizations updated at or after start_time, and every organization
// sharing the page's last timestamp; end_time is that timestamp, so the
// next page repeats those (duplicates are part of the real contract).
func (s *Sim) exportOrganizations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, err := startTime(q)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	size, err := s.perPage(q)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	base := baseURL(r)

	s.mu.Lock()
	var all []cxaudit.Organization
	for _, o := range s.orgs {
		if o.UpdatedAt.Unix() >= start {
			all = append(all, cloneOrg(o))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b cxaudit.Organization) int {
		return cmp.Or(cmp.Compare(a.UpdatedAt.Unix(), b.UpdatedAt.Unix()), cmp.Compare(a.ID, b.ID))
	})
	n := min(size, len(all))
	for n > 0 && n < len(all) && all[n].UpdatedAt.Unix() == all[n-1].UpdatedAt.Unix() {
		n++
	}
	page := all[:n]
	eos := n == len(all)
	end := start
	if n > 0 {
		end = page[n-1].UpdatedAt.Unix()
	}
	if end == start && !eos {
		end++ // the page holds every organization at start; move on
	}
	resp := struct {
		Organizations []wireOrganization `json:"organizations"`
		NextPage      string             `json:"next_page"`
		Count         int                `json:"count"`
		EndTime       int64              `json:"end_time"`
		EndOfStream   bool               `json:"end_of_stream"`
	}{
		Organizations: []wireOrganization{},
		NextPage:      base + r.URL.Path + "?start_time=" + strconv.FormatInt(end, 10),
		Count:         n,
		EndTime:       end,
		EndOfStream:   eos,
	}
	for _, o := range page {
		resp.Organizations = append(resp.Organizations, s.toWireOrganization(base, o))
	}
	writePoisoned(w, resp, "organizations", s.poison(func(f Faults) []int64 { return f.PoisonOrganizations }))
}

func (s *Sim) showTicket(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		notFound(w)
		return
	}
	base := baseURL(r)
	s.mu.Lock()
	t, ok := s.tickets[id]
	if !ok || t.deleted {
		s.mu.Unlock()
		notFound(w)
		return
	}
	resp := struct {
		Ticket     wireTicket      `json:"ticket"`
		MetricSets []wireMetricSet `json:"metric_sets,omitempty"`
	}{Ticket: s.toWireTicket(base, t)}
	if slices.Contains(strings.Split(r.URL.Query().Get("include"), ","), "metric_sets") {
		resp.MetricSets = []wireMetricSet{toWireMetricSet(base, t)}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// ticketComments lists comments oldest first, with cursor pagination
// (page[size], page[after]) or, without those parameters, offset
// pagination (page, per_page).
func (s *Sim) ticketComments(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		notFound(w)
		return
	}
	s.mu.Lock()
	t, ok := s.tickets[id]
	if ok && !t.deleted && slices.Contains(s.faults.DeleteOnComments, id) {
		t.deleted = true
		s.bump(t)
		t.deletedAt = t.UpdatedAt
	}
	if ok && !t.deleted && slices.Contains(s.faults.CommentsUnavailable, id) {
		s.mu.Unlock()
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "ServiceUnavailable", "description": "try again later"})
		return
	}
	if !ok || t.deleted || slices.Contains(s.faults.CommentsNotFound, id) {
		s.mu.Unlock()
		notFound(w)
		return
	}
	comments := make([]wireComment, len(t.Comments))
	for i, c := range t.Comments {
		comments[i] = toWireComment(c, s.htmlBodies[c.ID])
	}
	s.mu.Unlock()

	q := r.URL.Query()
	self := baseURL(r) + r.URL.Path
	if !q.Has("page[size]") && !q.Has("page[after]") && !q.Has("page[before]") {
		page, _ := strconv.Atoi(q.Get("page"))
		per, _ := strconv.Atoi(q.Get("per_page"))
		page, per = max(page, 1), min(cmp.Or(per, 100), 100)
		from := min((page-1)*per, len(comments))
		to := min(from+per, len(comments))
		resp := struct {
			Comments     []wireComment `json:"comments"`
			NextPage     *string       `json:"next_page"`
			PreviousPage *string       `json:"previous_page"`
			Count        int           `json:"count"`
		}{Comments: comments[from:to], Count: len(comments)}
		if to < len(comments) {
			next := fmt.Sprintf("%s?page=%d&per_page=%d", self, page+1, per)
			resp.NextPage = &next
		}
		if page > 1 {
			prev := fmt.Sprintf("%s?page=%d&per_page=%d", self, page-1, per)
			resp.PreviousPage = &prev
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}

	writeOffsetPage(w, r, "comments", comments)
}

func (s *Sim) me(w http.ResponseWriter, r *http.Request) {
	s.writeUser(w, r, s.apiUser)
}

func (s *Sim) showUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		notFound(w)
		return
	}
	s.writeUser(w, r, id)
}

func (s *Sim) writeUser(w http.ResponseWriter, r *http.Request, id int64) {
	s.mu.Lock()
	i := slices.IndexFunc(s.users, func(u cxaudit.User) bool { return u.ID == id })
	var u cxaudit.User
	if i >= 0 {
		u = s.users[i]
	}
	s.mu.Unlock()
	if i < 0 {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]wireUser{"user": s.toWireUser(baseURL(r), u)})
}

// updateRequest is the body of PUT /api/v2/tickets/{id}.json. It has no
// additional_tags or remove_tags: Zendesk documents them for bulk updates
// only ("The additional_tags and remove_tags properties ... only work with
// bulk updates, where the tickets are specified in the ids parameter in the
// query string",
// https://developer.zendesk.com/documentation/ticketing/managing-tickets/adding-tags-to-tickets-without-overwriting-existing-tags/),
// and they are not in Update Ticket's property table: a single-ticket
// update ignores them, as it ignores any property it does not know. Its
// tags replace every tag on the ticket.
type updateRequest struct {
	Ticket *struct {
		Comment *struct {
			Body     string `json:"body"`
			HTMLBody string `json:"html_body"`
			Public   *bool  `json:"public"`
			AuthorID int64  `json:"author_id"`
		} `json:"comment"`
		Tags         *[]string  `json:"tags"`
		Status       *string    `json:"status"`
		Priority     *string    `json:"priority"`
		SafeUpdate   bool       `json:"safe_update"`
		UpdatedStamp *time.Time `json:"updated_stamp"`
	} `json:"ticket"`
}

type wireEvent struct {
	ID            int64    `json:"id"`
	Type          string   `json:"type"`
	AuthorID      int64    `json:"author_id,omitempty"`
	Body          string   `json:"body,omitempty"`
	HTMLBody      string   `json:"html_body,omitempty"`
	Public        *bool    `json:"public,omitempty"`
	FieldName     string   `json:"field_name,omitempty"`
	Value         any      `json:"value,omitempty"`
	PreviousValue any      `json:"previous_value,omitempty"`
	Attachments   []string `json:"attachments,omitempty"`
}

type wireAudit struct {
	ID        int64       `json:"id"`
	TicketID  int64       `json:"ticket_id"`
	CreatedAt string      `json:"created_at"`
	AuthorID  int64       `json:"author_id"`
	Via       wireVia     `json:"via"`
	Metadata  any         `json:"metadata"`
	Events    []wireEvent `json:"events"`
}

func unprocessable(w http.ResponseWriter, field, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, wireError{
		Error:       "RecordInvalid",
		Description: "Record validation errors",
		Details:     map[string]any{field: []map[string]string{{"description": msg}}},
	})
}

func (s *Sim) updateTicket(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		notFound(w)
		return
	}
	var req updateRequest
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil || req.Ticket == nil {
		writeJSON(w, http.StatusBadRequest, wireError{Error: "InvalidJSON", Description: "The request body must be a JSON object with a ticket"})
		return
	}
	u := req.Ticket
	if u.Comment != nil && strings.TrimSpace(u.Comment.Body) == "" && strings.TrimSpace(u.Comment.HTMLBody) == "" {
		unprocessable(w, "base", "Comment: cannot be blank")
		return
	}
	if u.Status != nil && !slices.Contains([]string{cxaudit.StatusNew, cxaudit.StatusOpen, cxaudit.StatusPending, cxaudit.StatusHold, cxaudit.StatusSolved, cxaudit.StatusClosed}, *u.Status) {
		unprocessable(w, "status", "Status: is invalid")
		return
	}

	base := baseURL(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[id]
	if !ok || t.deleted {
		notFound(w)
		return
	}
	if t.Status == cxaudit.StatusClosed {
		unprocessable(w, "status", "Status: closed prevents ticket update")
		return
	}
	if u.SafeUpdate && u.UpdatedStamp != nil && !u.UpdatedStamp.Truncate(time.Second).Equal(t.UpdatedAt) {
		writeJSON(w, http.StatusConflict, wireError{
			Error:       "UpdateConflict",
			Description: "Safe Update prevented the update due to outdated ticket data. Please fetch the latest ticket data and try again.",
		})
		return
	}

	prior := cloneTicket(t.Ticket)
	audit := wireAudit{ID: s.newID(), TicketID: id, AuthorID: s.apiUser, Via: wireVia{Channel: "api"}, Metadata: map[string]any{}, Events: []wireEvent{}}
	if c := u.Comment; c != nil {
		public := c.Public == nil || *c.Public
		body, htmlBody := c.Body, c.HTMLBody
		if htmlBody != "" {
			body = htmlToText(htmlBody)
		}
		added := s.addComment(t, cxaudit.Comment{AuthorID: s.apiUser, Public: public, Body: body})
		if htmlBody != "" {
			s.htmlBodies[added.ID] = htmlBody
		}
		s.stats.NotesAdded++
		audit.Events = append(audit.Events, wireEvent{ID: added.ID, Type: "Comment", AuthorID: s.apiUser, Body: body, HTMLBody: cmp.Or(htmlBody, textToHTML(body)), Public: &public, Attachments: []string{}})
	}
	before := slices.Clone(t.Tags)
	if u.Tags != nil {
		t.Tags = dedupe(*u.Tags)
	}
	if !slices.Equal(before, t.Tags) {
		audit.Events = append(audit.Events, wireEvent{ID: s.newID(), Type: "Change", FieldName: "tags", Value: nonNil(t.Tags), PreviousValue: nonNil(before)})
	}
	if u.Status != nil && *u.Status != t.Status {
		audit.Events = append(audit.Events, wireEvent{ID: s.newID(), Type: "Change", FieldName: "status", Value: *u.Status, PreviousValue: t.Status})
		t.Status = *u.Status
	}
	if u.Priority != nil && *u.Priority != t.Priority {
		audit.Events = append(audit.Events, wireEvent{ID: s.newID(), Type: "Change", FieldName: "priority", Value: *u.Priority, PreviousValue: t.Priority})
		t.Priority = *u.Priority
	}
	s.bump(t)
	s.changed(t, &prior, s.apiUser)
	s.stats.TicketUpdates++
	audit.CreatedAt = ts(t.UpdatedAt)

	writeJSON(w, http.StatusOK, map[string]any{"ticket": s.toWireTicket(base, t), "audit": audit})
}

func dedupe(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}
