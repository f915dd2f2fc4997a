package rules_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/rules"
)

// TestTitleIsCapped: a rule title longer than rules.MaxTitle characters
// is refused at load, naming where it is; one at the cap (multi-byte
// characters count once) loads.
func TestTitleIsCapped(t *testing.T) {
	t.Parallel()
	load := func(title string) error {
		_, err := rules.LoadFS(fstest.MapFS{"r.yaml": {Data: []byte(`rules:
  - id: a.long
    title: "` + title + `"
    category: crm_hygiene
    severity: low
    entity: account
    when: "true"
    message: '"x"'
    actions: {salesforce: {task: {}}}
`)}}, ".")
		return err
	}
	err := load(strings.Repeat("x", 300))
	require.EqualError(t, err, `r.yaml:3:12: rule "a.long" ($.rules[0].title): title is 300 characters long; at most 200 (it heads notes, and Task subjects of 255 characters after cxaudit's marker)`)
	require.NoError(t, load(strings.Repeat("é", rules.MaxTitle)))
}
