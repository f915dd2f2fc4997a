package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseLease(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("WorkerLeases", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		require.NoError(t, s.RenewLease(ctx, "worker_a", time.Minute))
		require.NoError(t, s.RenewLease(ctx, "worker_a", 2*time.Minute))
		n, err := s.RescueOrphanedJobs(ctx, "worker_a", time.Minute)
		require.NoError(t, err, "the rescue statement runs against River's schema")
		require.Zero(t, n)
		require.NoError(t, s.DropLease(ctx, "worker_a"))
	})
}
