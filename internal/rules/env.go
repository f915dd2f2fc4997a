package rules

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// MaxCost is the highest estimated cost (in CEL cost units, roughly one per
// field read or comparison) an expression may have. Expressions over it are
// rejected at load: they could stall the audit of every ticket. The
// estimate assumes the sizes in sizeLimits.
const MaxCost = 25_000_000

// sizeLimits bound list and string sizes for the cost estimate: the largest
// values cxaudit expects to see.
var sizeLimits = map[string]uint64{
	"tickets":       5000,
	"comments":      500,
	"contacts":      1000,
	"opportunities": 1000,
	"open_tasks":    1000,
	// duplicates, organizations, linked_accounts: the records an account
	// or organization is tied to besides its own link.
	"duplicates":      100,
	"organizations":   100,
	"linked_accounts": 100,
	"tags":            100,
	"domain_names":    50,
	"roles":           20,
	// fields: a record's custom fields, each a text of defaultStringSize
	// at most or a list of at most fieldListSize values.
	"fields":      1000,
	"description": 16384,
	"body":        16384,
}

const (
	defaultStringSize = 1024
	maxStringResult   = 65536
	// fieldListSize bounds a custom field that holds a list (a
	// multi-select).
	fieldListSize = 100
)

// Variable names. Which ones a rule sees depends on its entity.
const (
	varTicket          = "ticket"
	varOrganization    = "organization"
	varAccount         = "account"
	varTickets         = "tickets"
	varNow             = "now"
	varHasOrganization = "has_organization"
	varHasAccount      = "has_account"
	varRequester       = "requester"
	varHasRequester    = "has_requester"
	// varSchedule holds the record's business-hours calendar for
	// business_hours_between, which hands it to fnBusinessHours. Rules
	// cannot name either: CEL identifiers with two leading underscores are
	// the library's.
	varSchedule     = "__schedule__"
	fnBusinessHours = "__business_hours__"
)

// variables returns the variables a rule on kind sees.
func variables(kind cxaudit.EntityKind) []cel.EnvOption {
	common := []cel.EnvOption{
		cel.Variable(varNow, cel.TimestampType),
		cel.Variable(varSchedule, cel.ObjectType(scheduleTypeName)),
		cel.Variable(varOrganization, cel.ObjectType(organizationTypeName)),
		cel.Variable(varAccount, cel.ObjectType(accountTypeName)),
		cel.Variable(varHasOrganization, cel.BoolType),
		cel.Variable(varHasAccount, cel.BoolType),
	}
	if kind == cxaudit.EntityTicket {
		return append(common, cel.Variable(varTicket, cel.ObjectType(ticketTypeName)),
			cel.Variable(varRequester, cel.ObjectType(userTypeName)), cel.Variable(varHasRequester, cel.BoolType))
	}
	return append(common, cel.Variable(varTickets, cel.ListType(cel.ObjectType(ticketTypeName))))
}

// variableNames lists the variables of kind, for hints.
func variableNames(kind cxaudit.EntityKind) []string {
	names := []string{varNow, varOrganization, varAccount, varHasOrganization, varHasAccount}
	if kind == cxaudit.EntityTicket {
		return append(names, varTicket, varRequester, varHasRequester)
	}
	return append(names, varTickets)
}

var (
	envsOnce sync.Once
	envs     map[cxaudit.EntityKind]*cel.Env
	envsErr  error
)

