package syncer

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// DefaultOverlap is how far before the last stored SystemModstamp (or
// deleted_at) a sync starts again: store.CursorOverlap, whose comment says
// why.
const DefaultOverlap = store.CursorOverlap

// ObjectContactRelations is the cursor object of AccountContactRelations.
const ObjectContactRelations = "contact_relations"

// ObjectTasks is the cursor object of the account teams' Tasks.
const ObjectTasks = "tasks"

// DefaultAuditHold is how long accounts wait at most for their pass to end.
const DefaultAuditHold = time.Hour

// DefaultDescribeEvery is how long a describe of the org is reused.
const DefaultDescribeEvery = time.Hour

// Salesforce syncs accounts, contacts, opportunities and the relations
// that hold contacts' roles, on SystemModstamp.
type Salesforce struct {
	Client  *salesforce.Client
	Store   store.Store
	Logger  *slog.Logger
	Overlap time.Duration
	// FieldMapFunc returns the tenant's field map (rules/fields.yaml,
	// reloaded with the rules); nil, or a nil map, means the defaults.
	FieldMapFunc func() *tenant.FieldMap
	// WantFunc returns the fields of an object the rules read, for an org
	// with more fields than one query can select; nil reads the mapped
	// fields only in that case.
	WantFunc func(object string) []string
	// DescribeEvery is how long a describe of the org is used before the
	// org is described again (six requests); a query the org refuses for
	// a field it no longer has describes it again at once. Default
	// DefaultDescribeEvery.
	DescribeEvery time.Duration
	// AuditHold is how long at most the accounts a pass touches wait for
	// the pass to read their contacts, opportunities and relations before
	// they are audited anyway (a pass that fails half-way leaves them held
	// that long). Default DefaultAuditHold.
	AuditHold time.Duration
	// ObserveFunc, when set, is told of every page stored.
	ObserveFunc func(object string, records int)
	// RejectFunc, when set, is told of the records of every page put in
	// quarantine.
	RejectFunc func(source cxaudit.Source, rejected []cxaudit.Rejected)
	// ProgressFunc, when set, is told where each object stands after
	// every page.
	ProgressFunc ProgressFunc
}

// Sync runs one incremental pass: it describes the org, then reads every
// object. The fields read are the org's own (describe decides), so a
// field the field map or a rule names that the org lacks is not an error
// here: the rules that read it are set aside by the audit, and everything
// else is synced.
func (s *Salesforce) Sync(ctx context.Context) (Stats, error) {
	var stats Stats
	schema, t, err := s.describe(ctx)
	if err != nil {
		return stats, fmt.Errorf("salesforce describe: %w", err)
	}
	stats, err = s.sync(ctx, schema, t)
	if cxaudit.ErrorCode(err) == cxaudit.EINVALID {
		// The org refused a query: a field described before may be gone.
		// The next pass describes it again.
		if ferr := s.forgetDescribe(ctx, schema); ferr != nil {
			s.Logger.Warn("salesforce: could not mark the describe stale", "error", ferr)
		}
	}
	return stats, err
}

// forgetDescribe marks the stored describe stale.
func (s *Salesforce) forgetDescribe(ctx context.Context, schema *syncedSchema) error {
	stale := *schema
	stale.DescribedAt = time.Time{}
	return s.Store.PutSchema(ctx, store.SchemaSalesforce, &stale)
}

