package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	rulepack "github.com/cxaudit/cxaudit/rules"
)

// TestRunOnceOnATenantNamedItsOwnWay is the user's path against an org
// whose fields are named its own way: with the field map the user writes
// for it, `run --once` syncs, audits and writes back everything and no
// rule is disabled; without it, it still audits Zendesk, exits 0, and the
// log names every unmapped field and the rules it disabled. Then `rules
// check` against the synced store flags a misspelt custom field.
func TestRunOnceOnATenantNamedItsOwnWay(t *testing.T) {
	t.Parallel()
	startSims := func() *demo.Simulators {
		sims, err := demo.StartSimulators(demo.SimOptions{Seed: 4, Accounts: 30, Tickets: 300, ZendeskRateLimit: 100000})
		require.NoError(t, err)
		t.Cleanup(sims.Close)
		return sims
	}
	sims := startSims()
	env := func(db, rules string) map[string]string {
		e := map[string]string{"CXAUDIT_DATABASE_URL": db, "CXAUDIT_RULES_DIR": rules}
		for _, kv := range sims.Env() {
			k, v, _ := strings.Cut(kv, "=")
			e[k] = v
		}
		return e
	}

	code, _, errOut := runCLI(t, env(storetest.NewPostgresSchema(t), apptest.RulesDir(t)), "run", "--once")
	require.Equal(t, 0, code, errOut)
	require.NotContains(t, errOut, "rules disabled", "with the field map every rule runs")
	w := cycleWrites(t, errOut)
	require.Positive(t, w["zendesk_notes"])
	require.Positive(t, w["salesforce_tasks"])

	// The rule pack alone: cxaudit's default field names, which this org
	// does not use. A tenant of its own: on the first one, a fresh store
	// adopts the notes the run above wrote instead of writing them again.
	sims = startSims()
	plain := t.TempDir()
	require.NoError(t, rulepack.WriteTo(plain))
	db := filepath.Join(t.TempDir(), "cxaudit.db")
	code, _, errOut = runCLI(t, env(db, plain), "run", "--once")
	require.Equal(t, 0, code, errOut)
	require.Positive(t, cycleWrites(t, errOut)["zendesk_notes"], "Zendesk is audited and written back")
	named := map[string][]string{}
	for _, line := range strings.Split(errOut, "\n") {
		var rec struct {
			Msg, Field string
			Rules      []string
		}
		if json.Unmarshal([]byte(line), &rec) == nil && strings.HasPrefix(rec.Msg, "rules disabled") {
			named[rec.Field] = rec.Rules
		}
	}
	require.Contains(t, named, "Account.renewal_date")
	require.Contains(t, named, "Account.tier")
	require.Contains(t, named, "Account.health")
	require.Contains(t, named, "Opportunity.is_renewal")
	require.Contains(t, named["Account.renewal_date"], "crm.renewal_date_missing")
	require.Contains(t, named["Account.health"], "cross.green_health_urgent_tickets")

	// A misspelt custom field, against the schema that sync stored.
	bad := apptest.RulesDir(t)
	require.NoError(t, os.WriteFile(filepath.Join(bad, "custom.yaml"), []byte(`rules:
  - id: custom.arr
    title: Big account
    category: crm_hygiene
    severity: low
    entity: account
    mode: observe
    when: has(account.fields.ARR_c) && account.fields.ARR_c > 100.0
    message: '"big"'
`), 0o644))
	code, out, _ := runCLI(t, nil, "rules", "check", "--database", db, bad)
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "custom.yaml:8:")
	require.Contains(t, out, "the org has no field Account.ARR_c")
	require.Contains(t, out, "did you mean 'ARR__c'?")
	code, out, _ = runCLI(t, nil, "rules", "check", bad)
	require.Equal(t, 0, code, "without a store, syntax and types only: %s", out)
	require.Contains(t, out, "checked syntax and types")
}
