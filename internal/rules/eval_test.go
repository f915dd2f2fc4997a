package rules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/bizhours"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/simworld"
)

// TestBusinessHoursBetween checks that business_hours_between counts in
// the record's calendar: Monday to Friday 09:00-17:00 UTC when it has none,
// the schedule's own hours, time zone and holidays when it has one.
func TestBusinessHoursBetween(t *testing.T) {
	t.Parallel()
	src := `rules:
  - id: hours
    title: t
    category: backlog_aging
    severity: low
    entity: ticket
    when: "true"
    message: string(business_hours_between(ticket.created_at, now))
`
	rs, err := ParseFile("hours.yaml", []byte(src))
	require.NoError(t, err)
	s := newSet(rs, 1)
	berlin, err := bizhours.Schedule{ID: 1, Name: "EMEA", TimeZone: "Berlin",
		Intervals: []bizhours.Interval{{Start: 1440 + 8*60, End: 1440 + 18*60}, {Start: 2*1440 + 8*60, End: 2*1440 + 18*60}},
		Holidays:  []bizhours.Holiday{{Name: "Closed", StartDate: "2025-03-11", EndDate: "2025-03-11"}},
	}.Calendar()
	require.NoError(t, err)
	at := func(day, hour, minute int) time.Time { return time.Date(2025, 3, day, hour, minute, 0, 0, time.UTC) }
	tests := []struct {
		name string
		cal  *bizhours.Calendar
		a, b time.Time
		want string
	}{
		{"fallback, same day inside", nil, at(12, 10, 0), at(12, 12, 30), "2.5"},
		{"fallback, Friday to Monday", nil, at(14, 16, 0), at(17, 10, 0), "2"},
		{"fallback, reversed", nil, at(12, 12, 30), at(12, 10, 0), "-2.5"},
		// Berlin is UTC+1 in March: Monday 08:00-18:00 local is 07:00-17:00 UTC;
		// Tuesday the 11th is a holiday, Wednesday has no hours.
		{"schedule, Monday in its time zone", berlin, at(10, 6, 0), at(10, 8, 0), "1"},
		{"schedule, over its holiday and closed days", berlin, at(10, 16, 0), at(13, 12, 0), "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := &cxaudit.Ticket{ID: 1, Status: cxaudit.StatusOpen, CreatedAt: tc.a}
			ms, errs := s.Evaluate(cxaudit.EntityTicket, Input{Now: tc.b, Ticket: tk, Calendar: tc.cal})
			require.Empty(t, errs)
			require.Len(t, ms, 1)
			require.Equal(t, tc.want, ms[0].Message)
		})
	}
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	src := `rules:
  - id: helpers
    title: t
    category: backlog_aging
    severity: low
    entity: ticket
    when: "true"
    message: >-
      [
        string(days_between(timestamp("2025-03-10T15:00:00Z"), now)),
        string(hours_between(now, timestamp("2025-03-12T18:00:00Z"))),
        string(business_hours_between(timestamp("2025-03-11T15:00:00Z"), now)),
        string(contains_any(ticket.subject, ["INVOICE", "nope"])),
        string(contains_any(ticket.subject, ["nope"])),
        string(last_public_agent_reply(ticket)),
        string(has_tag(ticket, "billing")),
        string(has_tag(ticket, "sev1")),
        string(escalation_score(ticket)),
        string(ticket.metrics.reply_time_minutes),
        string(has(ticket.metrics.solved_at)),
        ticket.p_level,
        string(has_account),
        string(has(account.renewal_date)),
        account.id,
        string(organization.linked)
      ].join("|")
`
	rs, err := ParseFile("helpers.yaml", []byte(src))
	require.NoError(t, err)
	s := newSet(rs, 1)

	tk := ticket(func(t *cxaudit.Ticket) {
		t.Metrics.ReplyTimeCalendarMinutes = nil
		// cxaudit's notes and private notes are no public agent reply.
		t.Comments = append(t.Comments,
			cxaudit.Comment{ID: 3, Public: true, ByAgent: true, ByCXAudit: true, CreatedAt: now},
			cxaudit.Comment{ID: 4, Public: false, ByAgent: true, CreatedAt: now})
	})
	ms, errs := s.Evaluate(cxaudit.EntityTicket, Input{Now: now, Ticket: tk})
	require.Empty(t, errs)
	require.Len(t, ms, 1)
	require.Equal(t, "2|3|8|true|false|2025-03-12T14:10:00Z|true|false|0|-1|false|P3|false|false||false", ms[0].Message)
}

func TestEscalationAnalysis(t *testing.T) {
	t.Parallel()
	full := analyseEscalation(&cxaudit.Ticket{Comments: []cxaudit.Comment{{Body: completePacket}}})
	require.Equal(t, 5.0, full.score())
	require.Empty(t, full.missing())
	require.True(t, full.requestID)

	// cxaudit's own notes never count, even when they quote a packet.
	none := analyseEscalation(&cxaudit.Ticket{Comments: []cxaudit.Comment{{Body: completePacket, ByCXAudit: true}}})
	require.Equal(t, 0.0, none.score())
	require.Len(t, none.missing(), 6)
	require.False(t, none.requestID)

	// An agent asking for a request ID has not provided one.
	asked := analyseEscalation(&cxaudit.Ticket{Comments: []cxaudit.Comment{{Body: "Could you share the request ID from the error?"}}})
	require.False(t, asked.requestID)
}

