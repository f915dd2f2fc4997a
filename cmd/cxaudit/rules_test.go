package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRulesTestExitCodes(t *testing.T) {
	t.Parallel()
	broken := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(broken, "x_test.yaml"), []byte("tests: [{name: a, bogus: 1}]\n"), 0o644))
	junit := filepath.Join(t.TempDir(), "junit.xml")
	tests := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"default pack passes", []string{"rules", "test", "../../rules"}, 0, "rules test: "},
		{"failing test", []string{"rules", "test", "--junit", junit, "../../testdata/rules/tests"}, 1, "exp: [{entity: ticket/1"},
		{"filter", []string{"rules", "test", "--run", "^pass", "../../testdata/rules/tests"}, 0, "1 test in 1 file"},
		{"bad regex", []string{"rules", "test", "--run", "(", "../../rules"}, 2, "--run"},
		{"bad test file", []string{"rules", "test", broken}, 2, "x_test.yaml:1:"},
		{"missing dir", []string{"rules", "test", filepath.Join(broken, "nope")}, 2, "nope"},
		{"help", []string{"rules", "test", "--help"}, 0, "Usage: cxaudit rules test"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(t, nil, tc.args...)
			require.Equal(t, tc.code, code, out+errOut)
			require.Contains(t, out+errOut, tc.contains)
		})
	}
}
