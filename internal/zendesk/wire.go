package zendesk

import (
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// The parts of Zendesk's JSON that cxaudit reads. go-zendesk's own types
// lose what matters here (a null reply time is not zero minutes), so the
// exports decode into these. Nullable ids decode to 0, nullable strings to
// "".

type wireTicket struct {
	ID             int64     `json:"id"`
	Subject        string    `json:"subject"`
	Description    string    `json:"description"`
	Status         string    `json:"status"`
	Priority       string    `json:"priority"`
	Type           string    `json:"type"`
	Tags           []string  `json:"tags"`
	RequesterID    int64     `json:"requester_id"`
	AssigneeID     int64     `json:"assignee_id"`
	GroupID        int64     `json:"group_id"`
	OrganizationID int64     `json:"organization_id"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	// CustomFields holds every custom field of the ticket's form, those
	// without a value as null.
	CustomFields []cxaudit.CustomFieldValue `json:"custom_fields"`
}

// customValues keeps the custom field values that hold something.
func customValues(fs []cxaudit.CustomFieldValue) []cxaudit.CustomFieldValue {
	var out []cxaudit.CustomFieldValue
	for _, f := range fs {
		if f.ID != 0 && hasValue(f.Value) {
			out = append(out, f)
		}
	}
	return out
}

// keyedValues keeps the organization or user field values that hold
// something.
func keyedValues(fs map[string]any) map[string]any {
	var out map[string]any
	for k, v := range fs {
		if hasValue(v) {
			if out == nil {
				out = map[string]any{}
			}
			out[k] = v
		}
	}
	return out
}

func hasValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	}
	return true
}

func (t *wireTicket) domain() cxaudit.Ticket {
	return cxaudit.Ticket{
		ID:             t.ID,
		Subject:        t.Subject,
		Description:    t.Description,
		Status:         t.Status,
		Priority:       t.Priority,
		Type:           t.Type,
		Tags:           t.Tags,
		RequesterID:    t.RequesterID,
		AssigneeID:     t.AssigneeID,
		GroupID:        t.GroupID,
		OrganizationID: t.OrganizationID,
		CreatedAt:      t.CreatedAt,
		UpdatedAt:      t.UpdatedAt,
		CustomFields:   customValues(t.CustomFields),
	}
}

type wireMinutes struct {
	Calendar *int64 `json:"calendar"`
	Business *int64 `json:"business"`
}

type wireMetricSet struct {
	TicketID                     int64       `json:"ticket_id"`
	Reopens                      int64       `json:"reopens"`
	Replies                      int64       `json:"replies"`
	AssignedAt                   *time.Time  `json:"assigned_at"`
	SolvedAt                     *time.Time  `json:"solved_at"`
	LatestCommentAddedAt         *time.Time  `json:"latest_comment_added_at"`
	StatusUpdatedAt              *time.Time  `json:"status_updated_at"`
	ReplyTimeInMinutes           wireMinutes `json:"reply_time_in_minutes"`
	FirstResolutionTimeInMinutes wireMinutes `json:"first_resolution_time_in_minutes"`
}

func (m *wireMetricSet) domain() *cxaudit.TicketMetrics {
	return &cxaudit.TicketMetrics{
		ReplyTimeCalendarMinutes:       m.ReplyTimeInMinutes.Calendar,
		ReplyTimeBusinessMinutes:       m.ReplyTimeInMinutes.Business,
		FirstResolutionCalendarMinutes: m.FirstResolutionTimeInMinutes.Calendar,
		Reopens:                        m.Reopens,
		Replies:                        m.Replies,
		AssignedAt:                     m.AssignedAt,
		SolvedAt:                       m.SolvedAt,
		LatestCommentAddedAt:           m.LatestCommentAddedAt,
		StatusUpdatedAt:                m.StatusUpdatedAt,
	}
}

// withMetrics attaches each metric set to its ticket.
func withMetrics(tickets []wireTicket, sets []wireMetricSet) []cxaudit.Ticket {
	byTicket := make(map[int64]*wireMetricSet, len(sets))
	for i := range sets {
		byTicket[sets[i].TicketID] = &sets[i]
	}
	out := make([]cxaudit.Ticket, 0, len(tickets))
	for i := range tickets {
		t := tickets[i].domain()
		if m, ok := byTicket[t.ID]; ok {
			t.Metrics = m.domain()
		}
		out = append(out, t)
	}
	return out
}

type wireOrganization struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	ExternalID  string         `json:"external_id"`
	DomainNames []string       `json:"domain_names"`
	Tags        []string       `json:"tags"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	Fields      map[string]any `json:"organization_fields"`
}

func (o *wireOrganization) domain() cxaudit.Organization {
	return cxaudit.Organization{
		ID:          o.ID,
		Name:        o.Name,
		ExternalID:  o.ExternalID,
		DomainNames: o.DomainNames,
		Tags:        o.Tags,
		CreatedAt:   o.CreatedAt,
		UpdatedAt:   o.UpdatedAt,
		RawFields:   keyedValues(o.Fields),
	}
}

type wireUser struct {
	ID             int64          `json:"id"`
	Name           string         `json:"name"`
	Email          string         `json:"email"`
	Role           string         `json:"role"`
	OrganizationID int64          `json:"organization_id"`
	UpdatedAt      time.Time      `json:"updated_at"`
	Fields         map[string]any `json:"user_fields"`
}

func (u *wireUser) domain() cxaudit.User {
	return cxaudit.User{
		ID:             u.ID,
		Name:           u.Name,
		Email:          u.Email,
		Role:           u.Role,
		OrganizationID: u.OrganizationID,
		UpdatedAt:      u.UpdatedAt,
		RawFields:      keyedValues(u.Fields),
	}
}

// ticketUpdate is the body of PUT /api/v2/tickets/{id}.json. Its tags are
// the ticket's whole tag list: Update Ticket replaces every tag with them
// (see TicketUpdate.Tags), so they travel with safe_update.
type ticketUpdate struct {
	Ticket ticketUpdateFields `json:"ticket"`
}

type ticketUpdateFields struct {
	Comment      *noteBody `json:"comment,omitempty"`
	Tags         *[]string `json:"tags,omitempty"` // set: the list, even when empty
	SafeUpdate   bool      `json:"safe_update,omitempty"`
	UpdatedStamp string    `json:"updated_stamp,omitempty"`
}

type noteBody struct {
	HTMLBody string `json:"html_body"`
	Public   bool   `json:"public"`
}
