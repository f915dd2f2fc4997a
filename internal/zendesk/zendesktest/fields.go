package zendesktest

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/simworld"
)

// The account's custom fields, and the lookups a sync makes besides the
// exports: show_many for organizations and users the exports have not
// brought, and the list of agents.
const (
	EndpointTicketFields       = "GET /api/v2/ticket_fields.json"
	EndpointOrganizationFields = "GET /api/v2/organization_fields.json"
	EndpointUserFields         = "GET /api/v2/user_fields.json"
	EndpointShowOrganizations  = "GET /api/v2/organizations/show_many.json"
	EndpointShowUsers          = "GET /api/v2/users/show_many.json"
	EndpointListUsers          = "GET /api/v2/users.json"
)

// showManyLimit is the most ids show_many takes.
const showManyLimit = 100

// wireField is a ticket, organization or user field as the fields
// endpoints write it
// (https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_fields/#json-format).
type wireField struct {
	URL                string        `json:"url"`
	ID                 int64         `json:"id"`
	Key                string        `json:"key,omitempty"`
	Type               string        `json:"type"`
	Title              string        `json:"title"`
	RawTitle           string        `json:"raw_title"`
	Description        string        `json:"description"`
	Position           int           `json:"position"`
	Active             bool          `json:"active"`
	Required           bool          `json:"required"`
	CustomFieldOptions []fieldOption `json:"custom_field_options,omitempty"`
	CreatedAt          string        `json:"created_at"`
	UpdatedAt          string        `json:"updated_at"`
}

type fieldOption struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// systemTicketFields are the fields every account's ticket_fields lists
// before its custom ones.
var systemTicketFields = []simworld.ZendeskField{
	{ID: 1, Title: "Subject", Type: "subject"}, {ID: 2, Title: "Description", Type: "description"},
	{ID: 3, Title: "Status", Type: "status"}, {ID: 4, Title: "Type", Type: "tickettype"},
	{ID: 5, Title: "Priority", Type: "priority"}, {ID: 6, Title: "Group", Type: "group"},
	{ID: 7, Title: "Assignee", Type: "assignee"},
}

func toWireField(base, path string, pos int, f simworld.ZendeskField, created string) wireField {
	wf := wireField{URL: base + "/api/v2/" + path + "/" + itoa(f.ID) + ".json", ID: f.ID, Key: f.Key, Type: f.Type,
		Title: f.Title, RawTitle: f.Title, Position: pos, Active: true, CreatedAt: created, UpdatedAt: created}
	for i, o := range f.Options {
		wf.CustomFieldOptions = append(wf.CustomFieldOptions, fieldOption{ID: f.ID*100 + int64(i), Name: o, Value: o})
	}
	return wf
}

func (s *Sim) ticketFields(w http.ResponseWriter, r *http.Request) {
	s.listFields(w, r, "ticket_fields", append(slices.Clone(systemTicketFields), s.fields.ticket...))
}

func (s *Sim) organizationFields(w http.ResponseWriter, r *http.Request) {
	s.listFields(w, r, "organization_fields", s.fields.organization)
}

func (s *Sim) userFields(w http.ResponseWriter, r *http.Request) {
	s.listFields(w, r, "user_fields", s.fields.user)
}

func (s *Sim) listFields(w http.ResponseWriter, r *http.Request, key string, fields []simworld.ZendeskField) {
	base, created := baseURL(r), ts(s.created)
	items := make([]wireField, len(fields))
	for i, f := range fields {
		items[i] = toWireField(base, key, i+1, f, created)
	}
	writeCursorPage(w, r, key, items, func(f wireField) int64 { return f.ID })
}

// showIDs reads the ids of a show_many request.
func showIDs(w http.ResponseWriter, r *http.Request) ([]int64, bool) {
	raw := r.URL.Query().Get("ids")
	if raw == "" {
		badRequest(w, "ids is required")
		return nil, false
	}
	parts := strings.Split(raw, ",")
	if len(parts) > showManyLimit {
		badRequest(w, "too many ids: at most %d", showManyLimit)
		return nil, false
	}
	ids := make([]int64, 0, len(parts))
	for _, p := range parts {
		id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil {
			badRequest(w, "ids must be integers")
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

func (s *Sim) showOrganizations(w http.ResponseWriter, r *http.Request) {
	showMany(w, r, s, "organizations", func() []cxaudit.Organization { return s.orgs },
		func(o cxaudit.Organization) int64 { return o.ID }, s.toWireOrganization)
}

func (s *Sim) showUsers(w http.ResponseWriter, r *http.Request) {
	showMany(w, r, s, "users", func() []cxaudit.User { return s.users },
		func(u cxaudit.User) int64 { return u.ID }, s.toWireUser)
}

// showMany serves a show_many request: the records of all (read with s.mu
// held) whose ids the request names, under key.
func showMany[T, W any](w http.ResponseWriter, r *http.Request, s *Sim, key string, all func() []T, id func(T) int64, wire func(string, T) W) {
	ids, ok := showIDs(w, r)
	if !ok {
		return
	}
	base := baseURL(r)
	out := []W{}
	s.mu.Lock()
	for _, rec := range all() {
		if slices.Contains(ids, id(rec)) {
			out = append(out, wire(base, rec))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{key: out})
}

// listUsers serves GET /api/v2/users with role[] filters, by id.
func (s *Sim) listUsers(w http.ResponseWriter, r *http.Request) {
	roles := r.URL.Query()["role[]"]
	if role := r.URL.Query().Get("role"); role != "" {
		roles = append(roles, role)
	}
	base := baseURL(r)
	s.mu.Lock()
	var users []cxaudit.User
	for _, u := range s.users {
		if len(roles) == 0 || slices.Contains(roles, u.Role) {
			users = append(users, u)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(users, func(a, b cxaudit.User) int { return cmp.Compare(a.ID, b.ID) })
	items := make([]wireUser, len(users))
	for i, u := range users {
		items[i] = s.toWireUser(base, u)
	}
	writeCursorPage(w, r, "users", items, func(u wireUser) int64 { return u.ID })
}

// customFields are the account's custom fields, from the World.
type customFields struct {
	ticket, organization, user []simworld.ZendeskField
}

// wireCustomFields writes a ticket's custom_fields as Zendesk does: every
// custom field, those without a value as null.
func (s *Sim) wireCustomFields(t *cxaudit.Ticket) []any {
	out := make([]any, 0, len(s.fields.ticket))
	for _, f := range s.fields.ticket {
		var v any
		for _, cf := range t.CustomFields {
			if cf.ID == f.ID {
				v = cf.Value
			}
		}
		out = append(out, map[string]any{"id": f.ID, "value": v})
	}
	return out
}

// wireKeyed writes organization_fields or user_fields: every field by key,
// those without a value as null.
func wireKeyed(fields []simworld.ZendeskField, vals map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		out[f.Key] = vals[f.Key]
	}
	return out
}
