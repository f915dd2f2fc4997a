// Package preview shows what a rule change would do before it ships: it
// evaluates candidate rules against the data already synced and compares
// the result with the findings open now, per rule. It only reads the store.
package preview

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
)

// Source is what a preview reads: the entities a sweep would audit, their
// inputs as the audit reads them, and the findings stored now.
// store.Querier satisfies it; a preview never writes.
type Source interface {
	audit.Reader
	SweepKeys(ctx context.Context) ([]store.EntityKey, error)
	ListFindings(ctx context.Context, filter store.FindingFilter) ([]cxaudit.Finding, error)
}

// Options configure Run.
type Options struct {
	Store Source
	Rules *rules.Set
	// Now is the time the rules see; default time.Now.
	Now time.Time
	// Examples is how many example entities to list per rule and change;
	// default 3.
	Examples int
	// BatchSize is how many entities are loaded at once; default 500.
	BatchSize int
	// ZendeskBudget and SalesforceBudget are the write budgets per hour
	// (CXAUDIT_ZENDESK_WRITE_BUDGET, CXAUDIT_SALESFORCE_WRITE_BUDGET; 0: no
	// cap), to say how long the writes would take.
	ZendeskBudget, SalesforceBudget int
}

// Example is one entity a rule would open or resolve a finding on, as
// people know it: the ticket's subject or the account's or organization's
// name, and the message.
type Example struct {
	Entity  string `json:"entity"`
	Name    string `json:"name"`
	Message string `json:"message"`
}

// RuleSummary is what a candidate rule set would do to one rule's findings.
type RuleSummary struct {
	RuleID string `json:"rule"`
	Title  string `json:"title,omitempty"`
	Entity string `json:"entity,omitempty"`
	// Status is "new" (no finding of the rule was ever stored: a shipped
	// rule that found nothing yet is not new), "removed" (only in the
	// findings open now) or "" (in both).
	Status string `json:"status,omitempty"`
	// Open counts findings that would open, Stay those open now that stay
	// open (Changed of them would be written again: new evidence, as
	// cxaudit.Finding.Updates says), Resolve those open now that would
	// resolve.
	Open            int       `json:"open"`
	Stay            int       `json:"stay"`
	Changed         int       `json:"changed"`
	Resolve         int       `json:"resolve"`
	OpenExamples    []Example `json:"open_examples,omitempty"`
	ResolveExamples []Example `json:"resolve_examples,omitempty"`
	// Overlap counts, by rule, the entities another rule fires on too
	// where this one would open or keep a finding: several findings on
	// one ticket are one note, but say the same thing twice.
	Overlap map[string]int `json:"overlap,omitempty"`
	// Notes and Tasks are the writes this rule's changes mean: ticket
	// updates (a note and tags) and Task creates, updates and completions.
	Notes int `json:"notes"`
	Tasks int `json:"tasks"`
	// Errors counts entities on which the rule failed to evaluate.
	Errors int `json:"errors"`
}

// Writes is what the whole change would write, and how long the write
// budgets need for it.
type Writes struct {
	// ZendeskUpdates counts tickets updated (one update carries every
	// finding of a ticket); SalesforceTasks counts Task writes.
	ZendeskUpdates  int `json:"zendesk_updates"`
	SalesforceTasks int `json:"salesforce_tasks"`
	// ZendeskHours and SalesforceHours are how long the budgets per hour
	// need for them; 0 with no cap.
	ZendeskBudget    int     `json:"zendesk_budget_per_hour"`
	SalesforceBudget int     `json:"salesforce_budget_per_hour"`
	ZendeskHours     float64 `json:"zendesk_hours"`
	SalesforceHours  float64 `json:"salesforce_hours"`
}

