package audit_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// BenchmarkSweep measures the audit sweep of the default rules over many
// open tickets in PostgreSQL: RequestSweep, then Auditor.Run until the
// sweep is done. It seeds CXAUDIT_SWEEP_TICKETS open tickets (default 1,000,000)
// with COPY, cloned from a simulated tenant with comments and metrics, and
// reports the wall time of the first sweep (which opens the findings) and of
// a second one over unchanged data (the steady state). Run it with
//
//	go test -run x -bench BenchmarkSweep -benchtime 1x -timeout 30m ./internal/audit/
func BenchmarkSweep(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("CXAUDIT_SWEEP_TICKETS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err)
	}
	ctx := context.Background()
	now := time.Date(2025, 3, 12, 15, 0, 0, 0, time.UTC)
	s := storetest.NewPostgres(b)
	w := simworld.Generate(simworld.Options{Seed: 1, Accounts: 300, Tickets: 3000, Now: now})
	require.NoError(b, s.UpsertOrganizations(ctx, w.Organizations))
	require.NoError(b, s.UpsertUsers(ctx, w.Users))
	var contacts []cxaudit.Contact
	var opps []cxaudit.Opportunity
	for _, a := range w.Accounts {
		contacts = append(contacts, a.Contacts...)
		opps = append(opps, a.Opportunities...)
	}
	require.NoError(b, s.UpsertAccounts(ctx, w.Accounts))
	require.NoError(b, s.UpsertContacts(ctx, contacts))
	require.NoError(b, s.UpsertOpportunities(ctx, opps))

	start := time.Now()
	var templates []cxaudit.Ticket
	for _, t := range w.Tickets {
		if t.Open() {
			templates = append(templates, t)
		}
	}
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= n {
			return nil, nil
		}
		t := templates[i%len(templates)]
		t.ID = int64(i + 1)
		comments := t.Comments
		t.Comments = nil
		data, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		cs, err := json.Marshal(comments)
		if err != nil {
			return nil, err
		}
		i++
		return []any{t.ID, t.OrganizationID, t.Status, t.Priority, t.CreatedAt.UnixMilli(), t.UpdatedAt.UnixMilli(), string(data), string(cs)}, nil
	})
	_, err := s.Pool.CopyFrom(ctx, pgx.Identifier{"zendesk_ticket"},
		[]string{"id", "organization_id", "status", "priority", "created_at", "updated_at", "data", "comments"}, src)
	require.NoError(b, err)
	_, err = s.Pool.Exec(ctx, "ANALYZE")
	require.NoError(b, err)
	b.Logf("seeded %d open tickets in %s", n, time.Since(start).Round(time.Millisecond))

	set, err := rules.LoadDir("../../rules")
	require.NoError(b, err)
	a := &audit.Auditor{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RulesFunc: func() *rules.Set { return set },
		NowFunc: func() time.Time { return now }, BatchSize: 1000}
	b.ResetTimer()
	for b.Loop() {
		// The first sweep opens the findings; the second, with nothing
		// changed, is the steady state of every CXAUDIT_SWEEP_INTERVAL.
		for _, phase := range []string{"first", "steady"} {
			start := time.Now()
			require.NoError(b, s.RequestSweep(ctx))
			stats, err := a.Run(ctx)
			require.NoError(b, err)
			d := time.Since(start)
			b.Logf("%s sweep of %d entities: %s (%.0f entities/s), changes %v", phase, stats.Entities, d.Round(time.Millisecond),
				float64(stats.Entities)/d.Seconds(), stats.Changes)
			b.ReportMetric(d.Seconds(), "s/"+phase+"-sweep")
			b.ReportMetric(float64(stats.Entities)/d.Seconds(), phase+"-entities/s")
		}
	}
}
