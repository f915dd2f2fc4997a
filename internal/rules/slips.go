package rules

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"gopkg.in/yaml.v3"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// The slips people make writing rules in YAML, found and said plainly:
// where the YAML parser's own report is off (it names the line of the
// mapping it was in, counted from 0, not the line of the problem), where
// YAML read the text as something else (a tag), and where CEL's parser
// speaks only of tokens.

// maxProblemScan bounds how many lines past the parser's line problemLine
// looks at (one parse of the file's start each).
const maxProblemScan = 400

// problemLine finds the line of a YAML syntax error: the first line whose
// inclusion makes the file's start fail with the same problem. yaml.v3
// reports parse errors at the start of the enclosing mapping, counted from
// 0 (one line before it); the problem is at or after that line. ok is
// false when no line is found.
func problemLine(data []byte, reported int, problem string) (int, bool) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	from := max(reported, 1)
	for k := from; k <= len(lines) && k <= from+maxProblemScan; k++ {
		var doc yaml.Node
		err := safeUnmarshal(bytes.Join(lines[:k], nil), &doc)
		if err == nil {
			continue
		}
		msg := err.Error()
		if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
			msg = m[2]
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		if msg == problem {
			return k, true
		}
	}
	return 0, false
}

// lineOf returns line n (1-based) of data, without its line break.
func lineOf(data []byte, n int) string {
	for i, l := range bytes.Split(data, []byte("\n")) {
		if i == n-1 {
			return strings.TrimSuffix(string(l), "\r")
		}
	}
	return ""
}

var quotedValueRe = regexp.MustCompile(`^(\s*(?:-\s+)?)([A-Za-z_][A-Za-z0-9_.]*)(\s*:\s+)(["'])`)

// quotedThenMore recognises `key: "text" more` on line: a value that starts
// as a quoted YAML scalar and goes on after its closing quote, which YAML
// does not allow. It is what a CEL expression that starts with a string
// looks like ("Account " + account.name). It returns the column (1-based)
// of what follows the quote and the message saying so, or 0.
func quotedThenMore(line string) (int, string) {
	m := quotedValueRe.FindStringSubmatchIndex(line)
	if m == nil {
		return 0, ""
	}
	key := line[m[4]:m[5]]
	quote := line[m[8]]
	start := m[8]
	end := -1 // index of the closing quote
	for i := start + 1; i < len(line); i++ {
		c := line[i]
		if quote == '"' && c == '\\' {
			i++
			continue
		}
		if c == quote {
			if quote == '\'' && i+1 < len(line) && line[i+1] == '\'' {
				i++ // '' is a quote inside single quotes
				continue
			}
			end = i
			break
		}
	}
	if end < 0 {
		return 0, ""
	}
	rest := strings.TrimLeft(line[end+1:], " \t")
	if rest == "" || strings.HasPrefix(rest, "#") {
		return 0, ""
	}
	col := utf8.RuneCountInString(line[:len(line)-len(rest)]) + 1
	value := strings.TrimRight(line[start:], " \t")
	quoted := line[start : end+1]
	shown := rest
	if utf8.RuneCountInString(shown) > 24 {
		shown = string([]rune(shown)[:24]) + "…"
	}
	var fix string
	if !strings.Contains(value, "'") {
		fix = fmt.Sprintf("quote the whole CEL expression: %s: '%s'", key, value)
	} else {
		fix = fmt.Sprintf("write the whole CEL expression as a block: '%s: >-', then the expression on the lines below it, indented", key)
	}
	return col, fmt.Sprintf("the value of '%s' is the quoted text %s, and YAML allows nothing after its closing quote (here %s); %s", key, quoted, shown, fix)
}

// yamlTag reports a scalar that YAML read with a tag of its own: a value
// written unquoted with a leading '!' (CEL's not), which YAML takes for a
// tag, leaving the value empty or cut. key names the field.
func yamlTag(n *yaml.Node, key string) (string, bool) {
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return "", false
	}
	written, left := n.Tag, "empty"
	if n.Value != "" {
		written += " " + n.Value
		left = fmt.Sprintf("%q", n.Value)
	}
	return fmt.Sprintf("the value starts with '!', which YAML reads as a tag (%s), not as CEL's not, and leaves the value %s; quote it: %s: \"%s\"",
		n.Tag, left, key, written), true
}

var (
	celWordOpRe = regexp.MustCompile(`input '(?i:(and|or|not))'`)
	celTextRe   = regexp.MustCompile(`^\s*[A-Za-z][A-Za-z']*\s+[A-Za-z]`)
)

// celOperatorsHint is said when an expression uses another language's
// operators.
const celOperatorsHint = "CEL writes == to compare, && for and, || for or, ! for not"

