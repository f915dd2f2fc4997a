package audit

// The finding lifecycle, in one place and pure (no store, no clock but
// now): an audit's matches against the stored findings of one entity, and
// what people said (acknowledged, snoozed, the ticket closed), give the
// findings that change and how — opened, reopened, updated (new evidence,
// cxaudit.Finding.Updates), acknowledged, snoozed, unsnoozed, resolved.
// cxaudit.Finding holds what write-back derives from them (Dirty,
// WriteStatus); lifecycle_test.go pins every transition.

import (
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
)

// Change is what happened to a finding in an audit.
type Change string

const (
	ChangeOpened   Change = "opened"
	ChangeUpdated  Change = "updated"
	ChangeResolved Change = "resolved"
	ChangeReopened Change = "reopened"
	// ChangeAcknowledged and ChangeSnoozed: people acknowledged or snoozed
	// the finding; ChangeUnsnoozed: the snooze ended with the finding open.
	ChangeAcknowledged Change = "acknowledged"
	ChangeSnoozed      Change = "snoozed"
	ChangeUnsnoozed    Change = "unsnoozed"

	// changeNone stores a finding whose rule was edited in ways agents do
	// not see; it is not counted as a change.
	changeNone Change = ""
)

// entityResult is what reconcile returns for one entity: the findings to
// store, each with its change.
type entityResult struct {
	key      store.EntityKey
	findings []cxaudit.Finding // changed findings to store
	changes  []Change
}

// signals are what people told cxaudit about an entity's findings.
type signals struct {
	ack       bool
	snoozeFor time.Duration // > 0 when snoozed
	closed    bool          // the ticket is closed: nothing can be written to it
	observe   bool          // CXAUDIT_MODE=observe: every finding is recorded only
}

// reconcile compares what the rules matched with the stored findings and
// returns the findings that changed. The open findings of rules that could
// not judge the entity (keep: set aside, or failed to evaluate on it) stay
// as they are: such a rule says nothing of whether its finding still holds.
func reconcile(key store.EntityKey, matches []rules.Match, existing []cxaudit.Finding, sig signals, now time.Time,
	keep func(ruleID string) bool) entityResult {
	res := entityResult{key: key}
	byRule := make(map[string]*cxaudit.Finding, len(existing))
	for i := range existing {
		byRule[existing[i].RuleID] = &existing[i]
	}
	matched := make(map[string]bool, len(matches))
	for _, m := range matches {
		r := m.Rule
		matched[r.ID] = true
		mode := r.Mode
		if sig.observe {
			mode = cxaudit.ModeObserve
		}
		want := cxaudit.Finding{
			Fingerprint: cxaudit.Fingerprint(r.ID, key.Kind, key.ID),
			RuleID:      r.ID, RuleVersion: r.Version, Title: r.Title,
			Category: r.Category, Severity: r.Severity, Mode: mode,
			EntityKind: key.Kind, EntityID: key.ID, Message: m.Message,
			Status: cxaudit.FindingOpen, OpenedAt: now, UpdatedAt: now, Actions: r.Actions,
		}
		old, ok := byRule[r.ID]
		change := ChangeOpened
		if ok {
			want.WrittenStatus, want.WrittenHash = old.WrittenStatus, old.WrittenHash
			switch {
			case old.Status == cxaudit.FindingResolved:
				// A new occurrence: earlier acknowledgements do not carry over.
				change = ChangeReopened
			case old.Updates(&want):
				// New evidence (cxaudit.Finding.Updates): numbers that
				// merely moved are none, as write-back and preview agree.
				want.OpenedAt, want.AcknowledgedAt, want.SnoozedUntil = old.OpenedAt, old.AcknowledgedAt, old.SnoozedUntil
				change = ChangeUpdated
			default:
				want.OpenedAt, want.UpdatedAt, want.AcknowledgedAt, want.SnoozedUntil = old.OpenedAt, old.UpdatedAt, old.AcknowledgedAt, old.SnoozedUntil
				change = changeNone
			}
		}
		if want.SnoozeOver(now) {
			// The snooze is over and the finding is still open: it is
			// written again.
			want.Unsnooze()
			change = pick(change, ChangeUnsnoozed)
		}
		if sig.snoozeFor > 0 && want.SnoozedUntil == nil {
			// A snooze in force is not renewed while its tag is still on
			// the ticket (write-back removes it; in dry run it stays): the
			// finding is snoozed once, not stored again every audit.
			want.Snooze(now, now.Add(sig.snoozeFor))
			change = pick(change, ChangeSnoozed)
		} else if sig.ack && want.AcknowledgedAt == nil {
			want.Acknowledge(now)
			change = pick(change, ChangeAcknowledged)
		}
		if ok && change == changeNone && sameFinding(*old, want) && old.Message == want.Message {
			continue
		}
		res.add(want, change)
	}
	for i := range existing {
		f := existing[i]
		if f.Status != cxaudit.FindingOpen || matched[f.RuleID] || keep != nil && keep(f.RuleID) {
			continue
		}
		f.Resolve(now)
		res.add(f, ChangeResolved)
	}
	if sig.closed {
		// A closed ticket takes no update ever again (Zendesk refuses it):
		// nothing is planned for its findings.
		for i := range res.findings {
			res.findings[i].WrittenStatus = cxaudit.FindingNotWritable
		}
	}
	return res
}

// pick keeps the first real change: opened, reopened and updated say more
// than what followed them in the same audit.
func pick(current, next Change) Change {
	if current == changeNone {
		return next
	}
	return current
}

// sameFinding reports whether storing want over old would change nothing.
func sameFinding(old, want cxaudit.Finding) bool {
	return old.RuleVersion == want.RuleVersion && old.Mode == want.Mode && old.Title == want.Title &&
		old.Category == want.Category && sameActions(old.Actions, want.Actions) &&
		sameTime(old.AcknowledgedAt, want.AcknowledgedAt) && sameTime(old.SnoozedUntil, want.SnoozedUntil)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func (r *entityResult) add(f cxaudit.Finding, c Change) {
	r.findings = append(r.findings, f)
	r.changes = append(r.changes, c)
}

func sameActions(a, b cxaudit.Actions) bool {
	if a.ZendeskNote != b.ZendeskNote || len(a.ZendeskTags) != len(b.ZendeskTags) {
		return false
	}
	for i := range a.ZendeskTags {
		if a.ZendeskTags[i] != b.ZendeskTags[i] {
			return false
		}
	}
	if (a.SalesforceTask == nil) != (b.SalesforceTask == nil) {
		return false
	}
	return a.SalesforceTask == nil || *a.SalesforceTask == *b.SalesforceTask
}
