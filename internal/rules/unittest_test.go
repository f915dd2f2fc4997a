package rules

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestDefaultRuleTests runs the tests shipped beside the default rules
// (rules/*_test.yaml), so `go test ./...` fails when a default rule breaks
// its tests.
func TestDefaultRuleTests(t *testing.T) {
	t.Parallel()
	rep, err := RunTests("../../rules", TestOptions{})
	require.NoError(t, err)
	var out bytes.Buffer
	rep.WriteText(&out)
	require.Zero(t, rep.Failed(), out.String())
	require.NotEmpty(t, rep.Results)
}

// TestDefaultRulesHaveTests fails when a default rule has no rule test in
// which it raises a finding.
func TestDefaultRulesHaveTests(t *testing.T) {
	t.Parallel()
	s := loadDefaults(t)
	files, err := filepath.Glob("../../rules/*_test.yaml")
	require.NoError(t, err)
	fires := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		tf, errs := parseTestFile(f, data)
		require.Empty(t, errs)
		for _, tc := range tf.Tests {
			for _, e := range tc.Expect {
				fires[e.Rule] += len(e.Findings)
			}
		}
	}
	for _, r := range s.Rules() {
		require.Positive(t, fires[r.ID], "rule %s (%s:%d) has no rule test in which it fires", r.ID, r.File, r.Line)
	}
}

func TestRunTests(t *testing.T) {
	t.Parallel()
	rep, err := RunTests("../../testdata/rules/tests", TestOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Results, 4)
	byName := map[string]TestResult{}
	for _, r := range rep.Results {
		byName[r.Name] = r
	}
	require.True(t, byName["passes"].Passed(), byName["passes"].Failures)
	require.True(t, byName["expects silence"].Passed(), byName["expects silence"].Failures)
	require.Equal(t, []string{`rule "backlog.stale":
  exp: [{entity: ticket/1, message: "open for 21 days"}]
  got: [{entity: ticket/1, severity: medium, message: "open for 20 days"}]`}, byName["wrong message"].Failures)
	require.Equal(t, 12, byName["wrong message"].Line)
	require.Equal(t, []string{`rule "backlog.stael": no such rule (did you mean 'backlog.stale'?)`}, byName["unknown rule"].Failures)
	require.Equal(t, 2, rep.Failed())

	var out bytes.Buffer
	rep.WriteText(&out)
	require.Contains(t, out.String(), `FAILED: ../../testdata/rules/tests/stale_test.yaml:12:5: test "wrong message"`)
	require.Contains(t, out.String(), "rules test: 4 tests in 1 file against 1 rule: 2 FAILED\n")

	var junit bytes.Buffer
	require.NoError(t, rep.WriteJUnit(&junit))
	var parsed junitSuites
	require.NoError(t, xml.Unmarshal(junit.Bytes(), &parsed))
	require.Equal(t, 4, parsed.Tests)
	require.Equal(t, 2, parsed.Failures)
	require.Len(t, parsed.Suites, 1)
	require.Len(t, parsed.Suites[0].Cases, 4)
	require.NotNil(t, parsed.Suites[0].Cases[1].Failure)
	require.Contains(t, parsed.Suites[0].Cases[1].Failure.Text, "exp: [{entity: ticket/1")

	rep, err = RunTests("../../testdata/rules/tests", TestOptions{Run: regexp.MustCompile("^pass")})
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	require.Zero(t, rep.Failed())
}

func TestParseTestFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      []string
	}{
		{
			name: "unknown field with a hint",
			src: `now: 2025-03-12T15:00:00Z
tests:
  - name: t
    tickets:
      - {id: 1, priorty: high}
    expect: [{rule: r}]
`,
			want: []string{"t.yaml:5:17: unknown field 'priorty' in ticket (did you mean 'priority'?)"},
		},
		{
			name: "bad time",
			src: `now: 2025-03-12T15:00:00Z
tests:
  - name: t
    tickets:
      - id: 1
        created_at: yesterday
    expect: [{rule: r}]
`,
			want: []string{`t.yaml:6:1: invalid time "yesterday": use 2025-03-12T15:00:00Z, 2025-03-12, or a time relative to now such as now-20d or now+1h30m`},
		},
		{
			name: "wrong type",
			src: `now: 2025-03-12T15:00:00Z
tests:
  - name: t
    tickets:
      - {id: abc}
    expect: [{rule: r}]
`,
			want: []string{`t.yaml:5:1: expected a whole number, got "abc"`},
		},
		{
			name: "no now, no expect, bad entity and severity",
			src: `tests:
  - name: t
  - name: u
    now: 2025-03-12T15:00:00Z
    expect:
      - rule: r
        findings: [{entity: ticket-1, severity: huge}]
`,
			want: []string{
				`t.yaml:2:5: test "t": no 'now': set it on the test or at the top of the file`,
				`t.yaml:2:5: test "t": no 'expect': list the rules to check and the findings each must raise`,
				`t.yaml:6:9: test "u": rule "r": invalid entity "ticket-1": write ticket/<id>, organization/<id> or account/<id>`,
				`t.yaml:6:9: test "u": rule "r": invalid severity "huge": must be one of critical, high, medium, low`,
			},
		},
		{
			name: "relative now",
			src: `now: now-1d
tests:
  - name: t
    expect: [{rule: r}]
`,
			want: []string{`t.yaml:3:5: test "t": 'now' must be a timestamp such as 2025-03-12T15:00:00Z`},
		},
		{
			name: "invalid YAML",
			src:  "tests: [\n",
			want: []string{"t.yaml:1:1: invalid YAML: did not find expected node content"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, errs := parseTestFile("t.yaml", []byte(tc.src))
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFixtureTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"now", "2025-03-12T15:00:00Z"},
		{"now-20d", "2025-02-20T15:00:00Z"},
		{"now+1h30m", "2025-03-12T16:30:00Z"},
		{"now - 1w", "2025-03-05T15:00:00Z"},
		{"2025-01-02", "2025-01-02T00:00:00Z"},
		{"2025-01-02T03:04:05+01:00", "2025-01-02T02:04:05Z"},
	} {
		var ft struct {
			T fixtureTime `yaml:"t"`
		}
		_, errs := parseTestFile("x", []byte("now: 2025-03-12T15:00:00Z\ntests: [{name: a, tickets: [{id: 1, created_at: \""+tc.in+"\"}], expect: [{rule: r}]}]"))
		require.Empty(t, errs, tc.in)
		require.NoError(t, yamlUnmarshal("t: \""+tc.in+"\"", &ft), tc.in)
		require.Equal(t, tc.want, ft.T.at(now).Format("2006-01-02T15:04:05Z07:00"), tc.in)
	}
}

func yamlUnmarshal(s string, v any) error { return yaml.Unmarshal([]byte(s), v) }

// TestRuleTestFixturesWithFields runs rule tests whose fixtures set custom
// fields (typed from YAML, times relative to now), requesters, contacts'
// roles, and the field map's customer and renewal types.
func TestRuleTestFixturesWithFields(t *testing.T) {
	t.Parallel()
	rep, err := RunTests("../../testdata/rules/fields", TestOptions{})
	require.NoError(t, err)
	var out bytes.Buffer
	rep.WriteText(&out)
	require.Len(t, rep.Results, 1)
	require.Zero(t, rep.Failed(), out.String())
}
