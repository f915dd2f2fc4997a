package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseAccounts(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("ChildDeletions", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{{ID: "001A", Name: "Acme", SystemModstamp: now}}))
		require.NoError(t, s.UpsertContacts(ctx, []cxaudit.Contact{
			{ID: "003A", AccountID: "001A", Name: "Ada", SystemModstamp: now}, {ID: "003B", AccountID: "001A", Name: "Bo", SystemModstamp: now}}))
		require.NoError(t, s.UpsertOpportunities(ctx, []cxaudit.Opportunity{
			{ID: "006A", AccountID: "001A", Name: "New", SystemModstamp: now}, {ID: "006B", AccountID: "001A", Name: "Renewal", SystemModstamp: now}}))
		require.NoError(t, s.UpsertContactRelations(ctx, []cxaudit.ContactRelation{
			{ID: "07kA", AccountID: "001A", ContactID: "003A", Roles: []string{"Executive Sponsor"}, IsActive: true, SystemModstamp: now},
			{ID: "07kB", AccountID: "001A", ContactID: "003B", Roles: []string{"Decision Maker"}, IsActive: true, SystemModstamp: now}}))
		a, err := s.Account(ctx, "001A")
		require.NoError(t, err)
		require.Len(t, a.Contacts, 2)
		require.Len(t, a.Opportunities, 2)
		for _, c := range a.Contacts {
			require.NotEmpty(t, c.Roles, "contact %s has the roles of its relation", c.ID)
		}

		// Each goes on its own; the account and the others stay.
		require.NoError(t, s.DeleteContacts(ctx, []string{"003B"}))
		require.NoError(t, s.DeleteOpportunities(ctx, []string{"006A"}))
		require.NoError(t, s.DeleteContactRelations(ctx, []string{"07kA"}))
		for _, del := range []func(context.Context, []string) error{s.DeleteContacts, s.DeleteOpportunities, s.DeleteContactRelations} {
			require.NoError(t, del(ctx, nil), "nothing to delete is no error")
		}
		a, err = s.Account(ctx, "001A")
		require.NoError(t, err)
		require.Len(t, a.Contacts, 1)
		require.Equal(t, "003A", a.Contacts[0].ID)
		require.Empty(t, a.Contacts[0].Roles, "its relation is gone")
		require.Len(t, a.Opportunities, 1)
		require.Equal(t, "006B", a.Opportunities[0].ID)
	})
}
