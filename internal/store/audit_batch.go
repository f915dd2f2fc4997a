package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Batch reads for the audit sweep and `rules preview`: the same records as
// Ticket, Organization, AccountForOrganization and FindingsForEntity, for
// many entities in a few queries.

// placeholders returns "$from, $from+1, …" for n parameters.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

func anys[T any](vals []T) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}

func (q *queries) TicketsByID(ctx context.Context, ids []int64) ([]cxaudit.Ticket, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return q.queryTickets(ctx, len(ids), `SELECT data, comments FROM zendesk_ticket WHERE id IN (`+placeholders(1, len(ids))+`) ORDER BY id`,
		anys(ids)...)
}

func (q *queries) OrganizationsByID(ctx context.Context, ids []int64) ([]cxaudit.Organization, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	orgs, err := queryDocs[cxaudit.Organization](ctx, q, `SELECT data FROM zendesk_organization WHERE id IN (`+placeholders(1, len(ids))+`) ORDER BY id`, anys(ids)...)
	if err != nil {
		return nil, err
	}
	return orgs, q.linkedAccountsOf(ctx, orgs)
}

func (q *queries) AccountsForOrganizations(ctx context.Context, orgs []cxaudit.Organization) (map[int64]cxaudit.Account, error) {
	out := make(map[int64]cxaudit.Account, len(orgs))
	if len(orgs) == 0 {
		return out, nil
	}
	// By external_id = Account Id first.
	var extIDs []string
	for _, o := range orgs {
		if id := strings.TrimSpace(o.ExternalID); id != "" {
			extIDs = append(extIDs, id)
		}
	}
	byID := map[string]cxaudit.Account{}
	if len(extIDs) > 0 {
		accs, err := queryDocs[cxaudit.Account](ctx, q, `SELECT data FROM salesforce_account WHERE id IN (`+placeholders(1, len(extIDs))+`)`, anys(extIDs)...)
		if err != nil {
			return nil, err
		}
		for _, a := range accs {
			byID[a.ID] = a
		}
	}
	var byDomain []int64
	for _, o := range orgs {
		if a, ok := byID[strings.TrimSpace(o.ExternalID)]; ok && strings.TrimSpace(o.ExternalID) != "" {
			out[o.ID] = a
		} else {
			byDomain = append(byDomain, o.ID)
		}
	}
	// Else by a shared website domain, the lowest account id.
	if len(byDomain) > 0 {
		err := q.queryEach(ctx, `SELECT d.organization_id, a.data FROM salesforce_account a
			JOIN zendesk_organization_domain d ON d.domain = a.domain WHERE d.organization_id IN (`+placeholders(1, len(byDomain))+`)
			ORDER BY d.organization_id, a.id`, anys(byDomain), func(r rows) error {
			var orgID int64
			var data []byte
			if err := r.Scan(&orgID, &data); err != nil {
				return err
			}
			if _, done := out[orgID]; done {
				return nil
			}
			var a cxaudit.Account
			if err := unmarshal(data, &a); err != nil {
				return err
			}
			out[orgID] = a
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, q.withChildrenMany(ctx, out)
}

// withChildrenMany loads the contacts and opportunities of every account in
// accs, in id order as withChildren does.
func (q *queries) withChildrenMany(ctx context.Context, accs map[int64]cxaudit.Account) error {
	if len(accs) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var ids []string
	for _, a := range accs {
		if !seen[a.ID] {
			seen[a.ID] = true
			ids = append(ids, a.ID)
		}
	}
	contacts := map[string][]cxaudit.Contact{}
	cs, err := queryDocs[cxaudit.Contact](ctx, q, `SELECT data FROM salesforce_contact WHERE account_id IN (`+placeholders(1, len(ids))+`) ORDER BY id`, anys(ids)...)
	if err != nil {
		return err
	}
	for _, c := range cs {
		contacts[c.AccountID] = append(contacts[c.AccountID], c)
	}
	if err := q.withRoles(ctx, ids, contacts); err != nil {
		return err
	}
	opps := map[string][]cxaudit.Opportunity{}
	os, err := queryDocs[cxaudit.Opportunity](ctx, q, `SELECT data FROM salesforce_opportunity WHERE account_id IN (`+placeholders(1, len(ids))+`) ORDER BY id`, anys(ids)...)
	if err != nil {
		return err
	}
	for _, o := range os {
		opps[o.AccountID] = append(opps[o.AccountID], o)
	}
	tasks, err := q.openTasks(ctx, ids)
	if err != nil {
		return err
	}
	byID := map[string]*cxaudit.Account{}
	var list []*cxaudit.Account
	for _, a := range accs {
		if byID[a.ID] == nil {
			a := a
			byID[a.ID] = &a
			list = append(list, &a)
		}
	}
	if err := q.fillLinks(ctx, list); err != nil {
		return err
	}
	for org, a := range accs {
		a.Contacts, a.Opportunities, a.OpenTasks = contacts[a.ID], opps[a.ID], tasks[a.ID]
		a.Duplicates, a.Organizations = byID[a.ID].Duplicates, byID[a.ID].Organizations
		accs[org] = a
	}
	return nil
}

func (q *queries) FindingsForEntities(ctx context.Context, kind cxaudit.EntityKind, ids []string) (map[string][]cxaudit.Finding, error) {
	out := make(map[string][]cxaudit.Finding, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var fs []cxaudit.Finding
	var err error
	if q.dialect == "postgres" {
		// A join on the array, not a long IN list: PostgreSQL's generic plan
		// for a prepared IN list filters every finding of kind against it.
		fs, err = q.listFindings(ctx, `JOIN unnest(CAST($2 AS TEXT[])) AS wanted(entity) ON entity_id = wanted.entity
			WHERE entity_kind = $1 ORDER BY entity_id, rule_id`, string(kind), ids)
	} else {
		fs, err = q.listFindings(ctx, `WHERE entity_kind = $1 AND entity_id IN (`+placeholders(2, len(ids))+`) ORDER BY entity_id, rule_id`,
			append([]any{string(kind)}, anys(ids)...)...)
	}
	for _, f := range fs {
		out[f.EntityID] = append(out[f.EntityID], f)
	}
	return out, err
}

func (q *queries) DoneAuditBatch(ctx context.Context, keys []EntityKey) error {
	if len(keys) == 0 {
		return nil
	}
	var b strings.Builder
	args := make([]any, 0, 3*len(keys))
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		n := 3 * i
		b.WriteString("(CAST($" + strconv.Itoa(n+1) + " AS TEXT), CAST($" + strconv.Itoa(n+2) + " AS TEXT), CAST($" + strconv.Itoa(n+3) + " AS BIGINT))")
		args = append(args, string(k.Kind), k.ID, k.QueuedAt)
	}
	_, err := q.c.exec(ctx, `DELETE FROM audit_queue WHERE (entity_kind, entity_id, queued_at) IN (VALUES `+b.String()+`)`, args...)
	return err
}

func (q *queries) SweepKeys(ctx context.Context) ([]EntityKey, error) {
	var out []EntityKey
	err := q.queryEach(ctx, `SELECT 'ticket', `+castID("id")+` FROM zendesk_ticket WHERE status IN ('new', 'open', 'pending', 'hold')
		UNION ALL SELECT 'organization', `+castID("id")+` FROM zendesk_organization
		UNION ALL SELECT 'account', id FROM salesforce_account`, nil, func(r rows) error {
		var k EntityKey
		var kind string
		if err := r.Scan(&kind, &k.ID); err != nil {
			return err
		}
		k.Kind = cxaudit.EntityKind(kind)
		out = append(out, k)
		return nil
	})
	return out, err
}

// findingChunk is how many findings one PutFindings statement stores on
// SQLite (and on PostgreSQL outside a transaction): findingFields
// parameters each, well under PostgreSQL's 65,535 and SQLite's 32,766.
const findingChunk = 500

func (q *queries) PutFindings(ctx context.Context, fs []cxaudit.Finding) error {
	if len(fs) == 0 {
		return nil
	}
	// One statement may not touch a row twice (ON CONFLICT DO UPDATE): the
	// last of several findings with one fingerprint wins, as it would with
	// PutFinding one after another.
	last := make(map[string]int, len(fs))
	for i, f := range fs {
		last[f.Fingerprint] = i
	}
	rowsOf := make([]cxaudit.Finding, 0, len(last))
	for i, f := range fs {
		if last[f.Fingerprint] == i {
			rowsOf = append(rowsOf, f)
		}
	}
	rows := make([][]any, len(rowsOf))
	for i, f := range rowsOf {
		actions, err := marshal(f.Actions)
		if err != nil {
			return err
		}
		// COPY bypasses the connection's storableArgs: a message quoting a
		// ticket's subject may hold a NUL.
		rows[i] = storableArgs([]any{f.Fingerprint, f.RuleID, f.RuleVersion, f.Title, string(f.Category), string(f.Severity), string(f.Mode),
			string(f.EntityKind), f.EntityID, f.Message, string(f.Status), ms(f.OpenedAt), ms(f.UpdatedAt), optMS(f.ResolvedAt), actions,
			string(f.WrittenStatus), f.WrittenHash, optMS(f.AcknowledgedAt), optMS(f.SnoozedUntil), f.ContentHash(), f.Dirty()})
	}
	if c, ok := q.c.(pgConn); ok {
		if tx, ok := c.db.(pgx.Tx); ok {
			return putFindingsPostgres(ctx, tx, rows)
		}
	}
	for start := 0; start < len(rows); start += findingChunk {
		chunk := rows[start:min(start+findingChunk, len(rows))]
		var b strings.Builder
		args := make([]any, 0, findingFields*len(chunk))
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			b.WriteString(placeholders(findingFields*i+1, findingFields))
			b.WriteByte(')')
			args = append(args, r...)
		}
		if _, err := q.c.exec(ctx, `INSERT INTO finding (`+findingColumns+`, content_hash, dirty) VALUES `+b.String()+findingConflict, args...); err != nil {
			return fmt.Errorf("store %d findings: %w", len(chunk), err)
		}
	}
	return nil
}

// findingFields is how many columns PutFindings stores a finding in.
const findingFields = 21

// findingConflict is how PutFindings (the audit) updates a finding stored
// before. What was written back (written_status, written_hash) belongs to
// write-back: the audit read it when its batch began, and write-back may
// have written the finding since (MarkWritten). Storing the audit's copy
// over it made a written finding dirty again, and a finding whose message
// moves every minute ("waiting 31 h 24 min") was written twice. So the row
// keeps its written state — but for not_writable, which the audit sets for
// a closed ticket — and dirty is computed against that state, exactly as
// MarkWritten and cxaudit.Finding.Dirty compute it (storetest pins them).
const findingConflict = `
	ON CONFLICT (fingerprint) DO UPDATE SET rule_version = excluded.rule_version, title = excluded.title, category = excluded.category,
		severity = excluded.severity, mode = excluded.mode, message = excluded.message, status = excluded.status,
		opened_at = excluded.opened_at, updated_at = excluded.updated_at, resolved_at = excluded.resolved_at, actions = excluded.actions,
		written_status = ` + keptWrittenStatus + `, written_hash = ` + keptWrittenHash + `, content_hash = excluded.content_hash,
		dirty = CASE WHEN excluded.mode <> 'enforce' OR excluded.actions = '{}' OR ` + keptWrittenStatus + ` = 'not_writable' THEN FALSE
			WHEN excluded.status = 'resolved' THEN ` + keptWrittenStatus + ` IN ('open', 'acknowledged')
			WHEN excluded.acknowledged_at <> 0 THEN ` + keptWrittenStatus + ` <> 'acknowledged'
			ELSE (` + keptWrittenStatus + ` <> 'open' OR ` + keptWrittenHash + ` <> excluded.content_hash) END,
		acknowledged_at = excluded.acknowledged_at, snoozed_until = excluded.snoozed_until`

const (
	keptWrittenStatus = `(CASE WHEN excluded.written_status = 'not_writable' THEN excluded.written_status ELSE finding.written_status END)`
	keptWrittenHash   = `(CASE WHEN excluded.written_status = 'not_writable' THEN excluded.written_hash ELSE finding.written_hash END)`
)

// putFindingsPostgres stores findings on PostgreSQL with COPY into a
// temporary table (created once per session, emptied at commit) and one
// INSERT … ON CONFLICT from it: the first sweep of a large tenant opens a
// finding or two per open ticket.
func putFindingsPostgres(ctx context.Context, tx pgx.Tx, rows [][]any) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS cxaudit_finding_stage (LIKE finding) ON COMMIT DELETE ROWS`); err != nil {
		return fmt.Errorf("store findings: stage table: %w", err)
	}
	if _, err := tx.Exec(ctx, `TRUNCATE cxaudit_finding_stage`); err != nil {
		return err
	}
	cols := strings.Split(strings.Join(strings.Fields(findingColumns), "")+",content_hash,dirty", ",")
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"cxaudit_finding_stage"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("store %d findings: copy: %w", len(rows), err)
	}
	list := strings.Join(cols, ", ")
	if _, err := tx.Exec(ctx, `INSERT INTO finding (`+list+`) SELECT `+list+` FROM cxaudit_finding_stage`+findingConflict); err != nil {
		return fmt.Errorf("store %d findings: %w", len(rows), err)
	}
	return nil
}

func (q *queries) TicketsForOrganizations(ctx context.Context, orgIDs []int64, since time.Time, withComments bool) (map[int64][]cxaudit.Ticket, error) {
	out := make(map[int64][]cxaudit.Ticket, len(orgIDs))
	if len(orgIDs) == 0 {
		return out, nil
	}
	comments := "NULL"
	if withComments {
		comments = "comments"
	}
	err := q.queryEach(ctx, `SELECT organization_id, data, `+comments+` FROM zendesk_ticket WHERE organization_id IN (`+placeholders(2, len(orgIDs))+`)
		AND created_at >= $1 ORDER BY organization_id, id`, append([]any{ms(since)}, anys(orgIDs)...), func(r rows) error {
		var org int64
		var data, comments []byte
		if err := r.Scan(&org, &data, &comments); err != nil {
			return err
		}
		t, err := decodeTicket(data, comments)
		out[org] = append(out[org], t)
		return err
	})
	return out, err
}

func (q *queries) NextAuditBatchAfter(ctx context.Context, after EntityKey, limit int) ([]EntityKey, error) {
	var out []EntityKey
	err := q.queryEach(ctx, `SELECT entity_kind, entity_id, queued_at FROM audit_queue
		WHERE (queued_at > $1 OR (queued_at = $1 AND (entity_kind > $2 OR (entity_kind = $2 AND entity_id > $3)))) AND held_until <= $5
		ORDER BY queued_at, entity_kind, entity_id LIMIT $4`,
		[]any{after.QueuedAt, string(after.Kind), after.ID, limit, time.Now().UnixNano()}, func(r rows) error {
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
