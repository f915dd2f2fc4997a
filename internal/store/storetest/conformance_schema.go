package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseSchema(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("TenantSchemaRoundTrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		type described struct {
			Fields map[string][]string `json:"fields"`
			Tier   string              `json:"tier"`
		}
		var got described
		ok, err := s.GetSchema(ctx, store.SchemaSalesforce, &got)
		require.NoError(t, err)
		require.False(t, ok, "none stored yet")

		first := described{Fields: map[string][]string{"Account": {"Id", "Name"}}, Tier: "one"}
		require.NoError(t, s.PutSchema(ctx, store.SchemaSalesforce, first))
		later := described{Fields: map[string][]string{"Account": {"Id", "Name", "Tier__c"}}, Tier: "two"}
		require.NoError(t, s.PutSchema(ctx, store.SchemaSalesforce, later))
		ok, err = s.GetSchema(ctx, store.SchemaSalesforce, &got)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, later, got, "a later schema replaces the earlier one")

		// Each source has its own.
		var other described
		ok, err = s.GetSchema(ctx, store.SchemaZendesk, &other)
		require.NoError(t, err)
		require.False(t, ok)
		require.NoError(t, s.PutSchema(ctx, store.SchemaZendesk, described{Tier: "z"}))
		ok, err = s.GetSchema(ctx, store.SchemaZendesk, &other)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "z", other.Tier)
		ok, err = s.GetSchema(ctx, store.SchemaSalesforce, &got)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, later, got)
	})
}
