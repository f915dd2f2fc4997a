package rules

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	celcommon "github.com/google/cel-go/common"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"

	"github.com/cxaudit/cxaudit/internal/bizhours"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// functionNames lists the helper functions this package adds to CEL, for
// "did you mean" hints. Keep it in step with library().
var functionNames = []string{
	"days_between", "hours_between", "business_hours_between", "contains_any", "words_found",
	"last_public_agent_reply", "last_activity", "has_tag", "escalation_score", "escalation_missing",
	"has_request_id", "duration_text",
}

// library is the helper library rules can call. rules/README.md documents it.
func library() []cel.EnvOption {
	tsts := []*cel.Type{cel.TimestampType, cel.TimestampType}
	ticket := []*cel.Type{cel.ObjectType(ticketTypeName)}
	return []cel.EnvOption{
		cel.Function("days_between",
			cel.Overload("days_between_timestamp_timestamp", tsts, cel.DoubleType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val {
					return types.Double(tsOf(b).Sub(tsOf(a)).Hours() / 24)
				}))),
		cel.Function("hours_between",
			cel.Overload("hours_between_timestamp_timestamp", tsts, cel.DoubleType,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val {
					return types.Double(tsOf(b).Sub(tsOf(a)).Hours())
				}))),
		// business_hours_between(t1, t2) counts in the business-hours
		// schedule of the record (the ticket's group's, else the account's
		// default; see tenant.Tenant.Calendar): the macro hands the hidden
		// variable holding it to the function that counts.
		cel.Macros(cel.GlobalMacro("business_hours_between", 2,
			func(eh cel.MacroExprFactory, _ celast.Expr, args []celast.Expr) (celast.Expr, *celcommon.Error) {
				return eh.NewCall(fnBusinessHours, eh.NewIdent(varSchedule), args[0], args[1]), nil
			})),
		cel.Function(fnBusinessHours,
			cel.Overload("business_hours_schedule_timestamp_timestamp",
				[]*cel.Type{cel.ObjectType(scheduleTypeName), cel.TimestampType, cel.TimestampType}, cel.DoubleType,
				cel.FunctionBinding(func(args ...ref.Val) ref.Val {
					cal := bizhours.Default()
					if sv, ok := args[0].(scheduleVal); ok && sv.c != nil {
						cal = sv.c
					}
					return types.Double(cal.Hours(tsOf(args[1]), tsOf(args[2])))
				}))),
		// duration_text(minutes) or duration_text(t2 - t1): a duration as
		// people write it ("45 min", "3 h 20 min", "16 days").
		cel.Function("duration_text",
			cel.Overload("duration_text_int", []*cel.Type{cel.IntType}, cel.StringType, durationText),
			cel.Overload("duration_text_double", []*cel.Type{cel.DoubleType}, cel.StringType, durationText),
			cel.Overload("duration_text_duration", []*cel.Type{cel.DurationType}, cel.StringType, durationText)),
		cel.Function("contains_any",
			cel.Overload("contains_any_string_list", []*cel.Type{cel.StringType, cel.ListType(cel.StringType)}, cel.BoolType,
				cel.BinaryBinding(containsAny))),
		cel.Function("words_found",
			cel.Overload("words_found_string_list", []*cel.Type{cel.StringType, cel.ListType(cel.StringType)}, cel.ListType(cel.StringType),
				cel.BinaryBinding(func(text, list ref.Val) ref.Val {
					s, ok := text.(types.String)
					l, lok := list.(traits.Lister)
					if !ok || !lok {
						return types.NoSuchOverloadErr()
					}
					words, err := stringsOf(l)
					if err != nil {
						return types.WrapErr(err)
					}
					return types.NewStringList(types.DefaultTypeAdapter, wordsFound(string(s), words))
				}))),
		cel.Function("last_public_agent_reply",
			cel.Overload("last_public_agent_reply_ticket", ticket, cel.TimestampType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					return types.Timestamp{Time: lastPublicAgentReply(v.(*ticketVal).t)}
				}))),
		cel.Function("last_activity",
			cel.Overload("last_activity_ticket", ticket, cel.TimestampType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					return types.Timestamp{Time: lastActivity(v.(*ticketVal).t)}
				}))),
		cel.Function("has_tag",
			cel.Overload("has_tag_ticket_string", []*cel.Type{cel.ObjectType(ticketTypeName), cel.StringType}, cel.BoolType,
				cel.BinaryBinding(func(t, tag ref.Val) ref.Val {
					s, ok := tag.(types.String)
					if !ok {
						return types.NoSuchOverloadErr()
					}
					return types.Bool(t.(*ticketVal).t.HasTag(string(s)))
				}))),
		cel.Function("escalation_score",
			cel.Overload("escalation_score_ticket", ticket, cel.DoubleType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					return types.Double(v.(*ticketVal).escalation().score())
				}))),
		cel.Function("escalation_missing",
			cel.Overload("escalation_missing_ticket", ticket, cel.ListType(cel.StringType),
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					return types.NewStringList(types.DefaultTypeAdapter, v.(*ticketVal).escalation().missing())
				}))),
		cel.Function("has_request_id",
			cel.Overload("has_request_id_ticket", ticket, cel.BoolType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					return types.Bool(v.(*ticketVal).escalation().requestID)
				}))),
	}
}

