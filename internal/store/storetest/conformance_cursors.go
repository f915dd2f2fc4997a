package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseCursors(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("CursorRoundTrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c, err := s.GetCursor(ctx, cxaudit.SourceZendesk, "tickets")
		require.NoError(t, err)
		require.Equal(t, store.Cursor{}, c, "an unknown cursor is the zero cursor")

		want := store.Cursor{Value: "abc", CompletedAt: now, UpdatedAt: now}
		require.NoError(t, s.PutCursor(ctx, cxaudit.SourceZendesk, "tickets", want))
		want.Value = "def"
		require.NoError(t, s.PutCursor(ctx, cxaudit.SourceZendesk, "tickets", want))
		got, err := s.GetCursor(ctx, cxaudit.SourceZendesk, "tickets")
		require.NoError(t, err)
		require.Equal(t, want, got)
	})

	t.Run("TxRollsBackRowsAndCursorTogether", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		boom := errors.New("boom")
		err := s.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			require.NoError(t, q.UpsertTickets(ctx, []cxaudit.Ticket{ticket(1, now)}))
			require.NoError(t, q.PutCursor(ctx, cxaudit.SourceZendesk, "tickets", store.Cursor{Value: "c1"}))
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = s.Ticket(ctx, 1)
		require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err))
		c, err := s.GetCursor(ctx, cxaudit.SourceZendesk, "tickets")
		require.NoError(t, err)
		require.Empty(t, c.Value)

		require.NoError(t, s.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			if err := q.UpsertTickets(ctx, []cxaudit.Ticket{ticket(1, now)}); err != nil {
				return err
			}
			return q.PutCursor(ctx, cxaudit.SourceZendesk, "tickets", store.Cursor{Value: "c1"})
		}))
		_, err = s.Ticket(ctx, 1)
		require.NoError(t, err)
	})
}
