package store

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Text PostgreSQL cannot store. A TEXT value may not hold U+0000 (nor
// invalid UTF-8), and a JSONB document may not hold the escape \u0000, so
// one NUL in a ticket that came in by e-mail failed its whole page, on
// every retry, for ever. SQLite stores both. So that both stores hold the
// same thing, each such character is stored as U+FFFD REPLACEMENT
// CHARACTER, the character encoding/json already puts in place of invalid
// UTF-8. It is lossy on purpose: a NUL carries no meaning a rule could
// read, and the rest of the text is kept.

// replacement is what stands in for a character the store cannot hold.
const replacement = "\uFFFD"

// storableText returns s with every NUL, and every byte of invalid UTF-8,
// replaced by U+FFFD.
func storableText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, replacement), "\x00", replacement)
}

// nulEscape is how encoding/json writes U+0000.
var nulEscape = []byte(`\u0000`)

// storableJSON returns the JSON document b with every \u0000 escape
// replaced by \ufffd. An escaped backslash followed by "u0000" (the text
// `\u0000`, written `\\u0000`) is left alone. b itself is not changed.
func storableJSON(b []byte) []byte {
	if !bytes.Contains(b, nulEscape) {
		return b
	}
	b = bytes.Clone(b)
	for i := 0; i < len(b)-1; i++ {
		if b[i] != '\\' {
			continue
		}
		if bytes.HasPrefix(b[i+1:], nulEscape[1:]) {
			copy(b[i+2:], "fffd")
		}
		i++ // skip the escaped character, a backslash included
	}
	return b
}

// storableArgs returns args with storableText applied to every string,
// copying args only when one changes. Every statement's arguments pass
// through it (pgConn and sqlConn), so lookups match what was stored.
func storableArgs(args []any) []any {
	out := args
	for i, a := range args {
		s, ok := a.(string)
		if !ok {
			continue
		}
		if clean := storableText(s); clean != s {
			if &out[0] == &args[0] {
				out = append([]any(nil), args...)
			}
			out[i] = clean
		}
	}
	return out
}