// envFor returns the shared CEL environment for rules on kind.
func envFor(kind cxaudit.EntityKind) (*cel.Env, error) {
	envsOnce.Do(func() {
		envs = map[cxaudit.EntityKind]*cel.Env{}
		for _, k := range []cxaudit.EntityKind{cxaudit.EntityTicket, cxaudit.EntityOrganization, cxaudit.EntityAccount} {
			reg, err := types.NewRegistry()
			if err != nil {
				envsErr = err
				return
			}
			opts := []cel.EnvOption{
				cel.CustomTypeProvider(provider{reg}),
				cel.CrossTypeNumericComparisons(true),
				cel.DefaultUTCTimeZone(true),
				cel.ParserExpressionSizeLimit(8192),
				cel.ParserRecursionLimit(100),
				ext.Strings(),
				ext.Lists(),
				builderCosts(),
			}
			opts = append(opts, variables(k)...)
			opts = append(opts, library()...)
			env, err := cel.NewEnv(opts...)
			if err != nil {
				envsErr = fmt.Errorf("rules: building the CEL environment: %w", err)
				return
			}
			envs[k] = env
		}
	})
	return envs[kind], envsErr
}

// costEstimator sizes the inputs for checker.Cost. Its sizes bound, for
// every node of the expression being estimated, how long a text or list can
// get (see sizer); builderCosts needs them to estimate joins and formats.
type costEstimator struct {
	sizes *sizer
}

func (costEstimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	path := n.Path()
	if len(path) == 0 {
		return nil
	}
	last := path[len(path)-1]
	if max, ok := sizeLimits[last]; ok {
		return &checker.SizeEstimate{Min: 0, Max: max}
	}
	if len(path) >= 2 && path[len(path)-2] == "fields" {
		// A custom field's value: a text or a multi-select's list.
		return &checker.SizeEstimate{Min: 0, Max: max(defaultStringSize, fieldListSize)}
	}
	if n.Type() != nil && n.Type().Kind() == types.StringKind {
		return &checker.SizeEstimate{Min: 0, Max: defaultStringSize}
	}
	return nil
}

func (costEstimator) EstimateCallCost(function, overloadID string, target *checker.AstNode, args []checker.AstNode) *checker.CallEstimate {
	switch function {
	case "escalation_score", "has_request_id":
		// Regular expressions over the ticket's text, once per ticket.
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 20_000}}
	case "last_public_agent_reply", "last_activity":
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: sizeLimits["comments"]}}
	case fnBusinessHours:
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 50}}
	case "words_found":
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 100 * defaultStringSize}, ResultSize: &checker.SizeEstimate{Min: 0, Max: 100}}
	case "contains_any":
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 100 * defaultStringSize}}
	case "string":
		// Conversions to text: numbers, timestamps and the like are short;
		// a string stays as large as it was.
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 1}, ResultSize: &checker.SizeEstimate{Min: 0, Max: maxStringResult}}
	case "duration_text":
		// "-2147483647 days" at the longest.
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 1}, ResultSize: &checker.SizeEstimate{Min: 0, Max: 24}}
	case "escalation_missing":
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 20_000}, ResultSize: &checker.SizeEstimate{Min: 0, Max: uint64(len(escalationParts))}}
	}
	// The string builders (join, format) are estimated by builderCosts;
	// lowerAscii, replace, split and the other string and list extensions
	// by cel-go's own estimators, which follow their inputs' sizes.
	return nil
}

// builderCosts replace cel-go's estimates of the functions that build one
// text out of many: cel-go's join counts the list's elements but not their
// length, and its format has no result size at all, so
// lists.range(1000000).map(i, ticket.description).join("") was estimated at
// 16 million (it builds a 16 GB string). Registered after ext.Strings, they
// take its place.
func builderCosts() cel.EnvOption {
	return cel.CostEstimatorOptions(
		checker.OverloadCostEstimate("list_join", estimateBuilt),
		checker.OverloadCostEstimate("list_join_string", estimateBuilt),
		checker.OverloadCostEstimate("string_format", estimateBuilt),
	)
}

// estimateBuilt estimates a join or format by the length of the text it
// builds: writing every character costs one, and the result is that long.
func estimateBuilt(est checker.CostEstimator, target *checker.AstNode, _ []checker.AstNode) *checker.CallEstimate {
	ce, ok := est.(costEstimator)
	if !ok || ce.sizes == nil || target == nil {
		return nil
	}
	// The sizer knows the call by its target, the node both see.
	b, ok := ce.sizes.built[(*target).Expr().ID()]
	if !ok {
		return nil
	}
	return &checker.CallEstimate{
		CostEstimate: checker.CostEstimate{Min: 1, Max: satAdd(satAdd(b.size, b.parts), 1)},
		ResultSize:   &checker.SizeEstimate{Min: 0, Max: b.size},
	}
}

