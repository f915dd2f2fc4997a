package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseSweep(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("Sweep", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var ts []cxaudit.Ticket
		for i := range 7 {
			tk := ticket(int64(i+1), now)
			if i == 3 {
				tk.Status = cxaudit.StatusSolved
			}
			ts = append(ts, tk)
		}
		require.NoError(t, s.UpsertTickets(ctx, ts))
		require.NoError(t, s.UpsertOrganizations(ctx, []cxaudit.Organization{{ID: 9, UpdatedAt: now}, {ID: 10, UpdatedAt: now}}))
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{{ID: "001B", SystemModstamp: now}, {ID: "001A", SystemModstamp: now}}))

		sw, err := s.GetSweep(ctx)
		require.NoError(t, err)
		require.Equal(t, store.Sweep{}, sw, "no sweep before one is asked for")
		require.NoError(t, s.RequestSweep(ctx))
		sw, err = s.GetSweep(ctx)
		require.NoError(t, err)
		require.Equal(t, store.Sweep{Due: true}, sw)

		// Open tickets by id, in pages; the solved one is left out.
		page, err := s.OpenTicketsAfter(ctx, 0, 3)
		require.NoError(t, err)
		require.Equal(t, []int64{1, 2, 3}, ticketIDs(page))
		want, err := s.Ticket(ctx, 2)
		require.NoError(t, err)
		require.Equal(t, want, page[1], "tickets come with what Ticket reads")
		page, err = s.OpenTicketsAfter(ctx, 3, 3)
		require.NoError(t, err)
		require.Equal(t, []int64{5, 6, 7}, ticketIDs(page))
		// Organizations numerically (10 after 9), accounts by id.
		orgs, err := s.SweepKeysAfter(ctx, cxaudit.EntityOrganization, "", 10)
		require.NoError(t, err)
		require.Equal(t, []store.EntityKey{{Kind: cxaudit.EntityOrganization, ID: "9"}, {Kind: cxaudit.EntityOrganization, ID: "10"}}, orgs)
		orgs, err = s.SweepKeysAfter(ctx, cxaudit.EntityOrganization, "9", 10)
		require.NoError(t, err)
		require.Equal(t, []store.EntityKey{{Kind: cxaudit.EntityOrganization, ID: "10"}}, orgs)
		accs, err := s.SweepKeysAfter(ctx, cxaudit.EntityAccount, "001A", 10)
		require.NoError(t, err)
		require.Equal(t, []store.EntityKey{{Kind: cxaudit.EntityAccount, ID: "001B"}}, accs)
		_, err = s.SweepKeysAfter(ctx, cxaudit.EntityOrganization, "x", 10)
		require.Equal(t, cxaudit.EINVALID, cxaudit.ErrorCode(err))

		// The position survives; a request made while the sweep runs is met
		// by it; finishing clears the position.
		pos := store.EntityKey{Kind: cxaudit.EntityOrganization, ID: "9"}
		require.NoError(t, s.SaveSweepPosition(ctx, pos))
		require.NoError(t, s.RequestSweep(ctx))
		sw, err = s.GetSweep(ctx)
		require.NoError(t, err)
		require.Equal(t, store.Sweep{Due: true, Position: pos}, sw)
		require.NoError(t, s.FinishSweep(ctx))
		sw, err = s.GetSweep(ctx)
		require.NoError(t, err)
		require.Equal(t, store.Sweep{}, sw)
		require.NoError(t, s.RequestSweep(ctx))
		sw, err = s.GetSweep(ctx)
		require.NoError(t, err)
		require.True(t, sw.Due, "a request right after a finish is not lost within the same millisecond")
	})
}
