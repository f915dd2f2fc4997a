package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// TestModeObserveWritesNothing: with CXAUDIT_MODE=observe a whole cycle
// through the simulators records the findings and writes nothing to either
// system; /readyz and cxaudit_mode say so. Back in enforce, the same store
// writes the enforced rules' findings.
func TestModeObserveWritesNothing(t *testing.T) {
	t.Parallel()
	dsn := storetest.NewSQLitePath(t)
	b := setup(t, dsn, "CXAUDIT_MODE=observe")
	ctx := context.Background()
	res, err := b.app.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, res.FailedJobs)
	require.Empty(t, res.Writes, "observe writes nothing")
	zs, ss := b.sims.Zendesk.Stats(), b.sims.Salesforce.Stats()
	require.Zero(t, zs.NotesAdded)
	require.Zero(t, zs.TicketUpdates)
	require.Zero(t, ss.TasksCreated)
	require.Zero(t, ss.TasksUpdated)
	require.Zero(t, ss.CompositeCalls)

	open, err := b.app.Store.ListFindings(ctx, store.FindingFilter{Status: cxaudit.FindingOpen})
	require.NoError(t, err)
	require.NotEmpty(t, open, "findings are recorded")
	var withActions int
	for _, f := range open {
		require.Equal(t, cxaudit.ModeObserve, f.Mode, f.RuleID)
		require.False(t, f.Dirty(), f.RuleID)
		if f.Actions.ZendeskNote || f.Actions.SalesforceTask != nil {
			withActions++
		}
	}
	require.Positive(t, withActions, "rules that would write in enforce are among them")

	srv := httptest.NewServer(b.app.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	require.NoError(t, err)
	var ready struct {
		Warnings map[string]string `json:"warnings"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&ready))
	resp.Body.Close()
	require.Contains(t, ready.Warnings["mode"], "CXAUDIT_MODE=observe")
	resp, err = http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(body), `cxaudit_mode{mode="observe"} 1`)
	require.NoError(t, b.app.Close())

	// The same store and tenant in enforce: the findings change mode and
	// are written.
	cfg := b.cfg
	cfg.Mode = config.ModeEnforce
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{Migrate: true})
	require.NoError(t, err)
	defer a.Close()
	res, err = a.RunOnce(ctx)
	require.NoError(t, err)
	require.Positive(t, res.Writes[store.WriteZendeskNote])
	require.Positive(t, res.Writes[store.WriteSalesforceTask])
	require.Equal(t, res.Writes[store.WriteZendeskNote], b.sims.Zendesk.Stats().NotesAdded)
}
