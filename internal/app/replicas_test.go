package app_test

import (
	"context"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

func newReplica(t *testing.T, sims *demo.Simulators, databaseURL string, migrate bool) *app.App {
	t.Helper()
	cfg := apptest.Config(t, append(sims.Env(), "CXAUDIT_DATABASE_URL="+databaseURL,
		"CXAUDIT_LISTEN_ADDR=127.0.0.1:0", "CXAUDIT_SYNC_INTERVAL=1h", "CXAUDIT_SWEEP_INTERVAL=1h")...)
	// The log is shown when the test fails: a count that differs is
	// explained by what the workers did.
	var log apptest.SyncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of a worker (migrate %v):\n%s", migrate, log.String())
		}
	})
	return newApp(t, cfg, slog.New(slog.NewTextHandler(&log, nil)), app.Options{Migrate: migrate, Periodic: true})
}

// syncEndpoints are the reads of a sync, by system.
var syncEndpoints = struct{ zendesk, salesforce, salesforceObjects []string }{
	zendesk: []string{zendesktest.EndpointExportTickets, zendesktest.EndpointExportUsers, zendesktest.EndpointExportOrganizations, zendesktest.EndpointDeletedTickets},
	salesforce: []string{"GET /query/{locator}",
		"GET /sobjects/Account/describe", "GET /sobjects/Contact/describe", "GET /sobjects/Opportunity/describe"},
	// The query resource is shared with write-back's lookups (Tasks by
	// marker, owners), whose number depends on how writes were batched:
	// only the queries of synced objects are compared.
	salesforceObjects: []string{"Account", "Contact", "Opportunity", "AccountContactRelation"},
}

// TestThreeReplicasFetchEachPageOnce runs three workers on one Postgres
// schema, as three Kubernetes replicas, against the simulators: the
// periodic sync runs on the leader only and sync jobs are unique, so every
// export page and query batch is requested exactly as often as one worker
// requests it, and no note or Task is ever written twice.
//
// How many notes a cycle writes depends on timing: rules that read only
// Zendesk run as soon as tickets are synced, cross-system rules once
// Salesforce has been, so a ticket may get one note for each. What cannot
// vary is that a write is made once: no ticket carries two notes with one
// marker, no account two Tasks for one finding.
func TestThreeReplicasFetchEachPageOnce(t *testing.T) {
	t.Parallel()
	start := func() *demo.Simulators {
		sims, err := demo.StartSimulators(demo.SimOptions{Seed: 7, Accounts: 40, Tickets: 400, ZendeskRateLimit: 100000})
		require.NoError(t, err)
		t.Cleanup(sims.Close)
		return sims
	}

	// One worker: the reference. Then three on one schema.
	one := start()
	wantZ, wantS := runReplicas(t, one, 1)
	require.Positive(t, wantZ.NotesAdded)
	require.Positive(t, wantS.TasksCreated)
	t.Logf("one worker: zendesk %v salesforce %v %v", wantZ.ByEndpoint, wantS.ByEndpoint, wantS.QueriesByObject)
	three := start()
	gotZ, gotS := runReplicas(t, three, 3)
	t.Logf("three workers: zendesk %v salesforce %v %v", gotZ.ByEndpoint, gotS.ByEndpoint, gotS.QueriesByObject)
	for _, e := range syncEndpoints.zendesk {
		require.Equal(t, wantZ.ByEndpoint[e], gotZ.ByEndpoint[e], "zendesk %s: requested as often as by one worker", e)
	}
	for _, e := range syncEndpoints.salesforce {
		require.Equal(t, wantS.ByEndpoint[e], gotS.ByEndpoint[e], "salesforce %s: requested as often as by one worker", e)
	}
	for _, o := range syncEndpoints.salesforceObjects {
		require.Positive(t, wantS.QueriesByObject[o], "salesforce: %s queried", o)
		require.Equal(t, wantS.QueriesByObject[o], gotS.QueriesByObject[o], "salesforce %s: queried as often as by one worker", o)
	}
	for _, sims := range []*demo.Simulators{one, three} {
		notes := 0
		for _, wt := range sims.World.Tickets {
			tk, ok := sims.Zendesk.Ticket(wt.ID)
			if !ok {
				continue
			}
			seen := map[string]bool{}
			for _, c := range tk.Comments {
				if m := noteMarker.FindString(c.Body); m != "" {
					require.False(t, seen[m], "ticket %d: two notes carry %s", tk.ID, m)
					seen[m] = true
					notes++
				}
			}
		}
		require.Equal(t, sims.Zendesk.Stats().NotesAdded, notes, "every note the simulator took carries a marker")
		tasks := map[string]bool{}
		for _, task := range sims.Salesforce.Tasks() {
			m := noteMarker.FindString(task.Subject)
			require.NotEmpty(t, m, "Task %s carries its marker", task.ID)
			require.False(t, tasks[m], "two Tasks for %s", m)
			tasks[m] = true
		}
	}
	require.Equal(t, wantS.TasksCreated, gotS.TasksCreated, "one Task per account finding, whatever the timing")
}

// noteMarker finds cxaudit's marker in a Task subject ("[cxaudit:<fp>]")
// or a note ("cxaudit:<mark>.<mark>…").
var noteMarker = regexp.MustCompile(`cxaudit:[0-9a-f]{16}\]|cxaudit:[0-9a-f]{8}(?:\.[0-9a-f]{8})*`)

// runReplicas runs n workers on one fresh schema until the first cycle has
// synced both systems and written everything back, then a little longer,
// and returns what the simulators served.
func runReplicas(t *testing.T, sims *demo.Simulators, n int) (zendesktest.Stats, salesforcetest.Stats) {
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
	// Done: both syncs have finished and nothing is left to write.
	done := func() bool {
		z, s := sims.Zendesk.Stats(), sims.Salesforce.Stats()
		if z.ByEndpoint[zendesktest.EndpointDeletedTickets] < 1 || s.ByEndpoint["GET /queryAll"] < 1 || z.NotesAdded == 0 || s.TasksCreated == 0 {
			return false
		}
		for _, kind := range []cxaudit.EntityKind{cxaudit.EntityTicket, cxaudit.EntityAccount} {
			if ids, err := apps[0].Store.DirtyEntities(context.Background(), kind, "", 1); err != nil || len(ids) > 0 {
				return false
			}
		}
		return true
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
