package writeback

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

// Markers are how cxaudit finds its own writes again: after a lost answer
// (the write's pending record), and in a store that never made them (a
// fresh database pointed at a tenant another store already wrote to). All
// start with cxaudit.MarkerPrefix.

// findingMark is the short mark of what a write carried of one finding:
// its fingerprint, the status written and the content hash. Eight hex
// digits: unique enough among one ticket's findings.
func findingMark(m store.WrittenMark) string {
	h := sha256.Sum256([]byte(m.Fingerprint + "\x00" + string(m.Status) + "\x00" + m.Hash))
	return hex.EncodeToString(h[:4])
}

// noteMarker is the marker of a note carrying marks: the prefix and each
// finding's mark, sorted, joined by dots ("cxaudit:1a2b3c4d.5e6f7a8b").
// The same findings in the same state give the same marker, so a retried
// attempt finds the note of an earlier one; and each finding's own mark
// can be read out of a note another store wrote.
func noteMarker(marks []store.WrittenMark) string {
	ms := make([]string, len(marks))
	for i, m := range marks {
		ms[i] = findingMark(m)
	}
	slices.Sort(ms)
	return cxaudit.MarkerPrefix + strings.Join(slices.Compact(ms), ".")
}

var noteMarkerRE = regexp.MustCompile(regexp.QuoteMeta(cxaudit.MarkerPrefix) + `([0-9a-f]{8}(?:\.[0-9a-f]{8})*)\b`)

// notedMarks returns the finding marks of every note marker in text.
func notedMarks(text string, into map[string]bool) {
	for _, m := range noteMarkerRE.FindAllStringSubmatch(text, -1) {
		for _, fm := range strings.Split(m[1], ".") {
			into[fm] = true
		}
	}
}

// TaskMarker is the reference a finding's Task carries at the very start
// of its Subject, where no truncation can reach it: "[cxaudit:<fp>]".
func TaskMarker(fingerprint string) string { return "[" + cxaudit.MarkerPrefix + fingerprint + "]" }

// legacyTaskPrefix started the Subject of Tasks written before the marker
// moved to the front: "[cxaudit] <title> (cxaudit:<fp>)". Their owners may
// still complete them.
const legacyTaskPrefix = "[cxaudit] "

// taskSubjectPrefixes are how every Task of cxaudit's Subject starts, the
// current and the legacy form.
var taskSubjectPrefixes = []string{"[" + cxaudit.MarkerPrefix, legacyTaskPrefix}

// fingerprintIn finds the fingerprint in a Task subject: "[cxaudit:<fp>] …",
// or the legacy "[cxaudit] … (cxaudit:<fp>)".
func fingerprintIn(subject string) string {
	var fp string
	switch {
	case strings.HasPrefix(subject, "["+cxaudit.MarkerPrefix):
		fp, _, _ = strings.Cut(subject[len("["+cxaudit.MarkerPrefix):], "]")
	case strings.HasPrefix(subject, legacyTaskPrefix):
		i := strings.LastIndex(subject, "("+cxaudit.MarkerPrefix)
		if i < 0 {
			return ""
		}
		fp, _, _ = strings.Cut(subject[i+len("("+cxaudit.MarkerPrefix):], ")")
	}
	if !cxaudit.IsFingerprint(fp) {
		return ""
	}
	return fp
}

// truncateRunes cuts s to at most n characters (Salesforce counts a text
// field's length in characters), never inside one, ending it with "…"
// when it cuts.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
