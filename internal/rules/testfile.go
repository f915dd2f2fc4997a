package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// This file holds the format of rule test files (*_test.yaml): fixtures of
// tickets, organizations and accounts, a pinned `now`, and the findings
// each rule is expected to raise. rules/README.md documents it.

// testFile is one *_test.yaml file.
type testFile struct {
	// Now is the default evaluation time of every test in the file.
	Now   *fixtureTime `yaml:"now"`
	Tests []testCase   `yaml:"tests"`
}

// testCase is one test: fixtures, an evaluation time and expectations.
type testCase struct {
	Name          string                `yaml:"name"`
	Now           *fixtureTime          `yaml:"now"`
	Tickets       []ticketFixture       `yaml:"tickets"`
	Organizations []orgFixture          `yaml:"organizations"`
	Users         []userFixture         `yaml:"users"`
	Accounts      []accountFixture      `yaml:"accounts"`
	Expect        []expectedRule        `yaml:"expect"`
	line, column  int                   // of the test in its file
	expectNodes   map[string]*yaml.Node // rule id → its expectation, for positions
}

// expectedRule lists every finding one rule must raise in a test; an empty
// list means the rule must raise none. Rules not listed are not checked.
type expectedRule struct {
	Rule     string            `yaml:"rule"`
	Findings []expectedFinding `yaml:"findings"`
}

// expectedFinding is one finding: on which entity, and optionally with which
// severity and message (exact text).
type expectedFinding struct {
	// Entity is kind/id: ticket/42, organization/360001, account/001A.
	Entity   string `yaml:"entity"`
	Severity string `yaml:"severity"`
	Message  string `yaml:"message"`
}

type ticketFixture struct {
	ID             int64            `yaml:"id"`
	Subject        string           `yaml:"subject"`
	Description    string           `yaml:"description"`
	Status         string           `yaml:"status"`
	Priority       string           `yaml:"priority"`
	Type           string           `yaml:"type"`
	Tags           []string         `yaml:"tags"`
	RequesterID    int64            `yaml:"requester_id"`
	AssigneeID     int64            `yaml:"assignee_id"`
	GroupID        int64            `yaml:"group_id"`
	OrganizationID int64            `yaml:"organization_id"`
	CreatedAt      *fixtureTime     `yaml:"created_at"`
	UpdatedAt      *fixtureTime     `yaml:"updated_at"`
	Metrics        *metricsFixture  `yaml:"metrics"`
	Comments       []commentFixture `yaml:"comments"`
	Fields         fieldsFixture    `yaml:"fields"`
}

type commentFixture struct {
	ID        int64        `yaml:"id"`
	AuthorID  int64        `yaml:"author_id"`
	Public    bool         `yaml:"public"`
	Body      string       `yaml:"body"`
	CreatedAt *fixtureTime `yaml:"created_at"`
	ByAgent   bool         `yaml:"by_agent"`
	ByCXAudit bool         `yaml:"by_cxaudit"`
}

type metricsFixture struct {
	ReplyTimeCalendarMinutes       *int64       `yaml:"reply_time_calendar_minutes"`
	ReplyTimeBusinessMinutes       *int64       `yaml:"reply_time_business_minutes"`
	FirstResolutionCalendarMinutes *int64       `yaml:"first_resolution_calendar_minutes"`
	Reopens                        int64        `yaml:"reopens"`
	Replies                        int64        `yaml:"replies"`
	AssignedAt                     *fixtureTime `yaml:"assigned_at"`
	SolvedAt                       *fixtureTime `yaml:"solved_at"`
	LatestCommentAddedAt           *fixtureTime `yaml:"latest_comment_added_at"`
	StatusUpdatedAt                *fixtureTime `yaml:"status_updated_at"`
}

