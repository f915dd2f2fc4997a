// Package report computes the KPI scorecard a support lead is judged by,
// from what cxaudit has synced (tickets with their metrics and comments,
// organizations, accounts and contacts) and the findings its rules raised:
// for a period, overall, by week, and by priority, group, organization tier
// and account owner. Every KPI carries its numerator, denominator, value,
// target and whether it is met; a KPI without input says so (denominator
// 0, no value) rather than showing a figure. The targets come from
// rules/targets.yaml (rules.Targets).
package report

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// Options say what to compute.
type Options struct {
	// Since is the start of the period, Now its end (default time.Now()).
	Since time.Time
	Now   time.Time
	// Targets default to rules.DefaultTargets.
	Targets *rules.Targets
	// Tenant, when given, types the accounts by the field map (their tier
	// and renewal date come from the org's own fields); nil uses them as
	// stored.
	Tenant *tenant.Tenant
	// FindingsPerKPI is how many open findings each KPI lists (default 50);
	// the count of all of them is given anyway.
	FindingsPerKPI int
	// PageSize is how many records are read per query (default 500).
	PageSize int
}

// Report is the scorecard.
type Report struct {
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
	Weeks   []Week    `json:"weeks"`
	Targets string    `json:"targets"` // the targets file, or "defaults"
	KPIs    []KPI     `json:"kpis"`
}

// Week is one bucket of the trend: [Start, End).
type Week struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// KPI is one line of the scorecard.
type KPI struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	// Unit is "share" (a value from 0 to 1) or "score" (out of 5).
	Unit string `json:"unit"`
	// Measures says what the numerator and denominator count.
	Measures string `json:"measures"`
	Target   *Bound `json:"target"`
	Figure
	// Weekly is the figure of each week of Report.Weeks. A KPI of the
	// current state (backlog at the week's end, CRM coverage) has the
	// current figure in the last week and none before, unless snapshots
	// hold them.
	Weekly []Figure `json:"weekly"`
	// By priority (P1–P4, none), group, organization tier and account
	// owner, in key order; a KPI that has no such dimension leaves it out.
	ByPriority []Slice  `json:"by_priority,omitempty"`
	ByGroup    []Slice  `json:"by_group,omitempty"`
	ByTier     []Slice  `json:"by_tier,omitempty"`
	ByOwner    []Slice  `json:"by_owner,omitempty"`
	Findings   Findings `json:"findings"`
}

// Bound is a KPI's target: the value must be at least (">=") or at most
// ("<=") Value.
type Bound struct {
	Op    string  `json:"op"`
	Value float64 `json:"value"`
}

// Figure is a numerator over a denominator. Value is nil when the
// denominator is 0 (nothing to measure), and Met is nil when there is no
// value or no target.
type Figure struct {
	Numerator   float64  `json:"numerator"`
	Denominator int      `json:"denominator"`
	Value       *float64 `json:"value"`
	Met         *bool    `json:"met"`
	// Snapshot is the day (YYYY-MM-DD) of the stored daily snapshot the
	// figure comes from, when it does (see Snapshot).
	Snapshot string `json:"snapshot,omitempty"`
}

// Slice is the figure of one value of a dimension.
type Slice struct {
	Key string `json:"key"`
	Figure
}

// Findings are the open findings of the rules that explain a KPI's
// misses.
type Findings struct {
	Rules []string     `json:"rules"`
	Open  int          `json:"open"`
	Items []FindingRef `json:"items"`
}

// FindingRef names one open finding.
type FindingRef struct {
	Fingerprint string `json:"fingerprint"`
	RuleID      string `json:"rule_id"`
	Title       string `json:"title"`
	Severity    string `json:"severity"`
	EntityKind  string `json:"entity_kind"`
	EntityID    string `json:"entity_id"`
	Message     string `json:"message"`
}

// Get returns the KPI named name, or nil.
func (r *Report) Get(name string) *KPI {
	for i := range r.KPIs {
		if r.KPIs[i].Name == name {
			return &r.KPIs[i]
		}
	}
	return nil
}

