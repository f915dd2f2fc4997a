package rules

import (
	"reflect"
	"strconv"
	"strings"
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

func TestDurationText(t *testing.T) {
	t.Parallel()
	for minutes, want := range map[float64]string{
		0: "0 min", 16.9: "16 min", 59: "59 min", 60: "1 h 0 min", 200: "3 h 20 min",
		47*60 + 59: "47 h 59 min", 48 * 60: "2 days", 23610: "16 days", -5: "-5 min",
	} {
		require.Equal(t, want, DurationText(minutes), minutes)
	}
	src := `rules:
  - id: durations
    title: t
    category: backlog_aging
    severity: low
    entity: ticket
    when: "true"
    message: >-
      [duration_text(23610), duration_text(200.5), duration_text(now - timestamp("2025-03-12T13:40:00Z"))].join("|")
`
	rs, err := ParseFile("durations.yaml", []byte(src))
	require.NoError(t, err)
	ms, errs := newSet(rs, 1).Evaluate(cxaudit.EntityTicket, Input{Now: now, Ticket: ticket()})
	require.Empty(t, errs)
	require.Len(t, ms, 1)
	require.Equal(t, "16 days|3 h 20 min|1 h 20 min", ms[0].Message)
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

// TestEvaluateBudgets: an expression that passed the estimate at load but
// meets a record larger than the estimate assumed is stopped by its runtime
// budget, by cost or by time. That is an evaluation error of that rule on
// that record; the other rules still run.
func TestEvaluateBudgets(t *testing.T) {
	t.Parallel()
	rule := func(id, when string) string {
		return "  - {id: " + id + ", title: t, category: backlog_aging, severity: low, entity: ticket, when: '" + when + "', message: '\"m\"'}\n"
	}
	fine := rule("budget.fine", "ticket.open")
	// Each contains costs the description's length times the tag's, over
	// a tenth twice: 16.7 million at most over 100 tags of 1 KiB and a
	// 16 KiB description, but 20 million per tag on the record below.
	costly := rule("budget.cost", "ticket.tags.exists(t, ticket.description.contains(t))")
	// A million cheap iterations: 8 million, under MaxCost, yet slower than
	// EvalTimeout when CEL tracks its cost.
	slow := rule("budget.time", "lists.range(1000).all(i, lists.range(1000).all(j, i + j >= 0))")
	huge := &cxaudit.Ticket{Status: cxaudit.StatusOpen, Description: strings.Repeat("a", 2<<20)}
	for range 1000 {
		huge.Tags = append(huge.Tags, strings.Repeat("b", 1000))
	}
	small := &cxaudit.Ticket{Status: cxaudit.StatusOpen, Description: "a b c", Tags: []string{"b"}}

	for _, tc := range []struct {
		name    string
		rules   string
		ticket  *cxaudit.Ticket
		wantErr string // "" for none
	}{
		{"cost limit", costly + fine, huge, `rule "budget.cost": evaluating when: over its evaluation budget: cost limit of 25000000 exceeded on this record`},
		{"time limit", slow + fine, &cxaudit.Ticket{Status: cxaudit.StatusOpen, Description: strings.Repeat("a", 20000)},
			`rule "budget.time": evaluating when: over its evaluation budget: time limit of 1s exceeded on this record`},
		{"within the estimate's sizes", costly + fine, small, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rs, err := ParseFile("r.yaml", []byte("rules:\n"+tc.rules))
			require.NoError(t, err, "the rules pass the estimate at load")
			start := time.Now()
			ms, errs := newSet(rs, 1).Evaluate(cxaudit.EntityTicket, Input{Now: now, Ticket: tc.ticket})
			require.Less(t, time.Since(start), 10*EvalTimeout)
			require.NotEmpty(t, ms)
			require.Equal(t, "budget.fine", ms[len(ms)-1].Rule.ID, "the other rule still runs")
			if tc.wantErr == "" {
				require.Empty(t, errs)
				require.Len(t, ms, 2)
				return
			}
			require.Len(t, errs, 1)
			require.EqualError(t, errs[0], tc.wantErr)
			require.ErrorIs(t, errs[0], ErrBudget)
			require.Len(t, ms, 1)
		})
	}
}

// TestInputWithinCoversEveryField makes every text and list of every record
// a rule reads, one at a time, one longer than the cost estimate assumes:
// each must send the record to the budgeted evaluation. A field added to the
// domain types without a check in inputWithin fails here.
// rawStored are the fields of records that hold what the systems sent, as
// they sent it: rules never read them (they read Fields, typed from them).
var rawStored = map[string]bool{"custom_fields": true, "organization_fields": true, "user_fields": true, "raw": true}

func TestInputWithinCoversEveryField(t *testing.T) {
	t.Parallel()
	base := func() Input {
		return Input{
			Now:          now,
			Ticket:       &cxaudit.Ticket{Tags: []string{"a"}, Comments: []cxaudit.Comment{{Body: "b"}}},
			Organization: &cxaudit.Organization{DomainNames: []string{"a.example"}, Tags: []string{"a"}, LinkedAccounts: []cxaudit.AccountRef{{}}},
			Account: &cxaudit.Account{Contacts: []cxaudit.Contact{{Roles: []string{"a"}}}, Opportunities: []cxaudit.Opportunity{{}},
				OpenTasks: []cxaudit.Task{{}}, Duplicates: []cxaudit.AccountRef{{}}, Organizations: []cxaudit.AccountRef{{}}},
			Tickets: []cxaudit.Ticket{{Tags: []string{"a"}, Comments: []cxaudit.Comment{{Body: "b"}}}},
		}
	}
	in := base()
	require.True(t, inputWithin(&in))

	// fields lists, for a record reached through path from Input, a setter
	// for each of its texts and lists that makes it one too long.
	type mutation struct {
		path string
		grow func(in *Input)
	}
	var mutations []mutation
	var walk func(path string, typ reflect.Type, get func(in *Input) reflect.Value)
	walk = func(path string, typ reflect.Type, get func(in *Input) reflect.Value) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Name == "Fields" {
				name = "fields"
			}
			if rawStored[name] {
				continue
			}
			p := path + "." + name
			field := func(in *Input) reflect.Value { return get(in).Field(i) }
			switch {
			case f.Type == reflect.TypeFor[cxaudit.Fields]():
				mutations = append(mutations,
					mutation{p, func(in *Input) {
						m := cxaudit.Fields{}
						for j := range int(sizeLimits["fields"]) + 1 {
							m[strconv.Itoa(j)] = true
						}
						field(in).Set(reflect.ValueOf(m))
					}},
					mutation{p + ".text", func(in *Input) {
						field(in).Set(reflect.ValueOf(cxaudit.Fields{"x": strings.Repeat("x", defaultStringSize+1)}))
					}},
					mutation{p + ".list", func(in *Input) {
						field(in).Set(reflect.ValueOf(cxaudit.Fields{"x": make([]string, fieldListSize+1)}))
					}})
			case f.Type.Kind() == reflect.String:
				limit := uint64(defaultStringSize)
				if l, ok := sizeLimits[name]; ok {
					limit = l
				}
				mutations = append(mutations, mutation{p, func(in *Input) { field(in).SetString(strings.Repeat("x", int(limit)+1)) }})
			case f.Type.Kind() == reflect.Slice:
				limit, ok := sizeLimits[name]
				require.True(t, ok, "%s: a list without a size in sizeLimits", p)
				elem := f.Type.Elem()
				mutations = append(mutations, mutation{p, func(in *Input) {
					v := field(in)
					grown := reflect.MakeSlice(v.Type(), int(limit)+1, int(limit)+1)
					v.Set(grown)
				}})
				switch elem.Kind() {
				case reflect.String:
					mutations = append(mutations, mutation{p + "[0]", func(in *Input) {
						field(in).Index(0).SetString(strings.Repeat("x", defaultStringSize+1))
					}})
				case reflect.Struct:
					walk(p+"[0]", elem, func(in *Input) reflect.Value { return field(in).Index(0) })
				}
			case f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct && f.Type.Elem() != reflect.TypeFor[time.Time]():
				walk(p, f.Type.Elem(), func(in *Input) reflect.Value {
					v := field(in)
					if v.IsNil() {
						v.Set(reflect.New(f.Type.Elem()))
					}
					return v.Elem()
				})
			}
		}
	}
	walk("ticket", reflect.TypeFor[cxaudit.Ticket](), func(in *Input) reflect.Value { return reflect.ValueOf(in.Ticket).Elem() })
	walk("tickets[0]", reflect.TypeFor[cxaudit.Ticket](), func(in *Input) reflect.Value { return reflect.ValueOf(&in.Tickets[0]).Elem() })
	walk("organization", reflect.TypeFor[cxaudit.Organization](), func(in *Input) reflect.Value { return reflect.ValueOf(in.Organization).Elem() })
	walk("account", reflect.TypeFor[cxaudit.Account](), func(in *Input) reflect.Value { return reflect.ValueOf(in.Account).Elem() })
	walk("requester", reflect.TypeFor[cxaudit.User](), func(in *Input) reflect.Value {
		if in.Requester == nil {
			in.Requester = &cxaudit.User{}
		}
		return reflect.ValueOf(in.Requester).Elem()
	})
	mutations = append(mutations, mutation{"tickets", func(in *Input) { in.Tickets = make([]cxaudit.Ticket, sizeLimits["tickets"]+1) }})
	require.Greater(t, len(mutations), 30)
	for _, m := range mutations {
		in := base()
		m.grow(&in)
		require.False(t, inputWithin(&in), "%s one longer than assumed is not noticed", m.path)
	}
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
