package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// TestSIGTERMLosesNothing runs the real worker on PostgreSQL against the
// simulators, sends SIGTERM while jobs are running, and checks that it
// exits 0 within its grace period, leaves no job running or lost, gives up
// leadership, and that the next start completes the cycle.
func TestSIGTERMLosesNothing(t *testing.T) {
	t.Parallel()
	// A Zendesk rate limit that makes the sync take seconds, so SIGTERM
	// lands in the middle of it.
	w := newShutdownWorker(t, demo.SimOptions{Seed: 5, Accounts: 30, Tickets: 300, ZendeskRateLimit: 3000}, "CXAUDIT_LOG_LEVEL=debug")
	sims, env, bin, count, db := w.sims, w.env, w.bin, w.count, w.db

	// Shorter than the sync: the running job is cancelled, not finished.
	const grace = 10 * time.Millisecond
	cmd, logs, done := w.start(t, "run", "--grace", grace.String())

	// Mid-cycle: a sync is running and has committed some of its pages.
	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM river_job WHERE state = 'running' AND kind = 'zendesk_sync'`) > 0 &&
			count(`SELECT count(*) FROM zendesk_ticket`) > 0
	}, 60*time.Second, 20*time.Millisecond, "a zendesk sync runs:\n%s", logs.String())
	synced := count(`SELECT count(*) FROM zendesk_ticket`)
	caughtUp := `SELECT count(*) FROM sync_cursor WHERE source = 'zendesk' AND object = 'tickets' AND completed_at > 0`

	sent := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		require.NoError(t, err, "SIGTERM exits 0:\n%s", tailOf(logs.String(), 4000))
	case <-time.After(grace + 15*time.Second):
		t.Fatalf("the worker did not stop within its grace period:\n%s", tailOf(logs.String(), 4000))
	}
	require.Less(t, time.Since(sent), grace+10*time.Second)
	require.Contains(t, logs.String(), "shutting down")

	// Nothing is left running, nothing was dropped: the interrupted jobs
	// wait to be retried.
	require.Zero(t, count(`SELECT count(*) FROM river_job WHERE state = 'running'`), "no job stuck running")
	require.Zero(t, count(`SELECT count(*) FROM river_job WHERE state IN ('discarded', 'cancelled')`), "no job given up")
	require.Positive(t, count(`SELECT count(*) FROM river_job WHERE kind = 'zendesk_sync' AND state IN ('retryable', 'available', 'completed')`))
	// The sync running at SIGTERM either finished in the grace period or
	// was cancelled when it ran out (StopAndCancel): River then makes the
	// job available again with its attempt given back and no error
	// recorded, since a shutdown is not the job's failure. Never neither.
	require.Zero(t, count(`SELECT count(*) FROM river_job WHERE kind = 'zendesk_sync'
		AND state NOT IN ('completed', 'available', 'retryable')`),
		"the interrupted sync is completed or waits for its retry: %s\n%s", jobStates(t, db), tailOf(logs.String(), 6000))
	if count(`SELECT count(*) FROM river_job WHERE kind = 'zendesk_sync' AND state <> 'completed'`) > 0 {
		require.Contains(t, logs.String(), "running jobs did not finish in time; cancelling them")
	}
	t.Logf("jobs after SIGTERM: %s", jobStates(t, db))
	require.Zero(t, count(`SELECT count(*) FROM river_leader`), "leadership released")
	require.GreaterOrEqual(t, count(`SELECT count(*) FROM zendesk_ticket`), synced, "committed pages stay")

	// The next start picks up where it stopped and completes the cycle.
	again := exec.Command(bin, "run", "--once")
	again.Env = env
	var out bytes.Buffer
	again.Stdout, again.Stderr = &out, &out
	require.NoError(t, again.Run(), "the restart completes the cycle:\n%s", tailOf(out.String(), 4000))
	require.Equal(t, 1, count(caughtUp), "the ticket sync caught up")
	require.Equal(t, len(sims.World.Tickets), count(`SELECT count(*) FROM zendesk_ticket`), "every ticket synced")
	require.Zero(t, count(`SELECT count(*) FROM river_job WHERE state NOT IN ('completed')`),
		"every job completed: %d left", count(`SELECT count(*) FROM river_job WHERE state <> 'completed'`))
	writes := cycleWrites(t, out.String())
	require.Positive(t, writes["zendesk_notes"])
	require.Equal(t, writes["zendesk_notes"], sims.Zendesk.Stats().NotesAdded, "no note twice")
	for _, secret := range []string{demo.SimZendeskToken, demo.SimSalesforceToken} {
		require.NotContains(t, logs.String()+out.String(), secret)
	}
}

func tailOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("…%s", s[len(s)-n:])
}

// jobStates describes the jobs in the database, for failure messages.
func jobStates(t *testing.T, db *pgx.Conn) string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT kind, state::text, coalesce(cardinality(errors), 0) FROM river_job ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var b bytes.Buffer
	for rows.Next() {
		var kind, state string
		var errs int
		require.NoError(t, rows.Scan(&kind, &state, &errs))
		fmt.Fprintf(&b, "%s=%s(errors %d) ", kind, state, errs)
	}
	return b.String()
}

// TestSIGTERMGivesRunningJobsGrace: a Zendesk sync that needs about two
// seconds (every simulator response is delayed) is running when SIGTERM
// arrives half a second in; with --grace 10s it must finish, and what it
// synced be committed, before the worker exits 0. Before the fix the
// signal context was River's start context, whose cancellation is River's
// abrupt stop: the sync was cancelled within a millisecond and left for a
// retry.
func TestSIGTERMGivesRunningJobsGrace(t *testing.T) {
	t.Parallel()
	w := newShutdownWorker(t, demo.SimOptions{Seed: 7, Accounts: 5, Tickets: 12, ZendeskRateLimit: 100000})
	sims, count, db := w.sims, w.count, w.db

	// Every Zendesk response waits; the sync makes a few dozen requests.
	sims.Zendesk.SetFaults(zendesktest.Faults{Latency: 100 * time.Millisecond})
	cmd, logs, done := w.start(t, "run", "--grace", "10s")

	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM river_job WHERE state = 'running' AND kind = 'zendesk_sync'`) > 0
	}, 60*time.Second, 10*time.Millisecond, "a zendesk sync runs:\n%s", logs.String())
	started := time.Now()
	time.Sleep(500 * time.Millisecond)
	caughtUp := `SELECT count(*) FROM sync_cursor WHERE source = 'zendesk' AND object = 'tickets' AND completed_at > 0`
	require.Zero(t, count(caughtUp), "the sync is still running at SIGTERM (make it slower)")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		require.NoError(t, err, "SIGTERM exits 0:\n%s", tailOf(logs.String(), 4000))
	case <-time.After(30 * time.Second):
		t.Fatalf("the worker did not stop:\n%s", tailOf(logs.String(), 4000))
	}
	took := time.Since(started)
	t.Logf("the sync ran %s; jobs: %s", took, jobStates(t, db))
	require.Greater(t, took, time.Second, "the sync went on after SIGTERM")

	require.Equal(t, 1, count(`SELECT count(*) FROM river_job WHERE kind = 'zendesk_sync' AND state = 'completed'
		AND coalesce(cardinality(errors), 0) = 0`), "the sync finished in its grace period, never interrupted: %s\n%s",
		jobStates(t, db), tailOf(logs.String(), 4000))
	require.Equal(t, 1, count(caughtUp), "the ticket sync's end is committed")
	require.Equal(t, len(sims.World.Tickets), count(`SELECT count(*) FROM zendesk_ticket`), "every ticket synced")
	require.Zero(t, count(`SELECT count(*) FROM river_job WHERE state = 'running'`), "no job stuck running")
	require.NotContains(t, logs.String(), "running jobs did not finish in time")
}