type orgFixture struct {
	ID          int64         `yaml:"id"`
	Name        string        `yaml:"name"`
	ExternalID  string        `yaml:"external_id"`
	DomainNames []string      `yaml:"domain_names"`
	Tags        []string      `yaml:"tags"`
	CreatedAt   *fixtureTime  `yaml:"created_at"`
	UpdatedAt   *fixtureTime  `yaml:"updated_at"`
	Fields      fieldsFixture `yaml:"fields"`
}

// userFixture is a Zendesk user: a ticket's requester (rules read it as
// requester) or an agent.
type userFixture struct {
	ID             int64         `yaml:"id"`
	Name           string        `yaml:"name"`
	Email          string        `yaml:"email"`
	Role           string        `yaml:"role"`
	OrganizationID int64         `yaml:"organization_id"`
	Fields         fieldsFixture `yaml:"fields"`
}

type accountFixture struct {
	ID             string               `yaml:"id"`
	Name           string               `yaml:"name"`
	OwnerID        string               `yaml:"owner_id"`
	OwnerActive    *bool                `yaml:"owner_active"`
	OwnerName      string               `yaml:"owner_name"`
	Website        string               `yaml:"website"`
	Type           string               `yaml:"type"`
	Industry       string               `yaml:"industry"`
	Tier           string               `yaml:"tier"`
	Health         string               `yaml:"health"`
	RenewalDate    *fixtureTime         `yaml:"renewal_date"`
	SystemModstamp *fixtureTime         `yaml:"system_modstamp"`
	Contacts       []contactFixture     `yaml:"contacts"`
	Opportunities  []opportunityFixture `yaml:"opportunities"`
	OpenTasks      []taskFixture        `yaml:"open_tasks"`
	Fields         fieldsFixture        `yaml:"fields"`
}

// taskFixture is an open Task of the account team, on the account (or, with
// what_id, on one of its opportunities). A subject that starts with
// "[cxaudit:" is one cxaudit wrote.
type taskFixture struct {
	ID       string       `yaml:"id"`
	Subject  string       `yaml:"subject"`
	OwnerID  string       `yaml:"owner_id"`
	Status   string       `yaml:"status"`
	Priority string       `yaml:"priority"`
	WhatID   string       `yaml:"what_id"`
	DueDate  *fixtureTime `yaml:"due_date"`
}

type contactFixture struct {
	ID             string        `yaml:"id"`
	Name           string        `yaml:"name"`
	Email          string        `yaml:"email"`
	Title          string        `yaml:"title"`
	Role           string        `yaml:"role"`
	Roles          []string      `yaml:"roles"`
	SystemModstamp *fixtureTime  `yaml:"system_modstamp"`
	Fields         fieldsFixture `yaml:"fields"`
}

type opportunityFixture struct {
	ID             string        `yaml:"id"`
	Name           string        `yaml:"name"`
	StageName      string        `yaml:"stage_name"`
	Type           string        `yaml:"type"`
	Amount         float64       `yaml:"amount"`
	CloseDate      *fixtureTime  `yaml:"close_date"`
	IsClosed       bool          `yaml:"is_closed"`
	IsWon          bool          `yaml:"is_won"`
	SystemModstamp *fixtureTime  `yaml:"system_modstamp"`
	Fields         fieldsFixture `yaml:"fields"`
}

// fieldsFixture is a record's custom fields in a test: text, numbers,
// true/false, lists of text, and times (2025-03-12, 2025-03-12T15:00:00Z,
// now-3d), as the tenant's schema types them for rules.
type fieldsFixture map[string]fieldValue

// fieldValue is one custom field value of a fixture.
type fieldValue struct {
	v  any
	at *fixtureTime // a time, resolved against the test's now
}

