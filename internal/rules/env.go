package rules

import (
	"fmt"
	"slices"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
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
	"tags":          100,
	"domain_names":  50,
	"description":   16384,
	"body":          16384,
}

const (
	defaultStringSize = 1024
	maxStringResult   = 65536
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

// costEstimator sizes the inputs for checker.Cost.
type costEstimator struct{}

func (costEstimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	path := n.Path()
	if len(path) == 0 {
		return nil
	}
	last := path[len(path)-1]
	if max, ok := sizeLimits[last]; ok {
		return &checker.SizeEstimate{Min: 0, Max: max}
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
	case "join", "lowerAscii", "upperAscii", "trim", "substring", "replace", "format":
		// Strings built from the input are no larger than its largest text.
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: maxStringResult / 10}, ResultSize: &checker.SizeEstimate{Min: 0, Max: maxStringResult}}
	case "escalation_missing":
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 20_000}, ResultSize: &checker.SizeEstimate{Min: 0, Max: uint64(len(escalationParts))}}
	}
	return nil
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
