package preview_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/preview"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

var now = time.Date(2025, 3, 12, 15, 0, 0, 0, time.UTC)

func ruleSet(t *testing.T, src string) *rules.Set {
	t.Helper()
	rs, err := rules.ParseFile("candidate.yaml", []byte(src))
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, writeFile(dir+"/candidate.yaml", src))
	s, err := rules.LoadDir(dir)
	require.NoError(t, err)
	require.Len(t, s.Rules(), len(rs))
	return s
}

const current = `rules:
  - id: backlog.stale
    title: Stale
    category: backlog_aging
    severity: medium
    entity: ticket
    when: ticket.open && days_between(ticket.created_at, now) > 14.0
    message: '"stale"'
  - id: backlog.low
    title: Low
    category: backlog_aging
    severity: low
    entity: ticket
    when: ticket.priority == "low"
    message: '"low"'
`

// The candidate raises the stale threshold to 30 days, changes the text of
// backlog.low, drops nothing and adds backlog.urgent.
const candidate = `rules:
  - id: backlog.stale
    title: Stale
    category: backlog_aging
    severity: medium
    entity: ticket
    when: ticket.open && days_between(ticket.created_at, now) > 30.0
    message: '"stale"'
  - id: backlog.low
    title: Low
    category: backlog_aging
    severity: low
    entity: ticket
    when: ticket.priority == "low"
    message: '"low priority"'
  - id: backlog.urgent
    title: Urgent
    category: backlog_aging
    severity: high
    entity: ticket
    when: ticket.open && ticket.priority == "urgent"
    message: '"urgent"'
`

// tableDigests returns a digest of every table's contents in the store's
// schema, so that any write shows.
func tableDigests(t *testing.T, s *store.Postgres) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := s.Pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rows.Err())
	require.Contains(t, tables, "write_event")
	out := map[string]string{}
	for _, tbl := range tables {
		var n int64
		var digest string
		require.NoError(t, s.Pool.QueryRow(ctx, `SELECT COUNT(*), COALESCE(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM `+tbl+` x`).Scan(&n, &digest))
		out[tbl] = digest
		out[tbl+" rows"] = strconv.FormatInt(n, 10)
	}
	return out
}

func TestPreviewWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewPostgres(t)
	tk := func(id int64, priority string, age time.Duration) cxaudit.Ticket {
		at := now.Add(-age)
		return cxaudit.Ticket{ID: id, Subject: "s", Status: cxaudit.StatusOpen, Priority: priority, CreatedAt: at, UpdatedAt: at}
	}
	day := 24 * time.Hour
	require.NoError(t, s.UpsertTickets(ctx, []cxaudit.Ticket{
		tk(1, "normal", 20*day), // stale now, not at 30 days: resolves
		tk(2, "normal", 40*day), // stale either way: stays
		tk(3, "low", day),       // low: stays, text changes
		tk(4, "urgent", day),    // urgent: opens
		tk(5, "normal", day),    // nothing
	}))
	require.NoError(t, s.RecordWrite(ctx, store.WriteEvent{System: cxaudit.SourceZendesk, Kind: store.WriteZendeskNote, Target: "zendesk:ticket:1", At: now}))
	// The audit with the current rules opens the findings of today.
	cur := ruleSet(t, current)
	require.NoError(t, s.RequestSweep(ctx))
	a := &audit.Auditor{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RulesFunc: func() *rules.Set { return cur },
		NowFunc: func() time.Time { return now }}
	_, err := a.Run(ctx)
	require.NoError(t, err)
	open, err := s.ListFindings(ctx, store.FindingFilter{Status: cxaudit.FindingOpen})
	require.NoError(t, err)
	require.Len(t, open, 3)

	before := tableDigests(t, s)
	rep, err := preview.Run(ctx, preview.Options{Store: s, Rules: ruleSet(t, candidate), Now: now})
	require.NoError(t, err)
	require.Equal(t, before, tableDigests(t, s), "preview must write nothing")

	require.Equal(t, 5, rep.Entities)
	require.Equal(t, []preview.RuleSummary{
		{RuleID: "backlog.low", Stay: 1, Changed: 1},
		{RuleID: "backlog.stale", Stay: 1, Resolve: 1, ResolveExamples: []string{"ticket/1"}},
		{RuleID: "backlog.urgent", Status: "new", Open: 1, OpenExamples: []string{"ticket/4"}},
	}, rep.Rules)

	var out bytes.Buffer
	require.NoError(t, rep.WriteText(&out))
	require.Contains(t, out.String(), "backlog.urgent (new)")
	require.Contains(t, out.String(), "preview: 5 entities evaluated; 1 findings would open, 2 stay, 1 resolve (nothing was written)")

	// A rule that is gone resolves all its findings.
	onlyLow := "rules:\n" + current[strings.Index(current, "  - id: backlog.low"):]
	rep, err = preview.Run(ctx, preview.Options{Store: s, Rules: ruleSet(t, onlyLow), Now: now})
	require.NoError(t, err)
	require.Equal(t, preview.RuleSummary{RuleID: "backlog.stale", Status: "removed", Resolve: 2, ResolveExamples: []string{"ticket/1", "ticket/2"}}, rep.Rules[1])
	require.Equal(t, before, tableDigests(t, s))
}

func writeFile(name, body string) error { return os.WriteFile(name, []byte(body), 0o644) }
