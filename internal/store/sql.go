package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// conn is what both databases offer: pgx pools and transactions on one side,
// database/sql's on the other. SQL uses $N placeholders, which both accept.
type conn interface {
	exec(ctx context.Context, sql string, args ...any) (int64, error)
	query(ctx context.Context, sql string, args ...any) (rows, error)
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// queries implements Querier over a conn. The same value serves the pool
// and, built anew per transaction, each transaction.
type queries struct {
	c       conn
	dialect string
	// enqueue inserts River jobs on c; set by the dialect.
	enqueue func(ctx context.Context, params []river.InsertManyParams) error
}

var errNotFound = cxaudit.Errorf(cxaudit.ENOTFOUND, "not found")

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// marshal encodes a document for the store, U+0000 as U+FFFD (text.go).
func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(storableJSON(b)), err
}

// unmarshal decodes a stored document. Documents are read far more often
// than written (every audit reads every open ticket), so they are decoded
// with encoding/json/v2 (github.com/go-json-experiment/json, the module the
// standard library's v2 comes from), about 2.5 times as fast as
// encoding/json on tickets with comments. It reads what encoding/json wrote:
// the options keep v1's leniency on duplicate names and invalid UTF-8.
func unmarshal(data []byte, v any) error {
	return jsonv2.Unmarshal(data, v, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// queryOne scans the first row of a query into dest; errNotFound when none.
func (q *queries) queryOne(ctx context.Context, sql string, args []any, dest ...any) error {
	r, err := q.c.query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer r.Close()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return err
		}
		return errNotFound
	}
	if err := r.Scan(dest...); err != nil {
		return err
	}
	return r.Err()
}

// queryEach calls fn for every row.
func (q *queries) queryEach(ctx context.Context, sql string, args []any, fn func(r rows) error) error {
	r, err := q.c.query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		if err := fn(r); err != nil {
			return err
		}
	}
	return r.Err()
}

