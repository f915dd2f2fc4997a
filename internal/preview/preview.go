// Package preview shows what a rule change would do before it ships: it
// evaluates candidate rules against the data already synced and compares
// the result with the findings open now, per rule. It only reads the store.
package preview

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
)

// Options configure Run.
type Options struct {
	Store store.Querier
	Rules *rules.Set
	// Now is the time the rules see; default time.Now.
	Now time.Time
	// Examples is how many example entities to list per rule and change;
	// default 3.
	Examples int
	// BatchSize is how many entities are loaded at once; default 500.
	BatchSize int
}

// RuleSummary is what a candidate rule set would do to one rule's findings.
type RuleSummary struct {
	RuleID string
	// Status is "new" (only in the candidate rules), "removed" (only in
	// the findings open now) or "" (in both).
	Status string
	// Open counts findings that would open, Stay those open now that stay
	// open (Changed of them with another message or severity), Resolve
	// those open now that would resolve.
	Open, Stay, Changed, Resolve  int
	OpenExamples, ResolveExamples []string
	// Errors counts entities on which the rule failed to evaluate.
	Errors int
}

// Report is the preview of a candidate rule set.
type Report struct {
	Entities int
	Rules    []RuleSummary
}

// Run evaluates opts.Rules on every entity the audit sweep covers (open
// tickets, organizations, accounts) and every entity with an open finding,
// and compares the matches with the open findings.
func Run(ctx context.Context, opts Options) (*Report, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	examples := cmp.Or(opts.Examples, 3)
	size := cmp.Or(opts.BatchSize, 500)

	open, err := opts.Store.ListFindings(ctx, store.FindingFilter{Status: cxaudit.FindingOpen})
	if err != nil {
		return nil, err
	}
	openBy := map[store.EntityKey]map[string]cxaudit.Finding{}
	for _, f := range open {
		k := store.EntityKey{Kind: f.EntityKind, ID: f.EntityID}
		if openBy[k] == nil {
			openBy[k] = map[string]cxaudit.Finding{}
		}
		openBy[k][f.RuleID] = f
	}
	keys, err := opts.Store.SweepKeys(ctx)
	if err != nil {
		return nil, err
	}
	seen := make(map[store.EntityKey]bool, len(keys))
	for _, k := range keys {
		seen[k] = true
	}
	for k := range openBy {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b store.EntityKey) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID)) })

	sums := map[string]*RuleSummary{}
	sum := func(id string) *RuleSummary {
		if s, ok := sums[id]; ok {
			return s
		}
		s := &RuleSummary{RuleID: id}
		sums[id] = s
		return s
	}
	for _, r := range opts.Rules.Rules() {
		sum(r.ID)
	}
	ref := func(k store.EntityKey) string { return string(k.Kind) + "/" + k.ID }
	for start := 0; start < len(keys); start += size {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch := keys[start:min(start+size, len(keys))]
		ins, found, err := audit.LoadInputs(ctx, opts.Store, opts.Rules, batch, now)
		if err != nil {
			return nil, err
		}
		for i, k := range batch {
			matched := map[string]rules.Match{}
			if found[i] {
				ms, errs := opts.Rules.Evaluate(k.Kind, ins[i])
				for _, m := range ms {
					matched[m.Rule.ID] = m
				}
				for _, e := range errs {
					if ee, ok := e.(*rules.EvalError); ok {
						sum(ee.RuleID).Errors++
					}
				}
			}
			cur := openBy[k]
			for id, m := range matched {
				s := sum(id)
				if f, ok := cur[id]; ok {
					s.Stay++
					if seen := (cxaudit.Finding{Severity: m.Rule.Severity, Message: m.Message}); f.Updates(&seen) {
						s.Changed++
					}
					continue
				}
				s.Open++
				if len(s.OpenExamples) < examples {
					s.OpenExamples = append(s.OpenExamples, ref(k))
				}
			}
			for id := range cur {
				if _, ok := matched[id]; ok {
					continue
				}
				s := sum(id)
				s.Resolve++
				if len(s.ResolveExamples) < examples {
					s.ResolveExamples = append(s.ResolveExamples, ref(k))
				}
			}
		}
	}
	rep := &Report{Entities: len(keys)}
	current := map[string]bool{}
	for _, f := range open {
		current[f.RuleID] = true
	}
	for id, s := range sums {
		switch {
		case opts.Rules.Rule(id) == nil:
			s.Status = "removed"
		case !current[id]:
			s.Status = "new"
		}
		rep.Rules = append(rep.Rules, *s)
	}
	slices.SortFunc(rep.Rules, func(a, b RuleSummary) int { return strings.Compare(a.RuleID, b.RuleID) })
	return rep, nil
}

// WriteText prints the report as a table, one rule a line, with examples.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tOPEN\tSTAY\tCHANGED\tRESOLVE\tERRORS\tEXAMPLES")
	var open, stay, resolve int
	for _, s := range r.Rules {
		id := s.RuleID
		if s.Status != "" {
			id += " (" + s.Status + ")"
		}
		var ex []string
		if len(s.OpenExamples) > 0 {
			ex = append(ex, "opens "+strings.Join(s.OpenExamples, ", "))
		}
		if len(s.ResolveExamples) > 0 {
			ex = append(ex, "resolves "+strings.Join(s.ResolveExamples, ", "))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", id, s.Open, s.Stay, s.Changed, s.Resolve, s.Errors, strings.Join(ex, "; "))
		open, stay, resolve = open+s.Open, stay+s.Stay, resolve+s.Resolve
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "preview: %d entities evaluated; %d findings would open, %d stay, %d resolve (nothing was written)\n",
		r.Entities, open, stay, resolve)
	return err
}
