package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Findings: what the rules found, and what write-back wrote of it.

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

func (q *queries) FindingsForEntities(ctx context.Context, kind cxaudit.EntityKind, ids []string) (map[string][]cxaudit.Finding, error) {
	out := make(map[string][]cxaudit.Finding, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	clause, args := q.dialect.findingsOf(string(kind), ids)
	fs, err := q.listFindings(ctx, clause, args...)
	for _, f := range fs {
		out[f.EntityID] = append(out[f.EntityID], f)
	}
	return out, err
}

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

// findingChunk is how many findings one PutFindings statement stores on
// SQLite (and on PostgreSQL outside a transaction): findingFields
// parameters each, well under PostgreSQL's 65,535 and SQLite's 32,766.
const findingChunk = 500
