package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseTickets(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("TicketUpsertKeepsComments", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tk := ticket(7, now)
		tk.Comments = []cxaudit.Comment{{ID: 1, AuthorID: 5, Public: true, Body: "hello", CreatedAt: now}}
		reply := int64(12)
		tk.Metrics = &cxaudit.TicketMetrics{ReplyTimeCalendarMinutes: &reply, Replies: 1}
		require.NoError(t, s.UpsertTickets(ctx, []cxaudit.Ticket{tk}))

		// A re-sync from the export carries no comments: the stored ones stay.
		tk2 := ticket(7, now.Add(time.Hour))
		tk2.Status = cxaudit.StatusPending
		tk2.Metrics = tk.Metrics
		require.NoError(t, s.UpsertTickets(ctx, []cxaudit.Ticket{tk2}))
		got, err := s.Ticket(ctx, 7)
		require.NoError(t, err)
		require.Equal(t, cxaudit.StatusPending, got.Status)
		require.Equal(t, tk.Comments, got.Comments)
		require.Equal(t, int64(12), *got.Metrics.ReplyTimeCalendarMinutes)
		require.True(t, got.UpdatedAt.Equal(now.Add(time.Hour)))

		require.NoError(t, s.PutComments(ctx, 7, nil))
		got, err = s.Ticket(ctx, 7)
		require.NoError(t, err)
		require.Empty(t, got.Comments)
		require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(s.PutComments(ctx, 99, nil)))

		n, err := s.CountTickets(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})

	t.Run("DeletionsAndAgents", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// More ids than one statement takes, so the batching is exercised.
		var tickets []cxaudit.Ticket
		var ids []int64
		for i := range 2500 {
			tickets = append(tickets, ticket(int64(i+1), now))
			ids = append(ids, int64(i+1))
		}
		tickets[0].Comments = []cxaudit.Comment{{ID: 1, AuthorID: 5, Body: "gone", CreatedAt: now}}
		require.NoError(t, s.UpsertTickets(ctx, tickets))
		require.NoError(t, s.DeleteTickets(ctx, ids[:2400]))
		n, err := s.CountTickets(ctx)
		require.NoError(t, err)
		require.Equal(t, 100, n)
		_, err = s.Ticket(ctx, 1)
		require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err))
		require.NoError(t, s.DeleteTickets(ctx, nil), "nothing to delete is no error")
		// Its comments went with it: a ticket of that id synced again (the
		// export carries no comments) does not get them back.
		require.NoError(t, s.UpsertTickets(ctx, []cxaudit.Ticket{ticket(1, now)}))
		back, err := s.Ticket(ctx, 1)
		require.NoError(t, err)
		require.Empty(t, back.Comments)

		// An account goes with its contacts, opportunities, relations and Tasks.
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{{ID: "001D", Name: "Doomed", SystemModstamp: now}, {ID: "001K", Name: "Kept", SystemModstamp: now}}))
		require.NoError(t, s.UpsertContacts(ctx, []cxaudit.Contact{{ID: "003D", AccountID: "001D", Name: "C", SystemModstamp: now}, {ID: "003K", AccountID: "001K", Name: "K", SystemModstamp: now}}))
		require.NoError(t, s.UpsertOpportunities(ctx, []cxaudit.Opportunity{{ID: "006D", AccountID: "001D", Name: "O", SystemModstamp: now}}))
		require.NoError(t, s.UpsertTasks(ctx, []cxaudit.Task{{ID: "00TD", AccountID: "001D", WhatID: "001D", Subject: "Call", SystemModstamp: now},
			{ID: "00TK", AccountID: "001K", WhatID: "001K", Subject: "Call", SystemModstamp: now}, {ID: "00TC", AccountID: "001K", IsClosed: true, SystemModstamp: now}}))
		require.NoError(t, s.DeleteAccounts(ctx, []string{"001D"}))
		_, err = s.Account(ctx, "001D")
		require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err))
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{{ID: "001D", Name: "Back", SystemModstamp: now}}))
		backAcc, err := s.Account(ctx, "001D")
		require.NoError(t, err)
		require.Empty(t, backAcc.Contacts, "an account synced again does not get its deleted contacts back")
		require.Empty(t, backAcc.Opportunities)
		require.Empty(t, backAcc.OpenTasks)
		kept, err := s.Account(ctx, "001K")
		require.NoError(t, err)
		require.Len(t, kept.Contacts, 1)
		require.Equal(t, []string{"00TK"}, []string{kept.OpenTasks[0].ID}, "a closed Task is not kept")
		require.NoError(t, s.DeleteTasks(ctx, []string{"00TK"}))
		kept, err = s.Account(ctx, "001K")
		require.NoError(t, err)
		require.Empty(t, kept.OpenTasks)

		// Agents and admins, not end users; a user who stops being an agent stops counting.
		require.NoError(t, s.UpsertUsers(ctx, []cxaudit.User{{ID: 1, Role: "agent", UpdatedAt: now}, {ID: 2, Role: "admin", UpdatedAt: now}, {ID: 3, Role: "end-user", UpdatedAt: now}}))
		agents, err := s.AgentIDs(ctx)
		require.NoError(t, err)
		require.Equal(t, map[int64]bool{1: true, 2: true}, agents)
		require.NoError(t, s.UpsertUsers(ctx, []cxaudit.User{{ID: 2, Role: "end-user", UpdatedAt: now}}))
		agents, err = s.AgentIDs(ctx)
		require.NoError(t, err)
		require.Equal(t, map[int64]bool{1: true}, agents)
	})

	t.Run("TicketWindowsMatchSingleReads", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var ts []cxaudit.Ticket
		for i := range 30 {
			tk := ticket(int64(100+i), now.Add(-time.Duration(i)*24*time.Hour))
			tk.OrganizationID = int64(1 + i%3)
			tk.Comments = []cxaudit.Comment{{ID: int64(i + 1), Body: "c", CreatedAt: now}}
			ts = append(ts, tk)
		}
		require.NoError(t, s.UpsertTickets(ctx, ts))
		since := now.Add(-20 * 24 * time.Hour)
		got, err := s.TicketsForOrganizations(ctx, []int64{3, 1, 2, 9}, since, true)
		require.NoError(t, err)
		bare, err := s.TicketsForOrganizations(ctx, []int64{3, 1, 2, 9}, since, false)
		require.NoError(t, err)
		for _, org := range []int64{1, 2, 3, 9} {
			// What single reads give of the organization's tickets
			// created since, in id order.
			var want []cxaudit.Ticket
			for _, tk := range ts {
				if tk.OrganizationID == org && !tk.CreatedAt.Before(since) {
					one, err := s.Ticket(ctx, tk.ID)
					require.NoError(t, err)
					want = append(want, one)
				}
			}
			require.Equal(t, want, got[org], "organization %d", org)
			for i := range want {
				require.NotEmpty(t, want[i].Comments)
				want[i].Comments = nil
			}
			require.Equal(t, want, bare[org], "organization %d without comments", org)
		}
		_, ok := got[9]
		require.False(t, ok, "an organization with no tickets is missing")
		empty, err := s.TicketsForOrganizations(ctx, nil, since, true)
		require.NoError(t, err)
		require.Empty(t, empty)
	})
}
