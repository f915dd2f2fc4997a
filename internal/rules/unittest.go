package rules

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// TestOptions tune RunTests.
type TestOptions struct {
	// Run, when set, selects the tests whose name matches it.
	Run *regexp.Regexp
}

// TestResult is the outcome of one rule test.
type TestResult struct {
	File   string
	Name   string
	Line   int
	Column int
	// Failures are the problems found, each a multi-line text with exp:
	// and got: lines; empty when the test passed.
	Failures []string
	Duration time.Duration
}

// Passed reports whether the test passed.
func (r TestResult) Passed() bool { return len(r.Failures) == 0 }

// TestReport is the outcome of every selected test in a directory.
type TestReport struct {
	Dir     string
	Rules   int
	Files   []string
	Results []TestResult
}

// Failed counts the failed tests.
func (r *TestReport) Failed() int {
	n := 0
	for _, t := range r.Results {
		if !t.Passed() {
			n++
		}
	}
	return n
}

// isTestFile reports whether name is a rule test file.
func isTestFile(name string) bool {
	ext := filepath.Ext(name)
	return (ext == ".yaml" || ext == ".yml") && strings.HasSuffix(strings.TrimSuffix(name, ext), "_test")
}

// RunTests loads the rules in dir and runs the tests in its *_test.yaml
// files against them. The error is a *LoadError when the rules or a test
// file cannot be loaded (nothing is run then); failed tests are reported in
// the TestReport, not as an error.
func RunTests(dir string, opts TestOptions) (*TestReport, error) {
	set, err := LoadDir(dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	rep := &TestReport{Dir: dir, Rules: len(set.Rules())}
	type loaded struct {
		name string
		tf   *testFile
	}
	var files []loaded
	le := &LoadError{}
	for _, e := range entries {
		if e.IsDir() || !isTestFile(e.Name()) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(name)
		if err != nil {
			le.Errors = append(le.Errors, FileError{File: name, Msg: err.Error()})
			continue
		}
		tf, errs := parseTestFile(name, data)
		le.Errors = append(le.Errors, errs...)
		if len(errs) == 0 {
			files = append(files, loaded{name, tf})
		}
	}
	if len(le.Errors) > 0 {
		le.sort()
		return nil, le
	}
	for _, f := range files {
		rep.Files = append(rep.Files, f.name)
		for i := range f.tf.Tests {
			tc := &f.tf.Tests[i]
			if opts.Run != nil && !opts.Run.MatchString(tc.Name) {
				continue
			}
			start := time.Now()
			res := TestResult{File: f.name, Name: tc.Name, Line: tc.line, Column: tc.column}
			res.Failures = runTest(set, f.tf, tc)
			res.Duration = time.Since(start)
			rep.Results = append(rep.Results, res)
		}
	}
	return rep, nil
}

// gotFinding is a finding a test produced.
type gotFinding struct {
	entity, severity, message string
}

func (g gotFinding) String() string {
	return fmt.Sprintf("{entity: %s, severity: %s, message: %s}", g.entity, g.severity, strconv.Quote(g.message))
}

// runTest evaluates every entity of the test's fixtures and compares the
// findings of each expected rule.
func runTest(set *Set, tf *testFile, tc *testCase) []string {
	pinned := tf.Now
	if tc.Now != nil {
		pinned = tc.Now
	}
	now := pinned.at(time.Time{})
	w := buildWorld(tc, now)
	// Records are typed as the audit types them: with the field map of the
	// rules' directory (customer and renewal types), fixtures' own fields.
	tn := tenant.Resolve(set.FieldMap(), nil, nil)
	for i := range w.accounts {
		tn.Account(&w.accounts[i])
	}
	got := map[string][]gotFinding{}
	var failures []string
	record := func(kind cxaudit.EntityKind, id string, in Input) {
		ms, errs := set.Evaluate(kind, in)
		for _, e := range errs {
			failures = append(failures, fmt.Sprintf("%s/%s: %v", kind, id, e))
		}
		for _, m := range ms {
			got[m.Rule.ID] = append(got[m.Rule.ID], gotFinding{entity: string(kind) + "/" + id, severity: string(m.Rule.Severity), message: m.Message})
		}
	}
	managed := set.ManagedTags()
	for i := range w.tickets {
		t := w.tickets[i] // a copy: hiding managed tags must not touch the fixture
		t.Tags = slices.DeleteFunc(slices.Clone(t.Tags), func(tag string) bool { return managed[tag] })
		in := Input{Now: now, Ticket: &t, Requester: w.user(t.RequesterID)}
		if org := w.org(t.OrganizationID); org != nil {
			in.Organization = org
			in.Account = w.accountFor(org)
		}
		record(cxaudit.EntityTicket, strconv.FormatInt(t.ID, 10), in)
	}
	for i := range w.orgs {
		org := &w.orgs[i]
		record(cxaudit.EntityOrganization, strconv.FormatInt(org.ID, 10),
			Input{Now: now, Organization: org, Account: w.accountFor(org), Tickets: w.ticketsOf(org.ID, now)})
	}
	for i := range w.accounts {
		acc := &w.accounts[i]
		in := Input{Now: now, Account: acc}
		if org := w.orgFor(acc); org != nil {
			in.Organization = org
			in.Tickets = w.ticketsOf(org.ID, now)
		}
		record(cxaudit.EntityAccount, acc.ID, in)
	}

	for _, e := range tc.Expect {
		r := set.Rule(e.Rule)
		if r == nil {
			ids := make([]string, 0, len(set.Rules()))
			for _, r := range set.Rules() {
				ids = append(ids, r.ID)
			}
			failures = append(failures, fmt.Sprintf("rule %q: no such rule%s", e.Rule, didYouMean(nearest(e.Rule, ids))))
			continue
		}
		g := got[e.Rule]
		slices.SortFunc(g, func(a, b gotFinding) int { return compareEntities(a.entity, b.entity) })
		exp := slices.Clone(e.Findings)
		slices.SortFunc(exp, func(a, b expectedFinding) int { return compareEntities(a.Entity, b.Entity) })
		if !findingsMatch(exp, g) {
			failures = append(failures, fmt.Sprintf("rule %q:\n  exp: %s\n  got: %s", e.Rule, formatExpected(exp), formatGot(g)))
		}
	}
	return failures
}

// compareEntities orders kind/id references, ids numerically when both are
// numbers.
func compareEntities(a, b string) int {
	ka, ia, _ := strings.Cut(a, "/")
	kb, ib, _ := strings.Cut(b, "/")
	if c := strings.Compare(ka, kb); c != 0 {
		return c
	}
	na, ea := strconv.ParseInt(ia, 10, 64)
	nb, eb := strconv.ParseInt(ib, 10, 64)
	if ea == nil && eb == nil {
		return cmp.Compare(na, nb)
	}
	return strings.Compare(ia, ib)
}

func findingsMatch(exp []expectedFinding, got []gotFinding) bool {
	if len(exp) != len(got) {
		return false
	}
	for i := range exp {
		if exp[i].Entity != got[i].entity ||
			exp[i].Severity != "" && exp[i].Severity != got[i].severity ||
			exp[i].Message != "" && exp[i].Message != got[i].message {
			return false
		}
	}
	return true
}

func formatExpected(exp []expectedFinding) string {
	if len(exp) == 0 {
		return "[] (no findings)"
	}
	parts := make([]string, len(exp))
	for i, e := range exp {
		s := "{entity: " + e.Entity
		if e.Severity != "" {
			s += ", severity: " + e.Severity
		}
		if e.Message != "" {
			s += ", message: " + strconv.Quote(e.Message)
		}
		parts[i] = s + "}"
	}
	return "[" + strings.Join(parts, ",\n        ") + "]"
}

func formatGot(got []gotFinding) string {
	if len(got) == 0 {
		return "[] (no findings)"
	}
	parts := make([]string, len(got))
	for i, g := range got {
		parts[i] = g.String()
	}
	return "[" + strings.Join(parts, ",\n        ") + "]"
}

// ManagedTags are the Zendesk tags the set's rules add and remove. The
// audit hides them from rules so that cxaudit's own write-back never changes
// what the rules find; tests do the same.
func (s *Set) ManagedTags() map[string]bool {
	out := map[string]bool{}
	for _, r := range s.rules {
		for _, t := range r.Actions.ZendeskTags {
			out[t] = true
		}
	}
	return out
}

// world is a test's fixtures, linked the way the store links synced
// records.
type world struct {
	tickets  []cxaudit.Ticket
	orgs     []cxaudit.Organization
	users    []cxaudit.User
	accounts []cxaudit.Account
}

func (w *world) user(id int64) *cxaudit.User {
	for i := range w.users {
		if id != 0 && w.users[i].ID == id {
			return &w.users[i]
		}
	}
	return nil
}

func buildWorld(tc *testCase, now time.Time) *world {
	w := &world{}
	for _, f := range tc.Tickets {
		created := timeOr(f.CreatedAt, now, now)
		t := cxaudit.Ticket{
			ID: f.ID, Subject: f.Subject, Description: f.Description, Status: cmp.Or(f.Status, cxaudit.StatusOpen),
			Priority: f.Priority, Type: f.Type, Tags: f.Tags, RequesterID: f.RequesterID, AssigneeID: f.AssigneeID,
			GroupID: f.GroupID, OrganizationID: f.OrganizationID, CreatedAt: created, UpdatedAt: timeOr(f.UpdatedAt, now, created),
		}
		if t.Description == "" {
			t.Description = t.Subject
		}
		t.Fields = f.Fields.at(now)
		if m := f.Metrics; m != nil {
			t.Metrics = &cxaudit.TicketMetrics{
				ReplyTimeCalendarMinutes: m.ReplyTimeCalendarMinutes, ReplyTimeBusinessMinutes: m.ReplyTimeBusinessMinutes,
				FirstResolutionCalendarMinutes: m.FirstResolutionCalendarMinutes, Reopens: m.Reopens, Replies: m.Replies,
				AssignedAt: optTimeAt(m.AssignedAt, now), SolvedAt: optTimeAt(m.SolvedAt, now),
				LatestCommentAddedAt: optTimeAt(m.LatestCommentAddedAt, now), StatusUpdatedAt: optTimeAt(m.StatusUpdatedAt, now),
			}
		}
		for i, c := range f.Comments {
			t.Comments = append(t.Comments, cxaudit.Comment{
				ID: cmp.Or(c.ID, int64(i+1)), AuthorID: c.AuthorID, Public: c.Public, Body: c.Body,
				CreatedAt: timeOr(c.CreatedAt, now, created),
				// As the audit computes it: cxaudit's notes are never an agent's.
				ByAgent: c.ByAgent && !c.ByCXAudit, ByCXAudit: c.ByCXAudit,
			})
		}
		w.tickets = append(w.tickets, t)
	}
	for _, f := range tc.Organizations {
		created := timeOr(f.CreatedAt, now, now)
		w.orgs = append(w.orgs, cxaudit.Organization{ID: f.ID, Name: f.Name, ExternalID: f.ExternalID, DomainNames: f.DomainNames,
			Tags: f.Tags, CreatedAt: created, UpdatedAt: timeOr(f.UpdatedAt, now, created), Fields: f.Fields.at(now)})
	}
	for _, f := range tc.Users {
		w.users = append(w.users, cxaudit.User{ID: f.ID, Name: f.Name, Email: f.Email, Role: cmp.Or(f.Role, "end-user"),
			OrganizationID: f.OrganizationID, Fields: f.Fields.at(now)})
	}
	for _, f := range tc.Accounts {
		a := cxaudit.Account{ID: f.ID, Name: f.Name, OwnerID: f.OwnerID, OwnerActive: f.OwnerActive == nil || *f.OwnerActive, OwnerName: f.OwnerName,
			Website: f.Website, Type: f.Type, Industry: f.Industry, Tier: f.Tier, Health: f.Health,
			RenewalDate: optTimeAt(f.RenewalDate, now), SystemModstamp: timeOr(f.SystemModstamp, now, now), Fields: f.Fields.at(now)}
		for _, c := range f.Contacts {
			roles := c.Roles
			if c.Role != "" && !slices.Contains(roles, c.Role) {
				roles = append([]string{c.Role}, roles...)
			}
			a.Contacts = append(a.Contacts, cxaudit.Contact{ID: c.ID, AccountID: f.ID, Name: c.Name, Email: c.Email, Title: c.Title,
				Roles: roles, SystemModstamp: timeOr(c.SystemModstamp, now, now), Fields: c.Fields.at(now)})
		}
		for _, o := range f.Opportunities {
			a.Opportunities = append(a.Opportunities, cxaudit.Opportunity{ID: o.ID, AccountID: f.ID, Name: o.Name, StageName: o.StageName,
				Type: o.Type, Amount: o.Amount, CloseDate: optTimeAt(o.CloseDate, now), IsClosed: o.IsClosed, IsWon: o.IsWon,
				SystemModstamp: timeOr(o.SystemModstamp, now, now), Fields: o.Fields.at(now)})
		}
		for i, t := range f.OpenTasks {
			id := t.ID
			if id == "" {
				id = fmt.Sprintf("00T%015d", i+1)
			}
			what := t.WhatID
			if what == "" {
				what = f.ID
			}
			a.OpenTasks = append(a.OpenTasks, cxaudit.Task{ID: id, WhatID: what, AccountID: f.ID, OwnerID: cmp.Or(t.OwnerID, f.OwnerID),
				Subject: t.Subject, Status: cmp.Or(t.Status, "Not Started"), Priority: cmp.Or(t.Priority, "Normal"),
				ActivityDate: optTimeAt(t.DueDate, now)})
		}
		w.accounts = append(w.accounts, a)
	}
	w.link()
	return w
}

// link fills what the store finds beside accounts and organizations, as
// it does: accounts sharing a domain or a name key, and the links between
// organizations and accounts by external_id or domain (each pair once, the
// first reason found).
func (w *world) link() {
	for i := range w.accounts {
		a := &w.accounts[i]
		for j := range w.accounts {
			b := &w.accounts[j]
			switch {
			case i == j:
			case a.Domain() != "" && a.Domain() == b.Domain():
				a.Duplicates = append(a.Duplicates, cxaudit.AccountRef{ID: b.ID, Name: b.Name, Domain: b.Domain(), OwnerID: b.OwnerID, Match: "domain"})
			case cxaudit.NameKey(a.Name) != "" && cxaudit.NameKey(a.Name) == cxaudit.NameKey(b.Name):
				a.Duplicates = append(a.Duplicates, cxaudit.AccountRef{ID: b.ID, Name: b.Name, Domain: b.Domain(), OwnerID: b.OwnerID, Match: "name"})
			}
		}
	}
	for i := range w.orgs {
		o := &w.orgs[i]
		for j := range w.accounts {
			a := &w.accounts[j]
			match := ""
			switch {
			case strings.TrimSpace(o.ExternalID) == a.ID:
				match = "external_id"
			case a.Domain() != "" && slices.ContainsFunc(o.DomainNames, func(n string) bool { return cxaudit.NormalizeDomain(n) == a.Domain() }):
				match = "domain"
			default:
				continue
			}
			o.LinkedAccounts = append(o.LinkedAccounts, cxaudit.AccountRef{ID: a.ID, Name: a.Name, Domain: a.Domain(), OwnerID: a.OwnerID, Match: match})
			a.Organizations = append(a.Organizations, cxaudit.AccountRef{ID: strconv.FormatInt(o.ID, 10), Name: o.Name, Match: match})
		}
	}
}

func (w *world) org(id int64) *cxaudit.Organization {
	if id == 0 {
		return nil
	}
	for i := range w.orgs {
		if w.orgs[i].ID == id {
			return &w.orgs[i]
		}
	}
	return nil
}

// accountFor links an organization to its account as the store does: by
// external_id = Account Id, else the account (lowest id) whose website
// domain is one of the organization's domains.
func (w *world) accountFor(org *cxaudit.Organization) *cxaudit.Account {
	if id := strings.TrimSpace(org.ExternalID); id != "" {
		for i := range w.accounts {
			if w.accounts[i].ID == id {
				return &w.accounts[i]
			}
		}
	}
	var best *cxaudit.Account
	for i := range w.accounts {
		a := &w.accounts[i]
		if d := a.Domain(); d != "" && slices.ContainsFunc(org.DomainNames, func(n string) bool { return cxaudit.NormalizeDomain(n) == d }) {
			if best == nil || a.ID < best.ID {
				best = a
			}
		}
	}
	return best
}

// orgFor is the reverse link: the organization (lowest id) whose
// external_id is the account's Id, else an unlinked one sharing its domain.
func (w *world) orgFor(acc *cxaudit.Account) *cxaudit.Organization {
	var best *cxaudit.Organization
	for i := range w.orgs {
		if o := &w.orgs[i]; o.ExternalID == acc.ID && (best == nil || o.ID < best.ID) {
			best = o
		}
	}
	if best != nil || acc.Domain() == "" {
		return best
	}
	for i := range w.orgs {
		o := &w.orgs[i]
		if o.ExternalID == "" && slices.ContainsFunc(o.DomainNames, func(n string) bool { return cxaudit.NormalizeDomain(n) == acc.Domain() }) &&
			(best == nil || o.ID < best.ID) {
			best = o
		}
	}
	return best
}

// ticketsOf returns the organization's tickets created within TicketWindow
// before now, by id.
func (w *world) ticketsOf(orgID int64, now time.Time) []cxaudit.Ticket {
	var out []cxaudit.Ticket
	for _, t := range w.tickets {
		if t.OrganizationID == orgID && !t.CreatedAt.Before(now.Add(-TicketWindow)) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b cxaudit.Ticket) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// WriteText prints the report the way promtool test rules does: each failed
// test with its position, exp: beside got:, then a summary line.
func (r *TestReport) WriteText(w io.Writer) {
	byFile := map[string][]TestResult{}
	for _, t := range r.Results {
		byFile[t.File] = append(byFile[t.File], t)
	}
	for _, f := range r.Files {
		results := byFile[f]
		if len(results) == 0 {
			continue
		}
		fmt.Fprintf(w, "Unit testing: %s\n", f)
		failed := 0
		for _, t := range results {
			if t.Passed() {
				continue
			}
			failed++
			fmt.Fprintf(w, "  FAILED: %s:%d:%d: test %q\n", t.File, t.Line, max(t.Column, 1), t.Name)
			for _, msg := range t.Failures {
				for _, line := range strings.Split(msg, "\n") {
					fmt.Fprintf(w, "    %s\n", line)
				}
			}
		}
		if failed == 0 {
			fmt.Fprintf(w, "  SUCCESS: %d %s\n", len(results), plural(len(results), "test", "tests"))
		} else {
			fmt.Fprintf(w, "  FAILED: %d of %d %s\n", failed, len(results), plural(len(results), "test", "tests"))
		}
	}
	status := "OK"
	if r.Failed() > 0 {
		status = fmt.Sprintf("%d FAILED", r.Failed())
	}
	fmt.Fprintf(w, "rules test: %d %s in %d %s against %d %s: %s\n", len(r.Results), plural(len(r.Results), "test", "tests"),
		len(r.Files), plural(len(r.Files), "file", "files"), r.Rules, plural(r.Rules, "rule", "rules"), status)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      int           `xml:"line,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML, one test suite per file.
func (r *TestReport) WriteJUnit(w io.Writer) error {
	out := junitSuites{Tests: len(r.Results), Failures: r.Failed()}
	byFile := map[string]*junitSuite{}
	var total = map[string]time.Duration{}
	for _, f := range r.Files {
		out.Suites = append(out.Suites, junitSuite{Name: f})
	}
	for i := range out.Suites {
		byFile[out.Suites[i].Name] = &out.Suites[i]
	}
	for _, t := range r.Results {
		s := byFile[t.File]
		c := junitCase{Name: t.Name, Classname: strings.TrimSuffix(filepath.Base(t.File), filepath.Ext(t.File)), File: t.File, Line: t.Line,
			Time: fmt.Sprintf("%.3f", t.Duration.Seconds())}
		if !t.Passed() {
			c.Failure = &junitFailure{Message: fmt.Sprintf("%d %s", len(t.Failures), plural(len(t.Failures), "failure", "failures")),
				Text: strings.Join(t.Failures, "\n")}
			s.Failures++
		}
		s.Tests++
		total[t.File] += t.Duration
		s.Cases = append(s.Cases, c)
	}
	for i := range out.Suites {
		out.Suites[i].Time = fmt.Sprintf("%.3f", total[out.Suites[i].Name].Seconds())
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
