package salesforce

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/simpleforce/simpleforce"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Incremental reads on SystemModstamp. Each read orders by SystemModstamp,
// then Id, and hands fn one page at a time, so a caller can commit each
// page with the largest SystemModstamp in it as its cursor and resume from
// there: records sharing that stamp are read again, never skipped.

const (
	accountFields     = "Id, Name, OwnerId, Owner.IsActive, Website, Type, Industry, Renewal_Date__c, Health__c, Tier__c, SystemModstamp"
	contactFields     = "Id, AccountId, Name, Email, Title, SystemModstamp"
	opportunityFields = "Id, AccountId, Name, StageName, Type, Amount, CloseDate, IsClosed, IsWon, SystemModstamp"
	taskFields        = "Id, WhatId, OwnerId, Subject, Description, Priority, Status, ActivityDate"
)

// Accounts calls fn with each page of Accounts modified at or after since
// (all of them when since is zero), in SystemModstamp order. An error from
// fn stops the read and is returned as is.
func (c *Client) Accounts(ctx context.Context, since time.Time, fn func([]cxaudit.Account) error) error {
	return readPages(ctx, c, "Account", accountFields, since, decodeAccount, fn)
}

// Contacts is Accounts for Contacts.
func (c *Client) Contacts(ctx context.Context, since time.Time, fn func([]cxaudit.Contact) error) error {
	return readPages(ctx, c, "Contact", contactFields, since, decodeContact, fn)
}

// Opportunities is Accounts for Opportunities.
func (c *Client) Opportunities(ctx context.Context, since time.Time, fn func([]cxaudit.Opportunity) error) error {
	return readPages(ctx, c, "Opportunity", opportunityFields, since, decodeOpportunity, fn)
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

func readPages[T any](ctx context.Context, c *Client, object, fields string, since time.Time,
	decode func(*sobject) T, fn func([]T) error,
) error {
	op := "read " + object
	return c.query(ctx, op, incrementalSOQL(object, fields, since), func(recs []simpleforce.SObject) error {
		page := make([]T, 0, len(recs))
		for i, r := range recs {
			so := &sobject{raw: r}
			v := decode(so)
			if so.err != nil {
				return malformedf(op, "record %d (%s): %v", i, so.id(), so.err)
			}
			page = append(page, v)
		}
		return fn(page)
	})
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

func decodeAccount(s *sobject) cxaudit.Account {
	a := cxaudit.Account{
		ID: s.requiredStr("Id"), Name: s.str("Name"), OwnerID: s.str("OwnerId"),
		Website: s.str("Website"), Type: s.str("Type"), Industry: s.str("Industry"),
		Tier: s.str("Tier__c"), Health: s.str("Health__c"), RenewalDate: s.date("Renewal_Date__c"),
		SystemModstamp: s.dateTime("SystemModstamp"),
	}
	if owner := s.related("Owner"); owner != nil {
		a.OwnerActive = owner.boolean("IsActive")
		if owner.err != nil && s.err == nil {
			s.err = fmt.Errorf("Owner: %w", owner.err)
		}
	}
	return a
}

func decodeContact(s *sobject) cxaudit.Contact {
	return cxaudit.Contact{
		ID: s.requiredStr("Id"), AccountID: s.str("AccountId"), Name: s.str("Name"),
		Email: s.str("Email"), Title: s.str("Title"), SystemModstamp: s.dateTime("SystemModstamp"),
	}
}

func decodeOpportunity(s *sobject) cxaudit.Opportunity {
	return cxaudit.Opportunity{
		ID: s.requiredStr("Id"), AccountID: s.str("AccountId"), Name: s.str("Name"),
		StageName: s.str("StageName"), Type: s.str("Type"), Amount: s.number("Amount"),
		CloseDate: s.date("CloseDate"), IsClosed: s.boolean("IsClosed"), IsWon: s.boolean("IsWon"),
		SystemModstamp: s.dateTime("SystemModstamp"),
	}
}

func decodeTask(s *sobject) cxaudit.Task {
	return cxaudit.Task{
		ID: s.requiredStr("Id"), WhatID: s.str("WhatId"), OwnerID: s.str("OwnerId"),
		Subject: s.str("Subject"), Description: s.str("Description"), Priority: s.str("Priority"),
		Status: s.str("Status"), ActivityDate: s.date("ActivityDate"),
	}
}
