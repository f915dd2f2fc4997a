// Package simworld generates the deterministic customer base that the
// Zendesk and Salesforce simulators serve: accounts with contacts and
// opportunities on one side, the organizations, users and tickets of the
// same customers on the other, linked the way real tenants link them.
//
// The data is realistic enough for every default rule category to fire on a
// share of it, and the same Options always give the same World.
package simworld

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/cxaudit/cxaudit/internal/bizhours"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Options size and seed a World.
type Options struct {
	Seed     uint64
	Accounts int
	Tickets  int
	// Now anchors every timestamp. Zero means time.Now().
	Now time.Time
	// TeamTasks gives accounts the Tasks their account team keeps
	// (World.TeamTasks): some open, some done, on the account or on one of
	// its opportunities. They are drawn from their own random stream, so
	// the rest of the world is the same with or without them.
	TeamTasks bool
	// LinkProblems adds what real CRMs have and link health rules find:
	// a few accounts entered twice (the same website under another name),
	// organizations whose domain names another customer's account, and
	// accounts with a second, regional organization. Drawn from their own
	// random stream, after the rest.
	LinkProblems bool
}

// SalesforceUser is an owner of accounts.
type SalesforceUser struct {
	ID       string
	Name     string
	IsActive bool
}

// World is one generated customer base.
type World struct {
	Now time.Time

	// Zendesk.
	Organizations []cxaudit.Organization
	Users         []cxaudit.User
	Tickets       []cxaudit.Ticket
	Schedules     []bizhours.Schedule // business hours, with holidays

	// TicketFields, OrganizationFields and UserFields are the account's
	// custom fields (tenant.go).
	TicketFields, OrganizationFields, UserFields []ZendeskField

	// Salesforce.
	SalesforceUsers []SalesforceUser
	Accounts        []cxaudit.Account
	// SalesforceFields are the org's custom fields (tenant.go); accounts'
	// and opportunities' values of those cxaudit does not read under its
	// own names are in their Raw, as the REST API writes them.
	SalesforceFields []SalesforceField
	// TeamTasks are the Tasks the account teams keep (Options.TeamTasks).
	TeamTasks []cxaudit.Task
}

// AccountID returns the Salesforce Id of the i-th account (1-based).
func AccountID(i int) string { return fmt.Sprintf("001%015d", i) }

