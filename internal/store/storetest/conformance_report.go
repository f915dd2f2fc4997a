package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseReport(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("ReportReads", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		since := now.AddDate(0, 0, -7)
		old := now.AddDate(0, -2, 0)
		var tks []cxaudit.Ticket
		// 1: open, created long ago: measured (the backlog).
		tks = append(tks, ticket(1, old))
		// 2: solved long ago and not touched since: not measured.
		t2 := ticket(2, old)
		t2.Status = cxaudit.StatusSolved
		// 3: created long ago, solved within the period: measured.
		t3 := ticket(3, old)
		t3.Status, t3.UpdatedAt = cxaudit.StatusSolved, now.AddDate(0, 0, -1)
		// 4: closed, created within the period: measured.
		t4 := ticket(4, now.AddDate(0, 0, -2))
		t4.Status = cxaudit.StatusClosed
		tks = append(tks, t2, t3, t4, ticket(5, now))
		require.NoError(t, s.UpsertTickets(ctx, tks))
		require.NoError(t, s.PutComments(ctx, 3, []cxaudit.Comment{{ID: 9, AuthorID: 2, Public: true, Body: "fixed", CreatedAt: now, ByAgent: true}}))
		page, err := s.ReportTicketsAfter(ctx, since, 0, 2)
		require.NoError(t, err)
		require.Equal(t, []int64{1, 3}, ticketIDs(page))
		require.Len(t, page[1].Comments, 1, "with their comments")
		page, err = s.ReportTicketsAfter(ctx, since, 3, 2)
		require.NoError(t, err)
		require.Equal(t, []int64{4, 5}, ticketIDs(page))
		page, err = s.ReportTicketsAfter(ctx, since, 5, 2)
		require.NoError(t, err)
		require.Empty(t, page)

		require.NoError(t, s.UpsertOrganizations(ctx, []cxaudit.Organization{
			{ID: 30, Name: "c", UpdatedAt: now}, {ID: 10, Name: "a", UpdatedAt: now}, {ID: 20, Name: "b", ExternalID: "001B", UpdatedAt: now}}))
		orgs, err := s.OrganizationsAfter(ctx, 0, 2)
		require.NoError(t, err)
		require.Len(t, orgs, 2)
		require.Equal(t, []int64{10, 20}, []int64{orgs[0].ID, orgs[1].ID})
		orgs, err = s.OrganizationsAfter(ctx, 20, 2)
		require.NoError(t, err)
		require.Len(t, orgs, 1)
		require.Equal(t, int64(30), orgs[0].ID)

		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{
			{ID: "001C", Name: "C", SystemModstamp: now}, {ID: "001A", Name: "A", SystemModstamp: now}, {ID: "001B", Name: "B", OwnerActive: true, SystemModstamp: now}}))
		require.NoError(t, s.UpsertContacts(ctx, []cxaudit.Contact{
			{ID: "003X", AccountID: "001B", Name: "X", SystemModstamp: now}, {ID: "003Y", AccountID: "001C", Name: "Y", SystemModstamp: now}}))
		require.NoError(t, s.UpsertContactRelations(ctx, []cxaudit.ContactRelation{
			{ID: "07kX", AccountID: "001B", ContactID: "003X", Roles: []string{"Executive Sponsor"}, IsActive: true, SystemModstamp: now}}))
		accs, err := s.AccountsAfter(ctx, "", 2)
		require.NoError(t, err)
		require.Len(t, accs, 2)
		require.Equal(t, []string{"001A", "001B"}, []string{accs[0].ID, accs[1].ID})
		require.Empty(t, accs[0].Contacts)
		require.Len(t, accs[1].Contacts, 1)
		require.Equal(t, []string{"Executive Sponsor"}, accs[1].Contacts[0].Roles, "with the roles of their relations")
		accs, err = s.AccountsAfter(ctx, "001B", 2)
		require.NoError(t, err)
		require.Len(t, accs, 1)
		require.Equal(t, "Y", accs[0].Contacts[0].Name)
	})

	t.Run("KPISnapshots", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		snaps := []store.KPISnapshot{
			{Day: "2026-11-01", KPI: "crm_owner_active", Numerator: 2, Denominator: 3, TakenAt: now},
			{Day: "2026-11-01", KPI: "first_response", Dimension: "priority", Key: "P1", Numerator: 4, Denominator: 6, TakenAt: now},
			{Day: "2026-11-02", KPI: "escalation_quality", Numerator: 8.7, Denominator: 2, TakenAt: now},
		}
		require.NoError(t, s.PutKPISnapshots(ctx, snaps))
		// A later snapshot of the same day replaces it.
		later := store.KPISnapshot{Day: "2026-11-01", KPI: "crm_owner_active", Numerator: 3, Denominator: 3, TakenAt: now.Add(time.Hour)}
		require.NoError(t, s.PutKPISnapshots(ctx, []store.KPISnapshot{later}))
		got, err := s.KPISnapshots(ctx, "2026-11-01", "2026-11-02")
		require.NoError(t, err)
		require.Equal(t, []store.KPISnapshot{later, snaps[1], snaps[2]}, got)
		got, err = s.KPISnapshots(ctx, "2026-11-02", "2026-11-30")
		require.NoError(t, err)
		require.Equal(t, []store.KPISnapshot{snaps[2]}, got)
	})
}
