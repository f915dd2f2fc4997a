package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// TestPostgresInTxRetriesADeadlock makes two transactions queue the same
// two rows in opposite orders, each waiting for the other after its first
// row: PostgreSQL aborts one of them with 40P01, and InTx runs it again, so
// both commit and both rows are queued.
func TestPostgresInTxRetriesADeadlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.NewPostgres(t)
	a := store.EntityKey{Kind: cxaudit.EntityTicket, ID: "1"}
	b := store.EntityKey{Kind: cxaudit.EntityTicket, ID: "2"}
	var firstDone sync.WaitGroup // both hold their first row
	firstDone.Add(2)
	var runs atomic.Int32
	tx := func(first, second store.EntityKey) error {
		attempt := 0
		return st.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			attempt++
			runs.Add(1)
			if err := q.QueueAudit(ctx, []store.EntityKey{first}); err != nil {
				return err
			}
			if attempt == 1 {
				firstDone.Done()
				firstDone.Wait()
			}
			return q.QueueAudit(ctx, []store.EntityKey{second})
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- tx(a, b) }()
	go func() { errs <- tx(b, a) }()
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	require.Equal(t, int32(3), runs.Load(), "one of the two ran again")
	keys, err := st.NextAuditBatch(ctx, 10)
	require.NoError(t, err)
	require.Len(t, keys, 2)
}