var titles = map[string]struct{ title, unit, measures string }{
	rules.KPIFirstResponse:     {"First-response compliance", "share", "tickets created in the period answered within their priority's target / those answered or already past it"},
	rules.KPISLA:               {"SLA compliance (priority queues)", "share", "tickets of the priority queues created in the period that met the first-response and update-cadence targets measured on them / those measured"},
	rules.KPIBacklogAge:        {"Backlog older than target", "share", "open tickets of the priorities older than the threshold / open tickets of the priorities (at the end of the period or week)"},
	rules.KPIUpdateCadence:     {"P1/P2 update cadence", "share", "tickets created in the period whose public agent updates never lapsed past the cadence / those with a first public reply"},
	rules.KPIEscalationQuality: {"Escalation packet quality", "score", "sum of the packet scores (0-5) of escalated tickets created in the period / escalated tickets"},
	rules.KPIEscalationRate:    {"Escalation rate", "share", "escalated tickets created in the period / tickets created in the period"},
	rules.KPIReopenRate:        {"Reopen rate", "share", "tickets solved in the period that were reopened / tickets solved in the period"},
	rules.KPIOwnerActive:       {"Accounts with an active owner", "share", "accounts whose owner is active / accounts"},
	rules.KPIRenewalDate:       {"Customer accounts with a renewal date", "share", "customer accounts with a renewal date / customer accounts"},
	rules.KPIExecSponsor:       {"Strategic accounts with an executive sponsor", "share", "accounts of the strategic tiers with a contact in an executive role / accounts of those tiers"},
	rules.KPIOrgLinked:         {"Organizations linked to an account", "share", "Zendesk organizations linked to a Salesforce Account (external_id) / organizations"},
}

// counter accumulates one KPI.
type counter struct {
	all    tally
	weekly []tally
	dims   [4]map[string]*tally // priority, group, tier, owner
}

type tally struct {
	num float64
	den int
}

func (t *tally) add(num float64) { t.num += num; t.den++ }

const (
	dimPriority = iota
	dimGroup
	dimTier
	dimOwner
)

// labels are the dimension values of a record.
type labels [4]string

func newCounter(weeks int) *counter {
	c := &counter{weekly: make([]tally, weeks)}
	for i := range c.dims {
		c.dims[i] = map[string]*tally{}
	}
	return c
}

// add counts one record: num is its share of the numerator (0 or 1, or a
// score), week the index of its week (-1: none), l its labels ("" leaves a
// dimension out).
func (c *counter) add(num float64, week int, l labels, overall bool) {
	if overall {
		c.all.add(num)
		for i, k := range l {
			if k == "" {
				continue
			}
			t := c.dims[i][k]
			if t == nil {
				t = &tally{}
				c.dims[i][k] = t
			}
			t.add(num)
		}
	}
	if week >= 0 && week < len(c.weekly) {
		c.weekly[week].add(num)
	}
}

// Source is what the scorecard reads: tickets, organizations and accounts
// page by page, their links, the agents, the findings, and the snapshots
// of earlier days. store.Querier satisfies it.
type Source interface {
	AgentIDs(ctx context.Context) (map[int64]bool, error)
	ReportTicketsAfter(ctx context.Context, since time.Time, afterID int64, limit int) ([]cxaudit.Ticket, error)
	OrganizationsAfter(ctx context.Context, afterID int64, limit int) ([]cxaudit.Organization, error)
	OrganizationsByID(ctx context.Context, ids []int64) ([]cxaudit.Organization, error)
	AccountsAfter(ctx context.Context, afterID string, limit int) ([]cxaudit.Account, error)
	AccountsForOrganizations(ctx context.Context, orgs []cxaudit.Organization) (map[int64]cxaudit.Account, error)
	ListFindings(ctx context.Context, filter store.FindingFilter) ([]cxaudit.Finding, error)
	KPISnapshots(ctx context.Context, fromDay, toDay string) ([]store.KPISnapshot, error)
}

