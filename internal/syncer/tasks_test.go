package syncer_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// openTasks returns the open Tasks the store holds, by id.
func openTasks(t *testing.T, st store.Store, w *simworld.World) map[string]cxaudit.Task {
	t.Helper()
	out := map[string]cxaudit.Task{}
	for _, a := range w.Accounts {
		got, err := st.Account(context.Background(), a.ID)
		if cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND {
			continue
		}
		require.NoError(t, err)
		for _, task := range got.OpenTasks {
			require.Equal(t, a.ID, task.AccountID)
			out[task.ID] = task
		}
	}
	return out
}

// TestSalesforceOpenTasksSync reads the account teams' Tasks, on both
// stores: the first pass stores the open ones (on accounts and on their
// opportunities), none of the closed; a later pass drops a Task that was
// completed or deleted since and picks up one created since, and the
// account it is on is queued for audit.
func TestSalesforceOpenTasksSync(t *testing.T) {
	t.Parallel()
	for dbName, newStore := range storetest.Stores {
		t.Run(dbName, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := newStore(t)
			w := simworld.Generate(simworld.Options{Seed: 51, Accounts: 30, TeamTasks: true})
			sim, s := newSalesforceSync(t, w, st)
			_, err := s.Sync(ctx)
			require.NoError(t, err)

			want := map[string]bool{}
			onOpportunity := 0
			for _, task := range w.TeamTasks {
				if !task.IsClosed {
					want[task.ID] = true
					if task.WhatID != task.AccountID {
						onOpportunity++
					}
				}
			}
			require.Positive(t, onOpportunity, "the world has Tasks on opportunities")
			got := openTasks(t, st, w)
			require.Len(t, got, len(want), "the open Tasks, none of the closed")
			for id := range want {
				require.Contains(t, got, id)
			}

			// Completed, deleted, and a new one through the API.
			var open []string
			for id := range want {
				open = append(open, id)
			}
			completed, deleted := got[open[0]], got[open[1]]
			sim.CompleteTask(completed.ID)
			sim.DeleteTask(deleted.ID)
			_, err = s.Sync(ctx)
			require.NoError(t, err)
			got = openTasks(t, st, w)
			require.NotContains(t, got, completed.ID, "a completed Task leaves")
			require.NotContains(t, got, deleted.ID, "a deleted Task leaves")
			require.Len(t, got, len(want)-2)
			batch, err := st.NextAuditBatch(ctx, 1000)
			require.NoError(t, err)
			queued := map[string]bool{}
			for _, e := range batch {
				queued[string(e.Key.Kind)+"/"+e.Key.ID] = true
			}
			require.True(t, queued["account/"+completed.AccountID], "the account of a Task that closed is audited again")
		})
	}
}
