package app_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

func newReplica(t *testing.T, sims *demo.Simulators, databaseURL string, migrate bool) *app.App {
	t.Helper()
	env := map[string]string{"CXAUDIT_DATABASE_URL": databaseURL, "CXAUDIT_RULES_DIR": apptest.RulesDir(t),
		"CXAUDIT_LISTEN_ADDR": "127.0.0.1:0", "CXAUDIT_SYNC_INTERVAL": "1h", "CXAUDIT_SWEEP_INTERVAL": "1h"}
	for _, kv := range sims.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{Migrate: migrate, Periodic: true})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	return a
}

// syncEndpoints are the reads of a sync, by system.
var syncEndpoints = struct{ zendesk, salesforce []string }{
	zendesk: []string{zendesktest.EndpointExportTickets, zendesktest.EndpointExportUsers, zendesktest.EndpointExportOrganizations, zendesktest.EndpointDeletedTickets},
	salesforce: []string{"GET /query", "GET /query/{locator}", "GET /queryAll",
		"GET /sobjects/Account/describe", "GET /sobjects/Contact/describe", "GET /sobjects/Opportunity/describe"},
}

// TestThreeReplicasFetchEachPageOnce runs three workers on one Postgres
// schema, as three Kubernetes replicas, against the simulators: the
// periodic sync runs on the leader only and sync jobs are unique, so every
// export page and query batch is requested exactly as often as one worker
// requests it, and every note and Task is written once.
func TestThreeReplicasFetchEachPageOnce(t *testing.T) {
	t.Parallel()
	start := func() *demo.Simulators {
		sims, err := demo.StartSimulators(demo.SimOptions{Seed: 7, Accounts: 40, Tickets: 400, ZendeskRateLimit: 100000})
		require.NoError(t, err)
		t.Cleanup(sims.Close)
		return sims
	}

	// One worker: the reference. Then three on one schema.
	wantZ, wantS := runReplicas(t, start(), 1, nil)
	require.Positive(t, wantZ.NotesAdded)
	require.Positive(t, wantS.TasksCreated)
	gotZ, gotS := runReplicas(t, start(), 3, func(z zendesktest.Stats, s salesforcetest.Stats) bool {
		return z.NotesAdded >= wantZ.NotesAdded && s.TasksCreated >= wantS.TasksCreated
	})
	for _, e := range syncEndpoints.zendesk {
		require.Equal(t, wantZ.ByEndpoint[e], gotZ.ByEndpoint[e], "zendesk %s: requested as often as by one worker", e)
	}
	for _, e := range syncEndpoints.salesforce {
		require.Equal(t, wantS.ByEndpoint[e], gotS.ByEndpoint[e], "salesforce %s: requested as often as by one worker", e)
	}
	require.Equal(t, wantZ.NotesAdded, gotZ.NotesAdded, "no note written twice")
	require.Equal(t, wantZ.TicketUpdates, gotZ.TicketUpdates, "no ticket update twice")
	require.Equal(t, wantS.TasksCreated, gotS.TasksCreated, "no Task created twice")
}

// runReplicas runs n workers on one fresh schema until the first cycle has
// synced both systems and written back (enough, when set, says when), then
// a little longer, and returns what the simulators served.
func runReplicas(t *testing.T, sims *demo.Simulators, n int, enough func(zendesktest.Stats, salesforcetest.Stats) bool) (zendesktest.Stats, salesforcetest.Stats) {
	t.Helper()
	db := storetest.NewPostgresSchema(t)
	apps := []*app.App{newReplica(t, sims, db, true)}
	for range n - 1 {
		apps = append(apps, newReplica(t, sims, db, false))
	}
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, len(apps))
	for _, a := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- a.Run(runCtx, 5*time.Second)
		}()
	}
	done := func() bool {
		z, s := sims.Zendesk.Stats(), sims.Salesforce.Stats()
		if z.ByEndpoint[zendesktest.EndpointDeletedTickets] < 1 || s.ByEndpoint["GET /queryAll"] < 1 || z.NotesAdded == 0 || s.TasksCreated == 0 {
			return false
		}
		return enough == nil || enough(z, s)
	}
	deadline := time.Now().Add(100 * time.Second)
	for !done() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	// Until nothing more is written for 3s: anything duplicated shows by then.
	for prev := -1; time.Now().Before(deadline); {
		z, s := sims.Zendesk.Stats(), sims.Salesforce.Stats()
		if n := z.Requests + s.Requests; n == prev {
			break
		} else {
			prev = n
		}
		time.Sleep(3 * time.Second)
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.True(t, done(), "%d workers completed a cycle", n)
	return sims.Zendesk.Stats(), sims.Salesforce.Stats()
}
