package rules

import (
	"context"
	"errors"
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
	org     recordVal[cxaudit.Organization]
	account *accountVal
	user    recordVal[cxaudit.User]
	tickets ref.Val
	fits    int8 // within: 0 not yet known, 1 yes, 2 no
}

func newActivation(in *Input) *activation {
	a := &activation{in: in, now: types.Timestamp{Time: in.Now}}
	t := in.Ticket
	if t == nil {
		t = &emptyTicket
	}
	a.ticket = &ticketVal{t: t}
	org := in.Organization
	if org == nil {
		org = &emptyOrganization
	}
	a.org = organizationRec(org)
	acc := in.Account
	if acc == nil {
		acc = &emptyAccount
	}
	a.account = &accountVal{a: acc}
	user := in.Requester
	if user == nil {
		user = &emptyUser
	}
	a.user = userRec(user)
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
// does not stop the others; so is a rule that exceeds its runtime budget on
// in (RuntimeCostLimit, EvalTimeout: the error wraps ErrBudget).
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

// Runtime budgets. The estimate at load (MaxCost) bounds what a rule can
// cost on a record within the sizes it assumes (sizeLimits); a record past
// them (a ticket with 2,000 comments, a 2 MB description) is evaluated under
// these instead.
const (
	// RuntimeCostLimit is the CEL cost an expression may spend on one record
	// (CEL's cost tracker, cel.CostLimit): the static limit, now counted.
	RuntimeCostLimit = MaxCost
	// EvalTimeout bounds the wall-clock time of one expression on one
	// record: CEL checks it every interruptEvery iterations of a
	// comprehension, where an expression can loop.
	EvalTimeout = time.Second
	// interruptEvery is how many comprehension iterations CEL runs between
	// two looks at the deadline (cel.InterruptCheckFrequency).
	interruptEvery = 100
)

// ErrBudget is wrapped by the EvalError of an expression that exceeded its
// runtime budget (RuntimeCostLimit or EvalTimeout) on a record.
var ErrBudget = errors.New("over its evaluation budget")

// budgeted is a rule expression compiled twice. CEL's cost tracking and
// interrupts make every evaluation three to ten times slower, so they are
// used only where the estimate at load does not already bound the cost: the
// plain program runs on records within the sizes the estimate assumes
// (within), the tracked one, with the cost limit and the deadline, on any
// other. The embedded Program is the tracked one.
type budgeted struct {
	cel.Program
	plain cel.Program
}

// newBudgeted compiles ast both ways.
func newBudgeted(env *cel.Env, ast *cel.Ast) (*budgeted, error) {
	plain, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, err
	}
	tracked, err := env.Program(ast,
		cel.EvalOptions(cel.OptOptimize, cel.OptTrackCost),
		cel.CostLimit(RuntimeCostLimit),
		cel.InterruptCheckFrequency(interruptEvery))
	if err != nil {
		return nil, err
	}
	return &budgeted{Program: tracked, plain: plain}, nil
}

// eval runs p on act: the plain program when the record is within the
// estimate's sizes, else the tracked one under its deadline.
func eval(p cel.Program, act *activation) (ref.Val, error) {
	b, ok := p.(*budgeted)
	switch {
	case !ok:
		out, _, err := p.Eval(act)
		return out, err
	case act.within():
		out, _, err := b.plain.Eval(act)
		return out, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), EvalTimeout)
	defer cancel()
	out, _, err := b.ContextEval(ctx, act)
	var cancelled interpreter.EvalCancelledError
	switch {
	case errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded:
		return nil, fmt.Errorf("%w: cost limit of %d exceeded on this record", ErrBudget, RuntimeCostLimit)
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("%w: time limit of %s exceeded on this record", ErrBudget, EvalTimeout)
	}
	return out, err
}

func evalBool(p cel.Program, act *activation) (ok bool, err error) {
	defer recoverEval(&err)
	out, err := eval(p, act)
	if err != nil {
		return false, err
	}
	b, isBool := out.(types.Bool)
	if !isBool {
		return false, fmt.Errorf("condition yielded %s, not a bool", out.Type().TypeName())
	}
	return bool(b), nil
}

func evalString(p cel.Program, act *activation) (s string, err error) {
	defer recoverEval(&err)
	out, err := eval(p, act)
	if err != nil {
		return "", err
	}
	str, isStr := out.(types.String)
	if !isStr {
		return "", fmt.Errorf("message yielded %s, not a string", out.Type().TypeName())
	}
	return string(str), nil
}

// within reports whether every text and list of the record is within the
// sizes the cost estimate assumed (sizeLimits, defaultStringSize), so that
// no expression that passed it can exceed MaxCost on it. It is computed
// once per record.
func (a *activation) within() bool {
	if a.fits == 0 {
		a.fits = 2
		if inputWithin(a.in) {
			a.fits = 1
		}
	}
	return a.fits == 1
}

