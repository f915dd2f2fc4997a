package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// Tests of a tenant named its own way: the simulated org keeps its renewal
// date in Contract_End_Date__c, its tier in Segment__c, its health in
// Customer_Health__c; its Zendesk account has custom ticket, organization
// and user fields. They run on both stores.

var tenantStores = map[string]func(testing.TB) string{
	"postgres": func(tb testing.TB) string { return storetest.NewPostgresSchema(tb) },
	"sqlite":   func(tb testing.TB) string { return storetest.NewSQLitePath(tb) },
}

// customRules are rules on custom fields of both systems.
const customRules = `rules:
  - id: custom.big_account_api_outage
    title: Open API ticket on an account worth a million or more
    category: cross_system
    severity: high
    entity: ticket
    when: >-
      ticket.open && has(ticket.fields.product_area) && ticket.fields.product_area == "area_api" &&
      has_account && has(account.fields.ARR__c) && account.fields.ARR__c >= 1000000.0
    message: '"API ticket on " + account.name + ", ARR " + string(int(account.fields.ARR__c))'
    actions:
      zendesk: {note: true, tags: [cxaudit_big_api]}
  - id: custom.strategic_without_sponsor
    title: Strategic account without an executive sponsor
    category: crm_hygiene
    severity: medium
    entity: account
    when: >-
      has(account.fields.Strategic__c) && account.fields.Strategic__c &&
      !account.contacts.exists(c, "Executive Sponsor" in c.roles)
    message: '"Strategic account " + account.name + " has no executive sponsor"'
    actions:
      salesforce: {task: {due_in_days: 14}}
`

type tenantBundle struct {
	sims *demo.Simulators
	app  *app.App
	logs *apptest.SyncBuffer
}

// setupTenant starts the simulators and a worker on rulesDir.
func setupTenant(t *testing.T, databaseURL, rulesDir string, extra map[string]string) *tenantBundle {
	return setupTenantWith(t, databaseURL, rulesDir, extra, app.Options{Migrate: true})
}

func setupTenantWith(t *testing.T, databaseURL, rulesDir string, extra map[string]string, opts app.Options) *tenantBundle {
	t.Helper()
	sims, err := demo.StartSimulators(demo.SimOptions{Seed: 21, Accounts: 60, Tickets: 600, ZendeskRateLimit: 100000})
	require.NoError(t, err)
	t.Cleanup(sims.Close)
	env := map[string]string{"CXAUDIT_DATABASE_URL": databaseURL, "CXAUDIT_RULES_DIR": rulesDir,
		"CXAUDIT_ZENDESK_WRITE_BUDGET": "0", "CXAUDIT_SALESFORCE_WRITE_BUDGET": "0"}
	for _, kv := range sims.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	logs := &apptest.SyncBuffer{}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, nil)), opts)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	return &tenantBundle{sims: sims, app: a, logs: logs}
}

func openFindings(t *testing.T, st store.Store, rule string) map[string]cxaudit.Finding {
	t.Helper()
	fs, err := st.ListFindings(context.Background(), store.FindingFilter{Status: cxaudit.FindingOpen, RuleID: rule})
	require.NoError(t, err)
	out := map[string]cxaudit.Finding{}
	for _, f := range fs {
		out[f.EntityID] = f
	}
	return out
}

// accountOf links an organization of w to its account the documented way:
// external_id = Account Id, else a shared website domain.
func accountOf(w *simworld.World, org cxaudit.Organization) *cxaudit.Account {
	for i := range w.Accounts {
		a := &w.Accounts[i]
		if org.ExternalID == a.ID || org.ExternalID == "" && len(org.DomainNames) > 0 && a.Domain() == org.DomainNames[0] {
			return a
		}
	}
	return nil
}

