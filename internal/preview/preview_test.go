package preview_test

import (
	"bytes"
	"context"
	"encoding/json"
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
		{RuleID: "backlog.low", Title: "Low", Entity: "ticket", Stay: 1, Changed: 1},
		{RuleID: "backlog.stale", Title: "Stale", Entity: "ticket", Stay: 1, Resolve: 1,
			ResolveExamples: []preview.Example{{Entity: "ticket/1", Name: "s", Message: "stale"}}},
		{RuleID: "backlog.urgent", Title: "Urgent", Entity: "ticket", Status: "new", Open: 1,
			OpenExamples: []preview.Example{{Entity: "ticket/4", Name: "s", Message: "urgent"}}},
	}, rep.Rules, "rules without actions write nothing")

	var out bytes.Buffer
	require.NoError(t, rep.WriteText(&out))
	require.Contains(t, out.String(), "backlog.urgent (new)")
	require.Contains(t, out.String(), `opens    ticket/4 "s": urgent`)
	require.Contains(t, out.String(), "preview: 5 entities evaluated; 1 findings would open, 2 stay, 1 resolve (nothing was written)")

	// A rule that is gone resolves all its findings.
	onlyLow := "rules:\n" + current[strings.Index(current, "  - id: backlog.low"):]
	rep, err = preview.Run(ctx, preview.Options{Store: s, Rules: ruleSet(t, onlyLow), Now: now})
	require.NoError(t, err)
	require.Equal(t, "removed", rep.Rules[1].Status)
	require.Equal(t, 2, rep.Rules[1].Resolve)
	require.Equal(t, before, tableDigests(t, s))
}

// TestPreviewWritesOverlapsAndBudget: a candidate with write-back actions
// says how many ticket updates and Tasks it means and how long the write
// budgets need for them, which rules fire on the same tickets, and that a
// shipped rule with no open finding (it found nothing yet, or its
// findings resolved) is not new; --markdown and --json say the same.
func TestPreviewWritesOverlapsAndBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.NewSQLite(t)
	var tickets []cxaudit.Ticket
	for i := range 10 {
		priority := "normal"
		if i < 4 {
			priority = "urgent"
		}
		at := now.Add(-time.Hour)
		tickets = append(tickets, cxaudit.Ticket{ID: int64(i + 1), Subject: "Printer " + strconv.Itoa(i+1), Status: cxaudit.StatusOpen,
			Priority: priority, CreatedAt: at, UpdatedAt: at})
	}
	require.NoError(t, s.UpsertTickets(ctx, tickets))
	require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{{ID: "001A", Name: "Acme", SystemModstamp: now}, {ID: "001B", Name: "Globex", SystemModstamp: now}}))
	// A finding of backlog.open once stored and resolved: the rule is known.
	old := cxaudit.Finding{Fingerprint: cxaudit.Fingerprint("backlog.open", cxaudit.EntityTicket, "99"), RuleID: "backlog.open",
		RuleVersion: "v0", Title: "Open", Category: cxaudit.CategoryBacklogAging, Severity: cxaudit.SeverityLow, Mode: cxaudit.ModeEnforce,
		EntityKind: cxaudit.EntityTicket, EntityID: "99", Message: "open", Status: cxaudit.FindingResolved, OpenedAt: now, UpdatedAt: now}
	require.NoError(t, s.PutFinding(ctx, old))

	rep, err := preview.Run(ctx, preview.Options{Store: s, Now: now, ZendeskBudget: 4, SalesforceBudget: 0, Rules: ruleSet(t, `rules:
  - id: backlog.open
    title: Open
    category: backlog_aging
    severity: low
    entity: ticket
    when: ticket.open
    message: '"open"'
    actions: {zendesk: {note: true, tags: [cxaudit_open]}}
  - id: backlog.urgent
    title: Urgent
    category: backlog_aging
    severity: high
    entity: ticket
    when: ticket.open && ticket.priority == "urgent"
    message: '"urgent"'
    actions: {zendesk: {note: true, tags: [cxaudit_urgent]}}
  - id: crm.all
    title: All accounts
    category: crm_hygiene
    severity: low
    entity: account
    when: "true"
    message: '"account " + account.name'
    actions: {salesforce: {task: {due_in_days: 7}}}
`)})
	require.NoError(t, err)
	by := map[string]preview.RuleSummary{}
	for _, r := range rep.Rules {
		by[r.RuleID] = r
	}
	require.Empty(t, by["backlog.open"].Status, "a rule the store has seen is not new")
	require.Equal(t, "new", by["backlog.urgent"].Status)
	require.Equal(t, 10, by["backlog.open"].Notes)
	require.Equal(t, 4, by["backlog.urgent"].Notes)
	require.Equal(t, map[string]int{"backlog.urgent": 4}, by["backlog.open"].Overlap)
	require.Equal(t, map[string]int{"backlog.open": 4}, by["backlog.urgent"].Overlap)
	require.Equal(t, 2, by["crm.all"].Tasks)
	require.Equal(t, "Acme", by["crm.all"].OpenExamples[0].Name)
	require.Equal(t, "account Acme", by["crm.all"].OpenExamples[0].Message)
	require.Equal(t, preview.Writes{ZendeskUpdates: 10, SalesforceTasks: 2, ZendeskBudget: 4, ZendeskHours: 2.5}, rep.Writes,
		"one update per ticket, whatever the number of its findings")

	var text, mdown, js bytes.Buffer
	require.NoError(t, rep.WriteText(&text))
	require.Contains(t, text.String(), "fires on the same entities as backlog.urgent (4)")
	require.Contains(t, text.String(), "It would write 10 ticket updates (2.5 h at the budget of 4 an hour) and 2 Salesforce Task writes (no write budget).")
	require.NoError(t, rep.WriteMarkdown(&mdown))
	require.Contains(t, mdown.String(), "| `backlog.urgent (new)` Urgent | 4 | 0 | 0 | 0 | 4 | 0 | 0 | backlog.open (4) |")
	require.Contains(t, mdown.String(), `- opens account/001A (Acme): account Acme`)
	require.NoError(t, rep.WriteJSON(&js))
	var decoded preview.Report
	require.NoError(t, json.Unmarshal(js.Bytes(), &decoded))
	require.Equal(t, rep.Writes, decoded.Writes)
	require.Len(t, decoded.Rules, 3)
}

func writeFile(name, body string) error { return os.WriteFile(name, []byte(body), 0o644) }
