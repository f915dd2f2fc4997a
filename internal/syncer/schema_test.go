package syncer_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/syncer"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// TestZendeskSchemaIsReadOncePerSchemaEvery syncs three times: the custom
// fields and schedules are read on the first sync only while the stored
// schema is younger than SchemaEvery, and again on every sync when it is
// negative.
func TestZendeskSchemaIsReadOncePerSchemaEvery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		every time.Duration
		reads int
	}{{0, 1}, {time.Hour, 1}, {-1, 3}} {
		w := simworld.Generate(simworld.Options{Seed: 3, Accounts: 3, Tickets: 20})
		sim := zendesktest.New(zendesktest.Options{World: w})
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		zc := zendeskClient(t, srv.URL, quickRetries)
		z := &syncer.Zendesk{Client: zc, Store: storetest.NewSQLite(t), SkipComments: true, SchemaEvery: tc.every}
		for range 3 {
			_, err := z.Sync(context.Background())
			require.NoError(t, err)
		}
		by := sim.Stats().ByEndpoint
		for _, e := range []string{zendesktest.EndpointTicketFields, zendesktest.EndpointOrganizationFields, zendesktest.EndpointUserFields, zendesktest.EndpointSchedules} {
			require.Equal(t, tc.reads, by[e], "SchemaEvery %v: %s", tc.every, e)
		}
	}
}
