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

	// CustomFields are the ticket's custom field values as Zendesk sends
	// them (by field id, values as JSON decodes them); those without a
	// value are left out. Fields holds them typed and named for rules: the
	// audit fills it from the tenant's ticket fields (package tenant).
	CustomFields []CustomFieldValue `json:"custom_fields,omitempty"`
	Fields       Fields             `json:"-"`

	Metrics  *TicketMetrics `json:"metrics,omitempty"`
	Comments []Comment      `json:"comments,omitempty"`
}

// CustomFieldValue is one entry of a Zendesk ticket's custom_fields.
type CustomFieldValue struct {
	ID    int64 `json:"id"`
	Value any   `json:"value"`
}

// Fields are a record's custom fields as rules see them, by name, with
// typed values: string, float64, bool, time.Time or []string. A field
// without a value is absent.
type Fields map[string]any

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
	// RawFields are the organization_fields Zendesk sends, by key; Fields
	// holds them typed (filled by the audit, see Ticket.Fields).
	RawFields map[string]any `json:"organization_fields,omitempty"`
	// LinkedAccounts are the Salesforce accounts the organization links
	// to: the one its external_id names, and those sharing one of its
	// domains. More than one is a link to fix. The store fills it when it
	// reads an organization; it is not stored with it.
	LinkedAccounts []AccountRef `json:"linked_accounts,omitempty"`
	Fields         Fields       `json:"-"`
}

// User is a Zendesk user: an end user, an agent or an admin.
type User struct {
	ID             int64     `json:"id"`
	Name           string    `json:"name"`
	Email          string    `json:"email"`
	Role           string    `json:"role"`
	OrganizationID int64     `json:"organization_id"`
	UpdatedAt      time.Time `json:"updated_at"`
	// RawFields are the user_fields Zendesk sends, by key; Fields holds
	// them typed (filled by the audit, see Ticket.Fields).
	RawFields map[string]any `json:"user_fields,omitempty"`
	Fields    Fields         `json:"-"`
}

// IsAgent reports whether the user works tickets (agent or admin).
func (u *User) IsAgent() bool { return u.Role == "agent" || u.Role == "admin" }

// Account is a Salesforce Account with its contacts and opportunities.
//
// Of its fields, ID, Name, OwnerID, OwnerActive, Website and SystemModstamp
// come from standard fields every org has. The others (Type, Industry,
// Tier, Health, RenewalDate) come from whichever field of the org the field
// map (rules/fields.yaml) names, and Fields holds every other field typed;
// both are filled from Raw by package tenant when the audit loads the
// record, so an edited field map applies without a new sync.
type Account struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	OwnerID     string `json:"owner_id"`
	OwnerActive bool   `json:"owner_active"`
	// OwnerName is the owner's name (the User's Name, through the Owner
	// lookup): what a Task or note calls the owner, not the id.
	OwnerName      string     `json:"owner_name,omitempty"`
	Website        string     `json:"website"`
	Type           string     `json:"type"`
	Industry       string     `json:"industry"`
	Tier           string     `json:"tier"`
	Health         string     `json:"health"`
	RenewalDate    *time.Time `json:"renewal_date,omitempty"`
	SystemModstamp time.Time  `json:"system_modstamp"`
	// IsCustomer: Type is one of the field map's customer account types.
	IsCustomer bool `json:"is_customer,omitempty"`

	// Raw holds every field the sync selected, by API name, as the REST API
	// returned it (null fields left out). Fields is the typed view rules
	// read as account.fields.<ApiName>.
	Raw    map[string]any `json:"raw,omitempty"`
	Fields Fields         `json:"-"`

	Contacts      []Contact     `json:"contacts,omitempty"`
	Opportunities []Opportunity `json:"opportunities,omitempty"`
	// OpenTasks are the open Tasks on the account and on its
	// opportunities, those cxaudit wrote included (Task.ByCxaudit).
	OpenTasks []Task `json:"open_tasks,omitempty"`
	// Duplicates are the other accounts of the same customer: the same
	// website domain, or the same NameKey. Organizations are the Zendesk
	// organizations linked to the account (by external_id or domain). The
	// store fills both when it reads an account; neither is stored with it.
	Duplicates    []AccountRef `json:"duplicates,omitempty"`
	Organizations []AccountRef `json:"organizations,omitempty"`
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
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Title     string `json:"title"`
	// Roles are the contact's roles on its account: by default from the
	// AccountContactRelation (its Roles multi-select picklist), or from the
	// Contact field the field map names. Role is the first of them.
	Roles          []string  `json:"roles,omitempty"`
	Role           string    `json:"role"`
	SystemModstamp time.Time `json:"system_modstamp"`

	Raw    map[string]any `json:"raw,omitempty"`
	Fields Fields         `json:"-"`
}

// ContactRelation is a Salesforce AccountContactRelation: a contact's
// relation to an account, with the roles it plays there.
type ContactRelation struct {
	ID             string    `json:"id"`
	AccountID      string    `json:"account_id"`
	ContactID      string    `json:"contact_id"`
	Roles          []string  `json:"roles,omitempty"`
	IsActive       bool      `json:"is_active"`
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
	// IsRenewal: Type is one of the field map's renewal opportunity types.
	IsRenewal bool `json:"is_renewal,omitempty"`

	Raw    map[string]any `json:"raw,omitempty"`
	Fields Fields         `json:"-"`
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
	// AccountID, IsClosed and SystemModstamp are set on Tasks the sync
	// reads (the account team's open Tasks, account.open_tasks): Salesforce
	// derives AccountId from WhatId (the Account itself, or the
	// Opportunity's account).
	AccountID      string    `json:"account_id,omitempty"`
	IsClosed       bool      `json:"is_closed,omitempty"`
	SystemModstamp time.Time `json:"system_modstamp,omitzero"`
}

// ByCxaudit reports whether cxaudit wrote the Task: its Subject starts
// with cxaudit's marker.
func (t *Task) ByCxaudit() bool {
	return strings.HasPrefix(t.Subject, "["+MarkerPrefix)
}