func (s *Salesforce) sync(ctx context.Context, schema *syncedSchema, t *tenant.Tenant) (Stats, error) {
	var stats Stats
	// Accounts stored before name keys existed get theirs (once).
	if n, err := s.Store.FillAccountKeys(ctx); err != nil {
		return stats, fmt.Errorf("salesforce: name keys of stored accounts: %w", err)
	} else if n > 0 {
		logger(s.Logger).Info("salesforce: computed the name keys of stored accounts, for duplicate detection", "accounts", n)
	}
	if err := syncObject(ctx, s, &stats, tenant.ObjectAccount, func(ctx context.Context, since time.Time, fn func([]cxaudit.Account, []cxaudit.Rejected) error) error {
		return s.Client.Accounts(ctx, since, schema.Selected[tenant.ObjectAccount], fn)
	}, func(a *cxaudit.Account) (string, string, time.Time) {
		t.Account(a)
		return a.ID, a.ID, a.SystemModstamp
	}, func(ctx context.Context, q store.Querier, page []cxaudit.Account) error {
		// The accounts that share a domain or a name key with these, before
		// and after: their duplicates change with them.
		ids := make([]string, len(page))
		for i := range page {
			ids[i] = page[i].ID
		}
		before, err := q.AccountsSharingKeys(ctx, ids)
		if err != nil {
			return err
		}
		if err := q.UpsertAccounts(ctx, page); err != nil {
			return err
		}
		after, err := q.AccountsSharingKeys(ctx, ids)
		if err != nil {
			return err
		}
		keys := make([]store.EntityKey, 0, len(before)+len(after))
		for _, id := range append(before, after...) {
			keys = append(keys, store.EntityKey{Kind: cxaudit.EntityAccount, ID: id})
		}
		return q.HoldAudit(ctx, keys, time.Now().Add(cmpOr(s.AuditHold, DefaultAuditHold)))
	}); err != nil {
		return stats, fmt.Errorf("salesforce accounts: %w", err)
	}
	if err := syncObject(ctx, s, &stats, tenant.ObjectContact, func(ctx context.Context, since time.Time, fn func([]cxaudit.Contact, []cxaudit.Rejected) error) error {
		return s.Client.Contacts(ctx, since, schema.Selected[tenant.ObjectContact], fn)
	}, func(c *cxaudit.Contact) (string, string, time.Time) {
		t.Contact(c)
		return c.ID, c.AccountID, c.SystemModstamp
	}, func(ctx context.Context, q store.Querier, page []cxaudit.Contact) error {
		return q.UpsertContacts(ctx, page)
	}); err != nil {
		return stats, fmt.Errorf("salesforce contacts: %w", err)
	}
	if err := syncObject(ctx, s, &stats, tenant.ObjectOpportunity, func(ctx context.Context, since time.Time, fn func([]cxaudit.Opportunity, []cxaudit.Rejected) error) error {
		return s.Client.Opportunities(ctx, since, schema.Selected[tenant.ObjectOpportunity], fn)
	}, func(o *cxaudit.Opportunity) (string, string, time.Time) {
		t.Opportunity(o)
		return o.ID, o.AccountID, o.SystemModstamp
	}, func(ctx context.Context, q store.Querier, page []cxaudit.Opportunity) error {
		return q.UpsertOpportunities(ctx, page)
	}); err != nil {
		return stats, fmt.Errorf("salesforce opportunities: %w", err)
	}
	if rel := schema.Objects[tenant.ObjectContactRelation]; rel != nil && rel.Unavailable == "" {
		if err := syncObject(ctx, s, &stats, tenant.ObjectContactRelation, s.Client.ContactRelations, func(r *cxaudit.ContactRelation) (string, string, time.Time) {
			return r.ID, r.AccountID, r.SystemModstamp
		}, func(ctx context.Context, q store.Querier, page []cxaudit.ContactRelation) error {
			return q.UpsertContactRelations(ctx, page)
		}); err != nil {
			return stats, fmt.Errorf("salesforce contact relations: %w", err)
		}
	}
	if task := schema.Objects[tenant.ObjectTask]; task != nil && task.Unavailable == "" {
		if err := syncObject(ctx, s, &stats, tenant.ObjectTask, s.Client.AccountTasks, func(t *cxaudit.Task) (string, string, time.Time) {
			return t.ID, t.AccountID, t.SystemModstamp
		}, func(ctx context.Context, q store.Querier, page []cxaudit.Task) error {
			return q.UpsertTasks(ctx, page)
		}); err != nil {
			return stats, fmt.Errorf("salesforce tasks: %w", err)
		}
	} else if err := s.Store.PutCursor(ctx, cxaudit.SourceSalesforce, ObjectTasks, store.Cursor{CompletedAt: time.Now()}); err != nil {
		// Task cannot be read: there is nothing to wait for (the rules that
		// read account.open_tasks are set aside by the tenant's check), so
		// the stream counts as read for the rules that wait for Salesforce.
		return stats, err
	}
	if err := s.syncDeletions(ctx, &stats, schema); err != nil {
		return stats, err
	}
	// Every object read: the accounts this pass touched may be audited.
	if err := s.Store.ReleaseAudit(ctx, cxaudit.EntityAccount); err != nil {
		return stats, fmt.Errorf("salesforce: release the accounts read for audit: %w", err)
	}
	return stats, nil
}

