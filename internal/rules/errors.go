package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// FileError is one problem in one rule file, at a line and column of it.
type FileError struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
	// RuleID is the id of the rule the problem is in, when known.
	RuleID string
	// Path is the JSONPath-like location of the field, such as
	// $.rules[3].when; empty for problems with the file as a whole.
	Path string
	Msg  string
}

// Error formats the problem as file:line:col: rule "id" ($.path): message.
func (e FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, max(e.Column, 1))
	}
	b.WriteString(": ")
	switch {
	case e.RuleID != "" && e.Path != "":
		fmt.Fprintf(&b, "rule %q (%s): ", e.RuleID, e.Path)
	case e.RuleID != "":
		fmt.Fprintf(&b, "rule %q: ", e.RuleID)
	case e.Path != "":
		fmt.Fprintf(&b, "%s: ", e.Path)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// LoadError collects every problem found while loading rule files.
type LoadError struct {
	Errors []FileError
}

func (e *LoadError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Error()
	}
	return strings.Join(msgs, "\n")
}

func (e *LoadError) sort() {
	slices.SortStableFunc(e.Errors, func(a, b FileError) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
}

// nearest returns the candidate closest to name by edit distance, if it is
// close enough to be a plausible misspelling; otherwise "".
func nearest(name string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := levenshtein(strings.ToLower(name), strings.ToLower(c))
		if bestDist < 0 || d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	limit := 2
	if n := len([]rune(name)); n <= 3 {
		limit = 1
	} else if n >= 9 {
		limit = 3
	}
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func didYouMean(s string) string {
	if s == "" {
		return ""
	}
	return " (did you mean '" + s + "'?)"
}
