package cxaudit

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"time"
)

// Tags people add to a ticket (by hand or with a macro) to acknowledge or
// snooze cxaudit's findings on it. cxaudit removes them again in its next
// update: each use acknowledges the findings open at that moment.
const (
	AckTag    = "cxaudit_ack"
	SnoozeTag = "cxaudit_snooze"
)

// DefaultSnooze is how long SnoozeTag silences a ticket's findings when
// CXAUDIT_SNOOZE_DAYS is not set. The audit, the note that tells agents
// about it, and the configuration all read this one value.
const DefaultSnooze = 7 * 24 * time.Hour

// Category groups rules by the problem they find.
type Category string

const (
	CategoryCRMHygiene        Category = "crm_hygiene"
	CategorySeverityTagging   Category = "severity_tagging"
	CategoryBacklogAging      Category = "backlog_aging"
	CategoryEscalationQuality Category = "escalation_quality"
	CategoryCrossSystem       Category = "cross_system"
)

// Categories lists every category in display order.
var Categories = []Category{CategoryCRMHygiene, CategorySeverityTagging, CategoryBacklogAging, CategoryEscalationQuality, CategoryCrossSystem}

// Severity is how urgent a finding is. It sets a Salesforce Task's priority.
type Severity string

const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
)

// Severities lists every severity, most severe first.
var Severities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow}

// EntityKind is the kind of record a rule applies to.
type EntityKind string

const (
	EntityTicket       EntityKind = "ticket"
	EntityOrganization EntityKind = "organization"
	EntityAccount      EntityKind = "account"
)

// Mode says whether a rule's findings are written back.
type Mode string

const (
	// ModeObserve records findings but writes nothing to Zendesk or Salesforce.
	ModeObserve Mode = "observe"
	// ModeEnforce records findings and writes them back.
	ModeEnforce Mode = "enforce"
)

// FindingStatus is where a finding is in its life.
type FindingStatus string

const (
	FindingOpen     FindingStatus = "open"
	FindingResolved FindingStatus = "resolved"
	// FindingAcknowledged is an open finding that the people who see it
	// acknowledged (or snoozed). It is recorded as what was written, so an
	// acknowledgement is written (as the removal of the tag that made it)
	// once, and nothing more is written until the finding resolves.
	FindingAcknowledged FindingStatus = "acknowledged"
	// FindingNotWritable is a WrittenStatus only: the remote record
	// refused the write for good (a closed or merged Zendesk ticket takes
	// no update again), so nothing is written for the finding any more,
	// whatever becomes of it.
	FindingNotWritable FindingStatus = "not_writable"
)

// MarkerPrefix starts every marker cxaudit leaves in what it writes (a
// note's footer, a Task's subject), by which it finds its own writes
// again. The rest of a marker is lower-case hex.
const MarkerPrefix = "cxaudit:"

var markerRE = regexp.MustCompile(`\bcxaudit:[0-9a-f]{8}`)

// HasMarker reports whether s holds a marker of cxaudit's: MarkerPrefix
// and at least eight hex digits. Words like "cxaudit: see above" are no
// marker.
func HasMarker(s string) bool { return markerRE.MatchString(s) }