// queryDocs decodes the JSON documents the first column of a query returns.
func queryDocs[T any](ctx context.Context, q *queries, sql string, args ...any) ([]T, error) {
	var out []T
	err := q.queryEach(ctx, sql, args, func(r rows) error {
		var data []byte
		if err := r.Scan(&data); err != nil {
			return err
		}
		var v T
		if err := unmarshal(data, &v); err != nil {
			return fmt.Errorf("decode stored record: %w", err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

func (q *queries) GetCursor(ctx context.Context, source cxaudit.Source, object string) (Cursor, error) {
	var c Cursor
	var completed, updated int64
	err := q.queryOne(ctx, `SELECT cursor, completed_at, updated_at FROM sync_cursor WHERE source = $1 AND object = $2`,
		[]any{string(source), object}, &c.Value, &completed, &updated)
	if errors.Is(err, errNotFound) {
		return Cursor{}, nil
	}
	c.CompletedAt, c.UpdatedAt = fromMS(completed), fromMS(updated)
	return c, err
}

func (q *queries) PutCursor(ctx context.Context, source cxaudit.Source, object string, c Cursor) error {
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = time.Now()
	}
	_, err := q.c.exec(ctx, `INSERT INTO sync_cursor (source, object, cursor, completed_at, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (source, object) DO UPDATE SET cursor = excluded.cursor, completed_at = excluded.completed_at, updated_at = excluded.updated_at`,
		string(source), object, c.Value, ms(c.CompletedAt), ms(c.UpdatedAt))
	return err
}

func (q *queries) UpsertTickets(ctx context.Context, tickets []cxaudit.Ticket) error {
	if len(tickets) == 0 {
		return nil
	}
	rows, err := ticketRows(tickets)
	if err != nil {
		return err
	}
	switch c := q.c.(type) {
	case pgConn:
		if tx, ok := c.db.(pgx.Tx); ok {
			return q.upsertTicketsPostgres(ctx, tx, rows)
		}
		if pool, ok := c.db.(interface {
			Begin(context.Context) (pgx.Tx, error)
		}); ok {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return q.upsertTicketsPostgres(ctx, tx, rows) })
		}
	case sqlConn:
		if db, ok := c.db.(*sql.DB); ok {
			// One transaction, or every row would commit (and sync) alone.
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if err := q.upsertTicketsSQLite(ctx, tx, rows); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}
		if p, ok := c.db.(preparer); ok {
			return q.upsertTicketsSQLite(ctx, p, rows)
		}
	}
	return cxaudit.Errorf(cxaudit.EINTERNAL, "store: upsert tickets: unknown connection %T", q.c)
}

func (q *queries) PutComments(ctx context.Context, ticketID int64, comments []cxaudit.Comment) error {
	if comments == nil {
		comments = []cxaudit.Comment{}
	}
	data, err := marshal(comments)
	if err != nil {
		return err
	}
	n, err := q.c.exec(ctx, `UPDATE zendesk_ticket SET comments = $2 WHERE id = $1`, ticketID, data)
	if err != nil {
		return fmt.Errorf("store comments of ticket %d: %w", ticketID, err)
	}
	if n == 0 {
		return cxaudit.Errorf(cxaudit.ENOTFOUND, "store comments: ticket %d not synced", ticketID)
	}
	return nil
}

func (q *queries) UpsertOrganizations(ctx context.Context, orgs []cxaudit.Organization) error {
	for _, o := range orgs {
		o.LinkedAccounts = nil // found beside it when read, not its own
		data, err := marshal(o)
		if err != nil {
			return err
		}
		if _, err := q.c.exec(ctx, `INSERT INTO zendesk_organization (id, external_id, updated_at, data) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET external_id = excluded.external_id, updated_at = excluded.updated_at, data = excluded.data`,
			o.ID, strings.TrimSpace(o.ExternalID), ms(o.UpdatedAt), data); err != nil {
			return fmt.Errorf("upsert organization %d: %w", o.ID, err)
		}
		if _, err := q.c.exec(ctx, `DELETE FROM zendesk_organization_domain WHERE organization_id = $1`, o.ID); err != nil {
			return err
		}
		for _, d := range o.DomainNames {
			if d = cxaudit.NormalizeDomain(d); d == "" {
				continue
			}
			if _, err := q.c.exec(ctx, `INSERT INTO zendesk_organization_domain (domain, organization_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, d, o.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

func (q *queries) UpsertUsers(ctx context.Context, users []cxaudit.User) error {
	for _, u := range users {
		data, err := marshal(u)
		if err != nil {
			return err
		}
		if _, err := q.c.exec(ctx, `INSERT INTO zendesk_user (id, role, updated_at, data) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at, data = excluded.data`,
			u.ID, u.Role, ms(u.UpdatedAt), data); err != nil {
			return fmt.Errorf("upsert user %d: %w", u.ID, err)
		}
	}
	return nil
}

func (q *queries) Ticket(ctx context.Context, id int64) (cxaudit.Ticket, error) {
	var data, comments []byte
	if err := q.queryOne(ctx, `SELECT data, comments FROM zendesk_ticket WHERE id = $1`, []any{id}, &data, &comments); err != nil {
		if errors.Is(err, errNotFound) {
			return cxaudit.Ticket{}, cxaudit.Errorf(cxaudit.ENOTFOUND, "ticket %d not found", id)
		}
		return cxaudit.Ticket{}, err
	}
	return decodeTicket(data, comments)
}

// decodeTicket decodes a stored ticket; comments nil leaves its comments
// out (the ticket windows of rules that do not read them).
func decodeTicket(data, comments []byte) (cxaudit.Ticket, error) {
	var t cxaudit.Ticket
	if err := unmarshal(data, &t); err != nil {
		return t, fmt.Errorf("decode stored ticket: %w", err)
	}
	if comments == nil {
		return t, nil
	}
	if err := unmarshal(comments, &t.Comments); err != nil {
		return t, fmt.Errorf("decode stored comments of ticket %d: %w", t.ID, err)
	}
	return t, nil
}

func (q *queries) Organization(ctx context.Context, id int64) (cxaudit.Organization, error) {
	orgs, err := queryDocs[cxaudit.Organization](ctx, q, `SELECT data FROM zendesk_organization WHERE id = $1`, id)
	if err != nil {
		return cxaudit.Organization{}, err
	}
	if len(orgs) == 0 {
		return cxaudit.Organization{}, cxaudit.Errorf(cxaudit.ENOTFOUND, "organization %d not found", id)
	}
	return orgs[0], q.linkedAccountsOf(ctx, orgs)
}

func (q *queries) AgentIDs(ctx context.Context) (map[int64]bool, error) {
	ids := map[int64]bool{}
	err := q.queryEach(ctx, `SELECT id FROM zendesk_user WHERE role IN ('agent', 'admin')`, nil, func(r rows) error {
		var id int64
		if err := r.Scan(&id); err != nil {
			return err
		}
		ids[id] = true
		return nil
	})
	return ids, err
}

func (q *queries) TicketsForOrganization(ctx context.Context, orgID int64, since time.Time) ([]cxaudit.Ticket, error) {
	return q.queryTickets(ctx, 0, `SELECT data, comments FROM zendesk_ticket WHERE organization_id = $1 AND created_at >= $2 ORDER BY id`,
		orgID, ms(since))
}

// queryTickets decodes the tickets a query returns as (data, comments)
// rows; size is how many are expected, to size the result.
func (q *queries) queryTickets(ctx context.Context, size int, sql string, args ...any) ([]cxaudit.Ticket, error) {
	var out []cxaudit.Ticket
	if size > 0 {
		out = make([]cxaudit.Ticket, 0, size)
	}
	err := q.queryEach(ctx, sql, args, func(r rows) error {
		var data, comments []byte
		if err := r.Scan(&data, &comments); err != nil {
			return err
		}
		t, err := decodeTicket(data, comments)
		out = append(out, t)
		return err
	})
	return out, err
}

func (q *queries) CountTickets(ctx context.Context) (int, error) {
	var n int
	err := q.queryOne(ctx, `SELECT COUNT(*) FROM zendesk_ticket`, nil, &n)
	return n, err
}

func (q *queries) UpsertAccounts(ctx context.Context, accounts []cxaudit.Account) error {
	for _, a := range accounts {
		a.Contacts, a.Opportunities, a.OpenTasks, a.Duplicates, a.Organizations = nil, nil, nil, nil, nil
		data, err := marshal(a)
		if err != nil {
			return err
		}
		if _, err := q.c.exec(ctx, `INSERT INTO salesforce_account (id, domain, system_modstamp, data, name_key) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET domain = excluded.domain, system_modstamp = excluded.system_modstamp, data = excluded.data,
				name_key = excluded.name_key`,
			a.ID, a.Domain(), ms(a.SystemModstamp), data, cxaudit.NameKey(a.Name)); err != nil {
			return fmt.Errorf("upsert account %s: %w", a.ID, err)
		}
	}
	return nil
}

func (q *queries) UpsertContacts(ctx context.Context, contacts []cxaudit.Contact) error {
	for _, c := range contacts {
		data, err := marshal(c)
		if err != nil {
			return err
		}
		if _, err := q.c.exec(ctx, `INSERT INTO salesforce_contact (id, account_id, system_modstamp, data) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, system_modstamp = excluded.system_modstamp, data = excluded.data`,
			c.ID, c.AccountID, ms(c.SystemModstamp), data); err != nil {
			return fmt.Errorf("upsert contact %s: %w", c.ID, err)
		}
	}
	return nil
}

func (q *queries) UpsertOpportunities(ctx context.Context, opps []cxaudit.Opportunity) error {
	for _, o := range opps {
		data, err := marshal(o)
		if err != nil {
			return err
		}
		if _, err := q.c.exec(ctx, `INSERT INTO salesforce_opportunity (id, account_id, system_modstamp, data) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, system_modstamp = excluded.system_modstamp, data = excluded.data`,
			o.ID, o.AccountID, ms(o.SystemModstamp), data); err != nil {
			return fmt.Errorf("upsert opportunity %s: %w", o.ID, err)
		}
	}
	return nil
}

func (q *queries) Account(ctx context.Context, id string) (cxaudit.Account, error) {
	accs, err := queryDocs[cxaudit.Account](ctx, q, `SELECT data FROM salesforce_account WHERE id = $1`, id)
	if err != nil {
		return cxaudit.Account{}, err
	}
	if len(accs) == 0 {
		return cxaudit.Account{}, cxaudit.Errorf(cxaudit.ENOTFOUND, "account %s not found", id)
	}
	return q.withChildren(ctx, accs[0])
}

func (q *queries) withChildren(ctx context.Context, a cxaudit.Account) (cxaudit.Account, error) {
	var err error
	if a.Contacts, err = queryDocs[cxaudit.Contact](ctx, q, `SELECT data FROM salesforce_contact WHERE account_id = $1 ORDER BY id`, a.ID); err != nil {
		return a, err
	}
	if err := q.withRoles(ctx, []string{a.ID}, map[string][]cxaudit.Contact{a.ID: a.Contacts}); err != nil {
		return a, err
	}
	if a.Opportunities, err = queryDocs[cxaudit.Opportunity](ctx, q, `SELECT data FROM salesforce_opportunity WHERE account_id = $1 ORDER BY id`, a.ID); err != nil {
		return a, err
	}
	tasks, err := q.openTasks(ctx, []string{a.ID})
	if err != nil {
		return a, err
	}
	a.OpenTasks = tasks[a.ID]
	return a, q.fillLinks(ctx, []*cxaudit.Account{&a})
}

func (q *queries) AccountForOrganization(ctx context.Context, org cxaudit.Organization) (cxaudit.Account, error) {
	if id := strings.TrimSpace(org.ExternalID); id != "" {
		a, err := q.Account(ctx, id)
		if cxaudit.ErrorCode(err) != cxaudit.ENOTFOUND {
			return a, err
		}
	}
	accs, err := queryDocs[cxaudit.Account](ctx, q, `SELECT a.data FROM salesforce_account a
		JOIN zendesk_organization_domain d ON d.domain = a.domain WHERE d.organization_id = $1 ORDER BY a.id LIMIT 1`, org.ID)
	if err != nil {
		return cxaudit.Account{}, err
	}
	if len(accs) == 0 {
		return cxaudit.Account{}, cxaudit.Errorf(cxaudit.ENOTFOUND, "organization %d is linked to no account", org.ID)
	}
	return q.withChildren(ctx, accs[0])
}

func (q *queries) OrganizationForAccount(ctx context.Context, acc cxaudit.Account) (cxaudit.Organization, error) {
	orgs, err := queryDocs[cxaudit.Organization](ctx, q, `SELECT data FROM zendesk_organization WHERE external_id = $1 ORDER BY id LIMIT 1`, acc.ID)
	if err == nil && len(orgs) == 0 && acc.Domain() != "" {
		orgs, err = queryDocs[cxaudit.Organization](ctx, q, `SELECT o.data FROM zendesk_organization o
			JOIN zendesk_organization_domain d ON d.organization_id = o.id WHERE d.domain = $1 AND o.external_id = '' ORDER BY o.id LIMIT 1`, acc.Domain())
	}
	if err != nil {
		return cxaudit.Organization{}, err
	}
	if len(orgs) == 0 {
		return cxaudit.Organization{}, cxaudit.Errorf(cxaudit.ENOTFOUND, "account %s is linked to no organization", acc.ID)
	}
	return orgs[0], nil
}

// queueChunk is how many entities one QueueAudit statement queues.
const queueChunk = 500

func (q *queries) QueueAudit(ctx context.Context, keys []EntityKey) error {
	return q.queueAudit(ctx, keys, 0)
}

// HoldAudit queues keys held until ReleaseAudit or until: see the
// migration 0010_audit_queue_hold.
func (q *queries) HoldAudit(ctx context.Context, keys []EntityKey, until time.Time) error {
	return q.queueAudit(ctx, keys, until.UnixNano())
}

// ReleaseAudit lets the held entries of kinds (every kind when none) be
// audited.
func (q *queries) ReleaseAudit(ctx context.Context, kinds ...cxaudit.EntityKind) error {
	query := `UPDATE audit_queue SET held_until = 0 WHERE held_until > 0`
	args := make([]any, len(kinds))
	if len(kinds) > 0 {
		marks := make([]string, len(kinds))
		for i, k := range kinds {
			marks[i], args[i] = "$"+strconv.Itoa(i+1), string(k)
		}
		query += ` AND entity_kind IN (` + strings.Join(marks, ", ") + `)`
	}
	_, err := q.c.exec(ctx, query, args...)
	return err
}

// onConflictQueue is how a queued entry is queued again: audited after its
// new change, and held as long as the longer hold says (QueueAudit never
// releases what a Salesforce pass holds).
const onConflictQueue = `ON CONFLICT (entity_kind, entity_id) DO UPDATE SET queued_at = excluded.queued_at,
	held_until = CASE WHEN excluded.held_until > audit_queue.held_until THEN excluded.held_until ELSE audit_queue.held_until END`

func (q *queries) queueAudit(ctx context.Context, keys []EntityKey, held int64) error {
	now := time.Now().UnixNano()
	// One statement per chunk, not per key (a page of a thousand tickets
	// was a thousand round trips), and each key once in it: ON CONFLICT
	// DO UPDATE may not touch a row twice in one statement.
	seen := make(map[EntityKey]bool, len(keys))
	unique := make([]EntityKey, 0, len(keys))
	for _, k := range keys {
		k.QueuedAt = 0
		if !seen[k] {
			seen[k] = true
			unique = append(unique, k)
		}
	}
	// In one order everywhere (kind, then id), so that two syncs queueing
	// the same rows at once take their locks in the same order.
	slices.SortFunc(unique, compareKeys)
	for start := 0; start < len(unique); start += queueChunk {
		chunk := unique[start:min(start+queueChunk, len(unique))]
		var b strings.Builder
		args := make([]any, 0, 2*len(chunk)+2)
		args = append(args, now, held)
		for i, k := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "($%d, $%d, CAST($1 AS BIGINT), CAST($2 AS BIGINT))", 2*i+3, 2*i+4)
			args = append(args, string(k.Kind), k.ID)
		}
		if _, err := q.c.exec(ctx, `INSERT INTO audit_queue (entity_kind, entity_id, queued_at, held_until) VALUES `+b.String()+`
			`+onConflictQueue, args...); err != nil {
			return fmt.Errorf("queue audit of %d entities: %w", len(chunk), err)
		}
	}
	return nil
}

// castID renders a BIGINT id column as text in both dialects.
func castID(col string) string { return "CAST(" + col + " AS TEXT)" }

// compareKeys orders entity keys by kind, then id: the order in which
// every statement here locks audit_queue rows.
func compareKeys(a, b EntityKey) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID))
}

func (q *queries) QueueAccountDependents(ctx context.Context, accountIDs []string) error {
	for start := 0; start < len(accountIDs); start += queueChunk {
		if err := q.queueAccountDependents(ctx, accountIDs[start:min(start+queueChunk, len(accountIDs))]); err != nil {
			return err
		}
	}
	return nil
}

func (q *queries) queueAccountDependents(ctx context.Context, accountIDs []string) error {
	now := time.Now().UnixNano()
	// The organizations linked to any of the accounts (by external_id or by
	// domain), then their open tickets: two statements, each inserting in
	// (kind, id) order like QueueAudit, so that a Zendesk sync queueing the
	// same rows at once takes its locks in the same order.
	var in strings.Builder
	args := []any{now, int64(0)}
	for i, id := range accountIDs {
		if i > 0 {
			in.WriteString(", ")
		}
		fmt.Fprintf(&in, "$%d", i+3)
		args = append(args, id)
	}
	orgs := `SELECT o.id FROM zendesk_organization o WHERE o.external_id IN (` + in.String() + `)
		UNION SELECT d.organization_id FROM zendesk_organization_domain d
			JOIN salesforce_account a ON a.domain = d.domain WHERE a.id IN (` + in.String() + `)`
	if _, err := q.c.exec(ctx, `INSERT INTO audit_queue (entity_kind, entity_id, queued_at, held_until)
		SELECT 'organization', `+castID("l.id")+`, CAST($1 AS BIGINT), CAST($2 AS BIGINT) FROM (`+orgs+`) l ORDER BY 2
		`+onConflictQueue, args...); err != nil {
		return fmt.Errorf("queue organizations of %d accounts: %w", len(accountIDs), err)
	}
	if _, err := q.c.exec(ctx, `INSERT INTO audit_queue (entity_kind, entity_id, queued_at, held_until)
		SELECT 'ticket', `+castID("t.id")+`, CAST($1 AS BIGINT), CAST($2 AS BIGINT) FROM zendesk_ticket t
		WHERE t.status IN ('new', 'open', 'pending', 'hold') AND t.organization_id IN (`+orgs+`) ORDER BY 2
		`+onConflictQueue, args...); err != nil {
		return fmt.Errorf("queue tickets of %d accounts: %w", len(accountIDs), err)
	}
	return nil
}

func (q *queries) NextAuditBatch(ctx context.Context, limit int) ([]EntityKey, error) {
	var out []EntityKey
	err := q.queryEach(ctx, `SELECT entity_kind, entity_id, queued_at FROM audit_queue WHERE held_until <= $2
		ORDER BY queued_at, entity_kind, entity_id LIMIT $1`,
		[]any{limit, time.Now().UnixNano()}, func(r rows) error {
			var k EntityKey
			var kind string
			if err := r.Scan(&kind, &k.ID, &k.QueuedAt); err != nil {
				return err
			}
			k.Kind = cxaudit.EntityKind(kind)
			out = append(out, k)
			return nil
		})
	return out, err
}

func (q *queries) DoneAudit(ctx context.Context, keys []EntityKey) error {
	for _, k := range keys {
		if _, err := q.c.exec(ctx, `DELETE FROM audit_queue WHERE entity_kind = $1 AND entity_id = $2 AND queued_at = $3`,
			string(k.Kind), k.ID, k.QueuedAt); err != nil {
			return err
		}
	}
	return nil
}

const findingColumns = `fingerprint, rule_id, rule_version, title, category, severity, mode, entity_kind, entity_id, message, status,
	opened_at, updated_at, resolved_at, actions, written_status, written_hash, acknowledged_at, snoozed_until`

func scanFinding(r rows) (cxaudit.Finding, error) {
	var f cxaudit.Finding
	var category, severity, mode, kind, status, wstatus string
	var opened, updated, resolved, acked, snoozed int64
	var actions []byte
	if err := r.Scan(&f.Fingerprint, &f.RuleID, &f.RuleVersion, &f.Title, &category, &severity, &mode, &kind, &f.EntityID,
		&f.Message, &status, &opened, &updated, &resolved, &actions, &wstatus, &f.WrittenHash, &acked, &snoozed); err != nil {
		return f, err
	}
	f.AcknowledgedAt, f.SnoozedUntil = optTime(acked), optTime(snoozed)
	f.Category, f.Severity, f.Mode = cxaudit.Category(category), cxaudit.Severity(severity), cxaudit.Mode(mode)
	f.EntityKind, f.Status, f.WrittenStatus = cxaudit.EntityKind(kind), cxaudit.FindingStatus(status), cxaudit.FindingStatus(wstatus)
	f.OpenedAt, f.UpdatedAt, f.ResolvedAt = fromMS(opened), fromMS(updated), optTime(resolved)
	if err := unmarshal(actions, &f.Actions); err != nil {
		return f, fmt.Errorf("decode actions of finding %s: %w", f.Fingerprint, err)
	}
	return f, nil
}

func (q *queries) listFindings(ctx context.Context, where string, args ...any) ([]cxaudit.Finding, error) {
	var out []cxaudit.Finding
	err := q.queryEach(ctx, `SELECT `+findingColumns+` FROM finding `+where, args, func(r rows) error {
		f, err := scanFinding(r)
		out = append(out, f)
		return err
	})
	return out, err
}

func (q *queries) FindingsForEntity(ctx context.Context, kind cxaudit.EntityKind, id string) ([]cxaudit.Finding, error) {
	return q.listFindings(ctx, `WHERE entity_kind = $1 AND entity_id = $2 ORDER BY rule_id`, string(kind), id)
}

func (q *queries) ListFindings(ctx context.Context, f FindingFilter) ([]cxaudit.Finding, error) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.Status != "" {
		add("status = $%d", string(f.Status))
	}
	if f.RuleID != "" {
		add("rule_id = $%d", f.RuleID)
	}
	if f.EntityKind != "" {
		add("entity_kind = $%d", string(f.EntityKind))
	}
	if f.EntityID != "" {
		add("entity_id = $%d", f.EntityID)
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	where += " ORDER BY fingerprint"
	if f.Limit > 0 {
		where += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return q.listFindings(ctx, where, args...)
}

func optTime(v int64) *time.Time {
	if v == 0 {
		return nil
	}
	t := fromMS(v)
	return &t
}

func optMS(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return ms(*t)
}

func (q *queries) PutFinding(ctx context.Context, f cxaudit.Finding) error {
	actions, err := marshal(f.Actions)
	if err != nil {
		return err
	}
	_, err = q.c.exec(ctx, `INSERT INTO finding (`+findingColumns+`, content_hash, dirty)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
		ON CONFLICT (fingerprint) DO UPDATE SET rule_version = excluded.rule_version, title = excluded.title, category = excluded.category,
			severity = excluded.severity, mode = excluded.mode, message = excluded.message, status = excluded.status,
			opened_at = excluded.opened_at, updated_at = excluded.updated_at, resolved_at = excluded.resolved_at, actions = excluded.actions,
			written_status = excluded.written_status, written_hash = excluded.written_hash, content_hash = excluded.content_hash, dirty = excluded.dirty,
			acknowledged_at = excluded.acknowledged_at, snoozed_until = excluded.snoozed_until`,
		f.Fingerprint, f.RuleID, f.RuleVersion, f.Title, string(f.Category), string(f.Severity), string(f.Mode), string(f.EntityKind), f.EntityID,
		f.Message, string(f.Status), ms(f.OpenedAt), ms(f.UpdatedAt), optMS(f.ResolvedAt), actions, string(f.WrittenStatus), f.WrittenHash,
		optMS(f.AcknowledgedAt), optMS(f.SnoozedUntil), f.ContentHash(), f.Dirty())
	if err != nil {
		return fmt.Errorf("store finding %s: %w", f.Fingerprint, err)
	}
	return nil
}

func (q *queries) DirtyEntities(ctx context.Context, kind cxaudit.EntityKind, afterID string, limit int) ([]string, error) {
	var out []string
	// Ticket ids sort numerically; they are stored as text.
	order := "entity_id"
	if kind == cxaudit.EntityTicket {
		order = "LENGTH(entity_id), entity_id"
	}
	cond := "entity_id > $3"
	if kind == cxaudit.EntityTicket {
		cond = "(LENGTH(entity_id) > LENGTH($3) OR (LENGTH(entity_id) = LENGTH($3) AND entity_id > $3))"
	}
	err := q.queryEach(ctx, `SELECT DISTINCT `+order+` FROM finding WHERE dirty = $1 AND entity_kind = $2 AND `+cond+` ORDER BY `+order+` LIMIT $4`,
		[]any{true, string(kind), afterID, limit}, func(r rows) error {
			var id string
			var dest []any
			if kind == cxaudit.EntityTicket {
				var n int64
				dest = []any{&n, &id}
			} else {
				dest = []any{&id}
			}
			if err := r.Scan(dest...); err != nil {
				return err
			}
			out = append(out, id)
			return nil
		})
	return out, err
}

func (q *queries) MarkWritten(ctx context.Context, marks []WrittenMark) error {
	for _, m := range marks {
		// Dirty as cxaudit.Finding.Dirty computes it, against what was
		// written: storetest pins the two together on every case. A finding
		// writes back when it is enforced and has an action (actions are
		// stored as JSON without empty fields: '{}' is none).
		if _, err := q.c.exec(ctx, `UPDATE finding SET written_status = $2, written_hash = $3,
			dirty = CASE WHEN mode <> 'enforce' OR actions = '{}' OR $2 = 'not_writable' THEN $4
				WHEN status = 'resolved' THEN $2 IN ('open', 'acknowledged')
				WHEN acknowledged_at <> 0 THEN $2 <> 'acknowledged'
				ELSE ($2 <> 'open' OR $3 <> content_hash) END
			WHERE fingerprint = $1`, m.Fingerprint, string(m.Status), m.Hash, false); err != nil {
			return fmt.Errorf("mark finding %s written: %w", m.Fingerprint, err)
		}
	}
	return nil
}

func (q *queries) GetWriteLog(ctx context.Context, target string) (WriteRecord, error) {
	r := WriteRecord{Target: target}
	var updated int64
	err := q.queryOne(ctx, `SELECT state, marker, remote_id, payload, updated_at FROM writeback_log WHERE target = $1`,
		[]any{target}, &r.State, &r.Marker, &r.RemoteID, &r.Payload, &updated)
	if errors.Is(err, errNotFound) {
		return WriteRecord{Target: target}, nil
	}
	r.UpdatedAt = fromMS(updated)
	return r, err
}

func (q *queries) PutWriteLog(ctx context.Context, r WriteRecord) error {
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = time.Now()
	}
	// The payload is a JSON document the write-back made: stored as
	// marshal stores documents.
	payload := string(storableJSON(r.Payload))
	if payload == "" {
		payload = "{}"
	}
	_, err := q.c.exec(ctx, `INSERT INTO writeback_log (target, state, marker, remote_id, payload, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (target) DO UPDATE SET state = excluded.state, marker = excluded.marker, remote_id = excluded.remote_id,
			payload = excluded.payload, updated_at = excluded.updated_at`,
		r.Target, r.State, r.Marker, r.RemoteID, payload, ms(r.UpdatedAt))
	return err
}

func (q *queries) RecordWrite(ctx context.Context, e WriteEvent) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := q.c.exec(ctx, `INSERT INTO write_event (system, kind, target, written_at) VALUES ($1, $2, $3, $4)`,
		string(e.System), e.Kind, e.Target, ms(e.At))
	return err
}

func (q *queries) CountWrites(ctx context.Context, since time.Time) (map[string]int, error) {
	out := map[string]int{}
	err := q.queryEach(ctx, `SELECT kind, COUNT(*) FROM write_event WHERE written_at >= $1 GROUP BY kind`, []any{ms(since)}, func(r rows) error {
		var kind string
		var n int
		if err := r.Scan(&kind, &n); err != nil {
			return err
		}
		out[kind] = n
		return nil
	})
	return out, err
}

func (q *queries) Enqueue(ctx context.Context, jobs ...river.InsertManyParams) error {
	if len(jobs) == 0 {
		return nil
	}
	if q.enqueue == nil {
		return cxaudit.Errorf(cxaudit.EINTERNAL, "store: no River client attached; cannot enqueue jobs")
	}
	return q.enqueue(ctx, jobs)
}

func (q *queries) JobCounts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := q.queryEach(ctx, `SELECT state, COUNT(*) FROM river_job GROUP BY state`, nil, func(r rows) error {
		var state string
		var n int
		if err := r.Scan(&state, &n); err != nil {
			return err
		}
		out[state] = n
		return nil
	})
	return out, err
}
