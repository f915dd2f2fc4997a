package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpOnEveryCommand(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--help"}, {"run", "--help"}, {"migrate", "--help"}, {"sim", "--help"}, {"rules", "--help"},
		{"rules", "check", "--help"}, {"demo", "--help"}, {"report", "--help"}, {"quarantine", "--help"}, {"webhooks", "--help"}, {"webhooks", "print", "--help"},
		{"webhooks", "--help"}, {"webhooks", "print", "--help"},
	} {
		code, out, errOut := runCLI(t, nil, args...)
		require.Equal(t, 0, code, "%v", args)
		require.Contains(t, out+errOut, "Usage", "%v", args)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	code, _, errOut := runCLI(t, nil, "frobnicate")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `unknown command "frobnicate"`)

	code, _, errOut = runCLI(t, nil, "run", "--bogus")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "bogus")
}

func TestConfigErrorNamesTheVariable(t *testing.T) {
	t.Parallel()
	code, _, errOut := runCLI(t, map[string]string{
		"CXAUDIT_DATABASE_URL":  storetest.NewSQLitePath(t),
		"ZENDESK_URL":           "acme.zendesk.com",
		"CXAUDIT_SYNC_INTERVAL": "often",
	}, "run", "--once")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "ZENDESK_URL")
	require.Contains(t, errOut, "CXAUDIT_SYNC_INTERVAL")
	require.Contains(t, errOut, "ZENDESK_EMAIL")
}

func TestRulesCheckDefaultPack(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, nil, "rules", "check", "../../rules")
	require.Equal(t, 0, code, out)
	code, _, _ = runCLI(t, nil, "rules", "check", "../../testdata/rules")
	require.Equal(t, 1, code, "the broken examples fail the check")
}

// TestRunOnceTwiceOnPostgres is the operator's path: `cxaudit sim`, then
// `cxaudit run --once` on PostgreSQL, twice; the second run writes nothing.
func TestRunOnceTwiceOnPostgres(t *testing.T) {
	t.Parallel()
	sims, err := demo.StartSimulators(demo.SimOptions{Seed: 3, Accounts: 30, Tickets: 300, ZendeskRateLimit: 100000})
	require.NoError(t, err)
	t.Cleanup(sims.Close)
	env := map[string]string{
		"CXAUDIT_DATABASE_URL": storetest.NewPostgresSchema(t),
		"CXAUDIT_RULES_DIR":    apptest.RulesDir(t),
	}
	for _, kv := range sims.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}

	code, _, errOut := runCLI(t, env, "run", "--once")
	require.Equal(t, 0, code, errOut)
	first := cycleWrites(t, errOut)
	require.Positive(t, first["zendesk_notes"])
	require.Positive(t, first["salesforce_tasks"])
	require.Equal(t, first["zendesk_notes"], sims.Zendesk.Stats().NotesAdded)

	code, _, errOut = runCLI(t, env, "run", "--once")
	require.Equal(t, 0, code, errOut)
	require.Empty(t, cycleWrites(t, errOut), "the second run writes nothing")
	require.Equal(t, first["zendesk_notes"], sims.Zendesk.Stats().NotesAdded)
	require.NotContains(t, errOut, demo.SimZendeskToken, "no secret in logs")
	require.NotContains(t, errOut, demo.SimSalesforceToken, "no secret in logs")
}

// cycleWrites finds the "cycle finished" log line and returns its writes.
func cycleWrites(t *testing.T, log string) map[string]int {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		var rec struct {
			Msg    string         `json:"msg"`
			Writes map[string]int `json:"writes"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "cycle finished" {
			return rec.Writes
		}
	}
	t.Fatalf("no \"cycle finished\" line in the log:\n%s", log)
	return nil
}

func TestDemoJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCLI(t, nil, "demo", "--json", "--accounts", "40", "--tickets", "400")
	require.Equal(t, 0, code, errOut)
	var sum struct {
		Findings    map[string]int `json:"findings"`
		Writes      map[string]int `json:"writes"`
		SecondCycle struct {
			Writes map[string]int `json:"writes"`
		} `json:"second_cycle"`
		FindingsByRule map[string]int    `json:"findings_by_rule"`
		RuleTitles     map[string]string `json:"rule_titles"`
		SampleNote     struct {
			TicketID int64  `json:"ticket_id"`
			Body     string `json:"body"`
		} `json:"sample_note"`
		SampleTask struct {
			Owner, Subject, Description string
		} `json:"sample_task"`
		Scorecard struct {
			KPIs []struct {
				Name string `json:"name"`
			} `json:"kpis"`
		} `json:"scorecard"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	// What it wrote, as people see it, and the scorecard.
	for id := range sum.FindingsByRule {
		require.NotEmpty(t, sum.RuleTitles[id], "the title of %s", id)
	}
	require.Positive(t, sum.SampleNote.TicketID)
	require.Contains(t, sum.SampleNote.Body, "cxaudit found")
	require.Contains(t, sum.SampleTask.Subject, "[cxaudit:")
	require.NotEmpty(t, sum.SampleTask.Description)
	require.Regexp(t, `\(005\d+\)$`, sum.SampleTask.Owner, "the owner by name, with the id")
	require.GreaterOrEqual(t, len(sum.Scorecard.KPIs), 10)
	for _, c := range []string{"crm_hygiene", "severity_tagging", "backlog_aging", "escalation_quality"} {
		require.Positive(t, sum.Findings[c], "findings in %s", c)
	}
	for _, k := range []string{"zendesk_notes", "zendesk_tag_updates", "salesforce_tasks"} {
		require.Positive(t, sum.Writes[k], k)
		require.Zero(t, sum.SecondCycle.Writes[k], "second cycle: %s", k)
	}
}

// TestHelpMentionsOnlyFlagsThatExist: every --flag a help text mentions is
// a flag some command defines (`cxaudit sim --help` once advertised a
// --print-env-only that none did).
func TestHelpMentionsOnlyFlagsThatExist(t *testing.T) {
	t.Parallel()
	defined := map[string]bool{"help": true}
	mentioned := map[string][]string{}
	mention := regexp.MustCompile(`--([a-z][a-z0-9-]*)`)
	definition := regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`)
	for _, args := range [][]string{
		{"--help"}, {"run", "--help"}, {"sync", "--help"}, {"migrate", "--help"}, {"sim", "--help"},
		{"rules", "--help"}, {"rules", "check", "--help"}, {"rules", "test", "--help"}, {"rules", "preview", "--help"},
		{"demo", "--help"}, {"report", "--help"}, {"quarantine", "--help"}, {"webhooks", "--help"}, {"webhooks", "print", "--help"},
	} {
		code, out, errOut := runCLI(t, nil, args...)
		require.Equal(t, 0, code, "%v", args)
		help := out + errOut
		for _, m := range definition.FindAllStringSubmatch(help, -1) {
			defined[m[1]] = true
		}
		for _, m := range mention.FindAllStringSubmatch(help, -1) {
			mentioned[m[1]] = append(mentioned[m[1]], strings.Join(args, " "))
		}
	}
	require.Contains(t, defined, "grace", "flag definitions are read from the help")
	for flag, where := range mentioned {
		require.True(t, defined[flag], "--%s is mentioned in the help of %v but no command defines it", flag, where)
	}
}