// syncedSchema is the describe as the sync stores it: with the fields each
// read selected, so that a later pass knows when it must read again.
type syncedSchema struct {
	tenant.SalesforceSchema
	// Selected are the fields each object's read selects besides
	// salesforce.FixedFields.
	Selected map[string][]string `json:"selected"`
}

// objectCursors are the cursor objects of each described object.
var objectCursors = map[string]string{
	tenant.ObjectAccount: ObjectAccounts, tenant.ObjectContact: ObjectContacts,
	tenant.ObjectOpportunity: ObjectOpportunities, tenant.ObjectContactRelation: ObjectContactRelations,
	tenant.ObjectTask: ObjectTasks,
}

// describe describes the org, chooses the fields to read and stores both.
// An object whose read now selects a field it did not before (a field
// created, made visible, or newly read by a rule of an org too wide to
// read whole) is read again from the start, so no record lacks the field.
func (s *Salesforce) describe(ctx context.Context) (*syncedSchema, *tenant.Tenant, error) {
	var prev syncedSchema
	hadPrev, err := s.Store.GetSchema(ctx, store.SchemaSalesforce, &prev)
	if err != nil {
		return nil, nil, err
	}
	described := &prev.SalesforceSchema
	if !hadPrev || time.Since(prev.DescribedAt) >= cmpOr(s.DescribeEvery, DefaultDescribeEvery) || !describesAll(&prev.SalesforceSchema) {
		if described, err = s.Client.Describe(ctx); err != nil {
			return nil, nil, err
		}
	}
	var fm *tenant.FieldMap
	if s.FieldMapFunc != nil {
		fm = s.FieldMapFunc()
	}
	t := tenant.Resolve(fm, described, nil)
	schema := &syncedSchema{SalesforceSchema: *described, Selected: map[string][]string{}}
	var reread []string
	for _, object := range []string{tenant.ObjectAccount, tenant.ObjectContact, tenant.ObjectOpportunity} {
		obj := described.Objects[object]
		if obj == nil || obj.Unavailable != "" {
			why := "not described"
			if obj != nil {
				why = obj.Unavailable
			}
			return nil, nil, cxaudit.Errorf(cxaudit.EINVALID, "salesforce: %s cannot be read: %s (grant the integration user read access to it)", object, why)
		}
		var want []string
		for _, name := range tenant.MappableNames(object) {
			if api, _ := fm.SalesforceField(object, name); api != "" {
				want = append(want, api)
			}
		}
		if s.WantFunc != nil {
			want = append(want, s.WantFunc(object)...)
		}
		fields, full := salesforce.SelectFields(obj, want)
		if !full {
			s.Logger.Warn("salesforce: the object has more fields than one query can select; reading those the field map and the rules name",
				"object", object, "fields", len(obj.Fields), "read", len(fields))
		}
		schema.Selected[object] = fields
		if hadPrev && !subset(fields, prev.Selected[object]) {
			reread = append(reread, object)
		}
	}
	err = s.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
		for _, object := range reread {
			s.Logger.Info("salesforce: reading every record again for fields not read before", "object", object)
			if err := q.PutCursor(ctx, cxaudit.SourceSalesforce, objectCursors[object], store.Cursor{}); err != nil {
				return err
			}
		}
		return q.PutSchema(ctx, store.SchemaSalesforce, schema)
	})
	if err != nil {
		return nil, nil, err
	}
	return schema, t, nil
}

// describesAll reports whether a stored describe covers every object
// Describe describes now (one stored by an older cxaudit may not).
func describesAll(s *tenant.SalesforceSchema) bool {
	for _, object := range salesforce.DescribedObjects {
		if s.Objects[object] == nil {
			return false
		}
	}
	return true
}