func (f *fieldValue) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.SequenceNode:
		var list []string
		if err := n.Decode(&list); err != nil {
			return fmt.Errorf("line %d: a list field holds text values only", n.Line)
		}
		f.v = list
		return nil
	case yaml.ScalarNode:
	default:
		return fmt.Errorf("line %d: expected a field value, got %s", n.Line, kindName(n))
	}
	switch n.Tag {
	case "!!bool":
		var b bool
		_ = n.Decode(&b)
		f.v = b
	case "!!int", "!!float":
		var x float64
		if err := n.Decode(&x); err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		f.v = x
	case "!!null":
		f.v = nil
	default:
		var t fixtureTime
		if n.Style == 0 && t.UnmarshalYAML(n) == nil {
			f.at = &t
			return nil
		}
		f.v = n.Value
	}
	return nil
}

// at returns the fields with times resolved against now.
func (ff fieldsFixture) at(now time.Time) cxaudit.Fields {
	if len(ff) == 0 {
		return nil
	}
	out := make(cxaudit.Fields, len(ff))
	for k, f := range ff {
		switch {
		case f.at != nil:
			out[k] = f.at.at(now)
		case f.v != nil:
			out[k] = f.v
		}
	}
	return out
}

// fixtureTime is a point in time in a test file: an RFC 3339 timestamp
// (2025-03-12T15:00:00Z), a date (2025-03-12, midnight UTC), or a time
// relative to the test's now: "now", "now-20d", "now+30d", "now-1h30m"
// (units w, d, h, m, s).
type fixtureTime struct {
	abs      time.Time
	rel      time.Duration
	relative bool
}

var relTimeRe = regexp.MustCompile(`^now\s*(?:([+-])\s*((?:\d+(?:\.\d+)?[wdhms])+))?$`)
var relPartRe = regexp.MustCompile(`(\d+(?:\.\d+)?)([wdhms])`)

var unitDurations = map[string]time.Duration{
	"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second,
}

func (t *fixtureTime) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a time, got %s", n.Line, kindName(n))
	}
	s := strings.TrimSpace(n.Value)
	if m := relTimeRe.FindStringSubmatch(s); m != nil {
		t.relative = true
		for _, p := range relPartRe.FindAllStringSubmatch(m[2], -1) {
			v, _ := strconv.ParseFloat(p[1], 64)
			t.rel += time.Duration(v * float64(unitDurations[p[2]]))
		}
		if m[1] == "-" {
			t.rel = -t.rel
		}
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.abs = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("line %d: invalid time %q: use 2025-03-12T15:00:00Z, 2025-03-12, or a time relative to now such as now-20d or now+1h30m", n.Line, n.Value)
}

// at returns the time, resolving a relative one against now.
func (t *fixtureTime) at(now time.Time) time.Time {
	if t.relative {
		return now.Add(t.rel)
	}
	return t.abs
}

func timeOr(t *fixtureTime, now, def time.Time) time.Time {
	if t == nil {
		return def
	}
	return t.at(now)
}

func optTimeAt(t *fixtureTime, now time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.at(now)
	return &v
}

var (
	yamlFieldRe   = regexp.MustCompile(`^line (\d+): field (.+) not found in type rules\.(\w+)$`)
	yamlTypeRe    = regexp.MustCompile(`^line (\d+): cannot unmarshal !!(\w+) ` + "`" + `?([^` + "`" + `]*)` + "`" + `? into (.*)$`)
	yamlGenericRe = regexp.MustCompile(`^line (\d+): (.*)$`)
)

// fixtureNames names the fixture types in errors.
var fixtureNames = map[string]string{
	"testFile": "test file", "testCase": "test", "expectedRule": "expectation", "expectedFinding": "expected finding",
	"ticketFixture": "ticket", "commentFixture": "comment", "metricsFixture": "metrics", "orgFixture": "organization",
	"accountFixture": "account", "contactFixture": "contact", "opportunityFixture": "opportunity", "userFixture": "user",
	"taskFixture": "open task",
}

