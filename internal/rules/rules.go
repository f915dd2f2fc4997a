// Package rules loads the audit rules CS ops write as YAML files with CEL
// expressions, compiles them once, and evaluates them against tickets,
// organizations and accounts.
//
// A rule file holds a list of rules:
//
//	rules:
//	  - id: backlog.p2_p3_stale
//	    title: P2/P3 ticket open more than 14 days
//	    category: backlog_aging
//	    severity: medium
//	    entity: ticket
//	    when: ticket.open && days_between(ticket.created_at, now) > 14.0
//	    message: '"open for " + string(int(days_between(ticket.created_at, now))) + " days"'
//
// rules/README.md documents the fields, variables and helper functions.
package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// Rule is one compiled audit rule.
type Rule struct {
	ID, Title, Owner, Docs string
	Category               cxaudit.Category
	Severity               cxaudit.Severity
	Entity                 cxaudit.EntityKind
	Mode                   cxaudit.Mode
	// Audience is who acts on the findings: agents and account owners
	// (notes, tags, Tasks), or leads (the scorecard only; no actions).
	Audience Audience
	// When and Message are the CEL sources: a bool condition and a string
	// describing the finding.
	When, Message string
	Actions       cxaudit.Actions
	// Version is a hash of the rule's definition (12 hex digits), recorded
	// on its findings.
	Version string
	// File and Line say where the rule is defined.
	File string
	Line int

	when, message cel.Program
	reads         reads
	// statuses are the ticket statuses a ticket rule's `when` can be true
	// of, unless anyStatus (see statusesOf).
	statuses  []string
	anyStatus bool
	path      string      // $.rules[i] in its file
	warnings  []FileError // what loads but is likely wrong
}

// Warnings returns what the rule's file says that loads but is likely a
// mistake, such as a comparison that never holds.
func (r *Rule) Warnings() []FileError { return r.warnings }

// Warnings returns the warnings of every rule, in file and line order.
func (s *Set) Warnings() []FileError {
	var out []FileError
	for _, r := range s.rules {
		out = append(out, r.warnings...)
	}
	le := &LoadError{Errors: out}
	le.sort()
	return le.Errors
}

// Audience is who a rule's findings are for.
type Audience string

const (
	// AudienceAgent (the default): the agent on the ticket or the account
	// owner acts on each finding, through its note, tags or Task.
	AudienceAgent Audience = "agent"
	// AudienceLead: a fact for the support lead's scorecard, such as a
	// first reply that came late on a ticket answered since. Nobody on the
	// ticket can act on it: it is recorded, never written back.
	AudienceLead Audience = "lead"
)

// Set is a compiled rule set. It is immutable and safe for concurrent use.
type Set struct {
	rules    []*Rule
	byKind   map[cxaudit.EntityKind][]*Rule
	byID     map[string]*Rule
	version  string
	files    int
	fieldMap *tenant.FieldMap
	targets  *Targets
	// commentAll and commentStatuses are what CommentStatuses returns.
	commentAll      bool
	commentStatuses []string
}

func newSet(rules []*Rule, files int) *Set {
	s := &Set{rules: rules, byKind: map[cxaudit.EntityKind][]*Rule{}, byID: map[string]*Rule{}, files: files}
	sortRules(s.rules)
	for _, r := range s.rules {
		s.byKind[r.Entity] = append(s.byKind[r.Entity], r)
		s.byID[r.ID] = r
	}
	s.commentAll, s.commentStatuses = s.commentStatusesOf()
	s.seal()
	return s
}

// seal computes the set's version from its rules and field map.
func (s *Set) seal() {
	h := sha256.New()
	for _, r := range s.rules {
		h.Write([]byte(r.ID + "\x00" + r.Version + "\n"))
	}
	if s.fieldMap != nil {
		h.Write([]byte("fields\x00" + s.fieldMap.Version + "\n"))
	}
	s.version = hex.EncodeToString(h.Sum(nil)[:6])
}

// setFieldMap attaches the directory's field map (nil: none).
func (s *Set) setFieldMap(fm *tenant.FieldMap) {
	s.fieldMap = fm
	s.seal()
}

// FieldMap returns the field map loaded with the rules (rules/fields.yaml),
// or nil when the directory has none: every default applies.
func (s *Set) FieldMap() *tenant.FieldMap { return s.fieldMap }

// Targets returns the scorecard's targets: the directory's targets.yaml,
// or DefaultTargets when it has none.
func (s *Set) Targets() *Targets {
	if s.targets == nil {
		return DefaultTargets()
	}
	return s.targets
}

func sortRules(rules []*Rule) {
	slices.SortFunc(rules, func(a, b *Rule) int { return strings.Compare(a.ID, b.ID) })
}

// Rules returns every rule, sorted by ID. The caller must not modify them.
func (s *Set) Rules() []*Rule { return s.rules }

// Version is a hash over every rule's version and the field map's: it
// changes when any rule changes, is added or is removed, and when the
// field map changes.
func (s *Set) Version() string { return s.version }

// Files returns how many rule files the set was loaded from.
func (s *Set) Files() int { return s.files }

// ForEntity returns the rules on kind, sorted by ID.
func (s *Set) ForEntity(kind cxaudit.EntityKind) []*Rule { return s.byKind[kind] }

// Rule returns the rule with id, or nil.
func (s *Set) Rule(id string) *Rule { return s.byID[id] }