// TestCustomFieldRulesFire: a rule on a Zendesk custom ticket field and a
// Salesforce custom field, and one on a Salesforce custom checkbox and
// contacts' roles, fire exactly where the tenant's data says, and are
// written back as a note with its tag and as Tasks.
func TestCustomFieldRulesFire(t *testing.T) {
	t.Parallel()
	for name, newStore := range tenantStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := apptest.RulesDir(t)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "custom.yaml"), []byte(customRules), 0o644))
			b := setupTenant(t, newStore(t), dir, nil)
			res, err := b.app.RunOnce(context.Background())
			require.NoError(t, err)
			require.Zero(t, res.FailedJobs)

			w := b.sims.World
			orgs := map[int64]cxaudit.Organization{}
			for _, o := range w.Organizations {
				orgs[o.ID] = o
			}
			wantTickets := map[string]bool{}
			for _, tk := range w.Tickets {
				acc := accountOf(w, orgs[tk.OrganizationID])
				if !tk.Open() || acc == nil || acc.Raw["ARR__c"].(float64) < 1e6 {
					continue
				}
				for _, cf := range tk.CustomFields {
					if cf.ID == simworld.TicketFieldProductArea && cf.Value == "area_api" {
						wantTickets[strconv.FormatInt(tk.ID, 10)] = true
					}
				}
			}
			require.NotEmpty(t, wantTickets, "the seeded tenant has such tickets")
			got := openFindings(t, b.app.Store, "custom.big_account_api_outage")
			require.Len(t, got, len(wantTickets))
			for id := range wantTickets {
				require.Contains(t, got, id)
				tk, ok := b.sims.Zendesk.Ticket(mustID(t, id))
				require.True(t, ok)
				require.Contains(t, tk.Tags, "cxaudit_big_api", "ticket %s: the tag was written", id)
			}

			wantAccounts := map[string]bool{}
			for _, a := range w.Accounts {
				sponsor := false
				for _, c := range a.Contacts {
					for _, r := range c.Roles {
						sponsor = sponsor || r == "Executive Sponsor"
					}
				}
				if a.Raw["Strategic__c"] == true && !sponsor {
					wantAccounts[a.ID] = true
				}
			}
			require.NotEmpty(t, wantAccounts)
			gotAcc := openFindings(t, b.app.Store, "custom.strategic_without_sponsor")
			require.Len(t, gotAcc, len(wantAccounts))
			tasks := 0
			for _, task := range b.sims.Salesforce.Tasks() {
				if wantAccounts[task.WhatID] && strings.Contains(task.Subject, "executive sponsor") {
					tasks++
				}
			}
			require.Equal(t, len(wantAccounts), tasks, "one Task per account")
		})
	}
}

