// Package cxaudit holds the domain of the cxaudit worker: the support and CRM
// records it syncs, the findings its rules raise, and the errors it reports.
// It imports nothing of the project, so every other package can depend on it.
package cxaudit

import (
	"slices"
	"strings"
	"time"
)

// Source names a system cxaudit syncs from and writes back to.
type Source string

const (
	SourceZendesk    Source = "zendesk"
	SourceSalesforce Source = "salesforce"
)

// Ticket priorities as Zendesk names them. Support teams speak of them as
// P1 (urgent) to P4 (low).
const (
	PriorityUrgent = "urgent"
	PriorityHigh   = "high"
	PriorityNormal = "normal"
	PriorityLow    = "low"
)

// Ticket statuses as Zendesk names them, plus "deleted" as the incremental
// export reports it.
const (
	StatusNew     = "new"
	StatusOpen    = "open"
	StatusPending = "pending"
	StatusHold    = "hold"
	StatusSolved  = "solved"
	StatusClosed  = "closed"
	StatusDeleted = "deleted"
)

// Ticket is a Zendesk ticket with what the rules look at: its comments and
// its metrics travel with it.
type Ticket struct {
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

	Metrics  *TicketMetrics `json:"metrics,omitempty"`
	Comments []Comment      `json:"comments,omitempty"`
}

// Open reports whether the ticket still waits on the support team or the
// customer (new, open, pending or on hold).
func (t *Ticket) Open() bool {
	switch t.Status {
	case StatusNew, StatusOpen, StatusPending, StatusHold:
		return true
	}
	return false
}

// HasTag reports whether the ticket carries tag.
func (t *Ticket) HasTag(tag string) bool { return slices.Contains(t.Tags, tag) }

// Comment is one comment on a ticket. Public comments are visible to the
// requester; private ones are internal notes.
type Comment struct {
	ID        int64     `json:"id"`
	AuthorID  int64     `json:"author_id"`
	Public    bool      `json:"public"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	// ByAgent is true when the author is an agent or admin (not the
	// requester, and not cxaudit itself).
	ByAgent bool `json:"by_agent"`
	// ByCXAudit is true for notes cxaudit wrote. They never count as agent
	// activity.
	ByCXAudit bool `json:"by_cxaudit"`
}

// TicketMetrics are Zendesk's ticket_metrics for a ticket. A nil minute
// count means "not yet" (no reply yet), which is not the same as zero.
type TicketMetrics struct {
	ReplyTimeCalendarMinutes       *int64     `json:"reply_time_calendar_minutes,omitempty"`
	ReplyTimeBusinessMinutes       *int64     `json:"reply_time_business_minutes,omitempty"`
	FirstResolutionCalendarMinutes *int64     `json:"first_resolution_calendar_minutes,omitempty"`
	Reopens                        int64      `json:"reopens"`
	Replies                        int64      `json:"replies"`
	AssignedAt                     *time.Time `json:"assigned_at,omitempty"`
	SolvedAt                       *time.Time `json:"solved_at,omitempty"`
	LatestCommentAddedAt           *time.Time `json:"latest_comment_added_at,omitempty"`
	StatusUpdatedAt                *time.Time `json:"status_updated_at,omitempty"`
}

// Organization is a Zendesk organization. ExternalID holds the Salesforce
// Account Id when the organization is linked (the convention of Zendesk's
// own Salesforce integration).
type Organization struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	ExternalID  string    `json:"external_id"`
	DomainNames []string  `json:"domain_names"`
	Tags        []string  `json:"tags"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// User is a Zendesk user: an end user, an agent or an admin.
type User struct {
	ID             int64     `json:"id"`
	Name           string    `json:"name"`
	Email          string    `json:"email"`
	Role           string    `json:"role"`
	OrganizationID int64     `json:"organization_id"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// IsAgent reports whether the user works tickets (agent or admin).
func (u *User) IsAgent() bool { return u.Role == "agent" || u.Role == "admin" }

// Account is a Salesforce Account with its contacts and opportunities.
type Account struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	OwnerID        string     `json:"owner_id"`
	OwnerActive    bool       `json:"owner_active"`
	Website        string     `json:"website"`
	Type           string     `json:"type"`
	Industry       string     `json:"industry"`
	Tier           string     `json:"tier"`
	Health         string     `json:"health"`
	RenewalDate    *time.Time `json:"renewal_date,omitempty"`
	SystemModstamp time.Time  `json:"system_modstamp"`

	Contacts      []Contact     `json:"contacts,omitempty"`
	Opportunities []Opportunity `json:"opportunities,omitempty"`
}

// Domain returns the account's website host without scheme, "www." or path,
// lower-cased: the key an organization's domain names are matched on.
func (a *Account) Domain() string { return NormalizeDomain(a.Website) }

// NormalizeDomain reduces a website or domain to a bare lower-case host.
func NormalizeDomain(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "https://")
	s = strings.TrimPrefix(s, "http://")
	s = strings.TrimPrefix(s, "www.")
	if i := strings.IndexAny(s, "/?#:"); i >= 0 {
		s = s[:i]
	}
	return s
}

// Contact is a Salesforce Contact on an account.
type Contact struct {
	ID             string    `json:"id"`
	AccountID      string    `json:"account_id"`
	Name           string    `json:"name"`
	Email          string    `json:"email"`
	Title          string    `json:"title"`
	Role           string    `json:"role"`
	SystemModstamp time.Time `json:"system_modstamp"`
}

// Opportunity is a Salesforce Opportunity on an account.
type Opportunity struct {
	ID             string     `json:"id"`
	AccountID      string     `json:"account_id"`
	Name           string     `json:"name"`
	StageName      string     `json:"stage_name"`
	Type           string     `json:"type"`
	Amount         float64    `json:"amount"`
	CloseDate      *time.Time `json:"close_date,omitempty"`
	IsClosed       bool       `json:"is_closed"`
	IsWon          bool       `json:"is_won"`
	SystemModstamp time.Time  `json:"system_modstamp"`
}

// Task is a Salesforce Task as cxaudit writes and reads it.
type Task struct {
	ID           string     `json:"id"`
	WhatID       string     `json:"what_id"`
	OwnerID      string     `json:"owner_id"`
	Subject      string     `json:"subject"`
	Description  string     `json:"description"`
	Priority     string     `json:"priority"`
	Status       string     `json:"status"`
	ActivityDate *time.Time `json:"activity_date,omitempty"`
}
