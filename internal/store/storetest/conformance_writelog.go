package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseWritelog(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("WriteLog", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		r, err := s.GetWriteLog(ctx, "zendesk:ticket:1")
		require.NoError(t, err)
		require.Empty(t, r.State)
		want := store.WriteRecord{Target: "zendesk:ticket:1", State: store.WritePending, Marker: "cxaudit:w:1", Payload: []byte(`{"a":1}`), UpdatedAt: now}
		require.NoError(t, s.PutWriteLog(ctx, want))
		got, err := s.GetWriteLog(ctx, "zendesk:ticket:1")
		require.NoError(t, err)
		require.JSONEq(t, `{"a":1}`, string(got.Payload))
		got.Payload = want.Payload
		require.Equal(t, want, got)

		require.NoError(t, s.RecordWrite(ctx, store.WriteEvent{System: cxaudit.SourceZendesk, Kind: store.WriteZendeskNote, Target: "t1", At: now}))
		require.NoError(t, s.RecordWrite(ctx, store.WriteEvent{System: cxaudit.SourceZendesk, Kind: store.WriteZendeskNote, Target: "t2", At: now}))
		counts, err := s.CountWrites(ctx, now)
		require.NoError(t, err)
		require.Equal(t, map[string]int{store.WriteZendeskNote: 2}, counts)
		counts, err = s.CountWrites(ctx, now.Add(time.Second))
		require.NoError(t, err)
		require.Empty(t, counts)
	})
}