// Compute builds the scorecard from st.
func Compute(ctx context.Context, st Source, opt Options) (*Report, error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.Targets == nil {
		opt.Targets = rules.DefaultTargets()
	}
	if opt.FindingsPerKPI == 0 {
		opt.FindingsPerKPI = 50
	}
	if opt.PageSize == 0 {
		opt.PageSize = 500
	}
	if !opt.Since.Before(opt.Now) {
		return nil, fmt.Errorf("report: the period starts (%s) at or after it ends (%s)", opt.Since.Format(time.RFC3339), opt.Now.Format(time.RFC3339))
	}
	c := &computer{opt: opt, st: st, counters: map[string]*counter{}, orgAccount: map[int64]*cxaudit.Account{}}
	for s := opt.Since; s.Before(opt.Now); s = s.AddDate(0, 0, 7) {
		c.weeks = append(c.weeks, Week{Start: s, End: minTime(s.AddDate(0, 0, 7), opt.Now)})
	}
	for _, k := range rules.KPIs {
		c.counters[k] = newCounter(len(c.weeks))
	}
	// Who is an agent is known from the users, as in the audit: a stored
	// comment does not say.
	agents, err := st.AgentIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("report: read the agents: %w", err)
	}
	c.agents = agents
	if err := c.tickets(ctx); err != nil {
		return nil, err
	}
	if err := c.accounts(ctx); err != nil {
		return nil, err
	}
	if err := c.organizations(ctx); err != nil {
		return nil, err
	}
	r := &Report{Since: opt.Since, Until: opt.Now, Weeks: c.weeks, Targets: cmp.Or(opt.Targets.File, "defaults")}
	for _, name := range rules.KPIs {
		k, err := c.kpi(ctx, name)
		if err != nil {
			return nil, err
		}
		r.KPIs = append(r.KPIs, k)
	}
	if err := c.history(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// stateKPIs are the KPIs of the current state: the records say what they
// are now, not what they were, so their past weeks come from the daily
// snapshots.
var stateKPIs = []string{rules.KPIOwnerActive, rules.KPIRenewalDate, rules.KPIExecSponsor, rules.KPIOrgLinked}

// history fills the past weeks of the state KPIs from the latest daily
// snapshot taken within each week (after its start, up to its end); a
// week without one stays without a figure.
func (c *computer) history(ctx context.Context, r *Report) error {
	if len(r.Weeks) < 2 {
		return nil
	}
	snaps, err := c.st.KPISnapshots(ctx, dayOf(r.Weeks[0].Start), dayOf(r.Weeks[len(r.Weeks)-2].End))
	if err != nil {
		return fmt.Errorf("report: read the KPI snapshots: %w", err)
	}
	for _, name := range stateKPIs {
		k := r.Get(name)
		tg := c.opt.Targets.Get(name)
		for i := range len(r.Weeks) - 1 {
			w := r.Weeks[i]
			var latest *store.KPISnapshot
			for j := range snaps {
				s := &snaps[j]
				if s.KPI == name && s.Dimension == "" && s.TakenAt.After(w.Start) && !s.TakenAt.After(w.End) &&
					(latest == nil || s.TakenAt.After(latest.TakenAt)) {
					latest = s
				}
			}
			if latest != nil {
				f := figure(tally{num: latest.Numerator, den: latest.Denominator}, tg)
				f.Snapshot = latest.Day
				k.Weekly[i] = f
			}
		}
	}
	return nil
}

func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Snapshot returns r's figures, overall and by priority, as the snapshot
// of the day r ends on.
func (r *Report) Snapshot() []store.KPISnapshot {
	day := dayOf(r.Until)
	var out []store.KPISnapshot
	for _, k := range r.KPIs {
		out = append(out, store.KPISnapshot{Day: day, KPI: k.Name, Numerator: k.Numerator, Denominator: k.Denominator, TakenAt: r.Until})
		for _, s := range k.ByPriority {
			out = append(out, store.KPISnapshot{Day: day, KPI: k.Name, Dimension: "priority", Key: s.Key,
				Numerator: s.Numerator, Denominator: s.Denominator, TakenAt: r.Until})
		}
	}
	return out
}

type computer struct {
	opt        Options
	st         Source
	weeks      []Week
	counters   map[string]*counter
	orgAccount map[int64]*cxaudit.Account // nil: the organization is linked to none
	agents     map[int64]bool
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// week returns the index of the week at holds, or -1 outside the period.
func (c *computer) week(at time.Time) int {
	if at.Before(c.opt.Since) || !at.Before(c.opt.Now) {
		return -1
	}
	return int(at.Sub(c.opt.Since) / (7 * 24 * time.Hour))
}

func (c *computer) inPeriod(at time.Time) bool { return c.week(at) >= 0 }

// accountOf returns the account the ticket's organization is linked to
// (read in batches per page), or nil.
func (c *computer) loadAccounts(ctx context.Context, tickets []cxaudit.Ticket) error {
	var ids []int64
	for _, t := range tickets {
		if _, done := c.orgAccount[t.OrganizationID]; t.OrganizationID != 0 && !done && !slices.Contains(ids, t.OrganizationID) {
			ids = append(ids, t.OrganizationID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	orgs, err := c.st.OrganizationsByID(ctx, ids)
	if err != nil {
		return err
	}
	accs, err := c.st.AccountsForOrganizations(ctx, orgs)
	if err != nil {
		return err
	}
	for _, id := range ids {
		c.orgAccount[id] = nil
	}
	for id, a := range accs {
		a := a
		if c.opt.Tenant != nil {
			c.opt.Tenant.Account(&a)
		}
		c.orgAccount[id] = &a
	}
	return nil
}

func (c *computer) ticketLabels(t *cxaudit.Ticket) labels {
	l := labels{rules.PLevel(t.Priority), "none", "none", "none"}
	if t.GroupID != 0 {
		l[dimGroup] = "group " + strconv.FormatInt(t.GroupID, 10)
	}
	if a := c.orgAccount[t.OrganizationID]; a != nil {
		l[dimTier] = cmp.Or(a.Tier, "none")
		l[dimOwner] = cmp.Or(a.OwnerID, "none")
	}
	return l
}

func (c *computer) tickets(ctx context.Context) error {
	var after int64
	for {
		page, err := c.st.ReportTicketsAfter(ctx, c.opt.Since, after, c.opt.PageSize)
		if err != nil {
			return fmt.Errorf("report: read tickets: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		if err := c.loadAccounts(ctx, page); err != nil {
			return fmt.Errorf("report: read the tickets' accounts: %w", err)
		}
		for i := range page {
			t := &page[i]
			for j := range t.Comments {
				cm := &t.Comments[j]
				cm.ByAgent = c.agents[cm.AuthorID] && !cm.ByCXAudit
			}
			c.ticket(t)
		}
		after = page[len(page)-1].ID
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ticket counts one ticket in every ticket KPI it is measured by.
func (c *computer) ticket(t *cxaudit.Ticket) {
	tg := c.opt.Targets
	l := c.ticketLabels(t)
	now := c.opt.Now
	created := c.inPeriod(t.CreatedAt)
	wk := c.week(t.CreatedAt)

	if created {
		frt, frtOK := c.firstResponse(t)
		if frtOK {
			c.counters[rules.KPIFirstResponse].add(b2f(frt), wk, l, true)
		}
		cad, cadOK := c.cadence(t)
		if cadOK {
			c.counters[rules.KPIUpdateCadence].add(b2f(cad), wk, l, true)
		}
		if slices.Contains(tg.Get(rules.KPISLA).Priorities, t.Priority) && (frtOK || cadOK) {
			met := (!frtOK || frt) && (!cadOK || cad)
			c.counters[rules.KPISLA].add(b2f(met), wk, l, true)
		}
		esc := t.HasTag(tg.Get(rules.KPIEscalationRate).Tag)
		c.counters[rules.KPIEscalationRate].add(b2f(esc), wk, l, true)
		if t.HasTag(tg.Get(rules.KPIEscalationQuality).Tag) {
			score, _ := rules.EscalationScore(t)
			c.counters[rules.KPIEscalationQuality].add(score, wk, l, true)
		}
	}

	// Reopen rate: the tickets solved in the period.
	if m := t.Metrics; m != nil && m.SolvedAt != nil && c.inPeriod(*m.SolvedAt) && !t.Open() {
		c.counters[rules.KPIReopenRate].add(b2f(m.Reopens > 0), c.week(*m.SolvedAt), l, true)
	}

	// Backlog: open at the end of the period (overall) and of each week.
	bl := tg.Get(rules.KPIBacklogAge)
	if slices.Contains(bl.Priorities, t.Priority) {
		age := time.Duration(bl.Days * float64(24*time.Hour))
		openAt := func(at time.Time) bool {
			if !t.CreatedAt.Before(at) {
				return false
			}
			if t.Open() {
				return true
			}
			return t.Metrics != nil && t.Metrics.SolvedAt != nil && t.Metrics.SolvedAt.After(at)
		}
		cn := c.counters[rules.KPIBacklogAge]
		if openAt(now) {
			cn.add(b2f(now.Sub(t.CreatedAt) > age), -1, l, true)
		}
		for i, w := range c.weeks {
			if openAt(w.End) {
				cn.add(b2f(w.End.Sub(t.CreatedAt) > age), i, l, false)
			}
		}
	}
}

// firstResponse reports whether t met its first-response target, and
// whether it is measured at all: a priority without a target is not, nor
// is a ticket still unanswered within its target.
func (c *computer) firstResponse(t *cxaudit.Ticket) (met, measured bool) {
	target, ok := c.opt.Targets.Get(rules.KPIFirstResponse).Minutes[t.Priority]
	if !ok {
		return false, false
	}
	if t.Metrics != nil && t.Metrics.ReplyTimeCalendarMinutes != nil {
		return float64(*t.Metrics.ReplyTimeCalendarMinutes) <= target, true
	}
	if c.opt.Now.Sub(t.CreatedAt).Minutes() > target {
		return false, true
	}
	return false, false
}

// cadence reports whether t's public agent updates, from the first one
// on, never lapsed past its priority's cadence, and whether it is
// measured: a priority without a cadence is not, nor is a ticket without a
// public agent reply (first response covers that). The time runs until the
// ticket was solved, or now while it is new or open; a pending or held
// ticket waits on someone else, so its last lapse is not counted.
func (c *computer) cadence(t *cxaudit.Ticket) (met, measured bool) {
	hours, ok := c.opt.Targets.Get(rules.KPIUpdateCadence).Hours[t.Priority]
	if !ok {
		return false, false
	}
	var replies []time.Time
	for i := range t.Comments {
		if cm := &t.Comments[i]; cm.Public && cm.ByAgent && !cm.ByCXAudit {
			replies = append(replies, cm.CreatedAt)
		}
	}
	if len(replies) == 0 {
		return false, false
	}
	slices.SortFunc(replies, func(a, b time.Time) int { return a.Compare(b) })
	switch {
	case t.Metrics != nil && t.Metrics.SolvedAt != nil && !t.Open():
		replies = append(replies, *t.Metrics.SolvedAt)
	case t.Status == cxaudit.StatusNew || t.Status == cxaudit.StatusOpen:
		replies = append(replies, c.opt.Now)
	}
	limit := time.Duration(hours * float64(time.Hour))
	for i := 1; i < len(replies); i++ {
		if replies[i].Sub(replies[i-1]) > limit {
			return false, true
		}
	}
	return true, true
}

func (c *computer) accounts(ctx context.Context) error {
	tg := c.opt.Targets
	last := len(c.weeks) - 1
	var after string
	for {
		page, err := c.st.AccountsAfter(ctx, after, c.opt.PageSize)
		if err != nil {
			return fmt.Errorf("report: read accounts: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		for i := range page {
			a := &page[i]
			if c.opt.Tenant != nil {
				c.opt.Tenant.Account(a)
			}
			l := labels{"", "", cmp.Or(a.Tier, "none"), cmp.Or(a.OwnerID, "none")}
			c.counters[rules.KPIOwnerActive].add(b2f(a.OwnerActive), last, l, true)
			if a.IsCustomer {
				c.counters[rules.KPIRenewalDate].add(b2f(a.RenewalDate != nil), last, l, true)
			}
			sp := tg.Get(rules.KPIExecSponsor)
			if slices.Contains(sp.Tiers, a.Tier) {
				has := false
				for _, ct := range a.Contacts {
					for _, role := range ct.Roles {
						has = has || slices.Contains(sp.Roles, role)
					}
				}
				c.counters[rules.KPIExecSponsor].add(b2f(has), last, l, true)
			}
		}
		after = page[len(page)-1].ID
	}
}

func (c *computer) organizations(ctx context.Context) error {
	last := len(c.weeks) - 1
	var after int64
	for {
		page, err := c.st.OrganizationsAfter(ctx, after, c.opt.PageSize)
		if err != nil {
			return fmt.Errorf("report: read organizations: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		for _, o := range page {
			linked := o.ExternalID != ""
			c.counters[rules.KPIOrgLinked].add(b2f(linked), last, labels{}, true)
		}
		after = page[len(page)-1].ID
	}
}

// hasDims says which dimensions a KPI is broken down by.
func hasDims(name string) [4]bool {
	switch name {
	case rules.KPIOwnerActive, rules.KPIRenewalDate, rules.KPIExecSponsor:
		return [4]bool{false, false, true, true}
	case rules.KPIOrgLinked:
		return [4]bool{}
	}
	return [4]bool{true, true, true, true}
}

func (c *computer) kpi(ctx context.Context, name string) (KPI, error) {
	tg := c.opt.Targets.Get(name)
	meta := titles[name]
	k := KPI{Name: name, Title: meta.title, Unit: meta.unit, Measures: meta.measures}
	switch {
	case tg.Min != nil:
		k.Target = &Bound{Op: ">=", Value: *tg.Min}
	case tg.Max != nil:
		k.Target = &Bound{Op: "<=", Value: *tg.Max}
	}
	cn := c.counters[name]
	k.Figure = figure(cn.all, tg)
	for _, w := range cn.weekly {
		k.Weekly = append(k.Weekly, figure(w, tg))
	}
	dims := hasDims(name)
	out := [4]*[]Slice{&k.ByPriority, &k.ByGroup, &k.ByTier, &k.ByOwner}
	for i, m := range cn.dims {
		if !dims[i] {
			continue
		}
		keys := make([]string, 0, len(m))
		for key := range m {
			keys = append(keys, key)
		}
		slices.Sort(keys)
		s := []Slice{}
		for _, key := range keys {
			s = append(s, Slice{Key: key, Figure: figure(*m[key], tg)})
		}
		*out[i] = s
	}
	k.Findings = Findings{Rules: slices.Clone(tg.Rules), Items: []FindingRef{}}
	if k.Findings.Rules == nil {
		k.Findings.Rules = []string{}
	}
	for _, id := range tg.Rules {
		// Open findings, acknowledged ones included (as cxaudit_findings_open
		// counts them): an acknowledged miss is still a miss.
		var fs []cxaudit.Finding
		for _, status := range []cxaudit.FindingStatus{cxaudit.FindingOpen, cxaudit.FindingAcknowledged} {
			got, err := c.st.ListFindings(ctx, store.FindingFilter{Status: status, RuleID: id})
			if err != nil {
				return k, fmt.Errorf("report: read the findings of %s: %w", id, err)
			}
			fs = append(fs, got...)
		}
		k.Findings.Open += len(fs)
		for _, f := range fs {
			if len(k.Findings.Items) >= c.opt.FindingsPerKPI {
				break
			}
			k.Findings.Items = append(k.Findings.Items, FindingRef{Fingerprint: f.Fingerprint, RuleID: f.RuleID, Title: f.Title,
				Severity: string(f.Severity), EntityKind: string(f.EntityKind), EntityID: f.EntityID, Message: f.Message})
		}
	}
	return k, nil
}

func figure(t tally, tg *rules.Target) Figure {
	f := Figure{Numerator: round(t.num, 4), Denominator: t.den}
	if t.den == 0 {
		return f
	}
	v := round(t.num/float64(t.den), 4)
	f.Value = &v
	if met, ok := tg.Met(v); ok {
		f.Met = &met
	}
	return f
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
