package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRulesMaxDrop(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value string
		want  float64
		err   string
	}{
		{"", DefaultRulesMaxDrop, ""},
		{"0", 0, ""},
		{"0.25", 0.25, ""},
		{"1", 1, ""},
		{"1.5", 0, "CXAUDIT_RULES_MAX_DROP: must be a share between 0 and 1 (like 0.5): the largest part of the rules a reload may remove"},
		{"-0.1", 0, "CXAUDIT_RULES_MAX_DROP: must be a share between 0 and 1 (like 0.5): the largest part of the rules a reload may remove"},
		{"NaN", 0, "CXAUDIT_RULES_MAX_DROP: must be a share between 0 and 1 (like 0.5): the largest part of the rules a reload may remove"},
		{"half", 0, `CXAUDIT_RULES_MAX_DROP: "half" is not a number`},
	} {
		t.Run(tc.value, func(t *testing.T) {
			t.Parallel()
			c, err := FromEnv(func(name string) string {
				if name == "CXAUDIT_RULES_MAX_DROP" {
					return tc.value
				}
				return ""
			})
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, c.RulesMaxDrop)
		})
	}
}