// Report is the preview of a candidate rule set.
type Report struct {
	Entities int           `json:"entities"`
	Rules    []RuleSummary `json:"rules"`
	Writes   Writes        `json:"writes"`
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
		s := sum(r.ID)
		s.Title, s.Entity = r.Title, string(r.Entity)
	}
	ref := func(k store.EntityKey) string { return string(k.Kind) + "/" + k.ID }
	// What a finding's change writes: a ticket update (counted once per
	// ticket) or a Task write.
	updated := map[store.EntityKey]bool{}
	var tasks int
	write := func(s *RuleSummary, k store.EntityKey, a cxaudit.Actions) {
		switch {
		case k.Kind == cxaudit.EntityTicket && (a.ZendeskNote || len(a.ZendeskTags) > 0):
			s.Notes++
			updated[k] = true
		case k.Kind == cxaudit.EntityAccount && a.SalesforceTask != nil:
			s.Tasks++
			tasks++
		}
	}
	actionsOf := func(id string, f *cxaudit.Finding) cxaudit.Actions {
		if r := opts.Rules.Rule(id); r != nil {
			return r.Actions
		}
		if f != nil {
			return f.Actions
		}
		return cxaudit.Actions{}
	}
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
			name := nameOf(k, ins[i], found[i])
			for id, m := range matched {
				s := sum(id)
				for other := range matched {
					if other != id {
						if s.Overlap == nil {
							s.Overlap = map[string]int{}
						}
						s.Overlap[other]++
					}
				}
				if f, ok := cur[id]; ok {
					s.Stay++
					if seen := (cxaudit.Finding{Severity: m.Rule.Severity, Message: m.Message}); f.Updates(&seen) {
						s.Changed++
						write(s, k, m.Rule.Actions)
					}
					continue
				}
				s.Open++
				write(s, k, m.Rule.Actions)
				if len(s.OpenExamples) < examples {
					s.OpenExamples = append(s.OpenExamples, Example{Entity: ref(k), Name: name, Message: m.Message})
				}
			}
			for id, f := range cur {
				if _, ok := matched[id]; ok {
					continue
				}
				s := sum(id)
				s.Resolve++
				write(s, k, actionsOf(id, &f))
				if len(s.ResolveExamples) < examples {
					s.ResolveExamples = append(s.ResolveExamples, Example{Entity: ref(k), Name: name, Message: f.Message})
				}
			}
		}
	}
	rep := &Report{Entities: len(keys)}
	for id, s := range sums {
		switch {
		case opts.Rules.Rule(id) == nil:
			s.Status = "removed"
		default:
			// New: the store never held a finding of it, in any status.
			ever, err := opts.Store.ListFindings(ctx, store.FindingFilter{RuleID: id, Limit: 1})
			if err != nil {
				return nil, err
			}
			if len(ever) == 0 {
				s.Status = "new"
			}
		}
		rep.Rules = append(rep.Rules, *s)
	}
	rep.Writes = Writes{ZendeskUpdates: len(updated), SalesforceTasks: tasks,
		ZendeskBudget: opts.ZendeskBudget, SalesforceBudget: opts.SalesforceBudget,
		ZendeskHours: hours(len(updated), opts.ZendeskBudget), SalesforceHours: hours(tasks, opts.SalesforceBudget)}
	slices.SortFunc(rep.Rules, func(a, b RuleSummary) int { return strings.Compare(a.RuleID, b.RuleID) })
	return rep, nil
}

// hours is how long n writes take at budget a rolling hour (0: no cap).
func hours(n, budget int) float64 {
	if budget <= 0 || n == 0 {
		return 0
	}
	return float64(n) / float64(budget)
}

// nameOf is how people know an entity: a ticket's subject, an account's
// or organization's name.
func nameOf(k store.EntityKey, in rules.Input, found bool) string {
	if !found {
		return ""
	}
	switch k.Kind {
	case cxaudit.EntityTicket:
		if in.Ticket != nil {
			return in.Ticket.Subject
		}
	case cxaudit.EntityAccount:
		if in.Account != nil {
			return in.Account.Name
		}
	case cxaudit.EntityOrganization:
		if in.Organization != nil {
			return in.Organization.Name
		}
	}
	return ""
}

