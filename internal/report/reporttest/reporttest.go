// Package reporttest holds the small hand-built dataset the scorecard's
// tests work out their expected figures on (see internal/report's tests
// for the figures).
package reporttest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

// Now and Since of the hand-built dataset: two weeks,
// W0 [11-16 12:00, 11-23 12:00) and W1 [11-23 12:00, 11-30 12:00).
var (
	Now   = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	Since = Now.AddDate(0, 0, -14)
	now   = Now
)

func at(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, time.UTC)
}

func tp(t time.Time) *time.Time { return &t }
func ip(v int64) *int64         { return &v }

func agent(id int64, t time.Time) cxaudit.Comment {
	return cxaudit.Comment{ID: id, AuthorID: 9, Public: true, Body: "update", CreatedAt: t}
}

// Seed writes the dataset the expected figures below are worked out on.
func Seed(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	tk := func(id int64, prio, status string, created time.Time) cxaudit.Ticket {
		return cxaudit.Ticket{ID: id, Subject: "ticket", Status: status, Priority: prio, CreatedAt: created, UpdatedAt: created, Metrics: &cxaudit.TicketMetrics{}}
	}
	// T1 P1, W1: answered in 10 min, solved; its updates lapsed 70 min > 1 h.
	t1 := tk(1, cxaudit.PriorityUrgent, cxaudit.StatusSolved, at(11, 25, 10, 0))
	t1.GroupID = 7
	t1.Metrics.ReplyTimeCalendarMinutes, t1.Metrics.SolvedAt = ip(10), tp(at(11, 25, 12, 0))
	t1.UpdatedAt = at(11, 25, 12, 0)
	// T2 P1, W1, org 100: answered in 20 min (missed), open, no update since.
	t2 := tk(2, cxaudit.PriorityUrgent, cxaudit.StatusOpen, at(11, 26, 9, 0))
	t2.OrganizationID = 100
	t2.Metrics.ReplyTimeCalendarMinutes = ip(20)
	// T3 P2, W0: answered in 30 min, updates every 1.5 h, solved, reopened once.
	t3 := tk(3, cxaudit.PriorityHigh, cxaudit.StatusSolved, at(11, 18, 9, 0))
	t3.Metrics.ReplyTimeCalendarMinutes, t3.Metrics.SolvedAt, t3.Metrics.Reopens = ip(30), tp(at(11, 18, 12, 0)), 1
	t3.UpdatedAt = at(11, 18, 12, 0)
	// T4 P3, W1, org 200: no reply after days (missed).
	t4 := tk(4, cxaudit.PriorityNormal, cxaudit.StatusNew, at(11, 27, 8, 0))
	t4.OrganizationID = 200
	// T5 P3, 2 h ago: no reply yet, within its 4 h: not measured.
	t5 := tk(5, cxaudit.PriorityNormal, cxaudit.StatusNew, at(11, 30, 10, 0))
	// T6 P2, created before the period, still open: backlog over 14 days.
	t6 := tk(6, cxaudit.PriorityHigh, cxaudit.StatusOpen, at(11, 1, 9, 0))
	// T7 P3, created before the period, solved in W0.
	t7 := tk(7, cxaudit.PriorityNormal, cxaudit.StatusSolved, at(11, 10, 9, 0))
	t7.Metrics.SolvedAt, t7.UpdatedAt = tp(at(11, 20, 9, 0)), at(11, 20, 9, 0)
	// T8 P3, W1, org 100: answered in 100 min, open, escalated with 3 of 6 parts (2.5).
	t8 := tk(8, cxaudit.PriorityNormal, cxaudit.StatusOpen, at(11, 24, 9, 0))
	t8.OrganizationID = 100
	t8.Metrics.ReplyTimeCalendarMinutes = ip(100)
	t8.Tags = []string{"escalated"}
	t8.Description = "Impact: all users blocked. Steps to reproduce: open the page. Browser: Chrome."
	// T9 P1, W0: answered in 5 min, closed, escalated with an empty packet (0).
	t9 := tk(9, cxaudit.PriorityUrgent, cxaudit.StatusClosed, at(11, 17, 10, 0))
	t9.Metrics.ReplyTimeCalendarMinutes, t9.Metrics.SolvedAt = ip(5), tp(at(11, 17, 11, 0))
	t9.UpdatedAt = at(11, 17, 11, 0)
	t9.Tags = []string{"escalated"}
	t9.Description = "Production login fails."
	// T10: solved long before the period and not touched since: not read.
	t10 := tk(10, cxaudit.PriorityUrgent, cxaudit.StatusSolved, at(10, 1, 9, 0))
	t10.Metrics.ReplyTimeCalendarMinutes, t10.Metrics.SolvedAt = ip(500), tp(at(10, 1, 19, 0))
	// User 9 is the agent; 1 the requester. Whether a comment is an
	// agent's comes from the users (a stored comment's by_agent is not
	// trusted): a requester's public comment is no update.
	require.NoError(t, st.UpsertUsers(ctx, []cxaudit.User{{ID: 9, Name: "Agent", Role: "agent", UpdatedAt: now}, {ID: 1, Name: "Requester", Role: "end-user", UpdatedAt: now}}))
	require.NoError(t, st.UpsertTickets(ctx, []cxaudit.Ticket{t1, t2, t3, t4, t5, t6, t7, t8, t9, t10}))
	for id, cs := range map[int64][]cxaudit.Comment{
		1: {agent(11, at(11, 25, 10, 10)), agent(12, at(11, 25, 10, 50)),
			{ID: 13, AuthorID: 1, Public: true, ByAgent: true, Body: "any news?", CreatedAt: at(11, 25, 11, 30)}},
		2: {agent(21, at(11, 26, 9, 20)), {ID: 22, AuthorID: 1, Public: false, ByCXAudit: true, Body: "cxaudit note", CreatedAt: at(11, 27, 9, 0)}},
		3: {agent(31, at(11, 18, 9, 30)), agent(32, at(11, 18, 11, 0))},
		9: {agent(91, at(11, 17, 10, 5)), agent(92, at(11, 17, 10, 50))},
	} {
		require.NoError(t, st.PutComments(ctx, id, cs))
	}
	require.NoError(t, st.UpsertOrganizations(ctx, []cxaudit.Organization{
		{ID: 100, Name: "Acme", ExternalID: "001A", UpdatedAt: now}, {ID: 200, Name: "Unlinked", UpdatedAt: now}}))
	require.NoError(t, st.UpsertAccounts(ctx, []cxaudit.Account{
		{ID: "001A", Name: "Acme", OwnerID: "005A", OwnerActive: true, Tier: "Enterprise", IsCustomer: true, RenewalDate: tp(at(12, 31, 0, 0)), SystemModstamp: now},
		{ID: "001B", Name: "Beta", OwnerID: "005B", OwnerActive: false, Tier: "Enterprise", IsCustomer: true, SystemModstamp: now},
		{ID: "001C", Name: "Gamma", OwnerID: "005A", OwnerActive: true, Tier: "SMB", SystemModstamp: now},
	}))
	require.NoError(t, st.UpsertContacts(ctx, []cxaudit.Contact{
		{ID: "003A", AccountID: "001A", Name: "Ann", SystemModstamp: now}, {ID: "003B", AccountID: "001B", Name: "Bob", SystemModstamp: now}}))
	require.NoError(t, st.UpsertContactRelations(ctx, []cxaudit.ContactRelation{
		{ID: "07kA", AccountID: "001A", ContactID: "003A", Roles: []string{"Executive Sponsor"}, IsActive: true, SystemModstamp: now},
		{ID: "07kB", AccountID: "001B", ContactID: "003B", Roles: []string{"Influencer"}, IsActive: true, SystemModstamp: now}}))
	f := cxaudit.Finding{Fingerprint: "fp-frt-2", RuleID: "backlog.first_response_missed", RuleVersion: "v", Title: "First-response target missed",
		Category: cxaudit.CategoryBacklogAging, Severity: cxaudit.SeverityHigh, Mode: cxaudit.ModeEnforce, EntityKind: cxaudit.EntityTicket,
		EntityID: "2", Message: "P1 first-response target is 15 min; the first reply took 20 min.", Status: cxaudit.FindingOpen, OpenedAt: now, UpdatedAt: now}
	require.NoError(t, st.PutFinding(ctx, f))
	f.Fingerprint, f.EntityID, f.Status, f.ResolvedAt = "fp-frt-4", "4", cxaudit.FindingResolved, tp(now)
	require.NoError(t, st.PutFinding(ctx, f))
	f.Fingerprint, f.EntityID, f.Status, f.ResolvedAt, f.Message = "fp-cad-2", "2", cxaudit.FindingAcknowledged, nil, "P1 ticket: last public update to the customer was 99 h ago (cadence 1 h)."
	f.RuleID, f.Title = "backlog.p1_p2_update_overdue", "P1/P2 customer update overdue"
	require.NoError(t, st.PutFinding(ctx, f))
}