// subset reports whether every field of a is in b.
func subset(a, b []string) bool {
	for _, f := range a {
		if !slices.Contains(b, f) {
			return false
		}
	}
	return true
}

// syncObject pages through one object (sobject, as Salesforce names it)
// since its cursor. Each page commits with the newest SystemModstamp it
// holds, quarantines the records of it that could not be read (and
// clears the quarantine of those now stored), and queues the accounts it
// touches (and their Zendesk dependents) for audit. prepare types each
// record against the org and returns its id, its account and its
// SystemModstamp.
func syncObject[T any](
	ctx context.Context, s *Salesforce, stats *Stats, sobject string,
	read func(context.Context, time.Time, func([]T, []cxaudit.Rejected) error) error,
	prepare func(*T) (id, accountID string, modstamp time.Time),
	upsert func(context.Context, store.Querier, []T) error,
) error {
	object := objectCursors[sobject]
	cur, err := s.Store.GetCursor(ctx, cxaudit.SourceSalesforce, object)
	if err != nil {
		return err
	}
	since, err := cur.Since(cmpOr(s.Overlap, DefaultOverlap))
	if err != nil {
		return fmt.Errorf("stored %s %w", object, err)
	}
	newest := cur.Value
	err = read(ctx, since, func(page []T, rejected []cxaudit.Rejected) error {
		var accountIDs []string
		seen := map[string]bool{}
		ids := make([]string, 0, len(page))
		for i := range page {
			recordID, id, stamp := prepare(&page[i])
			ids = append(ids, recordID)
			if v := stamp.UTC().Format(time.RFC3339Nano); newest == "" || later(v, newest) {
				newest = v
			}
			if id != "" && !seen[id] {
				seen[id] = true
				accountIDs = append(accountIDs, id)
			}
		}
		s.logRejected(sobject, rejected)
		keys := make([]store.EntityKey, len(accountIDs))
		for i, id := range accountIDs {
			keys[i] = store.EntityKey{Kind: cxaudit.EntityAccount, ID: id}
		}
		next := store.Cursor{Value: newest, CompletedAt: cur.CompletedAt}
		if err := s.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			if err := upsert(ctx, q, page); err != nil {
				return err
			}
			if err := quarantine(ctx, q, cxaudit.SourceSalesforce, sobject, ids, rejected); err != nil {
				return err
			}
			if err := q.HoldAudit(ctx, keys, time.Now().Add(cmpOr(s.AuditHold, DefaultAuditHold))); err != nil {
				return err
			}
			if err := q.QueueAccountDependents(ctx, accountIDs); err != nil {
				return err
			}
			return q.PutCursor(ctx, cxaudit.SourceSalesforce, object, next)
		}); err != nil {
			return err
		}
		stats.add(object, len(page))
		if s.ObserveFunc != nil {
			s.ObserveFunc(object, len(page))
		}
		if s.ProgressFunc != nil {
			pos, _ := time.Parse(time.RFC3339Nano, newest)
			s.ProgressFunc(Progress{Source: "salesforce", Object: object, Records: stats.Records[object], Position: pos, Start: since})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.Store.PutCursor(ctx, cxaudit.SourceSalesforce, object, store.Cursor{Value: newest, CompletedAt: time.Now()}); err != nil {
		return err
	}
	if s.ProgressFunc != nil {
		pos, _ := time.Parse(time.RFC3339Nano, newest)
		s.ProgressFunc(Progress{Source: "salesforce", Object: object, Records: stats.Records[object], Position: pos, Start: since, Done: true})
	}
	return nil
}

// logger is l, or the default logger when l is nil.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// logRejected says which records of a page were quarantined, and why.
func (s *Salesforce) logRejected(object string, rejected []cxaudit.Rejected) {
	for _, r := range rejected {
		logger(s.Logger).Warn("salesforce: record quarantined (cxaudit quarantine list shows it); the sync goes on",
			"object", object, "id", r.ID, "reason", r.Reason)
	}
	if s.RejectFunc != nil && len(rejected) > 0 {
		s.RejectFunc(cxaudit.SourceSalesforce, rejected)
	}
}

func later(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && (err2 != nil || ta.After(tb))
}
