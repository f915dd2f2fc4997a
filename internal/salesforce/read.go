package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/simpleforce/simpleforce"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// Incremental reads on SystemModstamp. Each read orders by SystemModstamp,
// then Id, and hands fn one page at a time, so a caller can commit each
// page with the largest SystemModstamp in it as its cursor and resume from
// there: records sharing that stamp are read again, never skipped.
//
// Every org names its custom fields its own way, so the fields read are
// not fixed here: a read selects the standard fields every org has
// (FixedFields) and the fields the caller asks for, usually every field
// describe lists (SelectFields). Those other fields travel undecoded in the
// records' Raw, typed later by package tenant against the describe.

// FixedFields are the fields read of every object, which every org has
// and cxaudit decodes itself. Relationship fields (Owner.IsActive) are
// selected through their lookup.
var FixedFields = map[string][]string{
	tenant.ObjectAccount:         {"Id", "Name", "OwnerId", "Owner.IsActive", "Owner.Name", "Website", "SystemModstamp"},
	tenant.ObjectContact:         {"Id", "AccountId", "Name", "Email", "SystemModstamp"},
	tenant.ObjectOpportunity:     {"Id", "AccountId", "Name", "IsClosed", "IsWon", "SystemModstamp"},
	tenant.ObjectContactRelation: {"Id", "AccountId", "ContactId", "Roles", "IsActive", "SystemModstamp"},
}

const taskFields = "Id, WhatId, OwnerId, Subject, Description, Priority, Status, ActivityDate"

// maxSelectSOQL bounds the select list of a read: a query travels in the
// URL of a GET, and Salesforce refuses URLs over 16,384 characters. An
// object with more fields than fit is read with the fields rules and the
// field map name only.
const maxSelectSOQL = 12_000

// SelectFields returns the fields a read of obj selects besides the fixed
// ones: every field describe lists that a query can read, when they fit
// into one query, else those in want (the fields the field map and the
// rules read) that obj has. full reports whether every field is read.
func SelectFields(obj *tenant.Object, want []string) (fields []string, full bool) {
	fixed := map[string]bool{}
	for _, f := range FixedFields[obj.Name] {
		fixed[strings.ToLower(f)] = true
	}
	size := 0
	for _, f := range obj.Fields {
		if !tenant.Queryable(f.Type) || fixed[strings.ToLower(f.Name)] {
			continue
		}
		fields = append(fields, f.Name)
		size += len(f.Name) + 2
	}
	if size <= maxSelectSOQL {
		return fields, true
	}
	fields = fields[:0]
	for _, w := range want {
		if f := obj.Field(w); f != nil && tenant.Queryable(f.Type) && !fixed[strings.ToLower(f.Name)] && !slices.Contains(fields, f.Name) {
			fields = append(fields, f.Name)
		}
	}
	return fields, false
}

// Accounts calls fn with each page of Accounts modified at or after since
// (all of them when since is zero), in SystemModstamp order, with fields
// selected besides FixedFields. A record that does not have the types the
// describe promises comes in rejected (for the caller to quarantine), not
// in the page; the rest of the page is read. An error from fn stops the
// read and is returned as is.
func (c *Client) Accounts(ctx context.Context, since time.Time, fields []string, fn func([]cxaudit.Account, []cxaudit.Rejected) error) error {
	return readPages(ctx, c, tenant.ObjectAccount, fields, since, decodeAccount, fn)
}

// Contacts is Accounts for Contacts.
func (c *Client) Contacts(ctx context.Context, since time.Time, fields []string, fn func([]cxaudit.Contact, []cxaudit.Rejected) error) error {
	return readPages(ctx, c, tenant.ObjectContact, fields, since, decodeContact, fn)
}

// Opportunities is Accounts for Opportunities.
func (c *Client) Opportunities(ctx context.Context, since time.Time, fields []string, fn func([]cxaudit.Opportunity, []cxaudit.Rejected) error) error {
	return readPages(ctx, c, tenant.ObjectOpportunity, fields, since, decodeOpportunity, fn)
}

// ContactRelations is Accounts for AccountContactRelations, which hold the
// roles contacts play on accounts.
func (c *Client) ContactRelations(ctx context.Context, since time.Time, fn func([]cxaudit.ContactRelation, []cxaudit.Rejected) error) error {
	return readPages(ctx, c, tenant.ObjectContactRelation, nil, since, decodeContactRelation, fn)
}

// accountTaskFields are the fields of the account teams' Tasks the sync
// reads.
const accountTaskFields = "Id, WhatId, AccountId, OwnerId, Subject, Status, Priority, ActivityDate, IsClosed, SystemModstamp"

