package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// TestSyncSurvivesSIGKILL kills a real `cxaudit sync --once` at random
// points of a backfill, again and again, while agents keep changing
// tickets in the simulator; then lets a last run finish and compares the
// store with the simulator: every ticket at its latest version with all its
// comments, no ticket missing, none extra, no comment twice.
func TestSyncSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	bin := cxauditBinary(t)
	sims, err := demo.StartSimulators(demo.SimOptions{Seed: 11, Accounts: 60, Tickets: 2500, ZendeskRateLimit: 100000})
	require.NoError(t, err)
	t.Cleanup(sims.Close)
	dbURL := storetest.NewPostgresSchema(t)
	rulesDir := apptest.RulesDir(t)
	env := append(os.Environ(), sims.Env()...)
	env = append(env, "CXAUDIT_DATABASE_URL="+dbURL, "CXAUDIT_RULES_DIR="+rulesDir,
		"CXAUDIT_BACKFILL_DAYS=3650", "ZENDESK_EXPORT_RATE_LIMIT=100000")

	sync := func(ctx context.Context) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.CommandContext(ctx, bin, "sync", "--once", "--progress", "log")
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Start())
		return cmd, &out
	}

	rng := rand.New(rand.NewPCG(5, 7))
	ids := make([]int64, 0, len(sims.World.Tickets))
	for _, tk := range sims.World.Tickets {
		ids = append(ids, tk.ID)
	}
	killed := 0
	for i := range 8 {
		cmd, out := sync(context.Background())
		// Kill at a random point: during migration, the user export, the
		// ticket pages or the comment fetches.
		time.Sleep(time.Duration(50+rng.IntN(1200)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
			killed++
		}
		_ = cmd.Wait()
		require.NotContains(t, out.String(), demo.SimZendeskToken)
		// Agents keep working between the runs: changes behind and ahead of
		// the cursor.
		for range 5 {
			id := ids[rng.IntN(len(ids))]
			if _, ok := sims.Zendesk.Ticket(id); !ok {
				continue
			}
			sims.Zendesk.AddComment(id, cxaudit.Comment{AuthorID: 1, Public: true, Body: "still broken, run " + string(rune('a'+i))})
		}
	}
	require.Positive(t, killed)

	cmd, out := sync(context.Background())
	require.NoError(t, cmd.Wait(), out.String())

	ctx := context.Background()
	st, err := store.OpenPostgres(ctx, dbURL)
	require.NoError(t, err)
	defer st.Close()
	n, err := st.CountTickets(ctx)
	require.NoError(t, err)
	require.Equal(t, len(ids), n, "no ticket lost, none extra")
	// Comments are read where the rules can fire (rules.Set.NeedsComments):
	// those tickets must have every comment, once, in order.
	set, err := rules.LoadDir(rulesDir)
	require.NoError(t, err)
	checked := 0
	for _, id := range ids {
		want, ok := sims.Zendesk.Ticket(id)
		require.True(t, ok)
		got, err := st.Ticket(ctx, id)
		require.NoError(t, err, "ticket %d", id)
		require.True(t, want.UpdatedAt.Equal(got.UpdatedAt), "ticket %d: updated_at %s, simulator %s", id, got.UpdatedAt, want.UpdatedAt)
		if !set.NeedsComments(want.Status) {
			continue
		}
		checked++
		require.Len(t, got.Comments, len(want.Comments), "ticket %d comments", id)
		seen := map[int64]bool{}
		for i, c := range got.Comments {
			require.False(t, seen[c.ID], "ticket %d: comment %d twice", id, c.ID)
			seen[c.ID] = true
			require.Equal(t, want.Comments[i].ID, c.ID)
		}
	}
	require.Greater(t, checked, len(ids)/2, "most tickets are open: their comments are compared")
	require.True(t, strings.Contains(out.String(), "sync progress"), "progress is logged: %s", out.String())
}