func tsOf(v ref.Val) time.Time {
	if t, ok := v.(types.Timestamp); ok {
		return t.Time
	}
	return time.Time{}
}

func stringsOf(l traits.Lister) ([]string, error) {
	var out []string
	for it := l.Iterator(); it.HasNext() == types.True; {
		s, ok := it.Next().(types.String)
		if !ok {
			return nil, errors.New("list elements must be strings")
		}
		out = append(out, string(s))
	}
	return out, nil
}

func containsAny(text, list ref.Val) ref.Val {
	s, ok := text.(types.String)
	l, lok := list.(traits.Lister)
	if !ok || !lok {
		return types.NoSuchOverloadErr()
	}
	hay := strings.ToLower(string(s))
	it := l.Iterator()
	for it.HasNext() == types.True {
		needle, ok := it.Next().(types.String)
		if !ok {
			return types.NewErr("contains_any: list elements must be strings")
		}
		if needle != "" && strings.Contains(hay, strings.ToLower(string(needle))) {
			return types.True
		}
	}
	return types.False
}

// lastPublicAgentReply returns when an agent last replied publicly, or the
// ticket's creation when no agent has. cxaudit's own notes never count.
func lastPublicAgentReply(t *cxaudit.Ticket) time.Time {
	last := t.CreatedAt
	for i := range t.Comments {
		c := &t.Comments[i]
		if c.Public && c.ByAgent && !c.ByCXAudit && c.CreatedAt.After(last) {
			last = c.CreatedAt
		}
	}
	return last
}

// lastActivity is when a person last touched the ticket: its newest comment
// that cxaudit did not write, or its creation. Unlike updated_at, it does not
// move when cxaudit adds a note or a tag, so a rule on it never flaps
// because of cxaudit's own write-back.
func lastActivity(t *cxaudit.Ticket) time.Time {
	last := t.CreatedAt
	for i := range t.Comments {
		c := &t.Comments[i]
		if !c.ByCXAudit && c.CreatedAt.After(last) {
			last = c.CreatedAt
		}
	}
	return last
}

// The parts of a complete escalation packet (DOMAIN.md, "Escalation
// quality"), in rubric order, with the names escalation_missing returns.
// A part is present when the lower-cased text contains one of its keywords
// or matches its pattern. Keywords are checked first: they are much
// cheaper than the patterns.
var escalationParts = []struct {
	name     string
	keywords []string
	re       *regexp.Regexp
	match    func(text string) bool
}{
	{name: "scope and impact",
		keywords: []string{"impact", "affect", "all users", "blocks ", "blocking", "blocked", "business", "revenue", "customers are", "users are"},
		re:       regexp.MustCompile(`\d+\s+(users|customers|accounts|seats|tenants)\b`)},
	{name: "reproduction steps",
		keywords: []string{"steps to reproduce", "repro steps", "reproduction steps", "to reproduce:", "expected:", "expected result", "expected behavio", "actual:", "actual result"}},
	{name: "UTC timestamps", match: hasUTCTimestamp},
	{name: "request IDs or error messages",
		keywords: []string{"exception", "stack trace", "stacktrace", "traceback", "error code", "error message"},
		match:    func(text string) bool { return hasErrorStatus(text) || hasRequestID(text) }},
	{name: "environment",
		keywords: []string{"environment", "tenant", "region", "browser", "chrome", "firefox", "safari", "edge ", "macos", "windows", "android", " ios", "version", "okta", "idp", "azure ad", "eu-west", "eu-central", "us-east", "us-west", "ap-south"}},
	{name: "logs, screenshots or what was tried",
		keywords: []string{"logs", "log file", "har file", ".har", "screenshot", "screen recording", "tried", "workaround"}},
}

