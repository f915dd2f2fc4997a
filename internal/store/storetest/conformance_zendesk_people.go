package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseZendeskPeople(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("UsersByIDAndMissingRecords", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		users := []cxaudit.User{
			{ID: 3, Name: "Cy", Email: "cy@example.com", Role: "end-user", OrganizationID: 7, UpdatedAt: now},
			{ID: 1, Name: "Al", Email: "al@example.com", Role: "agent", UpdatedAt: now},
		}
		require.NoError(t, s.UpsertUsers(ctx, users))
		got, err := s.UsersByID(ctx, []int64{3, 99, 1})
		require.NoError(t, err)
		require.Len(t, got, 2, "missing ids are left out")
		require.Equal(t, []int64{1, 3}, []int64{got[0].ID, got[1].ID}, "in id order")
		require.Equal(t, "Cy", got[1].Name)
		require.Equal(t, "cy@example.com", got[1].Email)
		require.Equal(t, int64(7), got[1].OrganizationID)
		require.True(t, got[1].UpdatedAt.Equal(now))
		none, err := s.UsersByID(ctx, nil)
		require.NoError(t, err)
		require.Empty(t, none)

		missing, err := s.MissingUsers(ctx, []int64{5, 1, 0, 5, 99, 3})
		require.NoError(t, err)
		require.Equal(t, []int64{5, 99}, missing, "each once, in the order given, never 0")

		// More ids than one statement takes.
		require.NoError(t, s.UpsertOrganizations(ctx, []cxaudit.Organization{{ID: 2, UpdatedAt: now}, {ID: 1500, UpdatedAt: now}}))
		var ids, want []int64
		for id := int64(1); id <= 2500; id++ {
			ids = append(ids, id)
			if id != 2 && id != 1500 {
				want = append(want, id)
			}
		}
		missing, err = s.MissingOrganizations(ctx, ids)
		require.NoError(t, err)
		require.Equal(t, want, missing)
		missing, err = s.MissingOrganizations(ctx, nil)
		require.NoError(t, err)
		require.Empty(t, missing)
	})
}
