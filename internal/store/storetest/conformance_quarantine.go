package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseQuarantine(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("Quarantine", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		bad := cxaudit.Rejected{Object: "tickets", ID: "9", Reason: "updated_at: not a time", Raw: []byte("{\"id\":9,\"subject\":\"a\x00b \xff\"}")}
		require.NoError(t, s.Quarantine(ctx, cxaudit.SourceZendesk, []cxaudit.Rejected{bad}))
		require.NoError(t, s.Quarantine(ctx, cxaudit.SourceZendesk, []cxaudit.Rejected{bad}), "rejected again: one entry")
		require.NoError(t, s.Quarantine(ctx, cxaudit.SourceSalesforce, []cxaudit.Rejected{{Object: "Account", ID: "001Q", Reason: "r", Raw: []byte("{}")}}))
		list, err := s.ListQuarantine(ctx, 10)
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.Equal(t, cxaudit.SourceSalesforce, list[0].Source, "by source")
		z := list[1]
		require.Equal(t, "9", z.ID)
		require.Equal(t, 2, z.Attempts)
		require.False(t, z.FirstSeen.After(z.LastSeen))
		require.Contains(t, string(z.Raw), "subject", "a NUL or invalid UTF-8 in the record does not stop it being kept")
		counts, err := s.CountQuarantine(ctx)
		require.NoError(t, err)
		require.Equal(t, map[store.QuarantineKey]int{{Source: cxaudit.SourceZendesk, Object: "tickets"}: 1, {Source: cxaudit.SourceSalesforce, Object: "Account"}: 1}, counts)
		require.NoError(t, s.Unquarantine(ctx, cxaudit.SourceZendesk, "tickets", []string{"9", "10"}))
		require.NoError(t, s.Unquarantine(ctx, cxaudit.SourceZendesk, "tickets", nil))
		list, err = s.ListQuarantine(ctx, 10)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, "001Q", list[0].ID)
	})
}
