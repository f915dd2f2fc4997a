package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCommentStatuses(t *testing.T) {
	t.Parallel()
	def, err := LoadDir("../../rules")
	require.NoError(t, err)
	all, statuses := def.CommentStatuses()
	require.False(t, all, "every default ticket rule requires a status")
	require.Equal(t, []string{"hold", "new", "open", "pending"}, statuses)
	require.True(t, def.NeedsComments("pending"))
	require.False(t, def.NeedsComments("solved"))
	require.False(t, def.NeedsComments("closed"))

	// set builds a set of one rule per "entity: when".
	set := func(rules ...string) *Set {
		var src strings.Builder
		src.WriteString("rules:\n")
		for i, r := range rules {
			entity, when, _ := strings.Cut(r, ": ")
			fmt.Fprintf(&src, "  - {id: r%d, title: t, category: cross_system, severity: low, entity: %s, when: %q, message: '\"m\"'}\n", i, entity, when)
		}
		rs, err := ParseFile("r.yaml", []byte(src.String()))
		require.NoError(t, err, src.String())
		return newSet(rs, 1)
	}
	for _, tc := range []struct {
		rules    []string
		all      bool
		statuses []string
	}{
		{[]string{`ticket: ticket.open`}, false, []string{"hold", "new", "open", "pending"}},
		{[]string{`ticket: ticket.status == "pending" && ticket.priority == "high"`}, false, []string{"pending"}},
		{[]string{`ticket: "solved" == ticket.status`}, false, []string{"solved"}},
		{[]string{`ticket: ticket.priority == "high" && ticket.status in ["new", "open"]`}, false, []string{"new", "open"}},
		{[]string{`ticket: ticket.open && ticket.status in ["open", "solved"]`}, false, []string{"open"}},
		{[]string{`ticket: (ticket.status == "new" || ticket.status == "solved") && size(ticket.tags) > 0`}, false, []string{"new", "solved"}},
		{[]string{`ticket: ticket.status == "new"`, `ticket: ticket.status == "closed"`}, false, []string{"closed", "new"}},
		// Anything the walk does not recognise may fire on any status.
		{[]string{`ticket: ticket.priority == "urgent"`}, true, nil},
		{[]string{`ticket: ticket.open || ticket.priority == "urgent"`}, true, nil},
		{[]string{`ticket: !ticket.open`}, true, nil},
		{[]string{`ticket: ticket.status != "closed"`}, true, nil},
		{[]string{`ticket: ticket.open`, `ticket: has_tag(ticket, "vip")`}, true, nil},
		// Organization and account rules: only those that read their
		// tickets' comments need every status.
		{[]string{`ticket: ticket.open`, `organization: tickets.size() > 3`}, false, []string{"hold", "new", "open", "pending"}},
		{[]string{`ticket: ticket.open`, `account: tickets.size() > 0 && days_between(last_activity(tickets[0]), now) > 7.0`}, true, nil},
		{[]string{`organization: tickets.exists(t, t.comments.size() > 9)`}, true, nil},
		{[]string{`account: account.name != ""`}, false, nil},
	} {
		s := set(tc.rules...)
		all, statuses := s.CommentStatuses()
		require.Equal(t, tc.all, all, "%q", tc.rules)
		require.Equal(t, tc.statuses, statuses, "%q", tc.rules)
		require.Equal(t, tc.all, s.NeedsComments("deleted_or_anything"), "%q", tc.rules)
	}
}