// Generate builds a World.
func Generate(opts Options) *World {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	now := opts.Now.UTC().Truncate(time.Second)
	r := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	w := &World{Now: now}

	// Salesforce owners: a few account executives, one of whom has left.
	for i := 1; i <= 12; i++ {
		w.SalesforceUsers = append(w.SalesforceUsers, SalesforceUser{
			ID:       fmt.Sprintf("005%015d", i),
			Name:     fmt.Sprintf("%s %s", pick(r, firstNames), pick(r, lastNames)),
			IsActive: i != 12,
		})
	}

	// Zendesk agents.
	var agents []int64
	for i := 1; i <= 20; i++ {
		id := int64(1000 + i)
		agents = append(agents, id)
		w.Users = append(w.Users, cxaudit.User{
			ID: id, Name: fmt.Sprintf("%s %s", pick(r, firstNames), pick(r, lastNames)),
			Email: fmt.Sprintf("agent%d@support.example.com", i), Role: "agent",
			UpdatedAt: now.Add(-time.Duration(r.IntN(90*24)) * time.Hour),
		})
	}

	orgRequesters := map[int64][]int64{}
	nextUser := int64(100000)
	for i := 1; i <= opts.Accounts; i++ {
		company := fmt.Sprintf("%s %s", pick(r, companyA), pick(r, companyB))
		domain := fmt.Sprintf("%s%d.example.com", strings.ToLower(strings.ReplaceAll(company, " ", "")), i)
		acc := cxaudit.Account{
			ID:          AccountID(i),
			Name:        company,
			Website:     "https://www." + domain,
			Type:        "Customer",
			Industry:    pick(r, industries),
			Tier:        weighted(r, []string{"Enterprise", "Growth", "Standard"}, []int{20, 40, 40}),
			Health:      weighted(r, []string{"Green", "Yellow", "Red"}, []int{60, 25, 15}),
			OwnerActive: true,
		}
		owner := w.SalesforceUsers[r.IntN(len(w.SalesforceUsers))]
		acc.OwnerID, acc.OwnerActive, acc.OwnerName = owner.ID, owner.IsActive, owner.Name
		if r.IntN(100) >= 10 { // 10% have no renewal date
			d := now.AddDate(0, 0, r.IntN(400)-30).Truncate(24 * time.Hour)
			acc.RenewalDate = &d
		}
		acc.SystemModstamp = now.Add(-time.Duration(1+r.IntN(60*24)) * time.Hour)
		nContacts := r.IntN(5)
		if r.IntN(100) < 10 {
			nContacts = 0
		}
		for c := 1; c <= nContacts; c++ {
			fn, ln := pick(r, firstNames), pick(r, lastNames)
			acc.Contacts = append(acc.Contacts, cxaudit.Contact{
				ID: fmt.Sprintf("003%011d%04d", i, c), AccountID: acc.ID,
				Name: fn + " " + ln, Email: strings.ToLower(fn+"."+ln) + "@" + domain,
				Title:          weighted(r, []string{"VP Engineering", "CTO", "IT Manager", "Support Lead", "Developer"}, []int{15, 10, 30, 25, 20}),
				SystemModstamp: acc.SystemModstamp.Add(-time.Duration(r.IntN(1000)) * time.Hour),
			})
		}
		for o := 1; o <= r.IntN(4); o++ {
			close := now.AddDate(0, 0, r.IntN(300)-60).Truncate(24 * time.Hour)
			stage := weighted(r, []string{"Prospecting", "Negotiation", "Closed Won", "Closed Lost"}, []int{30, 30, 30, 10})
			acc.Opportunities = append(acc.Opportunities, cxaudit.Opportunity{
				ID: fmt.Sprintf("006%011d%04d", i, o), AccountID: acc.ID,
				Name: company + " " + pick(r, []string{"Renewal", "Expansion", "New Business"}),
				Type: "Renewal", StageName: stage, Amount: float64(5000 + r.IntN(200)*1000),
				CloseDate: &close, IsClosed: strings.HasPrefix(stage, "Closed"), IsWon: stage == "Closed Won",
				SystemModstamp: acc.SystemModstamp,
			})
		}
		w.Accounts = append(w.Accounts, acc)

		// The customer's Zendesk organization: most carry the Account Id in
		// external_id, some only share the website domain, a few are unlinked.
		org := cxaudit.Organization{
			ID: int64(360000000 + i), Name: company, DomainNames: []string{domain},
			CreatedAt: now.AddDate(0, 0, -400+r.IntN(200)),
		}
		switch k := r.IntN(100); {
		case k < 85:
			org.ExternalID = acc.ID
		case k < 95:
			// linked by domain only
		default:
			org.DomainNames = []string{fmt.Sprintf("legacy-%d.example.net", i)}
		}
		org.UpdatedAt = org.CreatedAt.Add(time.Duration(r.IntN(300*24)) * time.Hour)
		if org.UpdatedAt.After(now) {
			org.UpdatedAt = now.Add(-time.Hour)
		}
		w.Organizations = append(w.Organizations, org)
		for u := 0; u < 1+r.IntN(3); u++ {
			nextUser++
			fn, ln := pick(r, firstNames), pick(r, lastNames)
			w.Users = append(w.Users, cxaudit.User{
				ID: nextUser, Name: fn + " " + ln, Email: strings.ToLower(fn+"."+ln) + "@" + domain,
				Role: "end-user", OrganizationID: org.ID, UpdatedAt: org.UpdatedAt,
			})
			orgRequesters[org.ID] = append(orgRequesters[org.ID], nextUser)
		}
	}

	nextComment := int64(5000000)
	for i := 1; i <= opts.Tickets && len(w.Organizations) > 0; i++ {
		org := w.Organizations[r.IntN(len(w.Organizations))]
		reqs := orgRequesters[org.ID]
		requester := reqs[r.IntN(len(reqs))]
		agent := agents[r.IntN(len(agents))]
		// Most tickets are recent; a tail reaches back two months.
		ageMin := min(10+int(r.ExpFloat64()*6*24*60), 60*24*60)
		created := now.Add(-time.Duration(ageMin) * time.Minute)
		t := cxaudit.Ticket{
			ID: int64(i), RequesterID: requester, AssigneeID: agent, GroupID: 200 + int64(r.IntN(3)),
			OrganizationID: org.ID, CreatedAt: created, Type: "incident",
			Priority: weighted(r, []string{cxaudit.PriorityUrgent, cxaudit.PriorityHigh, cxaudit.PriorityNormal, cxaudit.PriorityLow, ""}, []int{8, 20, 50, 15, 7}),
			Status: weighted(r, []string{cxaudit.StatusNew, cxaudit.StatusOpen, cxaudit.StatusPending, cxaudit.StatusHold, cxaudit.StatusSolved, cxaudit.StatusClosed},
				[]int{10, 40, 15, 5, 20, 10}),
			Tags: []string{pick(r, []string{"billing", "api", "sso", "reporting", "mobile", "integrations"})},
		}
		// Subjects: a share of low and normal tickets use outage language.
		if (t.Priority == cxaudit.PriorityLow || t.Priority == cxaudit.PriorityNormal) && r.IntN(100) < 12 {
			t.Subject = pick(r, outageSubjects)
		} else {
			t.Subject = pick(r, subjects)
		}
		if t.Priority == cxaudit.PriorityUrgent && r.IntN(100) < 60 {
			t.Tags = append(t.Tags, pick(r, []string{"sev1", "sev2"}))
		}
		t.Description = t.Subject + ". " + pick(r, details)
		t.Comments = append(t.Comments, cxaudit.Comment{ID: nextComment, AuthorID: requester, Public: true, Body: t.Description, CreatedAt: created})
		nextComment++

		// Agent activity: a first reply after some minutes for most tickets.
		last := created
		m := &cxaudit.TicketMetrics{}
		if t.Status != cxaudit.StatusNew && r.IntN(100) < 92 {
			// First replies mostly meet the priority's target; some miss it.
			replyMin := max(1, int64(float64(replyTarget[t.Priority])*(0.2+1.3*r.Float64())))
			at := created.Add(time.Duration(replyMin) * time.Minute)
			if at.Before(now) {
				m.ReplyTimeCalendarMinutes, m.ReplyTimeBusinessMinutes = &replyMin, &replyMin
				t.Comments = append(t.Comments, cxaudit.Comment{ID: nextComment, AuthorID: agent, Public: true, ByAgent: true,
					Body: pick(r, replies), CreatedAt: at})
				nextComment++
				m.Replies = 1
				last = at
				// Further exchanges spread over the ticket's life.
				for k := 0; k < r.IntN(4); k++ {
					at = last.Add(time.Duration(30+r.IntN(5*24*60)) * time.Minute)
					if !at.Before(now) {
						break
					}
					pub := r.IntN(100) < 80
					t.Comments = append(t.Comments, cxaudit.Comment{ID: nextComment, AuthorID: agent, Public: pub, ByAgent: true,
						Body: pick(r, replies), CreatedAt: at})
					nextComment++
					if pub {
						m.Replies++
					}
					last = at
				}
			}
		}
		// Escalations to engineering, with packets of varying completeness.
		if t.Priority != cxaudit.PriorityLow && r.IntN(100) < 12 {
			t.Tags = append(t.Tags, "escalated")
			at := last.Add(time.Duration(10+r.IntN(600)) * time.Minute)
			if at.After(now) {
				at = now.Add(-time.Minute)
			}
			t.Comments = append(t.Comments, cxaudit.Comment{ID: nextComment, AuthorID: agent, Public: false, ByAgent: true,
				Body: escalationPacket(r, at), CreatedAt: at})
			nextComment++
			last = at
		}
		t.UpdatedAt = last
		if t.Status == cxaudit.StatusSolved || t.Status == cxaudit.StatusClosed {
			s := last.Add(time.Duration(1+r.IntN(48)) * time.Hour)
			if s.After(now) {
				s = now.Add(-time.Minute)
			}
			m.SolvedAt, t.UpdatedAt = &s, s
		}
		lc := last
		m.LatestCommentAddedAt = &lc
		su := t.UpdatedAt
		m.StatusUpdatedAt = &su
		if t.AssigneeID != 0 {
			a := created.Add(time.Minute)
			m.AssignedAt = &a
		}
		t.Metrics = m
		w.Tickets = append(w.Tickets, t)
	}
	w.Schedules = schedules(now)
	fitTenant(w, opts.Seed)
	if opts.TeamTasks {
		w.TeamTasks = teamTasks(opts.Seed, now, w.Accounts)
	}
	if opts.LinkProblems {
		w.addLinkProblems(opts.Seed, now)
	}
	return w
}

