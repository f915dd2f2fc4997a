package writeback_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/writeback"
	"github.com/cxaudit/cxaudit/internal/zendesk"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

type testBundle struct {
	// loseNextTaskWrite makes the next composite write reach Salesforce and
	// its answer get lost (a 503 instead), as when a gateway times out.
	loseNextTaskWrite atomic.Bool

	world *simworld.World
	store store.Store
	zsim  *zendesktest.Sim
	ssim  *salesforcetest.Sim
	zw    *writeback.Zendesk
	sw    *writeback.Salesforce
}

func setup(t *testing.T, st store.Store) *testBundle {
	t.Helper()
	return setupWith(t, st, zendesktest.Options{})
}

// setupWith is setup with a Zendesk simulator configured by zopts (its
// World and generous limits are set here).
func setupWith(t *testing.T, st store.Store, zopts zendesktest.Options) *testBundle {
	t.Helper()
	w := simworld.Generate(simworld.Options{Seed: 11, Accounts: 20, Tickets: 120})
	zopts.World, zopts.RateLimit, zopts.UpdateRateLimit = w, 100000, 100000
	zsim, zsrv := zendesktest.NewServer(zopts)
	t.Cleanup(zsrv.Close)
	b := &testBundle{world: w}
	ssim := salesforcetest.New(salesforcetest.Options{World: w, AccessToken: "tok"})
	ssrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/composite/sobjects") && b.loseNextTaskWrite.CompareAndSwap(true, false) {
			ssim.ServeHTTP(httptest.NewRecorder(), r)                                                                          // applied…
			http.Error(rw, `[{"message":"upstream timeout","errorCode":"SERVER_UNAVAILABLE"}]`, http.StatusServiceUnavailable) // …answer lost
			return
		}
		ssim.ServeHTTP(rw, r)
	}))
	t.Cleanup(ssrv.Close)
	logger := slog.New(slog.DiscardHandler)
	fast := remote.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}
	zc, err := zendesk.New(zendesk.Config{URL: zsrv.URL, Email: zendesktest.DefaultEmail, APIToken: zendesktest.DefaultAPIToken, Logger: logger, HTTP: fast})
	require.NoError(t, err)
	sc, err := salesforce.New(salesforce.Config{InstanceURL: ssrv.URL, AccessToken: "tok", Logger: logger, HTTP: fast})
	require.NoError(t, err)
	// The store knows the tenant as a sync would have left it.
	ctx := context.Background()
	require.NoError(t, st.UpsertTickets(ctx, w.Tickets))
	require.NoError(t, st.UpsertAccounts(ctx, w.Accounts))
	b.store, b.zsim, b.ssim = st, zsim, ssim
	b.zw = &writeback.Zendesk{Client: zc, Store: st, Logger: logger, ResolutionNote: true}
	b.sw = &writeback.Salesforce{Client: sc, Store: st, Logger: logger}
	return b
}

// openTicketIDs returns n tickets that accept updates (not closed).
func (b *testBundle) openTicketIDs(t *testing.T, n int) []int64 {
	var ids []int64
	for _, tk := range b.world.Tickets {
		if tk.Status != cxaudit.StatusClosed && len(ids) < n {
			ids = append(ids, tk.ID)
		}
	}
	require.Len(t, ids, n)
	return ids
}

func ticketFinding(rule string, id int64) cxaudit.Finding {
	eid := strconv.FormatInt(id, 10)
	now := time.Now().UTC()
	return cxaudit.Finding{
		Fingerprint: cxaudit.Fingerprint(rule, cxaudit.EntityTicket, eid), RuleID: rule, RuleVersion: "v1",
		Title: "Rule " + rule, Category: cxaudit.CategoryBacklogAging, Severity: cxaudit.SeverityHigh, Mode: cxaudit.ModeEnforce,
		EntityKind: cxaudit.EntityTicket, EntityID: eid, Message: "found on " + eid, Status: cxaudit.FindingOpen,
		OpenedAt: now, UpdatedAt: now, Actions: cxaudit.Actions{ZendeskNote: true, ZendeskTags: []string{"cxaudit_" + rule}},
	}
}

