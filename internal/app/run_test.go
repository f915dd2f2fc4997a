package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// newSimApp serves w from both simulators and returns an App pointed at
// them on databaseURL, with env on top of the defaults.
func newSimApp(t *testing.T, w *simworld.World, databaseURL string, env map[string]string) (*app.App, *zendesktest.Sim, *salesforcetest.Sim) {
	t.Helper()
	sims, err := demo.ServeWorld(w, demo.SimOptions{ZendeskRateLimit: 100000})
	require.NoError(t, err)
	t.Cleanup(sims.Close)
	vars := append(sims.Env(), "CXAUDIT_DATABASE_URL="+databaseURL, "CXAUDIT_RULES_DIR=../../rules")
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	return newApp(t, apptest.Config(t, vars...), testLogger(), app.Options{Migrate: true}), sims.Zendesk, sims.Salesforce
}

// TestNULInSyncedTextOnPostgres: tickets that came in by e-mail carry NULs
// (U+0000), which PostgreSQL refuses in TEXT and JSONB. One of them in a
// ticket's subject or comment, an organization's or an account's name
// blocked the whole source for ever. Now they are stored with U+FFFD, the
// cycle completes and the tickets are audited and written back.
func TestNULInSyncedTextOnPostgres(t *testing.T) {
	t.Parallel()
	w := simworld.Generate(simworld.Options{Seed: 5, Accounts: 20, Tickets: 200})
	const nul = "\x00"
	tk := &w.Tickets[0]
	tk.Status = cxaudit.StatusOpen // its comments are read: rules read those of open tickets
	tk.Subject = "Printer " + nul + "on fire"
	tk.Description = "Sent from my mail client" + nul
	tk.Comments = append(tk.Comments, cxaudit.Comment{ID: 77_000_001, AuthorID: tk.RequesterID, Public: true,
		Body: "Still" + nul + " broken", CreatedAt: tk.CreatedAt})
	org := &w.Organizations[0]
	org.Name += nul
	acc := &w.Accounts[0]
	acc.Name = "Acme" + nul + " Corp"
	acc.Contacts = append(acc.Contacts, cxaudit.Contact{ID: "003N00000000000NUL", AccountID: acc.ID, Name: "Ada" + nul,
		SystemModstamp: acc.SystemModstamp})

	a, zd, _ := newSimApp(t, w, storetest.NewPostgresSchema(t), nil)
	ctx := context.Background()
	res, err := a.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, res.FailedJobs)
	require.Positive(t, res.Writes[store.WriteZendeskNote], "the cycle reaches write-back")

	n, err := a.Store.CountTickets(ctx)
	require.NoError(t, err)
	require.Equal(t, len(w.Tickets), n, "every ticket is stored, the page with the NUL included")
	got, err := a.Store.Ticket(ctx, tk.ID)
	require.NoError(t, err)
	require.Equal(t, "Printer \uFFFDon fire", got.Subject)
	require.Equal(t, "Sent from my mail client\uFFFD", got.Description)
	var found bool
	for _, c := range got.Comments {
		found = found || c.Body == "Still\uFFFD broken"
	}
	require.True(t, found, "the comment with the NUL is stored")
	o, err := a.Store.Organization(ctx, org.ID)
	require.NoError(t, err)
	require.Equal(t, strings.ReplaceAll(org.Name, nul, "\uFFFD"), o.Name)
	sa, err := a.Store.Account(ctx, acc.ID)
	require.NoError(t, err)
	require.Equal(t, "Acme\uFFFD Corp", sa.Name)
	var ada bool
	for _, c := range sa.Contacts {
		ada = ada || c.Name == "Ada\uFFFD"
	}
	require.True(t, ada, "the contact with the NUL is stored")

	// A second cycle writes nothing: nothing is read as changed.
	notes := zd.Stats().NotesAdded
	res, err = a.RunOnce(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Writes)
	require.Equal(t, notes, zd.Stats().NotesAdded)
}
