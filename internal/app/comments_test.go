package app_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// TestZendeskSyncFetchesCommentsTheRulesNeed: the app's Zendesk sync asks
// the current rules which tickets need comments, and a reload that adds a
// rule on solved tickets makes them fetched too.
func TestZendeskSyncFetchesCommentsTheRulesNeed(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.NewSQLitePath(t))
	need := b.app.Services.ZendeskSync.CommentsFunc
	require.NotNil(t, need)
	require.True(t, need("open"))
	require.False(t, need("solved"), "no rule of the simulation's rules fires on solved tickets")

	rule := `rules:
  - id: qa.solved_without_reply
    title: Solved without a public reply
    category: backlog_aging
    severity: low
    entity: ticket
    when: ticket.status == "solved" && !ticket.metrics.replied
    message: '"solved without a reply"'
`
	require.NoError(t, os.WriteFile(filepath.Join(b.cfg.RulesDir, "zz_solved.yaml"), []byte(rule), 0o644))
	require.NoError(t, b.app.ReloadRules())
	require.True(t, need("solved"), "the reloaded rules are asked")
	require.False(t, need("closed"))
}