// AccountTasks calls fn with each page of the Tasks on accounts and on
// their opportunities (those whose AccountId Salesforce derived from
// WhatId), in SystemModstamp order. The first read (since zero) reads the
// open ones only: an org's closed Tasks are usually its largest table and
// say nothing of what the team has in hand. A later read takes every Task
// modified at or after since, so that one closed since comes and can be
// dropped.
func (c *Client) AccountTasks(ctx context.Context, since time.Time, fn func([]cxaudit.Task, []cxaudit.Rejected) error) error {
	q := "SELECT " + accountTaskFields + " FROM Task WHERE AccountId != null"
	if since.IsZero() {
		q += " AND IsClosed = false"
	} else {
		q += " AND SystemModstamp >= " + since.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
	}
	return readSOQL(ctx, c, tenant.ObjectTask, q+" ORDER BY SystemModstamp, Id", decodeAccountTask, fn)
}

func decodeAccountTask(s *sobject) cxaudit.Task {
	t := decodeTask(s)
	t.AccountID = s.str("AccountId")
	t.IsClosed = s.boolean("IsClosed")
	t.SystemModstamp = s.dateTime("SystemModstamp")
	return t
}

// selectList joins the fixed fields of object with fields.
func selectList(object string, fields []string) string {
	return strings.Join(append(slices.Clone(FixedFields[object]), fields...), ", ")
}

// incrementalSOQL builds the query of an incremental read.
func incrementalSOQL(object, fields string, since time.Time) string {
	q := "SELECT " + fields + " FROM " + object
	if !since.IsZero() {
		// Truncating to the second moves the bound back, never forward.
		q += " WHERE SystemModstamp >= " + since.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
	}
	return q + " ORDER BY SystemModstamp, Id"
}

func readPages[T any](ctx context.Context, c *Client, object string, fields []string, since time.Time,
	decode func(*sobject) T, fn func([]T, []cxaudit.Rejected) error,
) error {
	return readSOQL(ctx, c, object, incrementalSOQL(object, selectList(object, fields), since), decode, fn)
}

// readSOQL runs soql and decodes its records as readPages does.
func readSOQL[T any](ctx context.Context, c *Client, object, soql string,
	decode func(*sobject) T, fn func([]T, []cxaudit.Rejected) error,
) error {
	op := "read " + object
	return c.query(ctx, op, soql, func(recs []simpleforce.SObject) error {
		page := make([]T, 0, len(recs))
		var rejected []cxaudit.Rejected
		for i, r := range recs {
			so := &sobject{raw: r}
			v := decode(so)
			if so.err != nil {
				rejected = append(rejected, so.reject(object, fmt.Sprintf("record %d of the page: %v", i, so.err)))
				continue
			}
			page = append(page, v)
		}
		return fn(page, rejected)
	})
}

// reject is the quarantine entry of a record that did not decode: its Id
// (or the digest of the record), the reason, and the record as JSON.
func (s *sobject) reject(object, reason string) cxaudit.Rejected {
	fields := make(map[string]any, len(s.raw))
	for k, v := range s.raw {
		if !strings.HasPrefix(k, "__") { // simpleforce's client
			fields[k] = v
		}
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		raw = []byte("{}")
	}
	return cxaudit.NewRejected(object, s.id(), reason, raw)
}

// query runs soql and follows nextRecordsUrl, calling page with the
// records of each batch. Errors from page are returned as is. A
// nextRecordsUrl already followed is malformed: following it again would
// read the same batches forever, each call charged to the org's daily
// API quota.
func (c *Client) query(ctx context.Context, op, soql string, page func([]simpleforce.SObject) error) error {
	next := soql
	followed := map[string]bool{}
	for n := 1; ; n++ {
		var res *simpleforce.QueryResult
		err := c.do(ctx, func(sf *simpleforce.Client) error {
			var err error
			res, err = sf.Query(next)
			return err
		})
		if err != nil {
			return c.fail(op, err)
		}
		if res == nil {
			return malformedf(op, "empty response")
		}
		used, limit, _ := c.Limits()
		c.logger.DebugContext(ctx, "salesforce page", "op", op, "page", n, "records", len(res.Records),
			"total", res.TotalSize, "done", res.Done, "api_used", used, "api_limit", limit)
		if err := page(res.Records); err != nil {
			return err
		}
		if res.Done {
			return nil
		}
		// simpleforce treats anything else as SOQL; a bad locator must not
		// turn into a query.
		if !strings.HasPrefix(res.NextRecordsURL, "/services/data/") {
			return malformedf(op, "done is false but nextRecordsUrl is %q", res.NextRecordsURL)
		}
		if followed[res.NextRecordsURL] {
			return malformedf(op, "nextRecordsUrl %q was followed before (page %d): the query makes no progress", res.NextRecordsURL, n)
		}
		followed[res.NextRecordsURL] = true
		next = res.NextRecordsURL
	}
}

// sobject reads typed fields from a decoded record, remembering the first
// field that does not have the type the schema promises.
type sobject struct {
	raw simpleforce.SObject
	err error
}

func (s *sobject) id() string {
	id, _ := s.raw["Id"].(string)
	return id
}

