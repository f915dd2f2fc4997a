package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/cxaudit/cxaudit/internal/hint"
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
	// Warning marks a problem that does not stop the rules from loading
	// (a comparison that can never hold): `rules check` prints it.
	Warning bool
}

// Error formats the problem as file:line:col: rule "id" ($.path): message.
func (e FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, max(e.Column, 1))
	}
	b.WriteString(": ")
	if e.Warning {
		b.WriteString("warning: ")
	}
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

// nearest returns the candidate closest to name, if it is a plausible
// misspelling; otherwise "".
func nearest(name string, candidates []string) string { return hint.Nearest(name, candidates) }

func didYouMean(s string) string { return hint.DidYouMean(s) }