// addLinkProblems: about 2 % of accounts get a duplicate (a second account
// on the same website, named "<name> Inc."), 1 % of organizations also
// carry another account's domain, and 1 % of accounts get a second
// organization ("<name> EMEA") on their domain.
func (w *World) addLinkProblems(seed uint64, now time.Time) {
	r := rand.New(rand.NewPCG(seed^0x11c4, seed+0x11c4))
	n := len(w.Accounts)
	// The generated names repeat (a few words combined); real customers'
	// do not, so only the duplicates made here are duplicates: a repeated
	// name gets the account's number, on its organization too (the i-th
	// organization is the i-th account's).
	seen := map[string]bool{}
	for i := range w.Accounts {
		key := cxaudit.NameKey(w.Accounts[i].Name)
		if seen[key] {
			w.Accounts[i].Name = fmt.Sprintf("%s %d", w.Accounts[i].Name, i+1)
			if i < len(w.Organizations) {
				w.Organizations[i].Name = w.Accounts[i].Name
			}
		}
		seen[cxaudit.NameKey(w.Accounts[i].Name)] = true
	}
	for i := 0; i < n; i++ {
		acc := w.Accounts[i]
		if r.IntN(100) < 2 {
			dup := cxaudit.Account{ID: AccountID(len(w.Accounts) + 1), Name: acc.Name + " Inc.", Website: acc.Website,
				Type: "Prospect", Industry: acc.Industry, Tier: acc.Tier, Health: acc.Health, OwnerID: acc.OwnerID,
				OwnerActive: acc.OwnerActive, SystemModstamp: now.Add(-time.Duration(1+r.IntN(30*24)) * time.Hour)}
			w.Accounts = append(w.Accounts, dup)
		}
	}
	orgs := len(w.Organizations)
	for i := 0; i < orgs; i++ {
		switch k := r.IntN(100); {
		case k < 1 && n > 1:
			other := w.Accounts[r.IntN(n)]
			if d := other.Domain(); d != "" && !slices.Contains(w.Organizations[i].DomainNames, d) {
				w.Organizations[i].DomainNames = append(w.Organizations[i].DomainNames, d)
			}
		case k < 2:
			o := w.Organizations[i]
			w.Organizations = append(w.Organizations, cxaudit.Organization{ID: int64(370000000 + i), Name: o.Name + " EMEA",
				DomainNames: slices.Clone(o.DomainNames), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt})
		}
	}
}