// inputWithin is within for in. Every text and list of every record a rule
// can read is checked (TestInputWithinCoversEveryField keeps it so); a
// byte length within the limit is a character count within it.
func inputWithin(in *Input) bool {
	if in.Ticket != nil && !ticketWithin(in.Ticket) {
		return false
	}
	if u := in.Requester; u != nil {
		if !textsWithin(defaultStringSize, u.Name, u.Email, u.Role) || !fieldsWithin(u.Fields) {
			return false
		}
	}
	if len(in.Tickets) > int(sizeLimits["tickets"]) {
		return false
	}
	for i := range in.Tickets {
		if !ticketWithin(&in.Tickets[i]) {
			return false
		}
	}
	if o := in.Organization; o != nil {
		if !textsWithin(defaultStringSize, o.Name, o.ExternalID) || !fieldsWithin(o.Fields) ||
			!listWithin(o.DomainNames, sizeLimits["domain_names"]) || !listWithin(o.Tags, sizeLimits["tags"]) ||
			!linksWithin(o.LinkedAccounts, sizeLimits["linked_accounts"]) {
			return false
		}
	}
	if ac := in.Account; ac != nil {
		if !textsWithin(defaultStringSize, ac.ID, ac.Name, ac.OwnerID, ac.OwnerName, ac.Website, ac.Type, ac.Industry, ac.Tier, ac.Health) ||
			len(ac.Contacts) > int(sizeLimits["contacts"]) || len(ac.Opportunities) > int(sizeLimits["opportunities"]) ||
			len(ac.OpenTasks) > int(sizeLimits["open_tasks"]) ||
			!fieldsWithin(ac.Fields) {
			return false
		}
		for i := range ac.Contacts {
			c := &ac.Contacts[i]
			if !textsWithin(defaultStringSize, c.ID, c.AccountID, c.Name, c.Email, c.Title, c.Role) ||
				!listWithin(c.Roles, sizeLimits["roles"]) || !fieldsWithin(c.Fields) {
				return false
			}
		}
		for i := range ac.Opportunities {
			o := &ac.Opportunities[i]
			if !textsWithin(defaultStringSize, o.ID, o.AccountID, o.Name, o.StageName, o.Type) || !fieldsWithin(o.Fields) {
				return false
			}
		}
		if !linksWithin(ac.Duplicates, sizeLimits["duplicates"]) || !linksWithin(ac.Organizations, sizeLimits["organizations"]) {
			return false
		}
		for i := range ac.OpenTasks {
			t := &ac.OpenTasks[i]
			if !textsWithin(defaultStringSize, t.ID, t.WhatID, t.OwnerID, t.Subject, t.Priority, t.Status, t.AccountID) ||
				len(t.Description) > int(sizeLimits["description"]) {
				return false
			}
		}
	}
	return true
}

func ticketWithin(t *cxaudit.Ticket) bool {
	if !textsWithin(defaultStringSize, t.Subject, t.Status, t.Priority, t.Type) || !fieldsWithin(t.Fields) ||
		len(t.Description) > int(sizeLimits["description"]) ||
		!listWithin(t.Tags, sizeLimits["tags"]) || len(t.Comments) > int(sizeLimits["comments"]) {
		return false
	}
	for i := range t.Comments {
		if len(t.Comments[i].Body) > int(sizeLimits["body"]) {
			return false
		}
	}
	return true
}

// fieldsWithin checks a record's custom fields: how many, and each text or
// list value.
func fieldsWithin(f cxaudit.Fields) bool {
	if len(f) > int(sizeLimits["fields"]) {
		return false
	}
	for _, v := range f {
		switch v := v.(type) {
		case string:
			if len(v) > defaultStringSize {
				return false
			}
		case []string:
			if !listWithin(v, fieldListSize) {
				return false
			}
		}
	}
	return true
}

func textsWithin(limit int, texts ...string) bool {
	for _, s := range texts {
		if len(s) > limit {
			return false
		}
	}
	return true
}

func listWithin(l []string, limit uint64) bool {
	return len(l) <= int(limit) && textsWithin(defaultStringSize, l...)
}

// recoverEval turns a panic in an expression's evaluation into its error,
// so that one bad rule cannot take the worker down.
func recoverEval(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("internal error: %v", r)
	}
}

// linksWithin reports whether a list of linked records is within n and its
// texts within the default size.
func linksWithin(refs []cxaudit.AccountRef, n uint64) bool {
	if len(refs) > int(n) {
		return false
	}
	for i := range refs {
		r := &refs[i]
		if !textsWithin(defaultStringSize, r.ID, r.Name, r.Domain, r.OwnerID, r.Match) {
			return false
		}
	}
	return true
}