// celSyntaxHint returns a hint for a CEL syntax error in src, the
// expression of field (when or message), or "".
func celSyntaxHint(field, src, msg string) string {
	if !strings.HasPrefix(msg, "Syntax error:") {
		return ""
	}
	switch {
	case celWordOpRe.MatchString(msg):
		return celOperatorsHint
	case strings.Contains(msg, "token recognition error at: '='"), strings.Contains(msg, "token recognition error at: '= "):
		return celOperatorsHint
	case celTextRe.MatchString(src) && (strings.Contains(msg, "mismatched input") || strings.Contains(msg, "extraneous input")):
		ex := `'"` + strings.ReplaceAll(strings.TrimSpace(src), `"`, `\"`) + `"'`
		if strings.Contains(src, "'") || strings.Contains(src, "\n") {
			ex = `'"Customer has not been updated"'`
		}
		return fmt.Sprintf("'%s' is a CEL expression, not text: write text in double quotes inside it, like %s: %s", field, field, ex)
	}
	return ""
}

// ticketEnums are the ticket fields that take one of a few values, as
// Zendesk names them; a comparison with any other value never holds.
var ticketEnums = map[string]struct {
	values []string
	what   string
	also   []string // accepted but not listed: no priority, a deleted ticket
}{
	"priority": {[]string{cxaudit.PriorityUrgent, cxaudit.PriorityHigh, cxaudit.PriorityNormal, cxaudit.PriorityLow}, "Zendesk's ticket priorities", []string{""}},
	"status": {[]string{cxaudit.StatusNew, cxaudit.StatusOpen, cxaudit.StatusPending, cxaudit.StatusHold, cxaudit.StatusSolved, cxaudit.StatusClosed},
		"Zendesk's ticket statuses", []string{cxaudit.StatusDeleted}},
	"p_level": {[]string{"P1", "P2", "P3", "P4"}, "the P-levels", []string{""}},
}

// enumWarnings finds comparisons of a ticket's priority, status or
// p_level with a value it never has (ticket.priority == "P1",
// ticket.status in ["Open"]): such a rule compiles and never fires. at
// places an expression id in the file.
func (f *fileLoader) enumWarnings(r *Rule, a *celast.AST, p string, at func(int64) (int, int)) []FileError {
	var out []FileError
	field := func(e celast.Expr) (string, string) {
		if e.Kind() != celast.SelectKind {
			return "", ""
		}
		sel := e.AsSelect()
		t := a.GetType(sel.Operand().ID())
		if t == nil || t.TypeName() != ticketTypeName {
			return "", ""
		}
		if _, ok := ticketEnums[sel.FieldName()]; !ok {
			return "", ""
		}
		shown := sel.FieldName()
		if op := sel.Operand(); op.Kind() == celast.IdentKind {
			shown = op.AsIdent() + "." + shown
		}
		return sel.FieldName(), shown
	}
	check := func(name, shown string, lit celast.Expr, effect string) {
		if lit.Kind() != celast.LiteralKind {
			return
		}
		s, ok := lit.AsLiteral().(types.String)
		if !ok {
			return
		}
		v, enum := string(s), ticketEnums[name]
		if slices.Contains(enum.values, v) || slices.Contains(enum.also, v) {
			return
		}
		line, col := at(lit.ID())
		out = append(out, FileError{File: f.name, Line: line, Column: col, RuleID: r.ID, Path: p, Warning: true,
			Msg: fmt.Sprintf("%s is never %q, so %s: %s are %s%s", shown, v, effect, enum.what, strings.Join(enum.values, ", "), enumHint(name, v, enum.values))})
	}
	celast.PreOrderVisit(a.Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() != celast.CallKind {
			return
		}
		call := e.AsCall()
		args := call.Args()
		if len(args) != 2 {
			return
		}
		switch call.FunctionName() {
		case operators.Equals, operators.NotEquals:
			effect := "this comparison is never true"
			if call.FunctionName() == operators.NotEquals {
				effect = "this comparison is always true"
			}
			for i := range 2 {
				if name, shown := field(args[i]); name != "" {
					check(name, shown, args[1-i], effect)
				}
			}
		case operators.In:
			if name, shown := field(args[0]); name != "" && args[1].Kind() == celast.ListKind {
				for _, el := range args[1].AsList().Elements() {
					check(name, shown, el, "this value never matches")
				}
			}
		}
	}))
	return out
}

// enumHint says what value was meant.
func enumHint(name, v string, values []string) string {
	lower := strings.ToLower(v)
	for _, x := range values {
		if strings.ToLower(x) == lower {
			return didYouMean(x)
		}
	}
	if name == "priority" {
		if p := map[string]string{"p1": "urgent", "p2": "high", "p3": "normal", "p4": "low"}[lower]; p != "" {
			return fmt.Sprintf(" (%s is %s; or compare ticket.p_level with \"P1\" to \"P4\")", strings.ToUpper(v), p)
		}
	}
	if name == "p_level" {
		if lvl := pLevel(lower); lvl != "" {
			return fmt.Sprintf(" (%s is %s; or compare ticket.priority with %q)", lower, lvl, lower)
		}
	}
	return didYouMean(nearest(v, values))
}
