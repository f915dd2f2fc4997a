package app

import (
	"database/sql"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// leaseApp builds the part of an App the lease needs, on a SQLite store.
// Called inside a synctest bubble, the store's database/sql goroutines are
// the bubble's, and the store is closed by a cleanup that runs in it.
func leaseApp(t *testing.T, ttl time.Duration) (*App, *store.SQLite, *apptest.SyncBuffer) {
	t.Helper()
	s := storetest.NewSQLite(t)
	logs := &apptest.SyncBuffer{}
	a := &App{
		Config:   config.Config{WorkerLeaseTTL: ttl},
		Logger:   slog.New(slog.NewTextHandler(logs, nil)),
		Store:    s,
		clientID: "self_1_cafe",
	}
	return a, s, logs
}

// runningJob adds a River job that client is running, the way River's
// fetch leaves it: state 'running', client last in attempted_by.
func runningJob(t *testing.T, s *store.SQLite, client string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, s.DB.QueryRowContext(t.Context(), `INSERT INTO river_job
		(args, attempt, attempted_at, attempted_by, kind, max_attempts, queue, state, scheduled_at)
		VALUES ('{}', 1, datetime('now'), json_array($1), 'audit', 5, 'default', 'running', datetime('now'))
		RETURNING id`, client).Scan(&id))
	return id
}

func jobState(t *testing.T, s *store.SQLite, id int64) string {
	t.Helper()
	var state string
	require.NoError(t, s.DB.QueryRowContext(t.Context(), `SELECT state FROM river_job WHERE id = $1`, id).Scan(&state))
	return state
}

// leaseExpiry is when the store has client's lease expire, or false when it
// holds none.
func leaseExpiry(t *testing.T, s *store.SQLite, client string) (time.Time, bool) {
	t.Helper()
	var msec int64
	err := s.DB.QueryRowContext(t.Context(), `SELECT expires_at FROM worker_lease WHERE client_id = $1`, client).Scan(&msec)
	if err != nil {
		require.ErrorIs(t, err, sql.ErrNoRows)
		return time.Time{}, false
	}
	return time.UnixMilli(msec), true
}

func TestLeaseRenewedUntilStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = 40 * time.Second
		ctx := t.Context()
		a, s, logs := leaseApp(t, ttl)
		start := time.Now()
		stop, err := a.startLease(ctx)
		require.NoError(t, err)
		exp, ok := leaseExpiry(t, s, a.clientID)
		require.True(t, ok, "the lease is taken before startLease returns")
		require.WithinDuration(t, start.Add(ttl), exp, 0)

		job := runningJob(t, s, a.clientID)
		// Each renewal pushes the expiry a quarter of the TTL further.
		for i := 1; i <= 12; i++ {
			time.Sleep(ttl/4 + time.Millisecond)
			synctest.Wait()
			exp, ok := leaseExpiry(t, s, a.clientID)
			require.True(t, ok)
			require.WithinDuration(t, start.Add(time.Duration(i)*ttl/4+ttl), exp, 0, "renewal %d", i)
		}
		// Three TTLs on, the lease without renewals would be expired for
		// longer than the grace: another replica would take the job.
		n, err := s.RescueOrphanedJobs(ctx, "other_2_beef", ttl)
		require.NoError(t, err)
		require.Zero(t, n, "the job of a client that renews its lease is not rescued")
		require.Equal(t, "running", jobState(t, s, job))

		stop()
		_, ok = leaseExpiry(t, s, a.clientID)
		require.False(t, ok, "stop drops the lease")
		n, err = s.RescueOrphanedJobs(ctx, "other_2_beef", ttl)
		require.NoError(t, err)
		require.Equal(t, 1, n, "once the lease is dropped, another client takes the job")
		require.Equal(t, "available", jobState(t, s, job))
		require.NotContains(t, logs.String(), "failed")
	})
}

// TestLeaseRescuesDeadClients: the jobs a dead process left running are
// made available again by the first rescue, before River starts, when it
// holds no lease at all, and by the renewal after its lease has been
// expired for a whole TTL more, when it died recently.
func TestLeaseRescuesDeadClients(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = 40 * time.Second
		ctx := t.Context()
		a, s, logs := leaseApp(t, ttl)
		start := time.Now()
		long := runningJob(t, s, "gone_4_0001")
		require.NoError(t, s.RenewLease(ctx, "dying_5_0002", ttl))
		recent := runningJob(t, s, "dying_5_0002")

		stop, err := a.startLease(ctx)
		require.NoError(t, err)
		defer stop()
		require.Equal(t, "available", jobState(t, s, long), "a job without any lease is rescued at once")
		require.Equal(t, "running", jobState(t, s, recent))

		// The lease of dying_5_0002 expired at start+ttl; the renewal at
		// start+2*ttl is the first to find it expired for a TTL more.
		time.Sleep(2*ttl - time.Millisecond)
		synctest.Wait()
		require.Equal(t, "running", jobState(t, s, recent), "a lease expired for less than the grace may be a late renewal")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		require.WithinDuration(t, start.Add(2*ttl), time.Now(), 0)
		require.Equal(t, "available", jobState(t, s, recent), "the renewal rescues the job of a lease expired for a TTL more")
		require.Contains(t, logs.String(), "made jobs of dead workers available again")
	})
}