func accountFinding(rule, accountID string) cxaudit.Finding {
	now := time.Now().UTC()
	return cxaudit.Finding{
		Fingerprint: cxaudit.Fingerprint(rule, cxaudit.EntityAccount, accountID), RuleID: rule, RuleVersion: "v1",
		Title: "Rule " + rule, Category: cxaudit.CategoryCRMHygiene, Severity: cxaudit.SeverityMedium, Mode: cxaudit.ModeEnforce,
		EntityKind: cxaudit.EntityAccount, EntityID: accountID, Message: "found on " + accountID, Status: cxaudit.FindingOpen,
		OpenedAt: now, UpdatedAt: now, Actions: cxaudit.Actions{SalesforceTask: &cxaudit.TaskAction{DueInDays: 7}},
	}
}

// notesOn counts cxaudit's notes on a ticket in the simulator.
func (b *testBundle) notesOn(t *testing.T, id int64) []cxaudit.Comment {
	tk, ok := b.zsim.Ticket(id)
	require.True(t, ok)
	var out []cxaudit.Comment
	for _, c := range tk.Comments {
		if c.AuthorID == b.zsim.APIUserID() {
			out = append(out, c)
		}
	}
	return out
}

func dirtyCount(t *testing.T, st store.Store, kind cxaudit.EntityKind) int {
	ids, err := st.DirtyEntities(context.Background(), kind, "", 1000)
	require.NoError(t, err)
	return len(ids)
}