// teamTasks draws the account teams' Tasks: about half of the accounts
// have an open one (a QBR to prepare, a renewal call), on the account or on
// an opportunity, owned by the account owner; a third have a completed
// one.
func teamTasks(seed uint64, now time.Time, accounts []cxaudit.Account) []cxaudit.Task {
	r := rand.New(rand.NewPCG(seed^0x7a5c, seed+0x7a5c))
	var out []cxaudit.Task
	n := 0
	add := func(acc cxaudit.Account, subject string, closed bool) {
		n++
		what := acc.ID
		if len(acc.Opportunities) > 0 && r.IntN(3) == 0 {
			what = acc.Opportunities[r.IntN(len(acc.Opportunities))].ID
		}
		due := now.AddDate(0, 0, r.IntN(30)-5).Truncate(24 * time.Hour)
		status := "Not Started"
		if closed {
			status = "Completed"
		}
		out = append(out, cxaudit.Task{
			ID: fmt.Sprintf("00T9%014d", n), WhatID: what, AccountID: acc.ID, OwnerID: acc.OwnerID,
			Subject: subject + " — " + acc.Name, Priority: "Normal", Status: status, ActivityDate: &due,
			IsClosed: closed, SystemModstamp: now.Add(-time.Duration(1+r.IntN(20*24)) * time.Hour),
		})
	}
	for _, acc := range accounts {
		if r.IntN(100) < 50 {
			add(acc, pick(r, []string{"Prepare QBR", "Renewal call", "Executive sponsor check-in", "Success plan review"}), false)
		}
		if r.IntN(100) < 33 {
			add(acc, "Onboarding follow-up", true)
		}
	}
	return out
}

