package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// BenchmarkBackfillPeakRSS measures the peak memory of a first sync of a
// large Zendesk tenant: it runs the real `cxaudit sync --once` as a child
// process against a simulator in this process (so the simulator's own
// memory is not counted) on an embedded SQLite file, and reports the
// child's peak resident set (getrusage ru_maxrss of the child, from
// ProcessState.SysUsage) as peak_rss_MB. It backfills a tenant a tenth the
// size too and reports rss_ratio, the large run's peak over the small
// one's: bounded memory makes it about 1.
//
// CXAUDIT_BENCH_TICKETS sets the large tenant's tickets (default
// 1,000,000); CI can run it small:
//
//	CXAUDIT_BENCH_TICKETS=20000 go test ./cmd/cxaudit -run '^$' -bench BenchmarkBackfillPeakRSS -benchtime 1x
func BenchmarkBackfillPeakRSS(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("CXAUDIT_BENCH_TICKETS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err, "CXAUDIT_BENCH_TICKETS")
	}
	bin := cxauditBinary(b)

	// What the launcher itself adds: the ru_maxrss of a command that
	// uses next to nothing.
	launch := exec.Command(os.Args[0], "/bin/true")
	launch.Env = append(os.Environ(), rssLauncherEnv+"=1")
	floor, err := launch.Output()
	require.NoError(b, err)
	floorKB, err := strconv.ParseInt(strings.TrimSpace(string(floor)), 10, 64)
	require.NoError(b, err)

	for b.Loop() {
		small, _ := backfillPeakRSS(b, bin, n/10)
		large, elapsed := backfillPeakRSS(b, bin, n)
		b.ReportMetric(large, "peak_rss_MB")
		b.ReportMetric(small, "peak_rss_small_MB")
		b.ReportMetric(large/small, "rss_ratio")
		b.ReportMetric(float64(floorKB)/1024, "peak_rss_floor_MB")
		b.ReportMetric(float64(n)/elapsed.Seconds(), "tickets/s")
	}
}

// backfillPeakRSS backfills a tenant of n tickets (no comments, one
// organization each 500) with `cxaudit sync --once` into a new SQLite file
// and returns the child's peak RSS in MB and how long the run took.
func backfillPeakRSS(b *testing.B, bin string, n int) (float64, time.Duration) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	now := time.Now().UTC().Truncate(time.Second)
	w := &simworld.World{Now: now}
	w.Tickets = make([]cxaudit.Ticket, 0, n)
	for i := range n {
		at := now.Add(-time.Duration(n-i) * time.Second)
		w.Tickets = append(w.Tickets, cxaudit.Ticket{ID: int64(i + 1), Subject: "Printer on fire", Status: cxaudit.StatusOpen,
			Priority: "normal", RequesterID: 5, OrganizationID: int64(i%500 + 1), Tags: []string{"printer", "hardware"},
			CreatedAt: at, UpdatedAt: at, Metrics: &cxaudit.TicketMetrics{Replies: 1, Reopens: 0}})
	}
	sim := zendesktest.New(zendesktest.Options{World: w, RateLimit: 100000, PageSize: 1000}) // the most the config allows; X-Rate-Limit sizes the client's window
	srv := httptest.NewServer(sim)
	defer srv.Close()
	dir := b.TempDir()
	db := filepath.Join(dir, "cxaudit.db")
	rulesDir := apptest.RulesDir(b)
	days := int(time.Duration(n)*time.Second/(24*time.Hour)) + 2

	cmd := exec.Command(os.Args[0], bin, "sync", "--once", "--progress", "log")
	cmd.Env = append(os.Environ(), rssLauncherEnv+"=1", "CXAUDIT_DATABASE_URL="+db, "CXAUDIT_RULES_DIR="+rulesDir,
		"ZENDESK_URL="+srv.URL, "ZENDESK_EMAIL="+zendesktest.DefaultEmail, "ZENDESK_API_TOKEN="+zendesktest.DefaultAPIToken,
		"ZENDESK_RATE_LIMIT=100000", "ZENDESK_EXPORT_RATE_LIMIT=100000", "CXAUDIT_BACKFILL_DAYS="+strconv.Itoa(days),
		"SALESFORCE_INSTANCE_URL=", "CXAUDIT_LOG_LEVEL=warn")
	var out, rss bytes.Buffer
	cmd.Stdout, cmd.Stderr = &rss, &out
	b.StartTimer()
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	b.StopTimer()
	require.NoError(b, err, "cxaudit sync --once: %s", out.String())

	st, err := store.OpenSQLite(context.Background(), db)
	require.NoError(b, err)
	defer st.Close()
	count, err := st.CountTickets(context.Background())
	require.NoError(b, err)
	require.Equal(b, n, count, "every ticket is stored")

	kb, err := strconv.ParseInt(strings.TrimSpace(rss.String()), 10, 64)
	require.NoError(b, err, "the launcher prints the child's ru_maxrss: %q", rss.String())
	return float64(kb) / 1024, elapsed
}

// rssLauncherEnv makes this test binary a launcher: it runs its arguments
// as a command and prints the command's peak RSS (ru_maxrss, kB) on stdout.
//
// Why not take ru_maxrss of a child of the benchmark itself: Go starts
// children with vfork (CLONE_VM), and Linux folds the high-water RSS of the
// address space the child leaves at exec, the parent's, into the child's
// ru_maxrss, so the child would be charged the simulator's memory. The
// launcher starts before the benchmark builds the simulated tenant, so
// what it adds is its own small start-up RSS (peak_rss_floor_MB).
const rssLauncherEnv = "CXAUDIT_BENCH_RSS_LAUNCHER"

func init() {
	if os.Getenv(rssLauncherEnv) != "1" || len(os.Args) < 2 {
		return
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stderr, os.Stderr
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, rssLauncherEnv+"=") })
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "launcher:", err)
		os.Exit(2)
	}
	fmt.Println(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	os.Exit(cmd.ProcessState.ExitCode())
}
