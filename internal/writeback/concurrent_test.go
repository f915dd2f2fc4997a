package writeback_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// TestConcurrentRunsWriteOnce starts four write-backs of one system at
// once, as a job River made available again while it still ran (a rescue
// after a lease renewal came late) would run beside itself, on both
// stores: every ticket gets one note and every account one Task. (Two
// Runs planned the same dirty records from a write log neither had
// written yet, and both wrote them: TestWritebackChaos saw a ticket with
// two notes.)
func TestConcurrentRunsWriteOnce(t *testing.T) {
	t.Parallel()
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, open(t))
			ctx := context.Background()
			ids := b.openTicketIDs(t, 40)
			for _, id := range ids {
				require.NoError(t, b.store.PutFinding(ctx, ticketFinding("a", id)))
			}
			accounts := b.world.Accounts[:10]
			for _, a := range accounts {
				require.NoError(t, b.store.PutFinding(ctx, accountFinding("c", a.ID)))
			}
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(2)
				go func() { defer wg.Done(); _, err := b.zw.Run(ctx); require.NoError(t, err) }()
				go func() { defer wg.Done(); _, err := b.sw.Run(ctx); require.NoError(t, err) }()
			}
			wg.Wait()
			for _, id := range ids {
				require.Len(t, b.notesOn(t, id), 1, "ticket %d: one note", id)
			}
			require.Len(t, b.ssim.Tasks(), len(accounts), "one Task per account")
			require.Zero(t, dirtyCount(t, b.store, cxaudit.EntityTicket))
		})
	}
}