// parseTestFile decodes a test file strictly: unknown fields are errors,
// each reported at its line and column.
func parseTestFile(name string, data []byte) (*testFile, []FileError) {
	lines := strings.Split(string(data), "\n")
	var errs []FileError
	addErr := func(line int, msg string, key string) {
		col := 1
		if key != "" && line > 0 && line <= len(lines) {
			if i := strings.Index(lines[line-1], key+":"); i >= 0 {
				col = len([]rune(lines[line-1][:i])) + 1
			}
		}
		errs = append(errs, FileError{File: name, Line: line, Column: col, Msg: msg})
	}
	var doc yaml.Node
	if err := safeUnmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 1
		if m := yamlGenericRe.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		addErr(line, "invalid YAML: "+msg, "")
		return nil, errs
	}
	var tf testFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&tf); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				switch m := yamlFieldRe.FindStringSubmatch(e); {
				case m != nil:
					line, _ := strconv.Atoi(m[1])
					addErr(line, fmt.Sprintf("unknown field '%s' in %s%s", m[2], fixtureNames[m[3]], didYouMean(nearest(m[2], yamlFields(m[3])))), m[2])
				case yamlTypeRe.MatchString(e):
					m := yamlTypeRe.FindStringSubmatch(e)
					line, _ := strconv.Atoi(m[1])
					addErr(line, fmt.Sprintf("expected %s, got %q", goTypeName(m[4]), m[3]), "")
				default:
					if m := yamlGenericRe.FindStringSubmatch(e); m != nil {
						line, _ := strconv.Atoi(m[1])
						addErr(line, m[2], "")
					} else {
						addErr(1, e, "")
					}
				}
			}
		} else {
			msg := err.Error()
			line := 1
			if m := yamlGenericRe.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = m[2]
			}
			addErr(line, msg, "")
		}
		return nil, errs
	}
	// Positions of the tests and their expectations, from the node tree.
	if len(doc.Content) > 0 {
		root := resolve(doc.Content[0])
		for i := 0; root.Kind == yaml.MappingNode && i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value != "tests" || resolve(root.Content[i+1]).Kind != yaml.SequenceNode {
				continue
			}
			for j, tn := range resolve(root.Content[i+1]).Content {
				if j >= len(tf.Tests) {
					break
				}
				tc := &tf.Tests[j]
				tc.line, tc.column = tn.Line, tn.Column
				tc.expectNodes = map[string]*yaml.Node{}
				for k := 0; tn.Kind == yaml.MappingNode && k+1 < len(tn.Content); k += 2 {
					if tn.Content[k].Value != "expect" {
						continue
					}
					for _, en := range tn.Content[k+1].Content {
						for l := 0; en.Kind == yaml.MappingNode && l+1 < len(en.Content); l += 2 {
							if en.Content[l].Value == "rule" {
								tc.expectNodes[en.Content[l+1].Value] = en
							}
						}
					}
				}
			}
		}
	}
	errs = append(errs, tf.validate(name)...)
	return &tf, errs
}

func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.Contains(t, "int"):
		return "a whole number"
	case t == "bool" || t == "*bool":
		return "true or false"
	case t == "float64":
		return "a number"
	case t == "string":
		return "text"
	}
	if n, ok := fixtureNames[strings.TrimPrefix(strings.TrimPrefix(t, "*"), "rules.")]; ok {
		return "a mapping (" + n + ")"
	}
	return t
}