// TestMissingFieldDisablesOnlyItsRules hides the field the tier is mapped
// to from the integration user: the rules that read the tier are set
// aside (named in the log, the metric and /readyz), nothing is retried,
// and every other rule is audited and written back.
func TestMissingFieldDisablesOnlyItsRules(t *testing.T) {
	t.Parallel()
	for name, newStore := range tenantStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setupTenant(t, newStore(t), apptest.RulesDir(t), nil)
			b.sims.Salesforce.HideField("Account", simworld.TierField)
			res, err := b.app.RunOnce(context.Background())
			require.NoError(t, err, b.logs.String())
			require.Zero(t, res.FailedJobs)

			// Every rule that reads the tier, in its condition or its message.
			tierRules := []string{"crm.enterprise_no_stakeholders", "crm.renewal_date_missing", "cross.urgent_ticket_renewal_soon",
				"severity.enterprise_outage_not_urgent", "severity.enterprise_sev1_not_urgent"}
			for _, r := range tierRules {
				require.Empty(t, openFindings(t, b.app.Store, r), "%s is set aside", r)
			}
			require.NotEmpty(t, openFindings(t, b.app.Store, "crm.renewal_readiness_missing"), "renewal_date is mapped and there")
			require.NotEmpty(t, openFindings(t, b.app.Store, "crm.account_owner_inactive"), "account rules that do not read the tier run")
			require.NotEmpty(t, openFindings(t, b.app.Store, "backlog.first_response_missed"), "Zendesk rules run")
			require.Positive(t, res.Writes[store.WriteZendeskNote])
			require.Positive(t, res.Writes[store.WriteSalesforceTask])

			// One warning names the field, its object, the rules and the fix.
			var warned int
			for _, line := range strings.Split(b.logs.String(), "\n") {
				var rec struct {
					Msg, Field, Fix string
					Rules           []string
				}
				if json.Unmarshal([]byte(line), &rec) != nil || !strings.HasPrefix(rec.Msg, "rules disabled") {
					continue
				}
				warned++
				require.Equal(t, "Account.tier", rec.Field)
				require.Contains(t, rec.Fix, "rules/fields.yaml")
				require.ElementsMatch(t, tierRules, rec.Rules)
			}
			require.Equal(t, 1, warned, "one warning, once")
			mfs, err := b.app.Metrics.Registry.Gather()
			require.NoError(t, err)
			gauged := map[string]bool{}
			for _, mf := range mfs {
				if mf.GetName() != "cxaudit_rule_disabled" {
					continue
				}
				for _, m := range mf.GetMetric() {
					labels := map[string]string{}
					for _, l := range m.GetLabel() {
						labels[l.GetName()] = l.GetValue()
					}
					require.Equal(t, "field", labels["reason"])
					require.Equal(t, 1.0, m.GetGauge().GetValue())
					gauged[labels["rule"]] = true
				}
			}
			require.Len(t, gauged, len(tierRules), "cxaudit_rule_disabled names each rule")
			rec := httptest.NewRecorder()
			b.app.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			require.Equal(t, http.StatusOK, rec.Code, "a missing field leaves the worker ready")
			var ready struct {
				RulesDisabled map[string]string `json:"rules_disabled"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &ready))
			require.Len(t, ready.RulesDisabled, len(tierRules))
			require.Contains(t, ready.RulesDisabled["crm.enterprise_no_stakeholders"], simworld.TierField)

			// The field comes back: the rules run again, without a restart.
			b.sims.Salesforce.UnhideField("Account", simworld.TierField)
			require.NoError(t, b.app.Store.PutSchema(context.Background(), store.SchemaSalesforce, map[string]any{})) // force a describe
			_, err = b.app.RunOnce(context.Background())
			require.NoError(t, err)
			require.NotEmpty(t, openFindings(t, b.app.Store, "crm.enterprise_no_stakeholders"))
		})
	}
}

// TestWrongTypedFieldIsNamed maps health to a currency field: the problem
// is named, the rules reading health are set aside, and the sync is not
// retried as if a page were malformed.
func TestWrongTypedFieldIsNamed(t *testing.T) {
	t.Parallel()
	dir := apptest.RulesDir(t)
	fm := strings.Replace(string(simworld.FieldMapYAML), "health: Customer_Health__c", "health: ARR__c", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fields.yaml"), []byte(fm), 0o644))
	b := setupTenant(t, storetest.NewSQLitePath(t), dir, nil)
	res, err := b.app.RunOnce(context.Background())
	require.NoError(t, err)
	require.Zero(t, res.FailedJobs, "nothing failed, nothing retried")
	require.Contains(t, b.logs.String(), "Account.ARR__c is a currency field, but health needs text")
	require.Contains(t, b.logs.String(), "fields.yaml:8:13", "the log points at the entry")
	require.Empty(t, openFindings(t, b.app.Store, "cross.green_health_urgent_tickets"))
	disabled, err := b.app.Availability(context.Background())
	require.NoError(t, err)
	require.Contains(t, disabled, "cross.green_health_urgent_tickets")
	require.Equal(t, 1, b.sims.Salesforce.Stats().ByEndpoint["GET /sobjects/Account/describe"], "described once: no retry")
}

// TestZendeskAuditedWhileSalesforceFails: with Salesforce refusing the
// credentials, Zendesk's tickets are audited and written back all the
// same; the Salesforce sync is cancelled at once (a permanent error), not
// retried ten times.
func TestZendeskAuditedWhileSalesforceFails(t *testing.T) {
	t.Parallel()
	for name, newStore := range tenantStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setupTenant(t, newStore(t), apptest.RulesDir(t), map[string]string{"SALESFORCE_ACCESS_TOKEN": "a-revoked-token"})
			res, err := b.app.RunOnce(context.Background())
			require.Error(t, err, "a job failed for good")
			require.Equal(t, 1, res.FailedJobs, "the Salesforce sync, cancelled")
			require.Positive(t, res.Writes[store.WriteZendeskNote], "Zendesk is written back")
			require.NotEmpty(t, openFindings(t, b.app.Store, "backlog.first_response_missed"))
			require.Empty(t, openFindings(t, b.app.Store, "cross.urgent_ticket_renewal_soon"), "cross-system rules wait for Salesforce")
			require.Contains(t, b.logs.String(), `"waiting_for":"salesforce"`)
			require.Equal(t, 1, b.sims.Salesforce.Stats().ByEndpoint["GET /sobjects/Account/describe"], "not retried")
		})
	}
}

// TestZendeskAuditedWhileSalesforceIsDown: with every Salesforce request
// failing with 500, the long-running worker audits and writes back
// Zendesk's tickets while the Salesforce sync retries.
func TestZendeskAuditedWhileSalesforceIsDown(t *testing.T) {
	t.Parallel()
	b := setupTenantWith(t, storetest.NewPostgresSchema(t), apptest.RulesDir(t),
		map[string]string{"CXAUDIT_LISTEN_ADDR": "127.0.0.1:0", "CXAUDIT_SYNC_INTERVAL": "1h", "CXAUDIT_SWEEP_INTERVAL": "1h"},
		app.Options{Migrate: true, Periodic: true})

	b.sims.Salesforce.FailNext(1_000_000, http.StatusInternalServerError)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.app.Run(ctx, 5*time.Second) }()
	deadline := time.Now().Add(60 * time.Second)
	for b.sims.Zendesk.Stats().NotesAdded == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	require.NoError(t, <-done)
	require.Positive(t, b.sims.Zendesk.Stats().NotesAdded, "notes written while Salesforce is down")
	require.Zero(t, b.sims.Salesforce.Stats().TasksCreated)
	require.Empty(t, openFindings(t, b.app.Store, "cross.urgent_ticket_renewal_soon"), "cross-system rules wait for Salesforce")
}

// TestOrganizationsAndAgentsInFull: organizations and agents not edited
// for a year are synced (the exports start at the beginning), so a ticket
// of an old organization links to its account and an old agent's reply is
// an agent's.
func TestOrganizationsAndAgentsInFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupTenant(t, storetest.NewSQLitePath(t), apptest.RulesDir(t), nil)
	old := b.sims.World.Now.AddDate(-1, -1, 0)
	var oldOrg cxaudit.Organization
	for _, o := range b.sims.World.Organizations {
		if o.ExternalID != "" && o.UpdatedAt.Before(old) {
			oldOrg = o
			break
		}
	}
	require.NotZero(t, oldOrg.ID, "the seeded tenant has organizations untouched for over a year")
	_, err := b.app.RunOnce(ctx)
	require.NoError(t, err)
	org, err := b.app.Store.Organization(ctx, oldOrg.ID)
	require.NoError(t, err)
	acc, err := b.app.Store.AccountForOrganization(ctx, org)
	require.NoError(t, err)
	require.Equal(t, oldOrg.ExternalID, acc.ID)
	agents, err := b.app.Store.AgentIDs(ctx)
	require.NoError(t, err)
	stale := 0
	for _, u := range b.sims.World.Users {
		if u.IsAgent() {
			require.True(t, agents[u.ID], "agent %d is known", u.ID)
			if u.UpdatedAt.Before(b.sims.World.Now.AddDate(0, 0, -90)) {
				stale++
			}
		}
	}
	require.Positive(t, stale, "some agents were not edited for 90 days")
}


// TestRotatedCredentialsWithoutRestart: the Zendesk token comes from a file
// (a mounted Secret); the worker starts with a revoked one, and the sync
// is cancelled. The Secret is rotated in place: the next cycle, in the
// same process, uses the new token.
func TestRotatedCredentialsWithoutRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sims, err := demo.StartSimulators(demo.SimOptions{Seed: 5, Accounts: 10, Tickets: 60, ZendeskRateLimit: 100000})
	require.NoError(t, err)
	t.Cleanup(sims.Close)
	tokenFile := filepath.Join(t.TempDir(), "zendesk-api-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("a-revoked-token\n"), 0o600))
	env := map[string]string{"CXAUDIT_DATABASE_URL": storetest.NewSQLitePath(t), "CXAUDIT_RULES_DIR": apptest.RulesDir(t)}
	for _, kv := range sims.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	env["ZENDESK_API_TOKEN_FILE"] = tokenFile
	delete(env, "ZENDESK_API_TOKEN")
	getenv := func(k string) string { return env[k] }
	cfg, err := config.FromEnv(getenv)
	require.NoError(t, err)
	logs := &apptest.SyncBuffer{}
	a, err := app.New(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)), app.Options{Migrate: true, Getenv: getenv})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })

	res, err := a.RunOnce(ctx)
	require.Error(t, err)
	require.Equal(t, 1, res.FailedJobs, "the Zendesk sync, refused")
	require.Zero(t, sims.Zendesk.Stats().NotesAdded)

	require.NoError(t, os.WriteFile(tokenFile, []byte(demo.SimZendeskToken+"\n"), 0o600))
	res, err = a.RunOnce(ctx)
	require.NoError(t, err, logs.String())
	require.Zero(t, res.FailedJobs)
	require.Positive(t, sims.Zendesk.Stats().NotesAdded, "written with the rotated token")
	require.Contains(t, logs.String(), "zendesk credentials changed")
	require.NotContains(t, logs.String(), demo.SimZendeskToken, "no secret in the log")
}