// bound is an upper bound on a value's size, as CEL's size() counts it: the
// characters of a text, the elements of a list, the entries of a map. For
// lists and maps, elem bounds every element (or value). Any other value
// counts as one, and renders in at most scalarWidth characters.
type bound struct {
	n    uint64
	elem *bound
	// total, when set, bounds the elements' sizes added up, where that is
	// less than n times the largest: the parts of a split text add up to
	// the text.
	total *uint64
}

// sum bounds the sizes of b's elements added up.
func (b bound) sum() uint64 {
	m := satMul(b.n, elemOf(b).n)
	if b.total != nil {
		return min(*b.total, m)
	}
	return m
}

// scalarWidth is the longest text a number, bool, timestamp or duration
// renders as.
const scalarWidth = 40

// unbounded is a size nothing is known about.
const unbounded = math.MaxUint64

// sizer bounds the size of every node of one checked expression, following
// sizeLimits for the fields of records, as costEstimator.EstimateSize does.
// cel-go's estimator keeps its own sizes to itself and does not track how
// long the texts inside a list are, which the cost of a join depends on.
type sizer struct {
	ast *ast.AST
	// built bounds each join and format call, by the id of its target
	// (the list joined, the format string).
	built map[int64]built
}

// built bounds a text built from parts: its length, and how many parts
// are visited to build it.
type built struct {
	size, parts uint64
}

// newSizer bounds every node of a.
func newSizer(a *ast.AST) *sizer {
	s := &sizer{ast: a, built: map[int64]built{}}
	s.size(a.Expr(), nil)
	return s
}

// scope binds the variables of the comprehensions around a node.
type scope struct {
	name   string
	b      bound
	parent *scope
}

func (sc *scope) lookup(name string) (bound, bool) {
	for ; sc != nil; sc = sc.parent {
		if sc.name == name {
			return sc.b, true
		}
	}
	return bound{}, false
}

// typed bounds a value known only by its type: a text of any field not in
// sizeLimits, a list of unknown length.
func (s *sizer) typed(t *types.Type) bound {
	switch {
	case t == nil:
		return bound{n: unbounded}
	case t.Kind() == types.StringKind, t.Kind() == types.BytesKind:
		return bound{n: defaultStringSize}
	case t.Kind() == types.ListKind:
		var elem bound
		if ps := t.Parameters(); len(ps) == 1 {
			elem = s.typed(ps[0])
		} else {
			elem = bound{n: unbounded}
		}
		return bound{n: unbounded, elem: &elem}
	case t.Kind() == types.MapKind:
		elem := bound{n: unbounded}
		if ps := t.Parameters(); len(ps) == 2 {
			elem = s.typed(ps[1])
		}
		return bound{n: unbounded, elem: &elem}
	case t.Kind() == types.DynKind, t.Kind() == types.AnyKind:
		return bound{n: unbounded}
	}
	return bound{n: 1}
}

// elemOf is b's element bound, or an unknown one.
func elemOf(b bound) bound {
	if b.elem == nil {
		return bound{n: unbounded}
	}
	return *b.elem
}

// widest is the larger of two bounds, element by element.
func widest(a, b bound) bound {
	out := bound{n: max(a.n, b.n)}
	switch {
	case a.elem != nil && b.elem != nil:
		e := widest(*a.elem, *b.elem)
		out.elem = &e
	case a.elem != nil:
		out.elem = a.elem
	case b.elem != nil:
		out.elem = b.elem
	}
	return out
}

