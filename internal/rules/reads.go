package rules

import (
	celast "github.com/google/cel-go/common/ast"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// What rules read, found from their expressions when they compile, so the
// audit reads no more than they need: the ticket window (`tickets`) of
// organization and account rules is a customer's last 90 days of tickets,
// and their comments are most of their bytes.

// commentReaders are the helper functions that read a ticket's comments.
// TestCommentReadersListed keeps it in step with library().
var commentReaders = map[string]bool{
	"last_public_agent_reply": true,
	"last_activity":           true,
	"escalation_score":        true,
	"escalation_missing":      true,
	"has_request_id":          true,
}

// reads is what an expression reads.
type reads struct {
	tickets  bool // the `tickets` variable
	comments bool // a ticket's comments, by field or through a helper
}

func (r reads) or(o reads) reads {
	return reads{tickets: r.tickets || o.tickets, comments: r.comments || o.comments}
}

// readsOf walks a checked expression. It errs on the side of reading: a
// `comments` field of anything, or a call to a comment-reading helper on
// any ticket, counts.
func readsOf(a *celast.AST) reads {
	var r reads
	celast.PreOrderVisit(a.Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		switch e.Kind() {
		case celast.IdentKind:
			if e.AsIdent() == varTickets {
				r.tickets = true
			}
		case celast.SelectKind:
			if e.AsSelect().FieldName() == "comments" {
				r.comments = true
			}
		case celast.CallKind:
			if commentReaders[e.AsCall().FunctionName()] {
				r.comments = true
			}
		}
	}))
	return r
}

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