// shutdownWorker is what the shutdown tests run: the simulators, the
// worker's environment on a fresh PostgreSQL schema, its binary, and a
// counter of rows (-1 until the worker has migrated the table).
type shutdownWorker struct {
	sims  *demo.Simulators
	env   []string
	bin   string
	db    *pgx.Conn
	count func(query string) int
}

// start runs the worker with args, its output in logs; done receives what
// Wait returns. The process is killed when the test ends.
func (w shutdownWorker) start(t *testing.T, args ...string) (cmd *exec.Cmd, logs *apptest.SyncBuffer, done <-chan error) {
	t.Helper()
	cmd = exec.Command(w.bin, args...)
	cmd.Env = w.env
	logs = &apptest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, logs, exited
}

func newShutdownWorker(t *testing.T, opts demo.SimOptions, extraEnv ...string) shutdownWorker {
	t.Helper()
	sims, err := demo.StartSimulators(opts)
	require.NoError(t, err)
	t.Cleanup(sims.Close)
	dbURL := storetest.NewPostgresSchema(t)
	env := append(os.Environ(),
		"CXAUDIT_DATABASE_URL="+dbURL,
		"CXAUDIT_RULES_DIR="+apptest.RulesDir(t),
		"CXAUDIT_LISTEN_ADDR=127.0.0.1:0",
		"CXAUDIT_SYNC_INTERVAL=1h",
	)
	env = append(append(env, extraEnv...), sims.Env()...)
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close(ctx) })
	return shutdownWorker{sims: sims, env: env, bin: cxauditBinary(t), db: db, count: func(query string) int {
		var n int
		if err := db.QueryRow(ctx, query).Scan(&n); err != nil {
			return -1
		}
		return n
	}}
}