// rendered bounds the length of b as text: a list renders as its elements
// with separators and brackets, a scalar in at most scalarWidth.
func rendered(b bound, t *types.Type) uint64 {
	if t != nil && (t.Kind() == types.StringKind || t.Kind() == types.BytesKind) {
		return b.n
	}
	if b.elem == nil {
		return max(b.n, scalarWidth)
	}
	var et *types.Type
	if t != nil && len(t.Parameters()) > 0 {
		et = t.Parameters()[len(t.Parameters())-1]
	}
	return satAdd(satMul(b.n, satAdd(rendered(*b.elem, et), 2)), 2)
}

// size bounds e, whose comprehension variables sc binds.
func (s *sizer) size(e ast.Expr, sc *scope) bound {
	t := s.ast.GetType(e.ID())
	switch e.Kind() {
	case ast.LiteralKind:
		switch v := e.AsLiteral().(type) {
		case types.String:
			return bound{n: uint64(utf8.RuneCountInString(string(v)))}
		case types.Bytes:
			return bound{n: uint64(len(v))}
		}
		return bound{n: 1}
	case ast.IdentKind:
		if b, ok := sc.lookup(e.AsIdent()); ok {
			return b
		}
		b := s.typed(t)
		if limit, ok := sizeLimits[e.AsIdent()]; ok {
			b.n = limit // tickets
		}
		return b
	case ast.SelectKind:
		sel := e.AsSelect()
		s.size(sel.Operand(), sc)
		if sel.IsTestOnly() {
			return bound{n: 1}
		}
		b := s.typed(t)
		if limit, ok := sizeLimits[sel.FieldName()]; ok {
			b.n = limit
		}
		return b
	case ast.ListKind:
		out := bound{n: uint64(e.AsList().Size())}
		var elem *bound
		for _, el := range e.AsList().Elements() {
			b := s.size(el, sc)
			if elem == nil {
				elem = &b
			} else {
				w := widest(*elem, b)
				elem = &w
			}
		}
		if elem == nil {
			elem = &bound{}
		}
		out.elem = elem
		return out
	case ast.MapKind:
		out := bound{n: uint64(e.AsMap().Size()), elem: &bound{}}
		for _, en := range e.AsMap().Entries() {
			me := en.AsMapEntry()
			w := widest(*out.elem, s.size(me.Value(), sc))
			out.elem = &w
			s.size(me.Key(), sc)
		}
		return out
	case ast.StructKind:
		for _, f := range e.AsStruct().Fields() {
			s.size(f.AsStructField().Value(), sc)
		}
		return bound{n: 1}
	case ast.ComprehensionKind:
		return s.comprehension(e.AsComprehension(), t, sc)
	case ast.CallKind:
		return s.call(e.AsCall(), t, sc)
	}
	return s.typed(t)
}

// comprehension bounds a macro: exists, all and exists_one yield a bool;
// map and filter a list that grows by at most what one step appends, once
// per element of the range.
func (s *sizer) comprehension(c ast.ComprehensionExpr, t *types.Type, sc *scope) bound {
	rng := s.size(c.IterRange(), sc)
	init := s.size(c.AccuInit(), sc)
	inner := &scope{name: c.IterVar(), b: elemOf(rng), parent: sc}
	if rt := s.ast.GetType(c.IterRange().ID()); rt != nil && rt.Kind() == types.MapKind {
		// A map's keys are iterated; their sizes are not tracked.
		inner.b = bound{n: unbounded}
	}
	inner = &scope{name: c.AccuVar(), b: init, parent: inner}
	s.size(c.LoopCondition(), inner)
	step := s.size(c.LoopStep(), inner)
	s.size(c.Result(), inner)
	if t == nil || t.Kind() != types.ListKind {
		return s.typed(t)
	}
	grows := uint64(0)
	if step.n > init.n {
		grows = step.n - init.n
	}
	out := bound{n: satAdd(init.n, satMul(rng.n, grows)), elem: step.elem}
	if out.elem == nil {
		out.elem = init.elem
	}
	return out
}

