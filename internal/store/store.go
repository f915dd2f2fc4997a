// Package store keeps what cxaudit has synced, the findings its rules raise
// and the log of what it wrote back, in PostgreSQL or in an embedded SQLite
// file. Both run the same SQL through one implementation; the differences
// (drivers, DDL, how River jobs are inserted in a transaction, and the two
// statements said differently, in each file's dialect value) live in
// postgres.go and sqlite.go. storetest holds the conformance suite both pass.
//
// One file per concept: cursors.go (where each stream stands), tickets.go
// and tickets_write.go (Zendesk tickets and how pages of them are written),
// zendesk_people.go (organizations and users), accounts.go (Salesforce
// accounts, contacts, opportunities, relations), tasks.go (the teams' open
// Tasks), links.go (organization ↔ account links and duplicates),
// schema.go (what each source says of its schema), queue.go and sweep.go
// (what to audit), findings.go, writelog.go (what write-back wrote),
// quarantine.go, report.go (the scorecard's reads and snapshots),
// riverjobs.go, lease.go, migrate.go; sql.go holds the shared helpers.
package store

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Store is a database of cxaudit's. Its Querier methods run outside any
// transaction; InTx runs fn in one.
type Store interface {
	Querier
	// InTx runs fn in a transaction, committed when fn returns nil. Jobs
	// enqueued through q commit or roll back with it.
	InTx(ctx context.Context, fn func(ctx context.Context, q Querier) error) error
	// Dialect is "postgres" or "sqlite".
	Dialect() string
	Close() error
}

