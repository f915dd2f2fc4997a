package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseMigrate(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("MigrateIsIdempotent", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		res, err := store.Migrate(ctx, s)
		require.NoError(t, err)
		require.Empty(t, res.App)
		require.Empty(t, res.River)
	})
}
