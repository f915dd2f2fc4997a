package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// TestRunOnceTimeout: a cycle that cannot finish (here Zendesk asks for an
// hour's pause, so the sync job snoozes for CXAUDIT_MAX_RETRY_AFTER) used
// to keep `run --once` waiting; now it gives up after --timeout with exit
// status 3, distinct from a failed job's 1, and says what was still
// waiting. The next run, the pause over, finishes.
func TestRunOnceTimeout(t *testing.T) {
	t.Parallel()
	sims, err := demo.StartSimulators(demo.SimOptions{Seed: 4, Accounts: 5, Tickets: 20, ZendeskRateLimit: 100000})
	require.NoError(t, err)
	t.Cleanup(sims.Close)
	env := map[string]string{
		"CXAUDIT_DATABASE_URL":    storetest.NewSQLitePath(t),
		"CXAUDIT_RULES_DIR":       "../../rules",
		"CXAUDIT_MAX_RETRY_AFTER": "10s",
	}
	for _, kv := range sims.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	sims.Zendesk.RateLimitNext(1, 3600)
	start := time.Now()
	code, _, errOut := runCLI(t, env, "run", "--once", "--timeout", "2s")
	require.Equal(t, 3, code, errOut)
	require.Less(t, time.Since(start), 9*time.Second, "it gave up at the timeout, before the snooze ended")
	require.Contains(t, errOut, "did not finish within 2s (--timeout)")
	require.Contains(t, errOut, "scheduled", "it says what was still waiting")

	// The pause over, the next run finishes; the default timeout is long
	// enough.
	time.Sleep(time.Until(start.Add(10 * time.Second)))
	code, _, errOut = runCLI(t, env, "run", "--once")
	require.Equal(t, 0, code, errOut)
}