// Querier is everything cxaudit reads and writes.
type Querier interface {
	// Sync cursors.
	GetCursor(ctx context.Context, source cxaudit.Source, object string) (Cursor, error)
	PutCursor(ctx context.Context, source cxaudit.Source, object string, c Cursor) error

	// Zendesk.
	UpsertTickets(ctx context.Context, tickets []cxaudit.Ticket) error
	PutComments(ctx context.Context, ticketID int64, comments []cxaudit.Comment) error
	UpsertOrganizations(ctx context.Context, orgs []cxaudit.Organization) error
	UpsertUsers(ctx context.Context, users []cxaudit.User) error
	Ticket(ctx context.Context, id int64) (cxaudit.Ticket, error)
	Organization(ctx context.Context, id int64) (cxaudit.Organization, error)
	AgentIDs(ctx context.Context) (map[int64]bool, error)
	CountTickets(ctx context.Context) (int, error)

	// Salesforce.
	UpsertAccounts(ctx context.Context, accounts []cxaudit.Account) error
	UpsertContacts(ctx context.Context, contacts []cxaudit.Contact) error
	UpsertOpportunities(ctx context.Context, opps []cxaudit.Opportunity) error
	Account(ctx context.Context, id string) (cxaudit.Account, error)
	// AccountForOrganization returns the account an organization is linked
	// to: by external_id = Account Id, else by a shared website domain. It
	// returns ENOTFOUND when there is none.
	AccountForOrganization(ctx context.Context, org cxaudit.Organization) (cxaudit.Account, error)
	// OrganizationForAccount is the reverse link, ENOTFOUND when none.
	OrganizationForAccount(ctx context.Context, acc cxaudit.Account) (cxaudit.Organization, error)

	// Audit queue.
	QueueAudit(ctx context.Context, keys []EntityKey) error
	// QueueAccountDependents queues the organizations linked to accounts and
	// their open tickets, whose cross-system rules read the accounts.
	QueueAccountDependents(ctx context.Context, accountIDs []string) error
	// HoldAudit queues keys as QueueAudit does, held: NextAuditBatch skips
	// them until ReleaseAudit, or until until, whichever comes first. A
	// Salesforce pass holds the accounts it touches until it has read every
	// object, so that no audit sees an account before its contacts and
	// opportunities of the same pass. Their organizations and tickets are
	// not held: they read the account's own fields, stored whole. A
	// Zendesk sync that reads comments from the ticket-event export holds
	// the tickets and organizations it stores until it has read their
	// comments. ReleaseAudit releases the held entries of kinds, or every
	// held entry when kinds is empty.
	HoldAudit(ctx context.Context, keys []EntityKey, until time.Time) error
	ReleaseAudit(ctx context.Context, kinds ...cxaudit.EntityKind) error
	NextAuditBatch(ctx context.Context, limit int) ([]QueueEntry, error)
	// DoneAudit removes entries, in one statement; an entry queued again
	// since it was read (a newer QueuedAt) stays.
	DoneAudit(ctx context.Context, entries []QueueEntry) error

	// What /metrics reads of the database (gauges.go).
	OpenFindingCounts(ctx context.Context) ([]OpenFindingCount, error)
	StreamCompletions(ctx context.Context) ([]StreamCompletion, error)
	QueueDepths(ctx context.Context) ([]QueueDepth, error)
	LatestKPISnapshot(ctx context.Context) ([]KPISnapshot, error)

	// Quarantine (records that could not be read). Quarantine records recs
	// (again: attempts grow); Unquarantine removes the entries of records
	// now stored; ListQuarantine lists entries by source, object and age;
	// CountQuarantine counts them by source and object.
	Quarantine(ctx context.Context, source cxaudit.Source, recs []cxaudit.Rejected) error
	Unquarantine(ctx context.Context, source cxaudit.Source, object string, ids []string) error
	ListQuarantine(ctx context.Context, limit int) ([]cxaudit.Quarantined, error)
	CountQuarantine(ctx context.Context) (map[QuarantineKey]int, error)

	// Findings.
	FindingsForEntity(ctx context.Context, kind cxaudit.EntityKind, id string) ([]cxaudit.Finding, error)
	PutFinding(ctx context.Context, f cxaudit.Finding) error
	ListFindings(ctx context.Context, filter FindingFilter) ([]cxaudit.Finding, error)
	// DirtyEntities lists entities of kind that have dirty findings (see
	// cxaudit.Finding.Dirty), in id order after afterID.
	DirtyEntities(ctx context.Context, kind cxaudit.EntityKind, afterID string, limit int) ([]string, error)
	// MarkWritten records what was written for each finding, and whether
	// the finding is still dirty (it may have changed since).
	MarkWritten(ctx context.Context, marks []WrittenMark) error

	// Write-back log.
	GetWriteLog(ctx context.Context, target string) (WriteRecord, error)
	PutWriteLog(ctx context.Context, r WriteRecord) error
	RecordWrite(ctx context.Context, e WriteEvent) error
	CountWrites(ctx context.Context, since time.Time) (map[string]int, error)

	// Jobs.
	Enqueue(ctx context.Context, jobs ...river.InsertManyParams) error
	// JobCounts counts River jobs by state.
	JobCounts(ctx context.Context) (map[string]int, error)

	// Worker leases (lease.go).
	RenewLease(ctx context.Context, clientID string, ttl time.Duration) error
	DropLease(ctx context.Context, clientID string) error
	RescueOrphanedJobs(ctx context.Context, self string, grace time.Duration) (int, error)

	// Batch reads for the audit and `rules preview` (tickets.go, zendesk_people.go, accounts.go, links.go).
	// TicketsByID returns those of the tickets that exist, with their
	// comments, in id order.
	TicketsByID(ctx context.Context, ids []int64) ([]cxaudit.Ticket, error)
	// OrganizationsByID returns those of the organizations that exist, in
	// id order.
	OrganizationsByID(ctx context.Context, ids []int64) ([]cxaudit.Organization, error)
	// AccountsForOrganizations is AccountForOrganization for many
	// organizations, by organization id; one linked to no account is
	// missing from the map.
	AccountsForOrganizations(ctx context.Context, orgs []cxaudit.Organization) (map[int64]cxaudit.Account, error)
	// FindingsForEntities is FindingsForEntity for many entities of kind,
	// by entity id.
	FindingsForEntities(ctx context.Context, kind cxaudit.EntityKind, ids []string) (map[string][]cxaudit.Finding, error)
	// SweepKeys lists the entities a sweep audits: every open ticket,
	// organization and account.
	SweepKeys(ctx context.Context) ([]EntityKey, error)

	// The audit sweep (sweep.go).
	// RequestSweep asks the audit to sweep every open ticket, organization
	// and account; requests made while a sweep runs are met by it.
	RequestSweep(ctx context.Context) error
	GetSweep(ctx context.Context) (Sweep, error)
	// SaveSweepPosition records the last entity the sweep audited, in the
	// transaction that stores its findings.
	SaveSweepPosition(ctx context.Context, pos EntityKey) error
	// FinishSweep marks the sweep done, requests made while it ran included.
	FinishSweep(ctx context.Context) error
	// OpenTicketsAfter returns up to limit open tickets with ids above
	// afterID, in id order, with their comments.
	OpenTicketsAfter(ctx context.Context, afterID int64, limit int) ([]cxaudit.Ticket, error)
	// SweepKeysAfter lists up to limit organizations or accounts after
	// afterID ("" for the first), in id order.
	SweepKeysAfter(ctx context.Context, kind cxaudit.EntityKind, afterID string, limit int) ([]EntityKey, error)

	// Batch writes for the audit (findings.go).
	// PutFindings stores the audit's findings, in a few statements; of
	// several with one fingerprint, the last is stored. Unlike PutFinding
	// it keeps what write-back recorded of a stored finding (its written
	// state; not_writable, which the audit sets, excepted) and computes
	// dirty against that: the audit's copy may predate a write.
	PutFindings(ctx context.Context, fs []cxaudit.Finding) error
	// TicketsForOrganizations returns, by organization id, the tickets
	// of each of orgIDs created at or after since (an organization's or
	// account's ticket window), in id order; one with no tickets is
	// missing.
	// Without withComments the tickets' comments are not read.
	TicketsForOrganizations(ctx context.Context, orgIDs []int64, since time.Time, withComments bool) (map[int64][]cxaudit.Ticket, error)

	// Deletions read by the sync (tickets.go, accounts.go, tasks.go).
	// DeleteTickets removes tickets deleted in Zendesk, with their
	// comments; the audit then finds them gone and resolves their findings.
	DeleteTickets(ctx context.Context, ids []int64) error
	// DeleteAccounts removes accounts deleted in Salesforce, with their
	// contacts and opportunities (Salesforce deletes those with them).
	DeleteAccounts(ctx context.Context, ids []string) error

	// The tenant's own schema (schema.go, accounts.go).
	// PutSchema stores what source (SchemaSalesforce, SchemaZendesk) says
	// of the tenant's schema; GetSchema decodes it into v, and reports
	// false when none is stored yet.
	PutSchema(ctx context.Context, source string, v any) error
	GetSchema(ctx context.Context, source string, v any) (bool, error)
	// UpsertContactRelations stores AccountContactRelations, whose active
	// roles Account and AccountsForOrganizations hand over as the
	// contacts' Roles.
	UpsertContactRelations(ctx context.Context, rels []cxaudit.ContactRelation) error
	// UsersByID returns those of the users that exist, in id order.
	UsersByID(ctx context.Context, ids []int64) ([]cxaudit.User, error)
	// MissingOrganizations and MissingUsers return those of the ids the
	// store has no record of, each once.
	MissingOrganizations(ctx context.Context, ids []int64) ([]int64, error)
	MissingUsers(ctx context.Context, ids []int64) ([]int64, error)
	// DeleteContacts, DeleteOpportunities and DeleteContactRelations
	// remove records deleted in Salesforce on their own (an account's
	// deletion takes its children with it: DeleteAccounts).
	// AccountsSharingKeys returns the accounts sharing a website domain or
	// a name key (cxaudit.NameKey) with one of ids; FillAccountKeys
	// computes the keys of accounts stored before there were any.
	AccountsSharingKeys(ctx context.Context, ids []string) ([]string, error)
	FillAccountKeys(ctx context.Context) (int, error)
	// UpsertTasks stores the account teams' open Tasks and removes those
	// that closed (or lost their account); DeleteTasks removes deleted ones.
	UpsertTasks(ctx context.Context, tasks []cxaudit.Task) error
	DeleteTasks(ctx context.Context, ids []string) error
	DeleteContacts(ctx context.Context, ids []string) error
	DeleteOpportunities(ctx context.Context, ids []string) error
	DeleteContactRelations(ctx context.Context, ids []string) error

	// NextAuditBatchAfter is NextAuditBatch from after on, in the queue's
	// order (queued_at, kind, id), so the audit can read the next batch
	// while it still works on the last one (queue.go).
	NextAuditBatchAfter(ctx context.Context, after QueueEntry, limit int) ([]QueueEntry, error)

	// Reads for the KPI scorecard (report.go).
	// ReportTicketsAfter returns up to limit tickets after afterID, in id
	// order, with their comments: the open ones and those created or
	// updated since.
	ReportTicketsAfter(ctx context.Context, since time.Time, afterID int64, limit int) ([]cxaudit.Ticket, error)
	// OrganizationsAfter returns up to limit organizations after afterID,
	// in id order.
	OrganizationsAfter(ctx context.Context, afterID int64, limit int) ([]cxaudit.Organization, error)
	// AccountsAfter returns up to limit accounts after afterID ("" for the
	// first), in id order, with their contacts and opportunities.
	AccountsAfter(ctx context.Context, afterID string, limit int) ([]cxaudit.Account, error)
	// PutKPISnapshots stores the day's scorecard snapshot (a later one of
	// the same day replaces it); KPISnapshots reads those of the days from
	// fromDay to toDay (YYYY-MM-DD, both included).
	PutKPISnapshots(ctx context.Context, snaps []KPISnapshot) error
	KPISnapshots(ctx context.Context, fromDay, toDay string) ([]KPISnapshot, error)
}

