package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// replicas is how many processes migrate one fresh database at once (a
// rollout of three replicas, and one more).
const replicas = 4

// migrateConcurrently opens replicas stores on dsn, each its own pool or
// file handle as separate processes would, migrates them all at once and
// returns what each applied.
func migrateConcurrently(t *testing.T, dsn string) []store.MigrateResult {
	t.Helper()
	ctx := context.Background()
	stores := make([]store.Store, replicas)
	for i := range stores {
		s, err := store.Open(ctx, dsn)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	results := make([]store.MigrateResult, replicas)
	errs := make([]error, replicas)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i, s := range stores {
		wg.Go(func() {
			start.Wait()
			results[i], errs[i] = store.Migrate(ctx, s)
		})
	}
	start.Done()
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "replica %d", i)
	}
	// Exactly one applied everything; the others found it done.
	var app, river int
	for _, r := range results {
		app += len(r.App)
		river += len(r.River)
	}
	first := results[0]
	for _, r := range results {
		if len(r.App) > 0 {
			first = r
		}
	}
	require.NotEmpty(t, first.App)
	require.NotEmpty(t, first.River)
	require.Equal(t, len(first.App), app, "cxaudit's migrations applied once")
	require.Equal(t, len(first.River), river, "River's migrations applied once")
	// And the schema works.
	_, err := stores[replicas-1].CountTickets(ctx)
	require.NoError(t, err)
	_, err = stores[0].JobCounts(ctx)
	require.NoError(t, err)
	return results
}

func TestConcurrentMigratePostgres(t *testing.T) {
	t.Parallel()
	migrateConcurrently(t, storetest.NewPostgresSchema(t))
}

func TestConcurrentMigrateSQLite(t *testing.T) {
	t.Parallel()
	migrateConcurrently(t, storetest.NewSQLitePath(t))
}