func (s *sobject) fail(field string, v any, want string) {
	if s.err == nil {
		s.err = fmt.Errorf("field %s: want %s, got %T", field, want, v)
	}
}

// str returns a text or Id field; null is "".
func (s *sobject) str(field string) string {
	switch v := s.raw[field].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		s.fail(field, v, "string")
		return ""
	}
}

// requiredStr is str for a field that must be present and non-empty.
func (s *sobject) requiredStr(field string) string {
	v := s.str(field)
	if v == "" && s.err == nil {
		s.err = fmt.Errorf("field %s: missing", field)
	}
	return v
}

func (s *sobject) boolean(field string) bool {
	switch v := s.raw[field].(type) {
	case nil:
		return false
	case bool:
		return v
	default:
		s.fail(field, v, "boolean")
		return false
	}
}

func (s *sobject) number(field string) float64 {
	switch v := s.raw[field].(type) {
	case nil:
		return 0
	case float64:
		return v
	default:
		s.fail(field, v, "number")
		return 0
	}
}

// Salesforce writes datetimes as 2024-05-01T12:00:00.000+0000.
var dateTimeLayouts = []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano}

func (s *sobject) dateTime(field string) time.Time {
	v := s.str(field)
	if v == "" {
		return time.Time{}
	}
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC()
		}
	}
	s.fail(field, v, "dateTime")
	return time.Time{}
}

func (s *sobject) date(field string) *time.Time {
	v := s.str(field)
	if v == "" {
		return nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		s.fail(field, v, "date")
		return nil
	}
	return &t
}

// related returns the record nested under a relationship (Owner), or nil
// when the lookup is empty.
func (s *sobject) related(name string) *sobject {
	switch v := s.raw[name].(type) {
	case nil:
		return nil
	case map[string]any:
		return &sobject{raw: v}
	default:
		s.fail(name, v, "object")
		return nil
	}
}

// rawFields keeps every field of a record but its attributes and
// relationships, null ones left out, as JSON decoded them: package tenant
// types them against the describe.
func (s *sobject) rawFields() map[string]any {
	out := make(map[string]any, len(s.raw))
	for k, v := range s.raw {
		switch v.(type) {
		case nil, map[string]any:
			continue
		}
		// simpleforce keeps its client in every record under "__client__".
		if k == "attributes" || strings.HasPrefix(k, "__") {
			continue
		}
		out[k] = v
	}
	return out
}

func decodeAccount(s *sobject) cxaudit.Account {
	a := cxaudit.Account{
		ID: s.requiredStr("Id"), Name: s.str("Name"), OwnerID: s.str("OwnerId"),
		Website: s.str("Website"), SystemModstamp: s.dateTime("SystemModstamp"), Raw: s.rawFields(),
	}
	if owner := s.related("Owner"); owner != nil {
		a.OwnerActive = owner.boolean("IsActive")
		a.OwnerName = owner.str("Name")
		if owner.err != nil && s.err == nil {
			s.err = fmt.Errorf("Owner: %w", owner.err)
		}
	}
	return a
}

func decodeContact(s *sobject) cxaudit.Contact {
	return cxaudit.Contact{
		ID: s.requiredStr("Id"), AccountID: s.str("AccountId"), Name: s.str("Name"),
		Email: s.str("Email"), SystemModstamp: s.dateTime("SystemModstamp"), Raw: s.rawFields(),
	}
}

func decodeOpportunity(s *sobject) cxaudit.Opportunity {
	return cxaudit.Opportunity{
		ID: s.requiredStr("Id"), AccountID: s.str("AccountId"), Name: s.str("Name"),
		IsClosed: s.boolean("IsClosed"), IsWon: s.boolean("IsWon"),
		SystemModstamp: s.dateTime("SystemModstamp"), Raw: s.rawFields(),
	}
}

// decodeContactRelation reads an AccountContactRelation. Roles is a
// multi-select picklist, which the REST API writes as one string with its
// values separated by semicolons.
func decodeContactRelation(s *sobject) cxaudit.ContactRelation {
	r := cxaudit.ContactRelation{
		ID: s.requiredStr("Id"), AccountID: s.str("AccountId"), ContactID: s.str("ContactId"),
		IsActive: s.boolean("IsActive"), SystemModstamp: s.dateTime("SystemModstamp"),
	}
	if roles := s.str("Roles"); roles != "" {
		r.Roles = strings.Split(roles, ";")
	}
	return r
}

func decodeTask(s *sobject) cxaudit.Task {
	return cxaudit.Task{
		ID: s.requiredStr("Id"), WhatID: s.str("WhatId"), OwnerID: s.str("OwnerId"),
		Subject: s.str("Subject"), Description: s.str("Description"), Priority: s.str("Priority"),
		Status: s.str("Status"), ActivityDate: s.date("ActivityDate"),
	}
}
