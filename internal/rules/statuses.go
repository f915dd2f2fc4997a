package rules

import (
	"slices"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Which ticket statuses a ticket rule can fire on, found from its `when`
// when it compiles, so that the sync fetches comments (one API call or more
// per ticket) only for the tickets a rule can judge: every default ticket
// rule requires an open, new, pending or on-hold ticket, and most of a
// backfill is solved and closed tickets.

// openStatuses are the statuses of which ticket.open is true
// (cxaudit.Ticket.Open).
var openStatuses = []string{cxaudit.StatusNew, cxaudit.StatusOpen, cxaudit.StatusPending, cxaudit.StatusHold}

// statusesOf returns the statuses a ticket must have for e to be true, and
// false when it cannot tell (every status). It recognises ticket.open,
// ticket.status == "x" ("x" == ticket.status), ticket.status in ["x", …],
// a conjunction where one side restricts (both: their intersection) and a
// disjunction where both sides do (their union). Anything else may be true
// of any status.
func statusesOf(e celast.Expr) ([]string, bool) {
	isTicket := func(e celast.Expr) bool { return e.Kind() == celast.IdentKind && e.AsIdent() == varTicket }
	isField := func(e celast.Expr, name string) bool {
		return e.Kind() == celast.SelectKind && !e.AsSelect().IsTestOnly() &&
			e.AsSelect().FieldName() == name && isTicket(e.AsSelect().Operand())
	}
	str := func(e celast.Expr) (string, bool) {
		if e.Kind() != celast.LiteralKind {
			return "", false
		}
		s, ok := e.AsLiteral().(types.String)
		return string(s), ok
	}
	switch {
	case isField(e, "open"):
		return slices.Clone(openStatuses), true
	case e.Kind() != celast.CallKind:
		return nil, false
	}
	call := e.AsCall()
	args := call.Args()
	if len(args) != 2 {
		return nil, false
	}
	switch call.FunctionName() {
	case operators.LogicalAnd:
		a, okA := statusesOf(args[0])
		b, okB := statusesOf(args[1])
		switch {
		case okA && okB:
			return slices.DeleteFunc(a, func(s string) bool { return !slices.Contains(b, s) }), true
		case okA:
			return a, true
		case okB:
			return b, true
		}
	case operators.LogicalOr:
		a, okA := statusesOf(args[0])
		b, okB := statusesOf(args[1])
		if okA && okB {
			for _, s := range b {
				if !slices.Contains(a, s) {
					a = append(a, s)
				}
			}
			return a, true
		}
	case operators.Equals:
		for _, pair := range [][2]celast.Expr{{args[0], args[1]}, {args[1], args[0]}} {
			if s, ok := str(pair[1]); ok && isField(pair[0], "status") {
				return []string{s}, true
			}
		}
	case operators.In:
		if !isField(args[0], "status") || args[1].Kind() != celast.ListKind {
			return nil, false
		}
		var out []string
		for _, el := range args[1].AsList().Elements() {
			s, ok := str(el)
			if !ok {
				return nil, false
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out, true
	}
	return nil, false
}

// CommentStatuses reports the ticket statuses whose tickets' comments some
// rule may need: the statuses a ticket rule can fire on (see statusesOf),
// sorted, or all when a ticket rule may fire on any status or an
// organization or account rule reads the comments of its customer's
// tickets, whatever their status. No rule needing comments gives
// (false, nil).
func (s *Set) CommentStatuses() (all bool, statuses []string) {
	return s.commentAll, slices.Clone(s.commentStatuses)
}

// commentStatusesOf computes CommentStatuses.
func (s *Set) commentStatusesOf() (all bool, statuses []string) {
	for _, kind := range []cxaudit.EntityKind{cxaudit.EntityOrganization, cxaudit.EntityAccount} {
		if _, comments := s.TicketWindow(kind); comments {
			return true, nil
		}
	}
	for _, r := range s.byKind[cxaudit.EntityTicket] {
		if r.anyStatus {
			return true, nil
		}
		for _, st := range r.statuses {
			if !slices.Contains(statuses, st) {
				statuses = append(statuses, st)
			}
		}
	}
	slices.Sort(statuses)
	return false, statuses
}

// NeedsComments reports whether a ticket of status needs its comments
// synced for the rules of s (see CommentStatuses).
func (s *Set) NeedsComments(status string) bool {
	return s.commentAll || slices.Contains(s.commentStatuses, status)
}