func TestEvaluateErrorsDoNotStopOthers(t *testing.T) {
	t.Parallel()
	src := `rules:
  - id: a.fails
    title: t
    category: crm_hygiene
    severity: low
    entity: account
    when: account.renewal_date < now
    message: '"a"'
  - id: b.fires
    title: t
    category: crm_hygiene
    severity: low
    entity: account
    when: "true"
    message: 'string(1 / 0)'
  - id: c.fires
    title: t
    category: crm_hygiene
    severity: low
    entity: account
    when: "!has(account.renewal_date)"
    message: '"c"'
`
	rs, err := ParseFile("r.yaml", []byte(src))
	require.NoError(t, err)
	s := newSet(rs, 1)
	ms, errs := s.Evaluate(cxaudit.EntityAccount, Input{Now: now, Account: account(func(a *cxaudit.Account) { a.RenewalDate = nil })})
	require.Len(t, errs, 2)
	require.ErrorContains(t, errs[0], `rule "a.fails": evaluating when: account.renewal_date is not set (guard it with has(account.renewal_date))`)
	require.ErrorContains(t, errs[1], `rule "b.fires": evaluating message: division by zero`)
	require.Len(t, ms, 2)
	require.Equal(t, "b.fires", ms[0].Rule.ID)
	require.Equal(t, "t", ms[0].Message) // the title stands in for a failed message
	require.Equal(t, "c", ms[1].Message)

	// Without an account, rules see an empty one.
	_, errs = s.Evaluate(cxaudit.EntityAccount, Input{Now: now})
	require.Len(t, errs, 2)
}

func TestEvaluateConcurrent(t *testing.T) {
	t.Parallel()
	s := loadDefaults(t)
	w := simworld.Generate(simworld.Options{Seed: 2, Accounts: 20, Tickets: 200, Now: now})
	done := make(chan int)
	for g := 0; g < 4; g++ {
		go func() {
			n := 0
			for i := range w.Tickets {
				ms, errs := s.Evaluate(cxaudit.EntityTicket, Input{Now: now, Ticket: &w.Tickets[i]})
				if len(errs) > 0 {
					panic(errs[0])
				}
				n += len(ms)
			}
			done <- n
		}()
	}
	first := <-done
	for g := 1; g < 4; g++ {
		require.Equal(t, first, <-done)
	}
	require.Positive(t, first)
}

// simInputs pairs each simulated ticket with its organization and account,
// the way the audit job will.
func simInputs(w *simworld.World) []Input {
	orgs := map[int64]*cxaudit.Organization{}
	for i := range w.Organizations {
		orgs[w.Organizations[i].ID] = &w.Organizations[i]
	}
	accounts := map[string]*cxaudit.Account{}
	for i := range w.Accounts {
		accounts[w.Accounts[i].ID] = &w.Accounts[i]
	}
	ins := make([]Input, len(w.Tickets))
	for i := range w.Tickets {
		t := &w.Tickets[i]
		in := Input{Now: w.Now, Ticket: t, Organization: orgs[t.OrganizationID]}
		if in.Organization != nil {
			in.Account = accounts[in.Organization.ExternalID]
		}
		ins[i] = in
	}
	return ins
}

// notSimulated lists ticket rules whose condition the simulated world never
// produces; their rule tests (rules/*_test.yaml) cover them.
var notSimulated = map[string]string{
	"backlog.reopened_repeatedly":         "simworld generates no reopens",
	"severity.enterprise_sev1_not_urgent": "simworld puts sev tags on urgent tickets only",
}

func TestSimworldFindings(t *testing.T) {
	t.Parallel()
	s := loadDefaults(t)
	w := simworld.Generate(simworld.Options{Seed: 1, Accounts: 200, Tickets: 2000, Now: now})
	counts := map[string]int{}
	for _, in := range simInputs(w) {
		ms, errs := s.Evaluate(cxaudit.EntityTicket, in)
		require.Empty(t, errs)
		for _, m := range ms {
			counts[m.Rule.ID]++
		}
	}
	for _, r := range s.ForEntity(cxaudit.EntityTicket) {
		t.Logf("%-45s %4d", r.ID, counts[r.ID])
		if why, ok := notSimulated[r.ID]; ok {
			t.Logf("  not expected to fire: %s", why)
			continue
		}
		// Every ticket rule finds something in the simulated world, and
		// none fires on everything.
		require.Positive(t, counts[r.ID], r.ID)
		require.Less(t, counts[r.ID], len(w.Tickets)/2, r.ID)
	}
}

func BenchmarkRuleEval(b *testing.B) {
	s := loadDefaults(b)
	w := simworld.Generate(simworld.Options{Seed: 1, Accounts: 200, Tickets: 2000, Now: now})
	ins := simInputs(w)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		in := ins[n%len(ins)]
		if _, errs := s.Evaluate(cxaudit.EntityTicket, in); len(errs) > 0 {
			b.Fatal(errs[0])
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tickets/s")
}