// yamlFields lists the YAML field names of a fixture type, for hints.
func yamlFields(typeName string) []string {
	switch typeName {
	case "testFile":
		return []string{"now", "tests"}
	case "testCase":
		return []string{"name", "now", "tickets", "organizations", "users", "accounts", "expect"}
	case "expectedRule":
		return []string{"rule", "findings"}
	case "expectedFinding":
		return []string{"entity", "severity", "message"}
	case "ticketFixture":
		return []string{"id", "subject", "description", "status", "priority", "type", "tags", "requester_id", "assignee_id",
			"group_id", "organization_id", "created_at", "updated_at", "metrics", "comments", "fields"}
	case "commentFixture":
		return []string{"id", "author_id", "public", "body", "created_at", "by_agent", "by_cxaudit"}
	case "metricsFixture":
		return []string{"reply_time_calendar_minutes", "reply_time_business_minutes", "first_resolution_calendar_minutes",
			"reopens", "replies", "assigned_at", "solved_at", "latest_comment_added_at", "status_updated_at"}
	case "orgFixture":
		return []string{"id", "name", "external_id", "domain_names", "tags", "created_at", "updated_at", "fields"}
	case "userFixture":
		return []string{"id", "name", "email", "role", "organization_id", "fields"}
	case "accountFixture":
		return []string{"id", "name", "owner_id", "owner_active", "owner_name", "website", "type", "industry", "tier", "health",
			"renewal_date", "system_modstamp", "contacts", "opportunities", "open_tasks", "fields"}
	case "taskFixture":
		return []string{"id", "subject", "owner_id", "status", "priority", "what_id", "due_date"}
	case "contactFixture":
		return []string{"id", "name", "email", "title", "role", "roles", "system_modstamp", "fields"}
	case "opportunityFixture":
		return []string{"id", "name", "stage_name", "type", "amount", "close_date", "is_closed", "is_won", "system_modstamp", "fields"}
	}
	return nil
}

var entityRefRe = regexp.MustCompile(`^(ticket|organization|account)/(\S+)$`)

// validate checks what strict decoding cannot: required fields, enums and
// references.
func (tf *testFile) validate(name string) []FileError {
	var errs []FileError
	errf := func(tc *testCase, n *yaml.Node, format string, args ...any) {
		fe := FileError{File: name, Line: tc.line, Column: tc.column, Msg: fmt.Sprintf(format, args...)}
		if n != nil {
			fe.Line, fe.Column = n.Line, n.Column
		}
		errs = append(errs, fe)
	}
	if len(tf.Tests) == 0 {
		errs = append(errs, FileError{File: name, Line: 1, Column: 1, Msg: "no tests: the file needs a 'tests' list"})
	}
	names := map[string]bool{}
	for i := range tf.Tests {
		tc := &tf.Tests[i]
		if tc.Name == "" {
			errf(tc, nil, "tests[%d]: missing required field 'name'", i)
		} else if names[tc.Name] {
			errf(tc, nil, "test %q: name used twice in this file", tc.Name)
		}
		names[tc.Name] = true
		if tc.Now == nil && tf.Now == nil {
			errf(tc, nil, "test %q: no 'now': set it on the test or at the top of the file", tc.Name)
		} else if tc.Now != nil && tc.Now.relative || tc.Now == nil && tf.Now.relative {
			errf(tc, nil, "test %q: 'now' must be a timestamp such as 2025-03-12T15:00:00Z", tc.Name)
		}
		if len(tc.Expect) == 0 {
			errf(tc, nil, "test %q: no 'expect': list the rules to check and the findings each must raise", tc.Name)
		}
		seen := map[string]bool{}
		for _, e := range tc.Expect {
			n := tc.expectNodes[e.Rule]
			if e.Rule == "" {
				errf(tc, n, "test %q: an expectation has no 'rule'", tc.Name)
				continue
			}
			if seen[e.Rule] {
				errf(tc, n, "test %q: rule %q expected twice; list all its findings under one entry", tc.Name, e.Rule)
			}
			seen[e.Rule] = true
			for _, f := range e.Findings {
				if !entityRefRe.MatchString(f.Entity) {
					errf(tc, n, "test %q: rule %q: invalid entity %q: write ticket/<id>, organization/<id> or account/<id>", tc.Name, e.Rule, f.Entity)
				}
				if f.Severity != "" && !isSeverity(f.Severity) {
					errf(tc, n, "test %q: rule %q: invalid severity %q: must be one of %s", tc.Name, e.Rule, f.Severity,
						strings.Join(toStrings(cxaudit.Severities), ", "))
				}
			}
		}
	}
	return errs
}

func isSeverity(s string) bool {
	for _, v := range cxaudit.Severities {
		if string(v) == s {
			return true
		}
	}
	return false
}
