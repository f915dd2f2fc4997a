package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/jobs"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// TestWaitIdleSurvivesADroppedConnection: while a --once cycle waits for
// its jobs, the database drops its connections (a failover, an operator's
// pg_terminate_backend). The run used to end with exit status 1 at the
// first failed count; now the count is tried again and the wait goes on.
func TestWaitIdleSurvivesADroppedConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	appName := "cxaudit_waitidle_" + hex.EncodeToString(b)
	dsn := storetest.NewPostgresSchema(t) + "&application_name=" + appName
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	schema := u.Query().Get("search_path")

	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"CXAUDIT_DATABASE_URL": dsn, "CXAUDIT_RULES_DIR": "../../rules"}[k]
	})
	require.NoError(t, err)
	a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Migrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	// River is not started: the job waits until the test removes it.
	require.NoError(t, a.Store.Enqueue(ctx, jobs.Params(jobs.AuditArgs{})...))

	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.waitIdle(waitCtx) }()
	time.Sleep(300 * time.Millisecond)

	admin, err := pgx.Connect(ctx, storetest.PostgresURL())
	require.NoError(t, err)
	defer admin.Close(ctx)
	var killed int
	require.NoError(t, admin.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) k`,
		appName).Scan(&killed))
	require.Positive(t, killed, "the store's connections were dropped")
	select {
	case err := <-done:
		t.Fatalf("waitIdle ended on a dropped connection: %v", err)
	case <-time.After(500 * time.Millisecond):
	}

	_, err = admin.Exec(ctx, `DELETE FROM `+pgx.Identifier{schema, "river_job"}.Sanitize())
	require.NoError(t, err)
	select {
	case err := <-done:
		require.NoError(t, err, "the wait ends when the queue is empty")
	case <-time.After(30 * time.Second):
		t.Fatal("waitIdle did not notice the empty queue")
	}
}
