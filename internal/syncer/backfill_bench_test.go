package syncer_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/ratelimit"
	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/syncer"
	"github.com/cxaudit/cxaudit/internal/zendesk"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// BenchmarkBackfillRealistic backfills a simulated tenant (100,000
// tickets by default, CXAUDIT_BENCH_TICKETS to change it; one in ten open,
// every ticket with two comments) from the Zendesk simulator into
// PostgreSQL, with 100 ms of latency on every request and the account's
// limits at their real counts with the minute shrunk to a second: 700
// requests a second, 10 of them to the incremental exports (the
// simulator enforces both, and cxaudit's budget is set to them). The
// default rules are loaded and the periodic audit runs every (shrunk)
// minute while the backfill does, as the AuditArgs job does. For each way
// of getting comments, in the same run:
//   - comments=all: List Comments for every ticket (CommentsFunc nil);
//   - comments=rules: List Comments only for the tickets a rule can fire
//     on (rules.Set.NeedsComments: new, open, pending, hold);
//   - comments=events: the ticket-events export with comment_events
//     (CommentEvents), no per-ticket call;
//
// it reports
//
//   - calls/ticket: requests of the whole sync per ticket, and
//     exports/ticket those of them to the exports (their own limit), and
//     comment_calls/ticket those to List Comments;
//
//   - limit_ratio: requests per second ÷ the account's 700;
//
//   - export_ratio: export requests per second ÷ the exports' 10;
//
//   - first_audit_s: seconds from the start until the periodic audit
//     opened the first finding on a ticket (a stored, auditable open
//     ticket judged; organizations' findings, which need no comments, are
//     not counted); the write-back of a note is not run: a note follows
//     within one request of the write-back job the audit enqueues;
//     first_audit_% is it as a share of total_s;
//
//   - total_s: the whole sync.
//
//     CXAUDIT_BENCH_TICKETS=100000 go test ./internal/syncer -run '^$' -bench BenchmarkBackfillRealistic -benchtime 1x
//
// Modelled time for the tenant of issue 11 (500,000 tickets, 8 % open,
// 700 requests/min, 10 exports/min, 250 ms latency), from calls/ticket:
// see the model at the end of this file.
func BenchmarkBackfillRealistic(b *testing.B) {
	tickets := 100_000
	if v := os.Getenv("CXAUDIT_BENCH_TICKETS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err, "CXAUDIT_BENCH_TICKETS=%q is not a number", v)
		tickets = n
	}
	set, err := rules.LoadDir("../../rules")
	require.NoError(b, err)
	w := realisticWorld(tickets)
	// The longest last: its figures come after the others'.
	for _, strategy := range []string{"rules", "events", "all"} {
		b.Run("comments="+strategy, func(b *testing.B) {
			for b.Loop() {
				benchmarkBackfillRealistic(b, w, set, strategy)
			}
		})
	}
}

// realisticWorld is a tenant of n tickets updated over the last 89 days,
// one in ten open (normal priority, created 15 days before its last update,
// so backlog.p2_p3_stale fires on it), the others solved or closed; every
// ticket has a comment of its requester and a public reply of an agent.
func realisticWorld(n int) *simworld.World {
	now := time.Now().UTC().Truncate(time.Second)
	w := &simworld.World{Now: now}
	const orgs, requesters, agents = 500, 2000, 20
	for i := range orgs {
		w.Organizations = append(w.Organizations, cxaudit.Organization{ID: int64(i + 1), Name: "Org " + strconv.Itoa(i+1),
			CreatedAt: now.AddDate(-2, 0, 0), UpdatedAt: now.AddDate(-1, 0, 0)})
	}
	for i := range agents {
		w.Users = append(w.Users, cxaudit.User{ID: int64(1000 + i), Name: "Agent " + strconv.Itoa(i), Email: fmt.Sprintf("agent%d@acme.example.com", i),
			Role: "agent", UpdatedAt: now.AddDate(0, -6, 0)})
	}
	for i := range requesters {
		w.Users = append(w.Users, cxaudit.User{ID: int64(100_000 + i), Name: "Customer " + strconv.Itoa(i), Email: fmt.Sprintf("c%d@example.com", i),
			Role: "end-user", OrganizationID: int64(i%orgs + 1), UpdatedAt: now.AddDate(0, -3, 0)})
	}
	span := 89 * 24 * time.Hour
	for i := range n {
		updated := now.Add(-span + span/time.Duration(n)*time.Duration(i))
		created := updated.Add(-24 * time.Hour)
		status := []string{cxaudit.StatusSolved, cxaudit.StatusClosed}[i%2]
		if i%10 == 0 {
			status, created = cxaudit.StatusOpen, updated.Add(-15*24*time.Hour)
		}
		requester := int64(100_000 + i%requesters)
		id := int64(i + 1)
		w.Tickets = append(w.Tickets, cxaudit.Ticket{ID: id, Subject: "Printer on fire", Description: "It burns.", Status: status,
			Priority: "normal", RequesterID: requester, OrganizationID: int64(i%requesters%orgs + 1), CreatedAt: created, UpdatedAt: updated,
			Metrics: &cxaudit.TicketMetrics{Replies: 1},
			Comments: []cxaudit.Comment{
				{ID: 2*id - 1, AuthorID: requester, Public: true, Body: "It burns.", CreatedAt: created},
				{ID: 2 * id, AuthorID: int64(1000 + i%agents), Public: true, ByAgent: true, Body: "Please unplug it.", CreatedAt: created.Add(time.Hour)},
			}})
	}
	return w
}

