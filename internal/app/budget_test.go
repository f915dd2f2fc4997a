package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/syncer"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// TestHugeResponseBodies: a 64 MiB page from either system, over a
// CXAUDIT_MAX_RESPONSE_BYTES of 1 MiB, is an error naming the request and
// is handled as a malformed page: nothing of it is stored, the cursor
// stays, the next sync reads it. The read stops at the bound (a 200 MB
// page took 1.5 GB of memory): the simulators could send little more than
// the bound before the connection was dropped.
func TestHugeResponseBodies(t *testing.T) {
	t.Parallel()
	const bound, huge = 1 << 20, 64 << 20
	w := simworld.Generate(simworld.Options{Seed: 9, Accounts: 10, Tickets: 50})
	a, zd, sf := newSimApp(t, w, storetest.NewSQLitePath(t), map[string]string{"CXAUDIT_MAX_RESPONSE_BYTES": "1048576"})
	ctx := context.Background()

	zd.SetHugeBody(zendesktest.HugeBody{PathContains: "/incremental/users", Bytes: huge})
	_, err := a.Services.ZendeskSync.Sync(ctx)
	require.Error(t, err)
	require.Contains(t, err.Error(), "/api/v2/incremental/users/cursor.json")
	require.Contains(t, err.Error(), "larger than 1048576 bytes")
	require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err), "retried, as a malformed page")
	require.Less(t, zd.HugeBytesSent(), int64(bound+16<<20), "the client stopped reading at the bound")
	c, err := a.Store.GetCursor(ctx, cxaudit.SourceZendesk, syncer.ObjectUsers)
	require.NoError(t, err)
	require.Empty(t, c.Value, "the cursor did not move past the page")

	sf.SetHugeBody(salesforcetest.HugeBody{PathContains: "/query", Bytes: huge})
	_, err = a.Services.SalesforceSync.Sync(ctx)
	require.Error(t, err)
	require.Contains(t, err.Error(), "/services/data/")
	require.Contains(t, err.Error(), "larger than 1048576 bytes")
	require.Less(t, sf.HugeBytesSent(), int64(bound+16<<20), "the client stopped reading at the bound")
	c, err = a.Store.GetCursor(ctx, cxaudit.SourceSalesforce, syncer.ObjectAccounts)
	require.NoError(t, err)
	require.Empty(t, c.Value)

	// The faults gone, both syncs complete.
	zd.SetHugeBody(zendesktest.HugeBody{})
	sf.SetHugeBody(salesforcetest.HugeBody{})
	_, err = a.Services.ZendeskSync.Sync(ctx)
	require.NoError(t, err)
	_, err = a.Services.SalesforceSync.Sync(ctx)
	require.NoError(t, err)
	n, err := a.Store.CountTickets(ctx)
	require.NoError(t, err)
	require.Equal(t, len(w.Tickets), n)
}