// Cursor is where an incremental sync of one object stands.
type Cursor struct {
	Value string
	// CompletedAt is when a pass last reached the end of the stream; zero
	// until the first full sync completes.
	CompletedAt time.Time
	UpdatedAt   time.Time
}

// EntityKey names an entity to audit. It is comparable, and a map key.
type EntityKey struct {
	Kind cxaudit.EntityKind
	ID   string
}

// QueueEntry is an entry of the audit queue, as NextAuditBatch reads it:
// the entity, and when it was queued. DoneAudit removes the entry only if
// it was not queued again since (a newer QueuedAt), so no change is lost.
type QueueEntry struct {
	Key      EntityKey
	QueuedAt int64
}

// FindingFilter selects findings. Zero fields match everything.
type FindingFilter struct {
	Status     cxaudit.FindingStatus
	RuleID     string
	EntityKind cxaudit.EntityKind
	EntityID   string
	Limit      int
}

// WrittenMark is what a write carried of one finding.
type WrittenMark struct {
	Fingerprint string                `json:"fp"`
	Status      cxaudit.FindingStatus `json:"status"`
	Hash        string                `json:"hash"`
}

// MarkOf returns the mark of f as it is now.
func MarkOf(f cxaudit.Finding) WrittenMark {
	return WrittenMark{Fingerprint: f.Fingerprint, Status: f.WriteStatus(), Hash: f.ContentHash()}
}

// Write-back log states.
const (
	WritePending = "pending"
	WriteDone    = "done"
)

// WriteRecord is what was last written, or is being written, to a target.
type WriteRecord struct {
	Target   string
	State    string
	Marker   string
	RemoteID string
	// Payload is the write's own description (JSON), e.g. the fingerprints
	// a note carried, so a reconciled write can be accounted for.
	Payload   []byte
	UpdatedAt time.Time
}

// WriteEvent is one remote write that was made.
type WriteEvent struct {
	System cxaudit.Source
	Kind   string
	Target string
	At     time.Time
}

// Kinds of write events, as the demo summary reports them.
const (
	WriteZendeskNote          = "zendesk_notes"
	WriteZendeskTagUpdate     = "zendesk_tag_updates"
	WriteSalesforceTask       = "salesforce_tasks"
	WriteSalesforceTaskUpdate = "salesforce_task_updates"
	// WriteZendeskTicketUpdate counts ticket updates (API calls), whatever
	// they carried; write budgets count these.
	WriteZendeskTicketUpdate = "zendesk_ticket_updates"
)
