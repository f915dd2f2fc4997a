package rules

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

func TestTicketWindow(t *testing.T) {
	t.Parallel()
	def, err := LoadDir("../../rules")
	require.NoError(t, err)
	tickets, comments := def.TicketWindow(cxaudit.EntityAccount)
	require.True(t, tickets, "cross.green_health_urgent_tickets counts the customer's urgent tickets")
	require.False(t, comments, "no default rule reads the comments of the customer's tickets")
	for _, kind := range []cxaudit.EntityKind{cxaudit.EntityOrganization, cxaudit.EntityTicket} {
		tickets, _ := def.TicketWindow(kind)
		require.False(t, tickets, "no default %s rule reads tickets", kind)
	}

	set := func(entity, when string) *Set {
		src := fmt.Sprintf("rules:\n  - {id: r, title: t, category: cross_system, severity: low, entity: %s, when: %q, message: '\"m\"'}\n", entity, when)
		rs, err := ParseFile("r.yaml", []byte(src))
		require.NoError(t, err)
		return newSet(rs, 1)
	}
	for _, tc := range []struct {
		entity, when      string
		tickets, comments bool
	}{
		{"account", `account.name != ""`, false, false},
		{"account", `tickets.size() > 2`, true, false},
		{"organization", `tickets.size() > 0 && tickets[0].comments.size() > 3`, true, true},
		{"account", `tickets.size() > 0 && escalation_score(tickets[0]) < 2.0`, true, true},
		{"organization", `tickets.all(t, has_tag(t, "vip"))`, true, false},
		{"account", `tickets.size() > 0 && days_between(last_activity(tickets[0]), now) > 7.0`, true, true},
	} {
		tickets, comments := set(tc.entity, tc.when).TicketWindow(cxaudit.EntityKind(tc.entity))
		require.Equal(t, []bool{tc.tickets, tc.comments}, []bool{tickets, comments}, tc.when)
	}
}

// TestCommentReadersListed checks commentReaders against what the helpers
// do: a helper whose result changes when a ticket loses its comments must be
// listed, or the audit would hand it tickets without them.
func TestCommentReadersListed(t *testing.T) {
	t.Parallel()
	calls := map[string]string{
		"days_between":            `days_between(ticket.created_at, now)`,
		"hours_between":           `hours_between(ticket.created_at, now)`,
		"business_hours_between":  `business_hours_between(ticket.created_at, now)`,
		"contains_any":            `contains_any(ticket.subject, ["login"])`,
		"words_found":             `words_found(ticket.description, ["logs", "steps"]).join(",")`,
		"last_public_agent_reply": `last_public_agent_reply(ticket)`,
		"last_activity":           `last_activity(ticket)`,
		"has_tag":                 `has_tag(ticket, "billing")`,
		"escalation_score":        `escalation_score(ticket)`,
		"escalation_missing":      `escalation_missing(ticket).join(",")`,
		"has_request_id":          `has_request_id(ticket)`,
		"duration_text":           `duration_text(now - ticket.created_at)`,
	}
	require.ElementsMatch(t, functionNames, slices.Collect(maps.Keys(calls)), "every helper is tried")
	with := ticket(func(tk *cxaudit.Ticket) {
		tk.Comments = append(tk.Comments, cxaudit.Comment{ID: 9, AuthorID: 2, Public: true, ByAgent: true, Body: completePacket, CreatedAt: now.Add(-30 * 60e9)})
	})
	without := *with
	without.Comments = nil
	for name, call := range calls {
		src := fmt.Sprintf("rules:\n  - {id: r, title: t, category: backlog_aging, severity: low, entity: ticket, when: 'true', message: %q}\n", "string("+call+")")
		rs, err := ParseFile("r.yaml", []byte(src))
		require.NoError(t, err, name)
		s := newSet(rs, 1)
		eval := func(tk *cxaudit.Ticket) string {
			ms, errs := s.Evaluate(cxaudit.EntityTicket, Input{Now: now, Ticket: tk})
			require.Empty(t, errs, name)
			require.Len(t, ms, 1)
			return ms[0].Message
		}
		differs := eval(with) != eval(&without)
		if differs {
			require.True(t, commentReaders[name], "%s reads comments: list it in commentReaders", name)
		}
		if commentReaders[name] {
			require.True(t, differs, "%s is listed but its result did not change without comments", name)
		}
	}
}
