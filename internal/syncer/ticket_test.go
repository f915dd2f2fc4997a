package syncer_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/syncer"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// TestSyncTicket: one ticket is read with its comments and stored with the
// organization the store lacked; a copy the store holds with a later
// updated_at is kept (an older read committing last); a ticket Zendesk no
// longer has is left to the deletion sync. Both stores.
func TestSyncTicket(t *testing.T) {
	t.Parallel()
	for name, st := range storetest.Stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := simworld.Generate(simworld.Options{Seed: 3, Accounts: 5, Tickets: 20})
			sim := zendesktest.New(zendesktest.Options{World: w})
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			s := st(t)
			zc := zendeskClient(t, srv.URL, remote.Options{})
			z := &syncer.Zendesk{Client: zc, Store: s, Logger: slog.New(slog.DiscardHandler)}

			var tk cxaudit.Ticket
			for _, x := range w.Tickets {
				if x.OrganizationID != 0 {
					tk = x
					break
				}
			}
			require.NotZero(t, tk.ID)
			sim.AddComment(tk.ID, cxaudit.Comment{AuthorID: tk.RequesterID, Public: true, Body: "any news?"})
			res, err := z.SyncTicket(ctx, tk.ID)
			require.NoError(t, err)
			require.True(t, res.Stored)
			want, _ := sim.Ticket(tk.ID)
			got, err := s.Ticket(ctx, tk.ID)
			require.NoError(t, err)
			require.Equal(t, want.Subject, got.Subject)
			require.Len(t, got.Comments, len(want.Comments))
			require.Equal(t, "any news?", got.Comments[len(got.Comments)-1].Body)
			_, err = s.Organization(ctx, tk.OrganizationID)
			require.NoError(t, err, "the organization the store lacked is stored with the ticket")

			// The store holds a later copy: it stays.
			newer := got
			newer.Subject, newer.UpdatedAt = "newer", want.UpdatedAt.Add(time.Hour)
			require.NoError(t, s.UpsertTickets(ctx, []cxaudit.Ticket{newer}))
			res, err = z.SyncTicket(ctx, tk.ID)
			require.NoError(t, err)
			require.False(t, res.Stored)
			got, err = s.Ticket(ctx, tk.ID)
			require.NoError(t, err)
			require.Equal(t, "newer", got.Subject)

			sim.DeleteTicket(tk.ID)
			res, err = z.SyncTicket(ctx, tk.ID)
			require.NoError(t, err, "a deleted ticket is the deletion sync's")
			require.False(t, res.Stored)
		})
	}
}