func TestZendeskWriteback(t *testing.T) {
	t.Parallel()
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t.Run("OneUpdatePerTicketCoalesced", func(t *testing.T) {
				t.Parallel()
				b := setup(t, open(t))
				ctx := context.Background()
				ids := b.openTicketIDs(t, 5)
				for _, id := range ids {
					require.NoError(t, b.store.PutFinding(ctx, ticketFinding("a", id)))
					require.NoError(t, b.store.PutFinding(ctx, ticketFinding("b", id)))
				}
				before := b.zsim.Stats()
				stats, err := b.zw.Run(ctx)
				require.NoError(t, err)
				after := b.zsim.Stats()
				require.Equal(t, len(ids), after.TicketUpdates-before.TicketUpdates, "one update per ticket for two findings: at most 1 Zendesk call per ticket")
				require.Equal(t, len(ids), after.Requests-before.Requests, "no other call")
				require.Equal(t, len(ids), stats.Writes["zendesk_notes"])
				for _, id := range ids {
					notes := b.notesOn(t, id)
					require.Len(t, notes, 1)
					require.False(t, notes[0].Public)
					require.Contains(t, notes[0].Body, "Rule a")
					require.Contains(t, notes[0].Body, "Rule b")
					tk, _ := b.zsim.Ticket(id)
					require.Contains(t, tk.Tags, "cxaudit_a")
					require.Contains(t, tk.Tags, "cxaudit_b")
				}
				require.Zero(t, dirtyCount(t, b.store, cxaudit.EntityTicket))

				// Nothing changed: nothing is written.
				stats, err = b.zw.Run(ctx)
				require.NoError(t, err)
				require.Empty(t, stats.Writes)
				require.Equal(t, after.Requests, b.zsim.Stats().Requests)

				// The evidence changes (new words, not just drifting numbers):
				// one more note, with the update only.
				stored := func(id int64, rule string) cxaudit.Finding {
					fs, err := b.store.FindingsForEntity(ctx, cxaudit.EntityTicket, strconv.FormatInt(id, 10))
					require.NoError(t, err)
					for _, f := range fs {
						if f.RuleID == rule {
							return f
						}
					}
					t.Fatalf("no finding %s on %d", rule, id)
					return cxaudit.Finding{}
				}
				f := stored(ids[0], "a")
				f.Message = "found again on " + f.EntityID + ", now with data loss"
				require.NoError(t, b.store.PutFinding(ctx, f))
				drift := stored(ids[1], "b")
				drift.Message = strings.Replace(drift.Message, drift.EntityID, drift.EntityID+"9", 1) // only digits change
				require.NoError(t, b.store.PutFinding(ctx, drift))
				_, err = b.zw.Run(ctx)
				require.NoError(t, err)
				notes := b.notesOn(t, ids[0])
				require.Len(t, notes, 2)
				require.Contains(t, notes[1].Body, "now with data loss")
				require.NotContains(t, notes[1].Body, "Rule b", "unchanged findings are not repeated")
				require.Len(t, b.notesOn(t, ids[1]), 1, "numbers drifting is no update")
			})

			t.Run("LostResponseIsReconciledNotRepeated", func(t *testing.T) {
				t.Parallel()
				b := setup(t, open(t))
				ctx := context.Background()
				id := b.openTicketIDs(t, 1)[0]
				require.NoError(t, b.store.PutFinding(ctx, ticketFinding("a", id)))
				// The update is applied, but the answer is a 502.
				b.zsim.SetFaults(zendesktest.Faults{LoseWriteResponses: true})
				b.zsim.FailNext(1, 502)
				_, err := b.zw.Run(ctx)
				require.Error(t, err)
				require.Len(t, b.notesOn(t, id), 1, "the update went through")
				require.Equal(t, 1, dirtyCount(t, b.store, cxaudit.EntityTicket), "its outcome is unknown to cxaudit")

				stats, err := b.zw.Run(ctx)
				require.NoError(t, err)
				require.Equal(t, 1, stats.Reconciled, "the note was found and adopted")
				require.Len(t, b.notesOn(t, id), 1, "and not written again")
				require.Zero(t, dirtyCount(t, b.store, cxaudit.EntityTicket))
			})

			t.Run("FailedWriteIsWrittenOnRetry", func(t *testing.T) {
				t.Parallel()
				b := setup(t, open(t))
				ctx := context.Background()
				id := b.openTicketIDs(t, 1)[0]
				require.NoError(t, b.store.PutFinding(ctx, ticketFinding("a", id)))
				b.zsim.FailNext(1, 503) // not applied
				_, err := b.zw.Run(ctx)
				require.Error(t, err)
				require.Empty(t, b.notesOn(t, id))
				_, err = b.zw.Run(ctx)
				require.NoError(t, err)
				require.Len(t, b.notesOn(t, id), 1)
			})

			t.Run("DryRunAndObserveWriteNothing", func(t *testing.T) {
				t.Parallel()
				b := setup(t, open(t))
				ctx := context.Background()
				ids := b.openTicketIDs(t, 2)
				observed := ticketFinding("o", ids[1])
				observed.Mode = cxaudit.ModeObserve
				require.NoError(t, b.store.PutFinding(ctx, ticketFinding("a", ids[0])))
				require.NoError(t, b.store.PutFinding(ctx, observed))
				b.zw.DryRun = true
				_, err := b.zw.Run(ctx)
				require.NoError(t, err)
				require.Zero(t, b.zsim.Stats().TicketUpdates, "dry run writes nothing")
				require.Equal(t, 1, dirtyCount(t, b.store, cxaudit.EntityTicket), "and leaves the finding to write later; the observed one never is")
				b.zw.DryRun = false
				_, err = b.zw.Run(ctx)
				require.NoError(t, err)
				require.Len(t, b.notesOn(t, ids[0]), 1)
				require.Empty(t, b.notesOn(t, ids[1]), "observe mode never writes")
			})

			t.Run("BudgetHoldsTheExcess", func(t *testing.T) {
				t.Parallel()
				b := setup(t, open(t))
				ctx := context.Background()
				ids := b.openTicketIDs(t, 5)
				for _, id := range ids {
					require.NoError(t, b.store.PutFinding(ctx, ticketFinding("a", id)))
				}
				b.zw.Budget = 2
				stats, err := b.zw.Run(ctx)
				require.NoError(t, err)
				require.Equal(t, 2, b.zsim.Stats().TicketUpdates)
				require.Equal(t, 3, stats.Held)
				require.Equal(t, 3, dirtyCount(t, b.store, cxaudit.EntityTicket), "held, not dropped")
				// Within the same hour the budget stays spent, also for a new run.
				stats, err = b.zw.Run(ctx)
				require.NoError(t, err)
				require.Equal(t, 3, stats.Held)
				require.Equal(t, 2, b.zsim.Stats().TicketUpdates)
				// When the budget allows, the held writes go out.
				b.zw.Budget = 10
				_, err = b.zw.Run(ctx)
				require.NoError(t, err)
				require.Equal(t, 5, b.zsim.Stats().TicketUpdates)
				require.Zero(t, dirtyCount(t, b.store, cxaudit.EntityTicket))
			})

			t.Run("ResolvedRemovesOnlyItsTags", func(t *testing.T) {
				t.Parallel()
				b := setup(t, open(t))
				ctx := context.Background()
				id := b.openTicketIDs(t, 1)[0]
				fa, fb := ticketFinding("a", id), ticketFinding("b", id)
				fb.Actions.ZendeskTags = []string{"cxaudit_a"} // shares a's tag
				require.NoError(t, b.store.PutFinding(ctx, fa))
				require.NoError(t, b.store.PutFinding(ctx, fb))
				_, err := b.zw.Run(ctx)
				require.NoError(t, err)
				b.zsim.UpdateTicket(id, func(tk *cxaudit.Ticket) { tk.Tags = append(tk.Tags, "agent_tag") })

				fs, err := b.store.FindingsForEntity(ctx, cxaudit.EntityTicket, strconv.FormatInt(id, 10))
				require.NoError(t, err)
				for _, f := range fs {
					if f.RuleID == "a" {
						now := time.Now()
						f.Status, f.ResolvedAt = cxaudit.FindingResolved, &now
						require.NoError(t, b.store.PutFinding(ctx, f))
					}
				}
				_, err = b.zw.Run(ctx)
				require.NoError(t, err)
				tk, _ := b.zsim.Ticket(id)
				require.Contains(t, tk.Tags, "cxaudit_a", "still needed by the open finding b")
				require.Contains(t, tk.Tags, "agent_tag", "agents' tags are never touched")
				notes := b.notesOn(t, id)
				require.Len(t, notes, 2)
				require.Contains(t, notes[1].Body, "Resolved", "a short resolution note")
			})
		})
	}
}

