package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRulesMaxDrop reads good shares; bad ones are rows of badValues.
func TestRulesMaxDrop(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value string
		want  float64
	}{
		{"", DefaultRulesMaxDrop},
		{"0", 0},
		{"0.25", 0.25},
		{"1", 1},
	} {
		t.Run(tc.value, func(t *testing.T) {
			t.Parallel()
			c, err := FromEnv(func(name string) string {
				if name == "CXAUDIT_RULES_MAX_DROP" {
					return tc.value
				}
				return ""
			})
			require.NoError(t, err)
			require.Equal(t, tc.want, c.RulesMaxDrop)
		})
	}
}
