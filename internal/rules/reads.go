package rules

import (
	"sort"
	"strings"
	"time"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// What rules read, found from their expressions when they compile, so the
// audit reads no more than they need (the ticket window (`tickets`) of
// organization and account rules is a customer's last 90 days of tickets,
// and their comments are most of their bytes), and so a rule that reads a
// field the tenant lacks, or a source not synced yet, is set aside instead
// of raising or resolving findings it cannot judge.

// commentReaders are the helper functions that read a ticket's comments.
// TestCommentReadersListed keeps it in step with library().
var commentReaders = map[string]bool{
	"last_public_agent_reply": true,
	"last_activity":           true,
	"escalation_score":        true,
	"escalation_missing":      true,
	"has_request_id":          true,
}

// variableSources says which system's data a variable holds.
var variableSources = map[string]cxaudit.Source{
	varTicket: cxaudit.SourceZendesk, varTickets: cxaudit.SourceZendesk, varOrganization: cxaudit.SourceZendesk,
	varHasOrganization: cxaudit.SourceZendesk, varRequester: cxaudit.SourceZendesk, varHasRequester: cxaudit.SourceZendesk,
	varAccount: cxaudit.SourceSalesforce, varHasAccount: cxaudit.SourceSalesforce,
}

// reads is what an expression reads.
type reads struct {
	tickets  bool // the `tickets` variable
	comments bool // a ticket's comments, by field or through a helper
	// refs are the tenant fields read (see tenant.Ref), each with where
	// it is first read.
	refs map[string]refPos
	// sources are the systems whose data the expression reads.
	sources map[cxaudit.Source]bool
}

// refPos is where an expression reads a ref.
type refPos struct {
	field        string // "when" or "message"
	line, column int    // in the rule file
}

func (r reads) or(o reads) reads {
	out := reads{tickets: r.tickets || o.tickets, comments: r.comments || o.comments,
		refs: map[string]refPos{}, sources: map[cxaudit.Source]bool{}}
	for _, m := range []reads{o, r} { // r's positions win: it was compiled first
		for k, v := range m.refs {
			out.refs[k] = v
		}
		for k, v := range m.sources {
			out.sources[k] = v
		}
	}
	return out
}

// readsOf walks a checked expression. It errs on the side of reading: a
// `comments` field of anything, or a call to a comment-reading helper on
// any ticket, counts. pos maps an expression id to its place in the file.
func readsOf(a *celast.AST, field string, pos func(id int64) (int, int)) reads {
	r := reads{refs: map[string]refPos{}, sources: map[cxaudit.Source]bool{}}
	ref := func(id int64, name string) {
		if _, seen := r.refs[name]; !seen {
			line, col := pos(id)
			r.refs[name] = refPos{field: field, line: line, column: col}
		}
	}
	// objectOf names the tenant object an expression's value is.
	objectOf := func(e celast.Expr) string {
		t := a.GetType(e.ID())
		if t == nil || t.Kind() != types.StructKind {
			return ""
		}
		return tenantObjects[t.TypeName()]
	}
	// fieldsOf names the object whose `fields` map e is, if it is one.
	fieldsOf := func(e celast.Expr) string {
		if e.Kind() != celast.SelectKind || e.AsSelect().FieldName() != "fields" {
			return ""
		}
		return objectOf(e.AsSelect().Operand())
	}
	celast.PreOrderVisit(a.Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		switch e.Kind() {
		case celast.IdentKind:
			name := e.AsIdent()
			if name == varTickets {
				r.tickets = true
			}
			if src, ok := variableSources[name]; ok {
				r.sources[src] = true
			}
		case celast.SelectKind:
			sel := e.AsSelect()
			if sel.FieldName() == "comments" {
				r.comments = true
			}
			if obj := objectOf(sel.Operand()); obj != "" {
				ref(e.ID(), tenant.Ref(obj, sel.FieldName()))
			} else if obj := fieldsOf(sel.Operand()); obj != "" {
				ref(e.ID(), tenant.FieldRef(obj, sel.FieldName()))
			}
		case celast.CallKind:
			call := e.AsCall()
			if commentReaders[call.FunctionName()] {
				r.comments = true
			}
			// account.fields["ARR__c"] reads ARR__c as account.fields.ARR__c does.
			if call.FunctionName() == "_[_]" && len(call.Args()) == 2 {
				key := call.Args()[1]
				if obj := fieldsOf(call.Args()[0]); obj != "" && key.Kind() == celast.LiteralKind {
					if s, ok := key.AsLiteral().(types.String); ok {
						ref(e.ID(), tenant.FieldRef(obj, string(s)))
					}
				}
			}
		}
	}))
	return r
}

// TicketWindow is how far back the tickets organization and account rules
// see (as `tickets`) reach: the one window of the audit, `rules preview`
// and `rules test`.
const TicketWindow = 90 * 24 * time.Hour

// TicketWindow reports whether the rules on kind read the customer's recent
// tickets (`tickets`), and whether they read those tickets' comments.
func (s *Set) TicketWindow(kind cxaudit.EntityKind) (tickets, comments bool) {
	for _, r := range s.byKind[kind] {
		if r.reads.tickets {
			tickets = true
			comments = comments || r.reads.comments
		}
	}
	return tickets, comments
}

// Sources returns the systems whose data the rule reads: the system of its
// entity, and those of the variables its expressions name.
func (r *Rule) Sources() []cxaudit.Source {
	var out []cxaudit.Source
	for _, src := range []cxaudit.Source{cxaudit.SourceZendesk, cxaudit.SourceSalesforce} {
		if r.reads.sources[src] || entitySource(r.Entity) == src {
			out = append(out, src)
		}
	}
	return out
}

// Waits returns the systems whose first full sync the rule must wait for,
// so that it never judges one side or half a record: Salesforce for every
// rule that reads it (an account's contacts and opportunities are read
// after the account), and Zendesk for rules that read a customer's recent
// tickets (`tickets`). A ticket rule that reads only its ticket, and its
// organization and requester, which a ticket's sync fetches, waits for
// nothing of Zendesk: its findings come as soon as the ticket is synced.
func (r *Rule) Waits() []cxaudit.Source {
	var out []cxaudit.Source
	if r.reads.tickets {
		out = append(out, cxaudit.SourceZendesk)
	}
	if r.reads.sources[cxaudit.SourceSalesforce] || r.Entity == cxaudit.EntityAccount {
		out = append(out, cxaudit.SourceSalesforce)
	}
	return out
}

func entitySource(k cxaudit.EntityKind) cxaudit.Source {
	if k == cxaudit.EntityAccount {
		return cxaudit.SourceSalesforce
	}
	return cxaudit.SourceZendesk
}

// Refs returns the tenant fields the rule reads (see tenant.Ref).
func (r *Rule) Refs() []string {
	out := make([]string, 0, len(r.reads.refs))
	for k := range r.reads.refs {
		out = append(out, k)
	}
	return out
}

// FieldsRead returns the custom fields of a Salesforce object (Account,
// Contact, Opportunity) that the rules read as <object>.fields.<name>.
func (s *Set) FieldsRead(object string) []string {
	prefix := object + ".fields."
	seen := map[string]bool{}
	var out []string
	for _, r := range s.rules {
		for ref := range r.reads.refs {
			if name, ok := strings.CutPrefix(ref, prefix); ok && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}
