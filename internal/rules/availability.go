package rules

import (
	"slices"
	"sort"
	"strings"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// Disabled is a rule that cannot run on this tenant now, and why. Its
// findings are left as they are, neither raised nor resolved, until it can
// run again: a field the org lacks says nothing about whether the problem
// the rule looks for is fixed.
type Disabled struct {
	Rule *Rule
	// Problems are the fields the rule reads that the tenant lacks.
	Problems []tenant.Problem
	// Waiting are the systems the rule reads whose first full sync has
	// not completed.
	Waiting []cxaudit.Source
}

// Reason says in one line why the rule does not run.
func (d Disabled) Reason() string {
	var parts []string
	for _, p := range d.Problems {
		parts = append(parts, p.Message)
	}
	for _, src := range d.Waiting {
		parts = append(parts, "waiting for the first full "+string(src)+" sync")
	}
	return strings.Join(parts, "; ")
}

// Availability returns the rules that cannot run now, by id: those that
// read a field the tenant lacks (t.Check), and those that wait (Rule.Waits)
// for a system that ready says has not completed its first full sync. A
// nil t checks no fields; a nil ready waits for nothing.
func (s *Set) Availability(t *tenant.Tenant, ready func(cxaudit.Source) bool) map[string]Disabled {
	out := map[string]Disabled{}
	for _, r := range s.rules {
		var d Disabled
		if t != nil {
			refs := r.Refs()
			sort.Strings(refs)
			for _, ref := range refs {
				if p, bad := t.Check(ref); bad {
					d.Problems = append(d.Problems, p)
				}
			}
		}
		if ready != nil {
			for _, src := range r.Waits() {
				if !ready(src) {
					d.Waiting = append(d.Waiting, src)
				}
			}
		}
		if len(d.Problems) > 0 || len(d.Waiting) > 0 {
			d.Rule = r
			out[r.ID] = d
		}
	}
	return out
}

// Except returns the set without the rules whose ids are in skip (the set
// itself when skip is empty). The rules are shared, not copied.
func (s *Set) Except(skip map[string]Disabled) *Set {
	if len(skip) == 0 {
		return s
	}
	kept := slices.DeleteFunc(slices.Clone(s.rules), func(r *Rule) bool { _, ok := skip[r.ID]; return ok })
	out := newSet(kept, s.files)
	out.fieldMap = s.fieldMap
	out.targets = s.targets
	out.version = s.version // the same rules: findings keep their versions
	return out
}

// CheckTenant lists, as rule-file errors, every field the rules read that
// the tenant lacks (at the expression that reads it), and every problem of
// the field map (at its entry). `cxaudit rules check` prints them when a
// synced schema is at hand.
func (s *Set) CheckTenant(t *tenant.Tenant) []FileError {
	var errs []FileError
	for _, r := range s.rules {
		refs := r.Refs()
		sort.Strings(refs)
		for _, ref := range refs {
			p, bad := t.Check(ref)
			if !bad {
				continue
			}
			at := r.reads.refs[ref]
			msg := p.Message
			if p.Fix != "" {
				msg += " (" + p.Fix + ")"
			}
			errs = append(errs, FileError{File: r.File, Line: at.line, Column: at.column, RuleID: r.ID,
				Path: r.path + "." + at.field, Msg: msg})
		}
	}
	for _, p := range t.Problems() {
		if p.Where.File == "" {
			continue
		}
		msg := p.Message
		if p.Fix != "" {
			msg += " (" + p.Fix + ")"
		}
		errs = append(errs, FileError{File: p.Where.File, Line: p.Where.Line, Column: p.Where.Column, Msg: msg})
	}
	le := &LoadError{Errors: errs}
	le.sort()
	return le.Errors
}