// WriteText prints the report as a table, one rule a line, then the
// examples, the overlaps and the writes.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tOPEN\tSTAY\tCHANGED\tRESOLVE\tNOTES\tTASKS\tERRORS\tTITLE")
	var open, stay, resolve int
	for _, s := range r.Rules {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", label(s), s.Open, s.Stay, s.Changed, s.Resolve, s.Notes, s.Tasks, s.Errors, s.Title)
		open, stay, resolve = open+s.Open, stay+s.Stay, resolve+s.Resolve
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Rules {
		if len(s.OpenExamples)+len(s.ResolveExamples) == 0 && len(s.Overlap) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", label(s))
		for _, e := range s.OpenExamples {
			fmt.Fprintf(w, "  opens    %s %q: %s\n", e.Entity, e.Name, e.Message)
		}
		for _, e := range s.ResolveExamples {
			fmt.Fprintf(w, "  resolves %s %q: %s\n", e.Entity, e.Name, e.Message)
		}
		if o := overlapText(s.Overlap); o != "" {
			fmt.Fprintf(w, "  fires on the same entities as %s\n", o)
		}
	}
	_, err := fmt.Fprintf(w, "\npreview: %d entities evaluated; %d findings would open, %d stay, %d resolve (nothing was written)\n%s\n",
		r.Entities, open, stay, resolve, r.Writes.text())
	return err
}

// WriteJSON prints the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown prints the report for a pull request: a table of the
// rules that change something, their examples, and the writes.
func (r *Report) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "### cxaudit rules preview\n\n%d entities evaluated. %s\n\n", r.Entities, r.Writes.text())
	fmt.Fprintln(w, "| rule | open | stay | changed | resolve | notes | Tasks | errors | overlaps |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, s := range r.Rules {
		if s.Open+s.Changed+s.Resolve+s.Errors == 0 && s.Status == "" {
			continue
		}
		fmt.Fprintf(w, "| `%s` %s | %d | %d | %d | %d | %d | %d | %d | %s |\n", label(s), md(s.Title), s.Open, s.Stay, s.Changed, s.Resolve, s.Notes, s.Tasks, s.Errors, md(overlapText(s.Overlap)))
	}
	for _, s := range r.Rules {
		if len(s.OpenExamples)+len(s.ResolveExamples) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n<details><summary><code>%s</code> examples</summary>\n\n", s.RuleID)
		for _, e := range s.OpenExamples {
			fmt.Fprintf(w, "- opens %s (%s): %s\n", e.Entity, md(e.Name), md(e.Message))
		}
		for _, e := range s.ResolveExamples {
			fmt.Fprintf(w, "- resolves %s (%s): %s\n", e.Entity, md(e.Name), md(e.Message))
		}
		fmt.Fprintln(w, "\n</details>")
	}
	return nil
}

func label(s RuleSummary) string {
	if s.Status != "" {
		return s.RuleID + " (" + s.Status + ")"
	}
	return s.RuleID
}

// overlapText lists overlapping rules, most shared entities first.
func overlapText(o map[string]int) string {
	ids := slices.Collect(maps.Keys(o))
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(cmp.Compare(o[b], o[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%s (%d)", id, o[id])
	}
	return strings.Join(parts, ", ")
}

// md escapes text for a Markdown table cell.
func md(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func (w Writes) text() string {
	budget := func(n, per int, h float64, what string) string {
		if per <= 0 {
			return fmt.Sprintf("%d %s (no write budget)", n, what)
		}
		return fmt.Sprintf("%d %s (%.1f h at the budget of %d an hour)", n, what, h, per)
	}
	return "It would write " + budget(w.ZendeskUpdates, w.ZendeskBudget, w.ZendeskHours, "ticket updates") + " and " +
		budget(w.SalesforceTasks, w.SalesforceBudget, w.SalesforceHours, "Salesforce Task writes") + "."
}
