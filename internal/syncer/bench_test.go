package syncer_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/ratelimit"
	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/syncer"
	"github.com/cxaudit/cxaudit/internal/zendesk"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// BenchmarkZendeskBackfill backfills 100,000 and 300,000 tickets (with
// metric sets) from the simulator into PostgreSQL under an export limit of
// 10 requests per window, the window shrunk from a minute to a second so
// that a run takes seconds. It reports
//   - ceiling_ratio: achieved tickets/s over limit × page size, the whole
//     sync (users, organizations, the end-of-stream page and the last
//     page's commit after the last request) counted;
//   - budget_ratio: export requests sent per second over the limit, how
//     close to its ceiling the sync keeps the budget.
//
// The larger tenant spreads the fixed cost of the sync's start and end over
// more pages. Comments are skipped: the export stream is what the limit
// governs.
//
//	go test ./internal/syncer -run '^$' -bench BenchmarkZendeskBackfill -benchtime 1x
func BenchmarkZendeskBackfill(b *testing.B) {
	for _, tickets := range []int{100_000, 300_000} {
		b.Run(fmt.Sprintf("tickets=%d", tickets), func(b *testing.B) { benchmarkZendeskBackfill(b, tickets) })
	}
}

func benchmarkZendeskBackfill(b *testing.B, tickets int) {
	const (
		pageSize = 1000
		limit    = 10 // export requests per window
		window   = time.Second
	)
	now := time.Now().UTC().Truncate(time.Second)
	w := &simworld.World{Now: now}
	for i := range tickets {
		at := now.Add(-time.Duration(tickets-i) * time.Second)
		w.Tickets = append(w.Tickets, cxaudit.Ticket{ID: int64(i + 1), Subject: "Printer on fire", Status: cxaudit.StatusOpen,
			Priority: "normal", RequesterID: 5, OrganizationID: int64(i%500 + 1), CreatedAt: at, UpdatedAt: at,
			Metrics: &cxaudit.TicketMetrics{Replies: 1}})
	}
	for b.Loop() {
		b.StopTimer()
		sim := zendesktest.New(zendesktest.Options{World: w, RateLimit: 1 << 30, PageSize: pageSize})
		srv := httptest.NewServer(sim)
		st := storetest.NewPostgres(b)
		budget := ratelimit.New(ratelimit.Config{System: cxaudit.SourceZendesk, Window: window, Burst: 0.001,
			Endpoints: []ratelimit.Endpoint{{Name: "incremental_export", PathContains: zendesk.ExportPath, PerMinute: limit}}})
		zc := zendeskClient(b, srv.URL, remote.Options{Budget: budget})
		z := &syncer.Zendesk{Client: zc, Store: st, Start: now.Add(-365 * 24 * time.Hour), SkipComments: true}
		b.StartTimer()

		start := time.Now()
		stats, err := z.Sync(context.Background())
		elapsed := time.Since(start)
		require.NoError(b, err)
		require.Equal(b, tickets, stats.Records[syncer.ObjectTickets])
		b.StopTimer()
		srv.Close()

		achieved := float64(tickets) / elapsed.Seconds()
		ceiling := float64(limit) / window.Seconds() * pageSize
		by := sim.Stats().ByEndpoint
		exports := by[zendesktest.EndpointExportTickets] + by[zendesktest.EndpointExportOrganizations] + by[zendesktest.EndpointExportUsers]
		b.ReportMetric(achieved, "tickets/s")
		b.ReportMetric(achieved/ceiling, "ceiling_ratio")
		b.ReportMetric(float64(exports)/elapsed.Seconds()/(float64(limit)/window.Seconds()), "budget_ratio")
		b.StartTimer()
	}
}