// Finding is one rule matching one entity. There is at most one finding per
// (rule, entity): its Fingerprint. It stays open while the rule's condition
// holds and is resolved when it clears; if the condition returns, the same
// finding reopens.
type Finding struct {
	Fingerprint string        `json:"fingerprint"`
	RuleID      string        `json:"rule_id"`
	RuleVersion string        `json:"rule_version"`
	Title       string        `json:"title"`
	Category    Category      `json:"category"`
	Severity    Severity      `json:"severity"`
	Mode        Mode          `json:"mode"`
	EntityKind  EntityKind    `json:"entity_kind"`
	EntityID    string        `json:"entity_id"`
	Message     string        `json:"message"`
	Status      FindingStatus `json:"status"`
	OpenedAt    time.Time     `json:"opened_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
	ResolvedAt  *time.Time    `json:"resolved_at,omitempty"`

	// Where the finding is written back; empty when it is not.
	Actions Actions `json:"actions"`

	// AcknowledgedAt is when an agent (tag cxaudit_ack or cxaudit_snooze) or
	// the account owner (completing the Task) acknowledged the finding.
	// SnoozedUntil ends a snooze: if the finding is still open then, it is
	// written again. Both clear when the finding resolves and reopens.
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	SnoozedUntil   *time.Time `json:"snoozed_until,omitempty"`

	// WrittenStatus and WrittenHash record what was last written to the
	// remote systems for this finding ("" when nothing was).
	WrittenStatus FindingStatus `json:"written_status,omitempty"`
	WrittenHash   string        `json:"written_hash,omitempty"`
}

// ContentHash identifies the evidence of a finding: its severity and the
// words of its message. A change of it is an update worth writing. Numbers
// in the message are left out: ages and counts drift with every cycle
// ("open 15 days", then 16), and an agent wants no new note for that. A
// rule edit that changes neither (a new title, a docs link) is no update
// either.
//
// A duration in hours and minutes ("47 h 58 min", as the rules' duration_text
// writes one under two days) counts as one in days ("2 days"): a wait that
// grows past two days is no new evidence. (Only that form is folded into
// the other: "# days" and "# min" hash as they always did, so findings
// written before are not written again.)
func (f *Finding) ContentHash() string {
	words := hoursMinutes.ReplaceAllString(digits.ReplaceAllString(f.Message, "#"), "# days")
	h := sha256.Sum256([]byte(string(f.Severity) + "\x00" + words))
	return hex.EncodeToString(h[:8])
}

var hoursMinutes = regexp.MustCompile(`# h # min\b`)

// Updates reports whether g, the same finding seen again, is an update of
// f worth telling: its evidence (ContentHash) changed. The audit counts
// updates by it, write-back writes them, and preview reports them, so the
// three agree; a message whose numbers alone moved is no update.
func (f *Finding) Updates(g *Finding) bool { return f.ContentHash() != g.ContentHash() }

var digits = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

// WritesBack reports whether the finding is ever written to a remote system.
func (f *Finding) WritesBack() bool {
	return f.Mode == ModeEnforce && (f.Actions.ZendeskNote || len(f.Actions.ZendeskTags) > 0 || f.Actions.SalesforceTask != nil)
}

// Acknowledged reports whether the finding is open and acknowledged.
func (f *Finding) Acknowledged() bool { return f.Status == FindingOpen && f.AcknowledgedAt != nil }

// WriteStatus is the status the remote systems should show: open,
// acknowledged or resolved.
func (f *Finding) WriteStatus() FindingStatus {
	if f.Acknowledged() {
		return FindingAcknowledged
	}
	return f.Status
}

// Dirty reports whether the remote systems lag behind the finding: it opened
// or changed since the last write, was acknowledged, or resolved after
// being written.
//
// store.MarkWritten computes the same in SQL; storetest's conformance
// suite pins the two together on every case.
func (f *Finding) Dirty() bool {
	if !f.WritesBack() || f.WrittenStatus == FindingNotWritable {
		return false
	}
	switch {
	case f.Status == FindingResolved:
		return f.WrittenStatus == FindingOpen || f.WrittenStatus == FindingAcknowledged
	case f.Acknowledged():
		return f.WrittenStatus != FindingAcknowledged
	default:
		return f.WrittenStatus != FindingOpen || f.WrittenHash != f.ContentHash()
	}
}

// Actions are what a rule writes back for each finding.
type Actions struct {
	// ZendeskNote adds the finding to the ticket's internal note.
	ZendeskNote bool `json:"zendesk_note,omitempty"`
	// ZendeskTags are added to the ticket while the finding is open and
	// removed when it resolves.
	ZendeskTags []string `json:"zendesk_tags,omitempty"`
	// SalesforceTask creates a Task on the account.
	SalesforceTask *TaskAction `json:"salesforce_task,omitempty"`
}

// TaskAction describes the Salesforce Task a finding becomes.
type TaskAction struct {
	// Priority is the Task's Priority (High, Normal, Low). Empty derives it
	// from the finding's severity.
	Priority string `json:"priority,omitempty"`
	// DueInDays sets ActivityDate this many days after the finding opened.
	DueInDays int `json:"due_in_days,omitempty"`
}

// TaskPriority maps a severity to a Salesforce Task priority.
func TaskPriority(s Severity) string {
	switch s {
	case SeverityCritical, SeverityHigh:
		return "High"
	case SeverityLow:
		return "Low"
	}
	return "Normal"
}

// IsFingerprint reports whether s has the form of a Fingerprint: 16
// lower-case hex digits.
func IsFingerprint(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Fingerprint identifies the finding of rule ruleID on one entity. It is
// stable across runs, restarts and rule edits, and short enough to travel
// as a marker in notes and Task subjects.
func Fingerprint(ruleID string, kind EntityKind, entityID string) string {
	h := sha256.Sum256([]byte(ruleID + "\x00" + string(kind) + "\x00" + entityID))
	return hex.EncodeToString(h[:8])
}

// The transitions people and the audit make. Package audit decides when
// (its reconcile, with a table test); Salesforce write-back acknowledges
// a finding whose Task its owner completed.

// Acknowledge records that people acknowledged the finding at now (kept
// if it already was).
func (f *Finding) Acknowledge(now time.Time) {
	if f.AcknowledgedAt == nil {
		f.AcknowledgedAt = &now
	}
}

// Snooze silences the finding until until: an acknowledgement with an end.
func (f *Finding) Snooze(now, until time.Time) {
	f.Acknowledge(now)
	f.SnoozedUntil = &until
}

// SnoozeOver reports whether the finding's snooze has ended at now.
func (f *Finding) SnoozeOver(now time.Time) bool {
	return f.SnoozedUntil != nil && !now.Before(*f.SnoozedUntil)
}

// Unsnooze ends a snooze: the finding is open and unacknowledged again,
// and written again.
func (f *Finding) Unsnooze() { f.AcknowledgedAt, f.SnoozedUntil = nil, nil }

// Resolve closes the finding at now: the rule no longer matches.
func (f *Finding) Resolve(now time.Time) {
	f.Status, f.UpdatedAt = FindingResolved, now
	f.ResolvedAt = &now
}