// escalationPacket writes an engineering escalation note that carries a
// random subset of the six parts of a complete packet.
func escalationPacket(r *rand.Rand, at time.Time) string {
	parts := []string{"Escalating to Tier 3 engineering."}
	if r.IntN(100) < 70 {
		parts = append(parts, fmt.Sprintf("Impact: %d users in the customer's production tenant cannot export reports; blocks month-end close.", 5+r.IntN(500)))
	}
	if r.IntN(100) < 60 {
		parts = append(parts, "Steps to reproduce: 1. open Reports 2. choose Export CSV 3. submit. Expected: file downloads. Actual: spinner, then error 500.")
	}
	if r.IntN(100) < 65 {
		parts = append(parts, "First seen "+at.Add(-3*time.Hour).Format(time.RFC3339)+", again at "+at.Add(-time.Hour).Format(time.RFC3339)+".")
	}
	if r.IntN(100) < 60 {
		parts = append(parts, fmt.Sprintf("Request ID: req-%08x", r.Uint32()))
	}
	if r.IntN(100) < 65 {
		parts = append(parts, "Environment: tenant eu-west-1, Chrome 131 on macOS 15, app version 4.12.3, Okta SSO.")
	}
	if r.IntN(100) < 55 {
		parts = append(parts, "Logs: HAR file and server logs attached; already tried clearing cache and another browser.")
	}
	return strings.Join(parts, "\n")
}

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }

func weighted(r *rand.Rand, vals []string, weights []int) string {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return vals[i]
		}
		n -= w
	}
	return vals[len(vals)-1]
}

// replyTarget is the first-response target in minutes by priority.
var replyTarget = map[string]int{cxaudit.PriorityUrgent: 15, cxaudit.PriorityHigh: 60, cxaudit.PriorityNormal: 240, cxaudit.PriorityLow: 1440, "": 480}

var (
	firstNames = []string{"Ada", "Ben", "Chloe", "Dev", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jun", "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya"}
	lastNames  = []string{"Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Kowalski", "Haddad", "Nguyen", "Brennan", "Rossi", "Mehta", "Schmidt"}
	companyA   = []string{"Acme", "Blue", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper", "Kestrel", "Lumen"}
	companyB   = []string{"Logistics", "Health", "Retail", "Labs", "Systems", "Foods", "Energy", "Media", "Bank", "Analytics"}
	industries = []string{"Retail", "Healthcare", "Finance", "Manufacturing", "Technology", "Education"}
	subjects   = []string{
		"Question about invoice line items", "How do I add a new admin?", "Export to CSV is slow",
		"SSO configuration help", "Feature request: dark mode", "Webhook retries unclear",
		"Report totals differ from dashboard", "Mobile app crashes on upload", "API returns 400 on bulk endpoint",
		"Password reset email delayed",
	}
	outageSubjects = []string{
		"Production is down for all users", "Cannot log in since this morning", "Possible data loss after sync",
		"Security concern: unexpected login from unknown IP", "Outage: dashboard not loading",
	}
	details = []string{
		"We noticed it after the last update.", "This affects our whole team.", "Please advise.",
		"It started yesterday afternoon.", "Screenshot attached.",
	}
	replies = []string{
		"Thanks for reaching out, I am looking into this now.", "Could you share the request ID from the error?",
		"We have reproduced the issue and are working on a fix.", "An update: engineering is investigating; next update within the hour.",
		"Internal: checked logs, nothing obvious yet.",
	}
)
