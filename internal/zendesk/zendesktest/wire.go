package zendesktest

import (
	"html"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// The JSON the real API sends. Nullable fields are pointers so that they
// encode as null, as Zendesk's do; timestamps are RFC 3339 in UTC to the
// second.

type wireVia struct {
	Channel string         `json:"channel"`
	Source  map[string]any `json:"source"`
}

type wireTicket struct {
	URL                string   `json:"url"`
	ID                 int64    `json:"id"`
	ExternalID         *string  `json:"external_id"`
	Via                wireVia  `json:"via"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          string   `json:"updated_at"`
	GeneratedTimestamp int64    `json:"generated_timestamp"`
	Type               *string  `json:"type"`
	Subject            string   `json:"subject"`
	RawSubject         string   `json:"raw_subject"`
	Description        string   `json:"description"`
	Priority           *string  `json:"priority"`
	Status             string   `json:"status"`
	Recipient          *string  `json:"recipient"`
	RequesterID        int64    `json:"requester_id"`
	SubmitterID        int64    `json:"submitter_id"`
	AssigneeID         *int64   `json:"assignee_id"`
	OrganizationID     *int64   `json:"organization_id"`
	GroupID            *int64   `json:"group_id"`
	CollaboratorIDs    []int64  `json:"collaborator_ids"`
	FollowerIDs        []int64  `json:"follower_ids"`
	EmailCCIDs         []int64  `json:"email_cc_ids"`
	ProblemID          *int64   `json:"problem_id"`
	HasIncidents       bool     `json:"has_incidents"`
	IsPublic           bool     `json:"is_public"`
	DueAt              *string  `json:"due_at"`
	Tags               []string `json:"tags"`
	CustomFields       []any    `json:"custom_fields"`
	SatisfactionRating any      `json:"satisfaction_rating"`
	AllowChannelback   bool     `json:"allow_channelback"`
	AllowAttachments   bool     `json:"allow_attachments"`
}

type wireMinutes struct {
	Calendar *int64 `json:"calendar"`
	Business *int64 `json:"business"`
}

type wireMetricSet struct {
	URL                          string      `json:"url"`
	ID                           int64       `json:"id"`
	TicketID                     int64       `json:"ticket_id"`
	CreatedAt                    string      `json:"created_at"`
	UpdatedAt                    string      `json:"updated_at"`
	GroupStations                int         `json:"group_stations"`
	AssigneeStations             int         `json:"assignee_stations"`
	Reopens                      int64       `json:"reopens"`
	Replies                      int64       `json:"replies"`
	AssigneeUpdatedAt            *string     `json:"assignee_updated_at"`
	RequesterUpdatedAt           *string     `json:"requester_updated_at"`
	StatusUpdatedAt              *string     `json:"status_updated_at"`
	InitiallyAssignedAt          *string     `json:"initially_assigned_at"`
	AssignedAt                   *string     `json:"assigned_at"`
	SolvedAt                     *string     `json:"solved_at"`
	LatestCommentAddedAt         *string     `json:"latest_comment_added_at"`
	ReplyTimeInMinutes           wireMinutes `json:"reply_time_in_minutes"`
	FirstResolutionTimeInMinutes wireMinutes `json:"first_resolution_time_in_minutes"`
	FullResolutionTimeInMinutes  wireMinutes `json:"full_resolution_time_in_minutes"`
	AgentWaitTimeInMinutes       wireMinutes `json:"agent_wait_time_in_minutes"`
	RequesterWaitTimeInMinutes   wireMinutes `json:"requester_wait_time_in_minutes"`
	OnHoldTimeInMinutes          wireMinutes `json:"on_hold_time_in_minutes"`
}

type wireComment struct {
	ID          int64          `json:"id"`
	Type        string         `json:"type"`
	AuthorID    int64          `json:"author_id"`
	Body        string         `json:"body"`
	HTMLBody    string         `json:"html_body"`
	PlainBody   string         `json:"plain_body"`
	Public      bool           `json:"public"`
	Attachments []any          `json:"attachments"`
	AuditID     int64          `json:"audit_id"`
	Via         wireVia        `json:"via"`
	Metadata    map[string]any `json:"metadata"`
	CreatedAt   string         `json:"created_at"`
}

type wireOrganization struct {
	URL                string         `json:"url"`
	ID                 int64          `json:"id"`
	Name               string         `json:"name"`
	SharedTickets      bool           `json:"shared_tickets"`
	SharedComments     bool           `json:"shared_comments"`
	ExternalID         *string        `json:"external_id"`
	CreatedAt          string         `json:"created_at"`
	UpdatedAt          string         `json:"updated_at"`
	DomainNames        []string       `json:"domain_names"`
	Details            string         `json:"details"`
	Notes              string         `json:"notes"`
	GroupID            *int64         `json:"group_id"`
	Tags               []string       `json:"tags"`
	OrganizationFields map[string]any `json:"organization_fields"`
}

type wireUser struct {
	URL            string         `json:"url"`
	ID             int64          `json:"id"`
	Name           string         `json:"name"`
	Email          string         `json:"email"`
	CreatedAt      string         `json:"created_at"`
	UpdatedAt      string         `json:"updated_at"`
	TimeZone       string         `json:"time_zone"`
	Locale         string         `json:"locale"`
	OrganizationID *int64         `json:"organization_id"`
	Role           string         `json:"role"`
	Verified       bool           `json:"verified"`
	Active         bool           `json:"active"`
	Suspended      bool           `json:"suspended"`
	Tags           []string       `json:"tags"`
	UserFields     map[string]any `json:"user_fields"`
}

type wireError struct {
	Error       string         `json:"error"`
	Description string         `json:"description,omitempty"`
	Details     map[string]any `json:"details,omitempty"`
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsPtr(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := ts(*t)
	return &s
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func idPtr(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Sim) toWireTicket(base string, t *ticketState) wireTicket {
	status := t.Status
	if t.deleted {
		status = cxaudit.StatusDeleted
	}
	return wireTicket{
		URL:                base + "/api/v2/tickets/" + itoa(t.ID) + ".json",
		ID:                 t.ID,
		Via:                wireVia{Channel: "web", Source: map[string]any{"from": map[string]any{}, "to": map[string]any{}, "rel": nil}},
		CreatedAt:          ts(t.CreatedAt),
		UpdatedAt:          ts(t.UpdatedAt),
		GeneratedTimestamp: t.UpdatedAt.Unix(),
		Type:               strPtr(t.Type),
		Subject:            t.Subject,
		RawSubject:         t.Subject,
		Description:        t.Description,
		Priority:           strPtr(t.Priority),
		Status:             status,
		RequesterID:        t.RequesterID,
		SubmitterID:        t.RequesterID,
		AssigneeID:         idPtr(t.AssigneeID),
		OrganizationID:     idPtr(t.OrganizationID),
		GroupID:            idPtr(t.GroupID),
		CollaboratorIDs:    []int64{},
		FollowerIDs:        []int64{},
		EmailCCIDs:         []int64{},
		IsPublic:           true,
		Tags:               nonNil(t.Tags),
		CustomFields:       s.wireCustomFields(&t.Ticket),
		AllowAttachments:   true,
	}
}

func toWireMetricSet(base string, t *ticketState) wireMetricSet {
	m := cxaudit.TicketMetrics{}
	if t.Metrics != nil {
		m = *t.Metrics
	}
	return wireMetricSet{
		URL:                          base + "/api/v2/ticket_metrics/" + itoa(metricSetID(t.ID)) + ".json",
		ID:                           metricSetID(t.ID),
		TicketID:                     t.ID,
		CreatedAt:                    ts(t.CreatedAt),
		UpdatedAt:                    ts(t.UpdatedAt),
		GroupStations:                1,
		AssigneeStations:             1,
		Reopens:                      m.Reopens,
		Replies:                      m.Replies,
		StatusUpdatedAt:              tsPtr(m.StatusUpdatedAt),
		InitiallyAssignedAt:          tsPtr(m.AssignedAt),
		AssignedAt:                   tsPtr(m.AssignedAt),
		AssigneeUpdatedAt:            tsPtr(m.AssignedAt),
		SolvedAt:                     tsPtr(m.SolvedAt),
		LatestCommentAddedAt:         tsPtr(m.LatestCommentAddedAt),
		ReplyTimeInMinutes:           wireMinutes{Calendar: m.ReplyTimeCalendarMinutes, Business: m.ReplyTimeBusinessMinutes},
		FirstResolutionTimeInMinutes: wireMinutes{Calendar: m.FirstResolutionCalendarMinutes},
	}
}

func metricSetID(ticketID int64) int64 { return 20_000_000 + ticketID }

func toWireComment(c cxaudit.Comment, htmlBody string) wireComment {
	if htmlBody == "" {
		htmlBody = textToHTML(c.Body)
	}
	return wireComment{
		ID:          c.ID,
		Type:        "Comment",
		AuthorID:    c.AuthorID,
		Body:        c.Body,
		HTMLBody:    htmlBody,
		PlainBody:   c.Body,
		Public:      c.Public,
		Attachments: []any{},
		AuditID:     c.ID + 1_000_000_000,
		Via:         wireVia{Channel: "web", Source: map[string]any{"from": map[string]any{}, "to": map[string]any{}, "rel": nil}},
		Metadata:    map[string]any{"system": map[string]any{}, "custom": map[string]any{}},
		CreatedAt:   ts(c.CreatedAt),
	}
}

func (s *Sim) toWireOrganization(base string, o cxaudit.Organization) wireOrganization {
	return wireOrganization{
		URL:                base + "/api/v2/organizations/" + itoa(o.ID) + ".json",
		ID:                 o.ID,
		Name:               o.Name,
		ExternalID:         strPtr(o.ExternalID),
		CreatedAt:          ts(o.CreatedAt),
		UpdatedAt:          ts(o.UpdatedAt),
		DomainNames:        nonNil(o.DomainNames),
		Tags:               nonNil(o.Tags),
		OrganizationFields: wireKeyed(s.fields.organization, o.RawFields),
	}
}

func (s *Sim) toWireUser(base string, u cxaudit.User) wireUser {
	return wireUser{
		URL:            base + "/api/v2/users/" + itoa(u.ID) + ".json",
		ID:             u.ID,
		Name:           u.Name,
		Email:          u.Email,
		CreatedAt:      ts(u.UpdatedAt),
		UpdatedAt:      ts(u.UpdatedAt),
		TimeZone:       "UTC",
		Locale:         "en-US",
		OrganizationID: idPtr(u.OrganizationID),
		Role:           u.Role,
		Verified:       true,
		Active:         true,
		Tags:           []string{},
		UserFields:     wireKeyed(s.fields.user, u.RawFields),
	}
}

// textToHTML renders a plain comment body the way Zendesk does.
func textToHTML(body string) string {
	var b strings.Builder
	b.WriteString(`<div class="zd-comment" dir="auto">`)
	for i, para := range strings.Split(body, "\n") {
		if i > 0 {
			b.WriteString("<br>")
		}
		b.WriteString(html.EscapeString(para))
	}
	b.WriteString("</div>")
	return b.String()
}

var (
	htmlBreak = regexp.MustCompile(`(?i)<br\s*/?>|</(p|div|li|h[1-6]|tr)>`)
	htmlTag   = regexp.MustCompile(`<[^>]*>`)
	blankRuns = regexp.MustCompile(`\n{3,}`)
)

// htmlToText derives the plain body of a comment written as HTML.
func htmlToText(s string) string {
	s = htmlBreak.ReplaceAllString(s, "\n")
	s = htmlTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	s = blankRuns.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s)
}
