package rules

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// now is a Wednesday afternoon, UTC.
var now = time.Date(2025, 3, 12, 15, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func daysAgo(d float64) time.Time { return now.Add(-time.Duration(d * 24 * float64(time.Hour))) }

// ticket returns an open P3 ticket created an hour ago that an agent
// answered after ten minutes.
func ticket(mods ...func(*cxaudit.Ticket)) *cxaudit.Ticket {
	created := now.Add(-time.Hour)
	t := &cxaudit.Ticket{
		ID: 42, Subject: "Question about invoice line items", Description: "Question about invoice line items. Please advise.",
		Status: cxaudit.StatusOpen, Priority: cxaudit.PriorityNormal, Tags: []string{"billing"},
		CreatedAt: created, UpdatedAt: created.Add(10 * time.Minute),
		Metrics: &cxaudit.TicketMetrics{ReplyTimeCalendarMinutes: ptr[int64](10), ReplyTimeBusinessMinutes: ptr[int64](10), Replies: 1},
		Comments: []cxaudit.Comment{
			{ID: 1, Public: true, Body: "Question about invoice line items. Please advise.", CreatedAt: created},
			{ID: 2, Public: true, ByAgent: true, Body: "Looking into it.", CreatedAt: created.Add(10 * time.Minute)},
		},
	}
	for _, m := range mods {
		m(t)
	}
	return t
}

// pending is a pending ticket whose last human comment was at last; cxaudit
// noted it an hour ago, which must not count as activity.
func pending(last time.Time) *cxaudit.Ticket {
	return ticket(func(t *cxaudit.Ticket) {
		t.Status, t.CreatedAt = cxaudit.StatusPending, last.Add(-time.Hour)
		t.Comments = []cxaudit.Comment{
			{ID: 1, Public: true, Body: "Please send logs.", CreatedAt: last, ByAgent: true},
			{ID: 2, Body: "cxaudit:abc note", CreatedAt: now.Add(-time.Hour), ByCXAudit: true},
		}
		t.UpdatedAt = now.Add(-time.Hour)
	})
}

// account returns a healthy, well-kept Growth account.
func account(mods ...func(*cxaudit.Account)) *cxaudit.Account {
	a := &cxaudit.Account{
		ID: "001000000000000001", Name: "Acme Labs", OwnerID: "005000000000000001", OwnerActive: true,
		Website: "https://www.acme.example.com", Type: "Customer", IsCustomer: true, Tier: "Growth", Health: "Green",
		RenewalDate: ptr(now.AddDate(0, 6, 0)),
		Contacts:    []cxaudit.Contact{{ID: "003000000000000001", Name: "Ada Okafor", Title: "CTO"}},
	}
	for _, m := range mods {
		m(a)
	}
	return a
}

func organization(linked bool) *cxaudit.Organization {
	o := &cxaudit.Organization{ID: 360000001, Name: "Acme Labs", DomainNames: []string{"acme.example.com"}}
	if linked {
		o.ExternalID = "001000000000000001"
	}
	return o
}

func urgentTickets(n int, age float64) []cxaudit.Ticket {
	var ts []cxaudit.Ticket
	for i := range n {
		ts = append(ts, cxaudit.Ticket{ID: int64(100 + i), Priority: cxaudit.PriorityUrgent, Status: cxaudit.StatusOpen, CreatedAt: daysAgo(age)})
	}
	return ts
}

const completePacket = `Escalating to Tier 3 engineering.
Impact: 40 users in the customer's production tenant cannot export reports; blocks month-end close.
Steps to reproduce: 1. open Reports 2. choose Export CSV. Expected: file downloads. Actual: spinner, then error 500.
First seen 2025-03-12T11:00:00Z, again at 2025-03-12T13:00:00Z.
Request ID: req-0a1b2c3d
Environment: tenant eu-west-1, Chrome 131 on macOS 15, app version 4.12.3, Okta SSO.
Logs: HAR file and server logs attached; already tried clearing cache and another browser.`

func escalated(packet string) func(*cxaudit.Ticket) {
	return func(t *cxaudit.Ticket) {
		t.Tags = append(t.Tags, "escalated")
		t.Comments = append(t.Comments, cxaudit.Comment{ID: 9, ByAgent: true, Body: packet, CreatedAt: now.Add(-time.Minute)})
	}
}

type ruleCase struct {
	rule     string
	kind     cxaudit.EntityKind
	fires    Input
	silent   Input
	contains string // in the message of the positive case
}

func defaultRuleCases() []ruleCase {
	tk := func(t *cxaudit.Ticket) Input {
		return Input{Now: now, Ticket: t, Organization: organization(true), Account: account()}
	}
	withAccount := func(in Input, a *cxaudit.Account) Input { in.Account = a; return in }
	acc := func(a *cxaudit.Account, tickets []cxaudit.Ticket) Input {
		return Input{Now: now, Account: a, Organization: organization(true), Tickets: tickets}
	}
	outage := func(t *cxaudit.Ticket) {
		t.Subject = "Production is down for all users"
		t.Description = t.Subject + ". This affects our whole team."
	}
	return []ruleCase{
		{
			rule: "crm.account_owner_inactive", kind: cxaudit.EntityAccount,
			fires:    acc(account(func(a *cxaudit.Account) { a.OwnerActive = false }), nil),
			silent:   acc(account(), nil),
			contains: "inactive user 005000000000000001",
		},
		{
			rule: "crm.renewal_date_missing", kind: cxaudit.EntityAccount,
			fires:    acc(account(func(a *cxaudit.Account) { a.RenewalDate = nil }), nil),
			silent:   acc(account(), nil),
			contains: "Acme Labs (Growth tier) has no renewal date",
		},
		{
			rule: "crm.enterprise_no_stakeholders", kind: cxaudit.EntityAccount,
			fires:    acc(account(func(a *cxaudit.Account) { a.Tier, a.Contacts = "Enterprise", nil }), nil),
			silent:   acc(account(func(a *cxaudit.Account) { a.Tier = "Enterprise" }), nil),
			contains: "Enterprise account Acme Labs has no contacts",
		},
		{
			rule: "crm.organization_unlinked", kind: cxaudit.EntityOrganization,
			fires:    Input{Now: now, Organization: organization(false), Account: account()},
			silent:   Input{Now: now, Organization: organization(true), Account: account()},
			contains: "set external_id to 001000000000000001",
		},
		{
			rule: "severity.impact_language_low_priority", kind: cxaudit.EntityTicket,
			fires:    tk(ticket(outage)),
			silent:   tk(ticket(outage, func(t *cxaudit.Ticket) { t.Priority = cxaudit.PriorityHigh })),
			contains: "P3 (normal) but describes high impact (down, all users, production)",
		},
		{
			rule: "severity.urgent_without_sev_tag", kind: cxaudit.EntityTicket,
			fires:    tk(ticket(func(t *cxaudit.Ticket) { t.Priority = cxaudit.PriorityUrgent })),
			silent:   tk(ticket(func(t *cxaudit.Ticket) { t.Priority, t.Tags = cxaudit.PriorityUrgent, []string{"api", "sev2"} })),
			contains: "tags: billing",
		},
		{
			rule: "severity.enterprise_outage_not_urgent", kind: cxaudit.EntityTicket,
			fires:    withAccount(tk(ticket(outage)), account(func(a *cxaudit.Account) { a.Tier = "Enterprise" })),
			silent:   tk(ticket(outage)),
			contains: "on a P3 (normal) ticket",
		},
		{
			rule: "backlog.p2_p3_stale", kind: cxaudit.EntityTicket,
			fires:    tk(ticket(func(t *cxaudit.Ticket) { t.Priority, t.CreatedAt = cxaudit.PriorityHigh, daysAgo(20.5) })),
			silent:   tk(ticket(func(t *cxaudit.Ticket) { t.Priority, t.CreatedAt = cxaudit.PriorityLow, daysAgo(20.5) })),
			contains: "P2 (high) ticket has been open for 20 days",
		},
		{
			rule: "backlog.pending_untouched", kind: cxaudit.EntityTicket,
			fires:    tk(pending(daysAgo(6))),
			silent:   tk(pending(daysAgo(2))),
			contains: "pending for 6 days",
		},
		{
			rule: "backlog.first_response_missed", kind: cxaudit.EntityTicket,
			fires: tk(ticket(func(t *cxaudit.Ticket) {
				t.Priority, t.CreatedAt, t.Metrics, t.Comments = cxaudit.PriorityUrgent, now.Add(-40*time.Minute), nil, t.Comments[:1]
			})),
			silent:   tk(ticket(func(t *cxaudit.Ticket) { t.Priority = cxaudit.PriorityUrgent })),
			contains: "P1 first-response target is 15 min; no agent has replied after 40 min",
		},
		{
			// Answered late: a fact for the lead, not an item for the agent.
			rule: "backlog.first_response_late", kind: cxaudit.EntityTicket,
			fires: tk(ticket(func(t *cxaudit.Ticket) {
				t.Priority, t.Metrics.ReplyTimeCalendarMinutes = cxaudit.PriorityUrgent, ptr[int64](200)
			})),
			silent:   tk(ticket(func(t *cxaudit.Ticket) { t.Priority = cxaudit.PriorityUrgent })),
			contains: "P1 first-response target is 15 min; the first reply took 3 h 20 min.",
		},
		{
			rule: "backlog.p1_p2_update_overdue", kind: cxaudit.EntityTicket,
			fires: tk(ticket(func(t *cxaudit.Ticket) {
				t.Priority, t.CreatedAt = cxaudit.PriorityHigh, now.Add(-6*time.Hour)
				t.Comments[1].CreatedAt = now.Add(-5 * time.Hour)
				// cxaudit's own note is no update to the customer.
				t.Comments = append(t.Comments, cxaudit.Comment{ID: 3, Public: true, ByAgent: true, ByCXAudit: true, CreatedAt: now})
			})),
			silent:   tk(ticket(func(t *cxaudit.Ticket) { t.Priority = cxaudit.PriorityHigh })),
			contains: "last public update to the customer was 5 h 0 min ago (cadence 4 h)",
		},
		{
			rule: "escalation.incomplete_packet", kind: cxaudit.EntityTicket,
			fires:    tk(ticket(escalated("Escalating to Tier 3 engineering. Request ID: req-0a1b2c3d"))),
			silent:   tk(ticket(escalated(completePacket))),
			contains: "scores 0.8/5 (target 4.5). Missing: scope and impact, reproduction steps, UTC timestamps, environment, logs, screenshots or what was tried",
		},
		{
			rule: "escalation.no_request_id", kind: cxaudit.EntityTicket,
			// Only on an otherwise complete packet: a packet missing parts
			// is escalation.incomplete_packet's one item.
			fires:    tk(ticket(escalated(strings.Replace(completePacket, "Request ID: req-0a1b2c3d\n", "", 1)))),
			silent:   tk(ticket(escalated("Escalating: customer cannot export, error 500 in Chrome."))),
			contains: "Escalated P3 ticket has no request ID",
		},
		{
			rule: "cross.urgent_ticket_renewal_soon", kind: cxaudit.EntityTicket,
			fires: withAccount(tk(ticket(func(t *cxaudit.Ticket) { t.Priority = cxaudit.PriorityUrgent })),
				account(func(a *cxaudit.Account) { a.RenewalDate = ptr(now.AddDate(0, 0, 30)) })),
			silent:   tk(ticket(func(t *cxaudit.Ticket) { t.Priority = cxaudit.PriorityUrgent })),
			contains: "renews in 30 days (2025-04-11)",
		},
		{
			rule: "cross.green_health_urgent_tickets", kind: cxaudit.EntityAccount,
			fires:    acc(account(), urgentTickets(3, 10)),
			silent:   acc(account(), slices.Concat(urgentTickets(2, 10), urgentTickets(5, 45))),
			contains: "filed 3 urgent tickets in the last 30 days",
		},
	}
}

func loadDefaults(t testing.TB) *Set {
	t.Helper()
	s, err := LoadDir("../../rules")
	require.NoError(t, err)
	return s
}

func matched(ms []Match, id string) (string, bool) {
	for _, m := range ms {
		if m.Rule.ID == id {
			return m.Message, true
		}
	}
	return "", false
}

func TestDefaultRules(t *testing.T) {
	t.Parallel()
	s := loadDefaults(t)
	for _, tc := range defaultRuleCases() {
		t.Run(tc.rule, func(t *testing.T) {
			t.Parallel()
			r := s.Rule(tc.rule)
			require.NotNil(t, r, "no such rule")
			require.Equal(t, tc.kind, r.Entity)

			ms, errs := s.Evaluate(tc.kind, tc.fires)
			require.Empty(t, errs)
			msg, ok := matched(ms, tc.rule)
			require.True(t, ok, "rule should fire on the positive case")
			require.Contains(t, msg, tc.contains)

			ms, errs = s.Evaluate(tc.kind, tc.silent)
			require.Empty(t, errs)
			_, ok = matched(ms, tc.rule)
			require.False(t, ok, "rule should not fire on the negative case")
		})
	}
}

// TestDefaultRulePack checks the pack's shape: enough rules in every
// category, all enforced, with the actions their entity allows.
func TestDefaultRulePack(t *testing.T) {
	t.Parallel()
	s := loadDefaults(t)
	require.GreaterOrEqual(t, len(s.Rules()), 20)
	perCategory := map[cxaudit.Category]int{}
	for _, r := range s.Rules() {
		perCategory[r.Category]++
		require.Equal(t, cxaudit.ModeEnforce, r.Mode, r.ID)
		require.Len(t, r.Version, 12, r.ID)
		require.NotEmpty(t, r.Owner, r.ID)
		if r.Audience == AudienceLead {
			// For the scorecard: recorded, never written.
			require.False(t, r.Actions.ZendeskNote || len(r.Actions.ZendeskTags) > 0 || r.Actions.SalesforceTask != nil, r.ID)
			continue
		}
		switch r.Entity {
		case cxaudit.EntityTicket:
			require.True(t, r.Actions.ZendeskNote, r.ID)
			require.Len(t, r.Actions.ZendeskTags, 1, r.ID)
			require.Regexp(t, `^cxaudit_[a-z0-9_]+$`, r.Actions.ZendeskTags[0], r.ID)
		case cxaudit.EntityAccount:
			require.NotNil(t, r.Actions.SalesforceTask, r.ID)
			require.NotEmpty(t, r.Actions.SalesforceTask.Priority, r.ID)
		}
	}
	for _, c := range cxaudit.Categories {
		require.GreaterOrEqual(t, perCategory[c], 2, c)
	}
	require.Len(t, s.Version(), 12)
}
