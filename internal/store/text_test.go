package store

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStorableJSON(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"a":"x"}`:                 `{"a":"x"}`,
		`{"a":"\u0000"}`:            `{"a":"\ufffd"}`,
		`{"a":"x\u0000y\u0000"}`:    `{"a":"x\ufffdy\ufffd"}`,
		`{"a":"\\u0000"}`:           `{"a":"\\u0000"}`,           // the text \u0000
		`{"a":"\\\u0000"}`:          `{"a":"\\\ufffd"}`,          // a backslash, then a NUL
		`{"a":"\"\u0000","b":"\\"}`: `{"a":"\"\ufffd","b":"\\"}`, // an escaped quote before it
		`{"\u0000":1}`:              `{"\ufffd":1}`,
	} {
		got := string(storableJSON([]byte(in)))
		require.Equal(t, want, got, in)
		require.True(t, json.Valid([]byte(got)), got)
	}
}

func TestStorableText(t *testing.T) {
	t.Parallel()
	require.Equal(t, "plain", storableText("plain"))
	require.Equal(t, "a\uFFFDb\uFFFD", storableText("a\x00b\x00"))
	require.Equal(t, "bad\uFFFDutf8", storableText("bad\xffutf8"))
	args := []any{int64(1), "ok", "n\x00l"}
	out := storableArgs(args)
	require.Equal(t, []any{int64(1), "ok", "n\uFFFDl"}, out)
	require.Equal(t, "n\x00l", args[2], "the caller's arguments are not changed")
	same := []any{"ok", 2}
	require.Same(t, &same[0], &storableArgs(same)[0], "nothing to replace: no copy")
}