func TestSalesforceWriteback(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.NewPostgres(t))
	ctx := context.Background()
	// More findings than one batch: 250 across the accounts.
	for i := range 250 {
		acc := b.world.Accounts[i%len(b.world.Accounts)]
		require.NoError(t, b.store.PutFinding(ctx, accountFinding("r"+strconv.Itoa(i/len(b.world.Accounts)), acc.ID)))
	}

	// The first batch is created but its answer is lost.
	b.loseNextTaskWrite.Store(true)
	_, err := b.sw.Run(ctx)
	require.Error(t, err)
	stats, err := b.sw.Run(ctx)
	require.NoError(t, err)
	tasks := b.ssim.Tasks()
	require.Len(t, tasks, 250, "every finding has exactly one Task, whatever the lost answer did")
	seen := map[string]bool{}
	for _, task := range tasks {
		require.False(t, seen[task.Subject], "duplicate task %q", task.Subject)
		seen[task.Subject] = true
		require.Equal(t, "Normal", task.Priority, "priority from severity medium")
		require.NotNil(t, task.ActivityDate, "due date from the rule")
	}
	require.Zero(t, dirtyCount(t, b.store, cxaudit.EntityAccount))
	calls := b.ssim.Stats().CompositeCalls
	require.LessOrEqual(t, calls, 4, "250 Tasks: two batches, plus the failed one and its reconciliation (got %d)", calls)
	require.Equal(t, writeback.BatchSize, stats.Reconciled, "the lost batch was found by its markers and adopted")

	// The owner completes one Task: its finding is acknowledged, nothing is
	// written for it.
	target := tasks[0]
	b.ssim.CompleteTask(target.ID)
	before := b.ssim.Stats()
	_, err = b.sw.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, before.TasksUpdated, b.ssim.Stats().TasksUpdated)
	open, err := b.store.ListFindings(ctx, store.FindingFilter{EntityKind: cxaudit.EntityAccount, EntityID: target.WhatID})
	require.NoError(t, err)
	var acked int
	for _, f := range open {
		if strings.Contains(target.Subject, f.Fingerprint) {
			require.NotNil(t, f.AcknowledgedAt)
			acked++
		}
	}
	require.Equal(t, 1, acked)

	// Another finding clears: cxaudit completes its own Task.
	var other cxaudit.Finding
	for _, f := range open {
		if !strings.Contains(target.Subject, f.Fingerprint) {
			other = f
			break
		}
	}
	now := time.Now()
	other.Status, other.ResolvedAt = cxaudit.FindingResolved, &now
	require.NoError(t, b.store.PutFinding(ctx, other))
	_, err = b.sw.Run(ctx)
	require.NoError(t, err)
	for _, task := range b.ssim.Tasks() {
		if strings.Contains(task.Subject, other.Fingerprint) {
			require.Equal(t, "Completed", task.Status)
		}
	}
}

