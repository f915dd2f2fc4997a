package salesforce

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/simpleforce/simpleforce"
)

// Deleted is a record in the recycle bin.
type Deleted struct {
	ID string
	// AccountID is the account of a deleted Contact, Opportunity or
	// AccountContactRelation ("" for an Account).
	AccountID      string
	SystemModstamp time.Time
}

// DeletedAccounts is DeletedRecords for Accounts. Deleting an Account
// deletes its Contacts and Opportunities with it.
func (c *Client) DeletedAccounts(ctx context.Context, since time.Time, fn func([]Deleted) error) error {
	return c.DeletedRecords(ctx, "Account", since, fn)
}

// DeletedRecords calls fn with each page of the records of object (Account,
// Contact, Opportunity, AccountContactRelation) deleted at or after since
// (all of those still in the recycle bin when since is zero), in
// SystemModstamp order. It reads through the queryAll resource, which
// unlike query returns deleted records (IsDeleted = true):
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm
func (c *Client) DeletedRecords(ctx context.Context, object string, since time.Time, fn func([]Deleted) error) error {
	op := "read deleted " + object
	fields := "Id, SystemModstamp"
	if object != "Account" {
		fields = "Id, AccountId, SystemModstamp"
	}
	soql := "SELECT " + fields + " FROM " + object + " WHERE IsDeleted = true"
	if !since.IsZero() {
		soql += " AND SystemModstamp >= " + since.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
	}
	soql += " ORDER BY SystemModstamp, Id"
	return c.queryAll(ctx, op, soql, func(recs []simpleforce.SObject) error {
		page := make([]Deleted, 0, len(recs))
		for i, r := range recs {
			so := &sobject{raw: r}
			d := Deleted{ID: so.requiredStr("Id"), AccountID: so.str("AccountId"), SystemModstamp: so.dateTime("SystemModstamp")}
			if so.err != nil {
				return malformedf(op, "record %d (%s): %v", i, so.id(), so.err)
			}
			page = append(page, d)
		}
		return fn(page)
	})
}

// queryAll is query over the queryAll resource, which simpleforce does not
// offer: each batch is a GET through ApexREST.
func (c *Client) queryAll(ctx context.Context, op, soql string, page func([]simpleforce.SObject) error) error {
	path := c.apiPath("queryAll") + "?q=" + url.QueryEscape(soql)
	for n := 1; ; n++ {
		var data []byte
		err := c.do(ctx, func(sf *simpleforce.Client) error {
			var err error
			data, err = sf.ApexREST("GET", path, nil)
			return err
		})
		if err != nil {
			return c.fail(op, err)
		}
		var res simpleforce.QueryResult
		if err := json.Unmarshal(data, &res); err != nil {
			return malformedf(op, "%v", err)
		}
		c.logger.DebugContext(ctx, "salesforce page", "op", op, "page", n, "records", len(res.Records), "total", res.TotalSize, "done", res.Done)
		if err := page(res.Records); err != nil {
			return err
		}
		if res.Done {
			return nil
		}
		if !strings.HasPrefix(res.NextRecordsURL, "/services/data/") {
			return malformedf(op, "done is false but nextRecordsUrl is %q", res.NextRecordsURL)
		}
		path = strings.TrimPrefix(res.NextRecordsURL, "/")
	}
}