// call bounds a function call; join and format are recorded for
// estimateBuilt.
func (s *sizer) call(c ast.CallExpr, t *types.Type, sc *scope) bound {
	var target bound
	if c.IsMemberFunction() {
		target = s.size(c.Target(), sc)
	}
	args := make([]bound, len(c.Args()))
	for i, a := range c.Args() {
		args[i] = s.size(a, sc)
	}
	arg := func(i int) bound {
		if i < len(args) {
			return args[i]
		}
		return bound{}
	}
	isList := t != nil && t.Kind() == types.ListKind
	isText := t != nil && (t.Kind() == types.StringKind || t.Kind() == types.BytesKind)
	switch c.FunctionName() {
	case "_+_":
		if isText || isList {
			out := bound{n: satAdd(arg(0).n, arg(1).n)}
			if isList {
				e := widest(elemOf(arg(0)), elemOf(arg(1)))
				out.elem = &e
			}
			return out
		}
	case "_?_:_":
		return widest(arg(1), arg(2))
	case "_[_]", "_[?_]":
		return elemOf(arg(0))
	case "join":
		sep := uint64(0)
		if len(args) > 0 {
			sep = args[0].n
		}
		out := bound{n: satAdd(target.sum(), satMul(target.n, sep))}
		s.built[c.Target().ID()] = built{size: out.n, parts: target.n}
		return out
	case "format":
		if len(args) != 1 {
			break
		}
		out := bound{n: satAdd(target.n, rendered(args[0], s.ast.GetType(c.Args()[0].ID())))}
		s.built[c.Target().ID()] = built{size: out.n, parts: satAdd(target.n, args[0].n)}
		return out
	case "replace":
		// Every character (and the gaps between them) may be replaced.
		return bound{n: satAdd(satMul(satAdd(target.n, 1), max(arg(1).n, 1)), target.n)}
	case "split":
		elem, total := target, target.n
		return bound{n: satAdd(target.n, 1), elem: &elem, total: &total}
	case "lowerAscii", "upperAscii", "trim", "substring", "charAt", "reverse", "sort", "distinct", "slice":
		if c.IsMemberFunction() {
			return target
		}
	case "strings.quote":
		return bound{n: satAdd(satMul(arg(0).n, 2), 2)}
	case "string", "bytes":
		if len(args) == 1 {
			if at := s.ast.GetType(c.Args()[0].ID()); at != nil && (at.Kind() == types.StringKind || at.Kind() == types.BytesKind) {
				return args[0]
			}
			return bound{n: scalarWidth}
		}
	case "lists.range":
		n := uint64(unbounded)
		if a := c.Args(); len(a) == 1 && a[0].Kind() == ast.LiteralKind {
			if v, ok := a[0].AsLiteral().(types.Int); ok {
				n = uint64(max(v, 0))
			}
		}
		return bound{n: n, elem: &bound{n: 1}}
	case "flatten":
		inner := elemOf(target)
		return bound{n: satMul(target.n, inner.n), elem: inner.elem}
	case "words_found":
		// The words found are among the words asked for.
		return arg(1)
	case "escalation_missing":
		return bound{n: uint64(len(escalationParts)), elem: &bound{n: defaultStringSize}}
	}
	if isText || isList {
		return s.typed(t)
	}
	return bound{n: 1}
}

func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

func satMul(a, b uint64) uint64 {
	if a != 0 && b > math.MaxUint64/a {
		return math.MaxUint64
	}
	return a * b
}

// keywords are names CEL itself defines that a misspelling may aim at.
var keywords = []string{
	"has", "all", "exists", "exists_one", "map", "filter", "size", "matches",
	"contains", "startsWith", "endsWith", "timestamp", "duration", "string", "int", "double",
	"true", "false", "null", "in",
}

// suggestIdent returns the declared name nearest to name, or "".
func suggestIdent(kind cxaudit.EntityKind, name string) string {
	return nearest(name, slices.Concat(variableNames(kind), functionNames, keywords))
}