// hasRequestID reports whether lower-case text carries a request,
// correlation or trace ID: a label followed by a value with a digit in it
// ("request id: 7f3a9c01", "x-request-id=abc123", "trace_id 42ab"), or a
// req- token of six or more hex digits.
func hasRequestID(text string) bool {
	for _, label := range []string{"request", "correlation", "trace"} {
		for rest := text; ; {
			i := strings.Index(rest, label)
			if i < 0 {
				break
			}
			rest = rest[i+len(label):]
			r := strings.TrimLeft(rest, " _-")
			if !strings.HasPrefix(r, "id") {
				continue
			}
			r = strings.TrimLeft(strings.TrimPrefix(r[2:], "s"), ":=# ")
			if idToken(r) {
				return true
			}
		}
	}
	for rest := text; ; {
		i := strings.Index(rest, "req-")
		if i < 0 {
			return false
		}
		rest = rest[i+4:]
		n := 0
		for n < len(rest) && (isDigit(rest[n]) || rest[n] >= 'a' && rest[n] <= 'f') {
			n++
		}
		if n >= 6 {
			return true
		}
	}
}

// idToken reports whether s starts with an identifier of at least four
// characters with a digit in it.
func idToken(s string) bool {
	n, digit := 0, false
	for ; n < len(s); n++ {
		c := s[n]
		if isDigit(c) {
			digit = true
		} else if !(c >= 'a' && c <= 'z' || c == '_' || c == '-') {
			break
		}
	}
	return n >= 4 && digit
}

// wordsFound returns the entries of words that occur in text as whole
// words or phrases, ignoring case.
func wordsFound(text string, words []string) []string {
	text = strings.ToLower(text)
	var out []string
	for _, w := range words {
		if w != "" && containsWord(text, strings.ToLower(w)) {
			out = append(out, w)
		}
	}
	return out
}

func containsWord(text, w string) bool {
	for off := 0; ; {
		i := strings.Index(text[off:], w)
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(w)
		if (start == 0 || !isWordByte(text[start-1])) && (end == len(text) || !isWordByte(text[end])) {
			return true
		}
		off = start + 1
	}
}