// bidiControls are every Unicode bidirectional control: marks, embeddings,
// overrides and isolates.
const bidiControls = "\u200E\u200F\u061C\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069"

// TestNoteRuleIDsAndMarkerAtTheEnd: what the agent reads comes first
// (titles, messages, how to fix, how to acknowledge); the rule ids and the
// marker follow in one small line at the very end, not under every item.
func TestNoteRuleIDsAndMarkerAtTheEnd(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.NewSQLite(t))
	ctx := context.Background()
	id := b.openTicketIDs(t, 1)[0]
	for _, rule := range []string{"t.first", "t.second"} {
		require.NoError(t, b.store.PutFinding(ctx, ticketFinding(rule, id)))
	}
	_, err := b.zw.Run(ctx)
	require.NoError(t, err)
	notes := b.notesOn(t, id)
	require.Len(t, notes, 1)
	html := b.noteHTML(t, id, notes[0].ID)
	require.Regexp(t, `<p><small>rules: t\.(first|second), t\.(first|second) · cxaudit:[0-9a-f.]+</small></p>$`, html)
	last := strings.LastIndex(html, "<p><small>")
	for _, s := range []string{"Rule t.first", "Rule t.second", "found on", cxaudit.AckTag} {
		require.Less(t, strings.LastIndex(html, s), last, "%q comes before the footer", s)
	}
	require.NotContains(t, html[:last], "cxaudit:", "no marker before the footer")
	require.NotContains(t, html[:last], "<small>", "no rule line under each item")
}

// TestBidiControlsStripped: a ticket subject and an account name carrying
// bidirectional controls, read from the simulators and quoted by a rule's
// message (and a rule title carrying one), give a note and a Task without
// them; the text around them stays.
func TestBidiControlsStripped(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.NewSQLite(t))
	ctx := context.Background()
	set, err := rules.LoadFS(fstest.MapFS{"r.yaml": {Data: []byte(`rules:
  - {id: t.quote, title: "Quotes \u202Ethe subject", category: backlog_aging, severity: high, entity: ticket,
     when: "true", message: '"Subject: " + ticket.subject', actions: {zendesk: {note: true}}}
  - {id: a.quote, title: "Quotes \u2067the name\u2069", category: crm_hygiene, severity: medium, entity: account,
     when: "true", message: '"Account: " + account.name', actions: {salesforce: {task: {}}}}
`)}}, ".")
	require.NoError(t, err)
	evaluate := func(kind cxaudit.EntityKind, in rules.Input) rules.Match {
		ms, errs := set.Evaluate(kind, in)
		require.Empty(t, errs)
		require.Len(t, ms, 1)
		return ms[0]
	}
	hasBidi := func(s string) bool { return strings.ContainsAny(s, bidiControls) }

	id := b.openTicketIDs(t, 1)[0]
	b.zsim.UpdateTicket(id, func(tk *cxaudit.Ticket) { tk.Subject = "Invoice \u202Efdp.exe" + bidiControls + " attached" })
	tk, err := b.zw.Client.Ticket(ctx, id)
	require.NoError(t, err)
	require.True(t, hasBidi(tk.Subject), "the subject comes back as it was")
	m := evaluate(cxaudit.EntityTicket, rules.Input{Now: time.Now(), Ticket: &tk})
	f := ticketFinding("t.quote", id)
	f.Title, f.Message = m.Rule.Title, m.Message
	require.NoError(t, b.store.PutFinding(ctx, f))
	_, err = b.zw.Run(ctx)
	require.NoError(t, err)
	notes := b.notesOn(t, id)
	require.Len(t, notes, 1)
	html := b.noteHTML(t, id, notes[0].ID)
	for _, s := range []string{notes[0].Body, html} {
		require.False(t, hasBidi(s), "bidi controls in the note: %q", s)
		require.Contains(t, s, "Subject: Invoice fdp.exe attached")
		require.Contains(t, s, "Quotes the subject")
	}

	acc := b.world.Accounts[0]
	b.ssim.UpdateAccount(acc.ID, func(a *cxaudit.Account) { a.Name = "Acme \u202Bشركة\u202C" + bidiControls + " Ltd" })
	var read cxaudit.Account
	require.NoError(t, b.sw.Client.Accounts(ctx, time.Time{}, nil, func(page []cxaudit.Account, _ []cxaudit.Rejected) error {
		for _, a := range page {
			if a.ID == acc.ID {
				read = a
			}
		}
		return nil
	}))
	require.True(t, hasBidi(read.Name), "the name comes back as it was")
	m = evaluate(cxaudit.EntityAccount, rules.Input{Now: time.Now(), Account: &read})
	af := accountFinding("a.quote", acc.ID)
	af.Title, af.Message = m.Rule.Title, m.Message
	require.NoError(t, b.store.PutFinding(ctx, af))
	_, err = b.sw.Run(ctx)
	require.NoError(t, err)
	tasks := b.ssim.Tasks()
	require.Len(t, tasks, 1)
	require.False(t, hasBidi(tasks[0].Subject), "bidi controls in the Task subject: %q", tasks[0].Subject)
	require.False(t, hasBidi(tasks[0].Description), "bidi controls in the Task description: %q", tasks[0].Description)
	require.Regexp(t, `^\[cxaudit:[0-9a-f]{16}\] Quotes the name$`, tasks[0].Subject)
	require.Contains(t, tasks[0].Description, "Account: Acme شركة Ltd")
}

