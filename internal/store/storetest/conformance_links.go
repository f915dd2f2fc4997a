package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseLinks(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("OrganizationAccountLinks", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		byID := cxaudit.Organization{ID: 1, Name: "Acme", ExternalID: "001A", DomainNames: []string{"acme.example.com"}, UpdatedAt: now}
		byDomain := cxaudit.Organization{ID: 2, Name: "Blue", DomainNames: []string{"Blue.Example.com"}, UpdatedAt: now}
		unlinked := cxaudit.Organization{ID: 3, Name: "Lost", DomainNames: []string{"lost.example.net"}, UpdatedAt: now}
		require.NoError(t, s.UpsertOrganizations(ctx, []cxaudit.Organization{byID, byDomain, unlinked}))
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{
			{ID: "001A", Name: "Acme", Website: "https://www.acme.example.com", SystemModstamp: now},
			{ID: "001B", Name: "Blue", Website: "http://blue.example.com/home", SystemModstamp: now},
		}))
		require.NoError(t, s.UpsertContacts(ctx, []cxaudit.Contact{{ID: "003A1", AccountID: "001A", Name: "Ada", SystemModstamp: now}}))
		require.NoError(t, s.UpsertOpportunities(ctx, []cxaudit.Opportunity{{ID: "006A1", AccountID: "001A", Name: "Renewal", SystemModstamp: now}}))

		a, err := s.AccountForOrganization(ctx, byID)
		require.NoError(t, err)
		require.Equal(t, "001A", a.ID)
		require.Len(t, a.Contacts, 1)
		require.Len(t, a.Opportunities, 1)

		a, err = s.AccountForOrganization(ctx, byDomain)
		require.NoError(t, err)
		require.Equal(t, "001B", a.ID, "falls back to the website domain")

		_, err = s.AccountForOrganization(ctx, unlinked)
		require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err))

		o, err := s.OrganizationForAccount(ctx, cxaudit.Account{ID: "001A"})
		require.NoError(t, err)
		require.Equal(t, int64(1), o.ID)
		o, err = s.OrganizationForAccount(ctx, cxaudit.Account{ID: "001B", Website: "blue.example.com"})
		require.NoError(t, err)
		require.Equal(t, int64(2), o.ID)

		// Changing the account queues its organizations and their open tickets.
		open, solved := ticket(10, now), ticket(11, now)
		open.OrganizationID, solved.OrganizationID = 2, 2
		solved.Status = cxaudit.StatusSolved
		require.NoError(t, s.UpsertTickets(ctx, []cxaudit.Ticket{open, solved}))
		require.NoError(t, s.QueueAccountDependents(ctx, []string{"001B"}))
		batch, err := s.NextAuditBatch(ctx, 10)
		require.NoError(t, err)
		require.ElementsMatch(t, []store.EntityKey{{Kind: cxaudit.EntityOrganization, ID: "2"}, {Kind: cxaudit.EntityTicket, ID: "10"}}, keysOnly(batch))
	})

	t.Run("AccountLinks", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{
			{ID: "001A", Name: "Acme Labs", Website: "https://www.acme.example.com", SystemModstamp: now},
			{ID: "001B", Name: "Acme Laboratories", Website: "acme.example.com", SystemModstamp: now},
			{ID: "001C", Name: "GLOBEX, Inc.", Website: "https://globex.example.com", SystemModstamp: now},
			{ID: "001D", Name: "Globex GmbH", Website: "https://globex.example.de", SystemModstamp: now},
			{ID: "001E", Name: "Initech", SystemModstamp: now},
		}))
		require.NoError(t, s.UpsertOrganizations(ctx, []cxaudit.Organization{
			{ID: 1, Name: "Acme", ExternalID: "001C", DomainNames: []string{"acme.example.com"}, UpdatedAt: now},
			{ID: 2, Name: "Globex EMEA", DomainNames: []string{"globex.example.com"}, UpdatedAt: now},
		}))
		a, err := s.Account(ctx, "001A")
		require.NoError(t, err)
		require.Equal(t, []cxaudit.AccountRef{{ID: "001B", Name: "Acme Laboratories", Domain: "acme.example.com", Match: "domain"}}, a.Duplicates)
		require.Equal(t, []cxaudit.AccountRef{{ID: "1", Name: "Acme", Match: "domain"}}, a.Organizations)
		c, err := s.Account(ctx, "001C")
		require.NoError(t, err)
		require.Equal(t, []cxaudit.AccountRef{{ID: "001D", Name: "Globex GmbH", Domain: "globex.example.de", Match: "name"}}, c.Duplicates)
		require.Equal(t, []cxaudit.AccountRef{{ID: "1", Name: "Acme", Match: "external_id"}, {ID: "2", Name: "Globex EMEA", Match: "domain"}}, c.Organizations)
		e, err := s.Account(ctx, "001E")
		require.NoError(t, err)
		require.Empty(t, e.Duplicates)
		require.Empty(t, e.Organizations)

		o, err := s.Organization(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, []cxaudit.AccountRef{
			{ID: "001C", Name: "GLOBEX, Inc.", Domain: "globex.example.com", Match: "external_id"},
			{ID: "001A", Name: "Acme Labs", Domain: "acme.example.com", Match: "domain"},
			{ID: "001B", Name: "Acme Laboratories", Domain: "acme.example.com", Match: "domain"},
		}, o.LinkedAccounts)
		orgs, err := s.OrganizationsByID(ctx, []int64{1, 2})
		require.NoError(t, err)
		require.Len(t, orgs[0].LinkedAccounts, 3, "the batch read finds the same")
		require.Equal(t, "001C", orgs[1].LinkedAccounts[0].ID)

		// Batch reads of accounts (through the organizations of tickets)
		// find the same duplicates.
		byOrg, err := s.AccountsForOrganizations(ctx, orgs)
		require.NoError(t, err)
		require.Equal(t, c.Duplicates, byOrg[1].Duplicates)
		require.Equal(t, c.Organizations, byOrg[1].Organizations)

		shared, err := s.AccountsSharingKeys(ctx, []string{"001A", "001D"})
		require.NoError(t, err)
		require.Equal(t, []string{"001B", "001C"}, shared)

		// A rename ends a name match; nothing of it is stored with the account.
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{{ID: "001D", Name: "Umbrella GmbH", Website: "https://globex.example.de", SystemModstamp: now, Duplicates: c.Duplicates}}))
		c, err = s.Account(ctx, "001C")
		require.NoError(t, err)
		require.Empty(t, c.Duplicates)
		d, err := s.Account(ctx, "001D")
		require.NoError(t, err)
		require.Empty(t, d.Duplicates)
		n, err := s.FillAccountKeys(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "every account stored now has its key")
	})

	t.Run("BatchReadsMatchSingleReads", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		orgs := []cxaudit.Organization{
			{ID: 1, Name: "Acme", ExternalID: "001A", DomainNames: []string{"acme.example.com"}, UpdatedAt: now},
			{ID: 2, Name: "Blue", DomainNames: []string{"Blue.Example.com"}, UpdatedAt: now},
			{ID: 3, Name: "Lost", DomainNames: []string{"lost.example.net"}, UpdatedAt: now},
			{ID: 4, Name: "Stale link", ExternalID: "001GONE", DomainNames: []string{"acme.example.com"}, UpdatedAt: now},
		}
		require.NoError(t, s.UpsertOrganizations(ctx, orgs))
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{
			{ID: "001A", Name: "Acme", Website: "https://www.acme.example.com", SystemModstamp: now},
			{ID: "001B", Name: "Blue", Website: "http://blue.example.com/home", SystemModstamp: now},
		}))
		require.NoError(t, s.UpsertContacts(ctx, []cxaudit.Contact{
			{ID: "003A2", AccountID: "001A", Name: "Bo", SystemModstamp: now}, {ID: "003A1", AccountID: "001A", Name: "Ada", SystemModstamp: now},
		}))
		require.NoError(t, s.UpsertOpportunities(ctx, []cxaudit.Opportunity{{ID: "006B1", AccountID: "001B", Name: "Renewal", SystemModstamp: now}}))
		t1, t2, t3 := ticket(10, now), ticket(11, now), ticket(12, now)
		t1.OrganizationID, t3.Status = 1, cxaudit.StatusSolved
		t1.Comments = []cxaudit.Comment{{ID: 1, Body: "hi", CreatedAt: now}}
		require.NoError(t, s.UpsertTickets(ctx, []cxaudit.Ticket{t1, t2, t3}))

		ts, err := s.TicketsByID(ctx, []int64{12, 10, 99})
		require.NoError(t, err)
		require.Len(t, ts, 2, "missing ids are left out")
		for _, got := range ts {
			want, err := s.Ticket(ctx, got.ID)
			require.NoError(t, err)
			require.Equal(t, want, got)
		}
		gotOrgs, err := s.OrganizationsByID(ctx, []int64{3, 1, 2, 4, 99})
		require.NoError(t, err)
		require.Len(t, gotOrgs, 4)
		accs, err := s.AccountsForOrganizations(ctx, gotOrgs)
		require.NoError(t, err)
		for _, o := range gotOrgs {
			want, err := s.AccountForOrganization(ctx, o)
			got, ok := accs[o.ID]
			if cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND {
				require.False(t, ok, "organization %d", o.ID)
				continue
			}
			require.NoError(t, err)
			require.Equal(t, want, got, "organization %d", o.ID)
		}
		require.Equal(t, "001A", accs[4].ID, "a stale external_id falls back to the domain")

		f := cxaudit.Finding{Fingerprint: "fp1", RuleID: "r", RuleVersion: "v", Title: "t", Category: cxaudit.Categories[0],
			Severity: cxaudit.Severities[0], Mode: cxaudit.ModeEnforce, EntityKind: cxaudit.EntityTicket, EntityID: "10", Message: "m",
			Status: cxaudit.FindingOpen, OpenedAt: now, UpdatedAt: now}
		require.NoError(t, s.PutFinding(ctx, f))
		byEntity, err := s.FindingsForEntities(ctx, cxaudit.EntityTicket, []string{"10", "11"})
		require.NoError(t, err)
		want, err := s.FindingsForEntity(ctx, cxaudit.EntityTicket, "10")
		require.NoError(t, err)
		require.Equal(t, map[string][]cxaudit.Finding{"10": want}, byEntity)

		keys, err := s.SweepKeys(ctx)
		require.NoError(t, err)
		require.NoError(t, s.QueueAudit(ctx, keys))
		batch, err := s.NextAuditBatch(ctx, 100)
		require.NoError(t, err)
		require.ElementsMatch(t, keysOnly(batch), keys)
		// DoneAudit keeps entries queued again since they were read.
		require.NoError(t, s.QueueAudit(ctx, keysOnly(batch[:1])))
		require.NoError(t, s.DoneAudit(ctx, batch))
		rest, err := s.NextAuditBatch(ctx, 100)
		require.NoError(t, err)
		require.Equal(t, keysOnly(batch[:1]), keysOnly(rest))
	})
}