func isWordByte(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'z' || c == '_' || c >= 0x80
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// hasUTCTimestamp reports whether text holds an ISO 8601 date-time
// (2025-03-12T11:00 or 2025-03-12 11:00) or a time marked UTC, GMT or Z
// (11:00 UTC, 11:00:05Z).
func hasUTCTimestamp(text string) bool {
	for i := strings.IndexByte(text, ':'); i >= 0; {
		if i >= 2 && i+2 < len(text) && digits(text[i-2:i]) && digits(text[i+1:i+3]) {
			// yyyy-mm-dd[t ]hh:mm
			if d := i - 13; d >= 0 && (text[i-3] == 't' || text[i-3] == ' ') &&
				digits(text[d:d+4]) && text[d+4] == '-' && digits(text[d+5:d+7]) && text[d+7] == '-' && digits(text[d+8:d+10]) {
				return true
			}
			rest := text[i+3:]
			if len(rest) >= 3 && rest[0] == ':' && digits(rest[1:3]) {
				rest = rest[3:]
			}
			rest = strings.TrimPrefix(rest, " ")
			if strings.HasPrefix(rest, "utc") || strings.HasPrefix(rest, "gmt") || strings.HasPrefix(rest, "z") {
				return true
			}
		}
		j := strings.IndexByte(text[i+1:], ':')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// hasErrorStatus reports whether text quotes an error with a status code,
// such as "error 500" or "error: 403".
func hasErrorStatus(text string) bool {
	for rest := text; ; {
		i := strings.Index(rest, "error")
		if i < 0 {
			return false
		}
		rest = rest[i+len("error"):]
		r := strings.TrimPrefix(strings.TrimPrefix(rest, ":"), " ")
		if len(r) >= 3 && digits(r[:3]) {
			return true
		}
	}
}

func hasAny(text string, keywords []string) bool {
	for _, k := range keywords {
		if strings.Contains(text, k) {
			return true
		}
	}
	return false
}

// escalation is what a ticket's text says about its escalation packet.
type escalation struct {
	present   [6]bool
	requestID bool
}

// score rates the packet from 0 to 5 the way the rubric does: the share of
// the six parts present, scaled to 5 and rounded to one decimal (all six
// parts score 5.0, five parts 4.2, four parts 3.3).
func (e *escalation) score() float64 {
	n := 0
	for _, p := range e.present {
		if p {
			n++
		}
	}
	return math.Round(float64(n)*50/float64(len(e.present))) / 10
}

func (e *escalation) missing() []string {
	out := []string{}
	for i, p := range e.present {
		if !p {
			out = append(out, escalationParts[i].name)
		}
	}
	return out
}

func (v *ticketVal) escalation() *escalation {
	if v.esc == nil {
		v.esc = analyseEscalation(v.t)
	}
	return v.esc
}

// analyseEscalation looks for the parts of an escalation packet in the
// ticket's description and its comments, cxaudit's own notes excepted.
func analyseEscalation(t *cxaudit.Ticket) *escalation {
	var b strings.Builder
	b.WriteString(t.Description)
	for i := range t.Comments {
		if c := &t.Comments[i]; !c.ByCXAudit {
			b.WriteByte('\n')
			b.WriteString(c.Body)
		}
	}
	text := strings.ToLower(b.String())
	e := &escalation{requestID: hasRequestID(text)}
	for i, p := range escalationParts {
		e.present[i] = hasAny(text, p.keywords) ||
			(p.match != nil && p.match(text)) ||
			(p.re != nil && p.re.MatchString(text))
	}
	return e
}

// EscalationScore rates a ticket's escalation packet from 0 to 5 as the
// rules' escalation_score does, and names the parts it lacks as
// escalation_missing does. The scorecard averages it.
func EscalationScore(t *cxaudit.Ticket) (score float64, missing []string) {
	e := analyseEscalation(t)
	return e.score(), e.missing()
}

// DurationText writes minutes as people write a duration: "45 min" under
// an hour, "3 h 20 min" under two days, "16 days" from there, each cut to
// the whole unit. It keeps one shape per range (never "3 h" for "3 h 0
// min"): the note's content hash keeps the words and drops the numbers,
// and counts "# h # min" as "# days" (cxaudit.Finding.ContentHash), so a
// growing wait is new evidence once, when it passes an hour, not every
// minute nor at two days.
func DurationText(minutes float64) string {
	if math.IsNaN(minutes) || math.IsInf(minutes, 0) {
		return "an unknown time"
	}
	sign := ""
	if minutes < 0 {
		sign, minutes = "-", -minutes
	}
	m := int64(math.Min(math.Floor(minutes), math.MaxInt32*60.0))
	switch {
	case m < 60:
		return fmt.Sprintf("%s%d min", sign, m)
	case m < 48*60:
		return fmt.Sprintf("%s%d h %d min", sign, m/60, m%60)
	}
	return fmt.Sprintf("%s%d days", sign, m/(24*60))
}

// durationText binds duration_text for minutes (int or double) and for
// durations.
var durationText = cel.UnaryBinding(func(v ref.Val) ref.Val {
	switch v := v.(type) {
	case types.Int:
		return types.String(DurationText(float64(v)))
	case types.Double:
		return types.String(DurationText(float64(v)))
	case types.Duration:
		return types.String(DurationText(v.Duration.Minutes()))
	}
	return types.NoSuchOverloadErr()
})
