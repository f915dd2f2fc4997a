package app_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/writeback"
)

type testBundle struct {
	sims *demo.Simulators
	app  *app.App
	cfg  config.Config
}

func setup(t *testing.T, databaseURL string, extra ...string) *testBundle {
	t.Helper()
	sims, err := demo.StartSimulators(demo.SimOptions{Seed: 7, Accounts: 40, Tickets: 400, ZendeskRateLimit: 100000})
	require.NoError(t, err)
	t.Cleanup(sims.Close)
	cfg := apptest.Config(t, append(append(sims.Env(), "CXAUDIT_DATABASE_URL="+databaseURL), extra...)...)
	a := newApp(t, cfg, testLogger(), app.Options{Migrate: true})
	return &testBundle{sims: sims, app: a, cfg: cfg}
}

// testLogger is the worker's logger in a test: silent, or text on stderr
// when CXAUDIT_TEST_LOG is set (to see what a failing test's worker did).
func testLogger() *slog.Logger {
	if os.Getenv("CXAUDIT_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// newApp starts a worker on cfg and closes it when the test ends.
func newApp(t *testing.T, cfg config.Config, logger *slog.Logger, opts app.Options) *app.App {
	t.Helper()
	a, err := app.New(context.Background(), cfg, logger, opts)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	return a
}

func TestCyclePostgres(t *testing.T) {
	t.Parallel()
	exerciseCycle(t, setup(t, storetest.NewPostgresSchema(t)))
}

func TestCycleSQLite(t *testing.T) {
	t.Parallel()
	exerciseCycle(t, setup(t, storetest.NewSQLitePath(t)))
}

// exerciseCycle runs the whole path and checks it as an agent would see it
// in the simulators: one note per ticket with findings, tags, Tasks owned
// by account owners, nothing written twice, and a finding's life from open
// to resolved.
func exerciseCycle(t *testing.T, b *testBundle) {
	ctx := context.Background()
	res, err := b.app.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, res.FailedJobs)

	notes := res.Writes[store.WriteZendeskNote]
	tasks := res.Writes[store.WriteSalesforceTask]
	require.Positive(t, notes, "ticket findings reach Zendesk")
	require.Positive(t, tasks, "account findings reach Salesforce")
	zs, ss := b.sims.Zendesk.Stats(), b.sims.Salesforce.Stats()
	require.Equal(t, notes, zs.NotesAdded, "every note recorded was received, and no other")
	require.Equal(t, tasks, ss.TasksCreated)
	require.LessOrEqual(t, ss.CompositeCalls, (tasks+writeback.BatchSize-1)/writeback.BatchSize+1, "Tasks go in batches of 200")

	// Every ticket with open note findings carries a cxaudit note, none
	// twice, and the findings' tags. (Usually one note: a ticket audited
	// before Salesforce's first sync completed gets a second one for the
	// cross-system findings that came after.)
	open, err := b.app.Store.ListFindings(ctx, store.FindingFilter{Status: cxaudit.FindingOpen, EntityKind: cxaudit.EntityTicket})
	require.NoError(t, err)
	require.NotEmpty(t, open)
	for _, f := range open {
		if !f.Actions.ZendeskNote {
			continue
		}
		tk, ok := b.sims.Zendesk.Ticket(mustID(t, f.EntityID))
		require.True(t, ok)
		markers := map[string]bool{}
		for _, c := range tk.Comments {
			if c.AuthorID == b.sims.Zendesk.APIUserID() {
				require.False(t, c.Public, "cxaudit notes are internal")
				m := noteMarker.FindString(c.Body)
				require.NotEmpty(t, m, "ticket %d: a cxaudit note carries its marker", tk.ID)
				require.False(t, markers[m], "ticket %d: two notes carry %s", tk.ID, m)
				markers[m] = true
			}
		}
		require.NotEmpty(t, markers, "ticket %d has a cxaudit note", tk.ID)
		for _, tag := range f.Actions.ZendeskTags {
			require.Contains(t, tk.Tags, tag)
		}
	}
	// Tasks sit on the account, owned by its owner when active. The Task
	// of an account whose owner left names that owner, not the user id.
	userNames := map[string]string{}
	for _, u := range b.sims.World.SalesforceUsers {
		userNames[u.ID] = u.Name
	}
	var inactiveNamed int
	for _, task := range b.sims.Salesforce.Tasks() {
		require.True(t, strings.HasPrefix(task.WhatID, "001"))
		require.Contains(t, task.Subject, "cxaudit:")
		for _, acc := range b.sims.World.Accounts {
			if acc.ID == task.WhatID && acc.OwnerActive {
				require.Equal(t, acc.OwnerID, task.OwnerID)
			}
			if acc.ID == task.WhatID && !acc.OwnerActive && strings.Contains(task.Description, "inactive user") {
				require.NotEmpty(t, userNames[acc.OwnerID])
				require.Contains(t, task.Description, userNames[acc.OwnerID]+", an inactive user")
				require.NotContains(t, task.Description, acc.OwnerID)
				inactiveNamed++
			}
		}
	}
	require.Positive(t, inactiveNamed, "the world has accounts whose owner left")

	// A second cycle re-syncs the tickets our notes just updated, and
	// writes nothing.
	res, err = b.app.RunOnce(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Writes, "second cycle writes nothing")
	require.Equal(t, zs.NotesAdded, b.sims.Zendesk.Stats().NotesAdded)

	// An agent fixes a ticket: the finding resolves, its tags go, and the
	// agent's own tags stay.
	var target cxaudit.Finding
	for _, f := range open {
		if f.RuleID == "severity.urgent_without_sev_tag" {
			target = f
			break
		}
	}
	require.NotEmpty(t, target.Fingerprint, "the seeded tenant has an urgent ticket without a severity tag")
	id := mustID(t, target.EntityID)
	b.sims.Zendesk.UpdateTicket(id, func(tk *cxaudit.Ticket) { tk.Tags = append(tk.Tags, "sev1", "agent_own_tag") })
	res, err = b.app.RunOnce(ctx)
	require.NoError(t, err)
	fs, err := b.app.Store.FindingsForEntity(ctx, cxaudit.EntityTicket, target.EntityID)
	require.NoError(t, err)
	for _, f := range fs {
		if f.RuleID == target.RuleID {
			require.Equal(t, cxaudit.FindingResolved, f.Status)
			require.Equal(t, cxaudit.FindingResolved, f.WrittenStatus)
		}
	}
	tk, _ := b.sims.Zendesk.Ticket(id)
	require.Contains(t, tk.Tags, "agent_own_tag")
	require.Contains(t, tk.Tags, "sev1")
	for _, tag := range target.Actions.ZendeskTags {
		require.NotContains(t, tk.Tags, tag, "cxaudit removes its tag when the finding clears")
	}
	require.Equal(t, 1, res.Writes[store.WriteZendeskTagUpdate])

	// An agent acknowledges another ticket's findings with the documented
	// tag: they are acknowledged, cxaudit takes the tag away again, and
	// writes no note.
	var ackTarget cxaudit.Finding
	for _, f := range open {
		if f.Actions.ZendeskNote && f.EntityID != target.EntityID {
			ackTarget = f
			break
		}
	}
	ackID := mustID(t, ackTarget.EntityID)
	notesBefore := b.sims.Zendesk.Stats().NotesAdded
	b.sims.Zendesk.UpdateTicket(ackID, func(tk *cxaudit.Ticket) { tk.Tags = append(tk.Tags, cxaudit.AckTag) })
	_, err = b.app.RunOnce(ctx)
	require.NoError(t, err)
	fs, err = b.app.Store.FindingsForEntity(ctx, cxaudit.EntityTicket, ackTarget.EntityID)
	require.NoError(t, err)
	for _, f := range fs {
		if f.Status == cxaudit.FindingOpen {
			require.NotNil(t, f.AcknowledgedAt, "rule %s acknowledged", f.RuleID)
			if f.WritesBack() { // a lead rule's findings are never written
				require.Equal(t, cxaudit.FindingAcknowledged, f.WrittenStatus)
			}
		}
	}
	tk, _ = b.sims.Zendesk.Ticket(ackID)
	require.NotContains(t, tk.Tags, cxaudit.AckTag, "the acknowledgement tag is consumed")
	require.Equal(t, notesBefore, b.sims.Zendesk.Stats().NotesAdded, "no note for an acknowledgement")
	res, err = b.app.RunOnce(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Writes, "an acknowledged ticket stays quiet")

	// An account owner fills in the renewal date: cxaudit completes its Task.
	var accFinding cxaudit.Finding
	accs, err := b.app.Store.ListFindings(ctx, store.FindingFilter{Status: cxaudit.FindingOpen, RuleID: "crm.renewal_date_missing"})
	require.NoError(t, err)
	require.NotEmpty(t, accs)
	accFinding = accs[0]
	renewal := time.Now().AddDate(0, 6, 0)
	b.sims.Salesforce.UpdateAccount(accFinding.EntityID, func(a *cxaudit.Account) { a.RenewalDate = &renewal })
	res, err = b.app.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Writes[store.WriteSalesforceTaskUpdate])
	var completed int
	for _, task := range b.sims.Salesforce.Tasks() {
		if strings.Contains(task.Subject, writeback.TaskMarker(accFinding.Fingerprint)) {
			require.Equal(t, "Completed", task.Status)
			completed++
		}
	}
	require.Equal(t, 1, completed, "exactly one Task for the finding, now completed")
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	var id int64
	for _, c := range s {
		require.True(t, c >= '0' && c <= '9', "ticket id %q", s)
		id = id*10 + int64(c-'0')
	}
	return id
}
