package rules

import (
	"fmt"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"

	"github.com/cxaudit/cxaudit/internal/bizhours"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Input is what rules on one entity see.
type Input struct {
	Now time.Time
	// Ticket is the ticket of ticket rules, with its comments and metrics.
	Ticket *cxaudit.Ticket
	// Organization is the ticket's organization, or the organization
	// itself for organization rules; may be nil.
	Organization *cxaudit.Organization
	// Account is the linked Salesforce account, with contacts and
	// opportunities; may be nil.
	Account *cxaudit.Account
	// Tickets are the customer's recent tickets (last 90 days), for
	// organization and account rules; may be empty.
	Tickets []cxaudit.Ticket
	// Requester is the ticket's requester, for ticket rules; may be nil.
	Requester *cxaudit.User
	// Calendar is the business-hours calendar business_hours_between
	// counts in; nil means bizhours.Default (Monday to Friday, 09:00 to
	// 17:00 UTC).
	Calendar *bizhours.Calendar
}

// Match is a rule whose condition held, with its rendered message.
type Match struct {
	Rule    *Rule
	Message string
}

// EvalError is a rule that failed to evaluate on one input.
type EvalError struct {
	RuleID string
	Field  string // "when" or "message"
	Err    error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("rule %q: evaluating %s: %v", e.RuleID, e.Field, e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }

var (
	emptyOrganization cxaudit.Organization
	emptyAccount      cxaudit.Account
	emptyTicket       cxaudit.Ticket
	emptyUser         cxaudit.User
)

// activation resolves the rule variables for one Input. It is built once
// per Evaluate call and shared by every rule, so per-value caches (comment
// lists, escalation analysis) are computed at most once.
type activation struct {
	in      *Input
	now     ref.Val
	ticket  *ticketVal
	org     organizationVal
	account *accountVal
	user    userVal
	tickets ref.Val
}

func newActivation(in *Input) *activation {
	a := &activation{in: in, now: types.Timestamp{Time: in.Now}}
	t := in.Ticket
	if t == nil {
		t = &emptyTicket
	}
	a.ticket = &ticketVal{t: t}
	a.org = organizationVal{o: in.Organization}
	if a.org.o == nil {
		a.org.o = &emptyOrganization
	}
	acc := in.Account
	if acc == nil {
		acc = &emptyAccount
	}
	a.account = &accountVal{a: acc}
	a.user = userVal{u: in.Requester}
	if a.user.u == nil {
		a.user.u = &emptyUser
	}
	return a
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case varTicket:
		return a.ticket, true
	case varNow:
		return a.now, true
	case varOrganization:
		return a.org, true
	case varAccount:
		return a.account, true
	case varHasOrganization:
		return types.Bool(a.in.Organization != nil), true
	case varHasAccount:
		return types.Bool(a.in.Account != nil), true
	case varRequester:
		return a.user, true
	case varHasRequester:
		return types.Bool(a.in.Requester != nil), true
	case varSchedule:
		return scheduleVal{c: a.in.Calendar}, true
	case varTickets:
		if a.tickets == nil {
			vals := make([]ref.Val, len(a.in.Tickets))
			for i := range a.in.Tickets {
				vals[i] = &ticketVal{t: &a.in.Tickets[i]}
			}
			a.tickets = types.NewRefValList(types.DefaultTypeAdapter, vals)
		}
		return a.tickets, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// Evaluate runs every rule on kind against in and returns those that match,
// in rule ID order. A rule that fails to evaluate is reported in errs and
// does not stop the others.
func (s *Set) Evaluate(kind cxaudit.EntityKind, in Input) (matches []Match, errs []error) {
	rules := s.byKind[kind]
	if len(rules) == 0 {
		return nil, nil
	}
	if kind == cxaudit.EntityTicket && in.Ticket == nil {
		return nil, []error{fmt.Errorf("rules: ticket rules need Input.Ticket")}
	}
	act := newActivation(&in)
	for _, r := range rules {
		ok, err := evalBool(r.when, act)
		if err != nil {
			errs = append(errs, &EvalError{RuleID: r.ID, Field: "when", Err: err})
			continue
		}
		if !ok {
			continue
		}
		msg, err := evalString(r.message, act)
		if err != nil {
			errs = append(errs, &EvalError{RuleID: r.ID, Field: "message", Err: err})
			msg = r.Title
		}
		matches = append(matches, Match{Rule: r, Message: msg})
	}
	return matches, errs
}

func evalBool(p cel.Program, act interpreter.Activation) (ok bool, err error) {
	defer recoverEval(&err)
	out, _, err := p.Eval(act)
	if err != nil {
		return false, err
	}
	b, isBool := out.(types.Bool)
	if !isBool {
		return false, fmt.Errorf("condition yielded %s, not a bool", out.Type().TypeName())
	}
	return bool(b), nil
}

func evalString(p cel.Program, act interpreter.Activation) (s string, err error) {
	defer recoverEval(&err)
	out, _, err := p.Eval(act)
	if err != nil {
		return "", err
	}
	str, isStr := out.(types.String)
	if !isStr {
		return "", fmt.Errorf("message yielded %s, not a string", out.Type().TypeName())
	}
	return string(str), nil
}

// recoverEval turns a panic in an expression's evaluation into its error,
// so that one bad rule cannot take the worker down.
func recoverEval(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("internal error: %v", r)
	}
}