func benchmarkBackfillRealistic(b *testing.B, w *simworld.World, set *rules.Set, strategy string) {
	const (
		accountLimit = 700 // requests per window
		exportLimit  = 10  // export requests per window
		window       = time.Second
		latency      = 100 * time.Millisecond
	)
	b.StopTimer()
	sim := zendesktest.New(zendesktest.Options{World: w, RateLimit: accountLimit, ExportRateLimit: exportLimit, Minute: window, PageSize: 1000})
	sim.SetFaults(zendesktest.Faults{Latency: latency})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	st := storetest.NewPostgres(b)
	cfg := zendesk.BudgetConfig(accountLimit, exportLimit, 0)
	cfg.Window = window
	zc, err := zendesk.New(zendesk.Config{URL: srv.URL, Email: zendesktest.DefaultEmail, APIToken: zendesktest.DefaultAPIToken,
		HTTP: remote.Options{Budget: ratelimit.New(cfg)}})
	require.NoError(b, err)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	z := &syncer.Zendesk{Client: zc, Store: st, Logger: quiet, Start: w.Now.AddDate(0, 0, -90)}
	switch strategy {
	case "rules":
		z.CommentsFunc = set.NeedsComments
	case "events":
		z.CommentEvents = true
	}

	// The periodic audit, every window (AuditArgs runs every minute).
	var (
		mu         sync.Mutex
		firstAudit time.Duration
	)
	start := time.Now()
	auditor := &audit.Auditor{Store: st, Logger: quiet, RulesFunc: func() *rules.Set { return set },
		Sources: map[cxaudit.Source][]string{cxaudit.SourceZendesk: syncer.ReadyObjects[cxaudit.SourceZendesk]},
		ObserveFunc: func(f cxaudit.Finding, change audit.Change) {
			mu.Lock()
			defer mu.Unlock()
			if change == audit.ChangeOpened && f.EntityKind == cxaudit.EntityTicket && firstAudit == 0 {
				firstAudit = time.Since(start)
			}
		}}
	ctx, cancel := context.WithCancel(context.Background())
	audits := make(chan error, 1)
	go func() {
		tick := time.NewTicker(window)
		defer tick.Stop()
		for {
			if _, err := auditor.Run(ctx); err != nil && ctx.Err() == nil {
				audits <- err
				return
			}
			select {
			case <-ctx.Done():
				audits <- nil
				return
			case <-tick.C:
			}
		}
	}()

	b.StartTimer()
	stats, err := z.Sync(ctx)
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	require.NoError(b, err)
	require.NoError(b, <-audits)
	require.Equal(b, len(w.Tickets), stats.Records[syncer.ObjectTickets])

	s := sim.Stats()
	exports := 0
	for endpoint, n := range s.ByEndpoint {
		if strings.Contains(endpoint, zendesk.ExportPath) {
			exports += n
		}
	}
	mu.Lock()
	first := firstAudit
	mu.Unlock()
	n := float64(len(w.Tickets))
	b.ReportMetric(float64(s.Requests)/n, "calls/ticket")
	b.ReportMetric(float64(exports)/n, "exports/ticket")
	b.ReportMetric(float64(s.ByEndpoint[zendesktest.EndpointTicketComments])/n, "comment_calls/ticket")
	b.ReportMetric(float64(s.Requests)/elapsed.Seconds()/(accountLimit/window.Seconds()), "limit_ratio")
	b.ReportMetric(float64(exports)/elapsed.Seconds()/(exportLimit/window.Seconds()), "export_ratio")
	b.ReportMetric(first.Seconds(), "first_audit_s")
	b.ReportMetric(100*first.Seconds()/elapsed.Seconds(), "first_audit_%")
	b.ReportMetric(elapsed.Seconds(), "total_s")
	b.ReportMetric(float64(s.RateLimited), "429s")
	b.StartTimer()
}