// noteHTML reads the html_body of a comment through the simulator's API, as
// an agent's browser would render it.
func (b *testBundle) noteHTML(t *testing.T, ticketID, commentID int64) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/v2/tickets/"+strconv.FormatInt(ticketID, 10)+"/comments.json", nil)
	req.SetBasicAuth(zendesktest.DefaultEmail+"/token", zendesktest.DefaultAPIToken)
	rec := httptest.NewRecorder()
	b.zsim.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var resp struct {
		Comments []struct {
			ID       int64  `json:"id"`
			HTMLBody string `json:"html_body"`
		} `json:"comments"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	for _, c := range resp.Comments {
		if c.ID == commentID {
			return c.HTMLBody
		}
	}
	t.Fatalf("no comment %d on ticket %d", commentID, ticketID)
	return ""
}

// TestCorruptWriteLogStopsTheWrite: a pending write whose log record cannot
// be decoded (its payload says what the lost write carried) used to be read
// as carrying nothing. Now the write-back stops with an error that names
// the record, and writes nothing more: no second Task, the finding still
// to write.
func TestCorruptWriteLogStopsTheWrite(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.NewSQLite(t))
	ctx := context.Background()
	f := accountFinding("corrupt", b.world.Accounts[0].ID)
	require.NoError(t, b.store.PutFinding(ctx, f))

	// The Task is created, its answer lost: the write stays pending.
	b.loseNextTaskWrite.Store(true)
	_, err := b.sw.Run(ctx)
	require.Error(t, err)
	target := "salesforce:task:" + f.Fingerprint
	rec, err := b.store.GetWriteLog(ctx, target)
	require.NoError(t, err)
	require.Equal(t, store.WritePending, rec.State)
	require.Len(t, b.ssim.Tasks(), 1)

	rec.Payload = []byte(`{"marks": [`)
	require.NoError(t, b.store.PutWriteLog(ctx, rec))
	_, err = b.sw.Run(ctx)
	require.ErrorContains(t, err, "decode write log of "+target)
	require.Len(t, b.ssim.Tasks(), 1, "no Task twice")
	require.Equal(t, 1, dirtyCount(t, b.store, cxaudit.EntityAccount), "the finding is not taken as written")
}
