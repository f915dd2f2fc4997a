// Package writeback puts findings where agents and account owners work:
// one internal note plus tag changes per ticket per cycle in Zendesk, and
// Tasks on accounts in Salesforce.
//
// Every write happens exactly once. Before a write, a 'pending' record with
// the write's marker is committed to the write-back log; the marker travels
// in the remote record (the note's footer, the Task's subject). After the
// write, the record turns 'done' in the same transaction that marks the
// findings written. A write that failed or whose worker died is reconciled
// before anything else is written to that target: the remote system is
// searched for the marker and what is found is adopted. Writes themselves
// are never retried blindly (see package remote).
package writeback

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/zendesk"
)

// Stats counts what a write-back run did.
type Stats struct {
	Writes     map[string]int
	Reconciled int // pending writes found applied remotely and adopted
	Failed     int
	// Held counts entities (tickets, Tasks) left dirty because the hourly
	// write budget was spent; a later run writes them.
	Held int
}

func (s *Stats) count(kind string) {
	if s.Writes == nil {
		s.Writes = map[string]int{}
	}
	s.Writes[kind]++
}

// Zendesk writes ticket findings to Zendesk.
type Zendesk struct {
	Client *zendesk.Client
	Store  store.Store
	Logger *slog.Logger
	// RulesFunc gives notes each rule's docs link and owner; optional.
	RulesFunc func() *rules.Set
	// DryRun logs each would-be write instead of making it.
	DryRun bool
	// ResolutionNote adds a short note when findings clear.
	ResolutionNote bool
	// Budget caps ticket updates per rolling hour (0: no cap), so that a bad
	// rule cannot flood thousands of tickets. What is over the budget stays
	// dirty, is counted in Stats.Held, and is written when the budget allows.
	Budget int
	// ObserveFunc, when set, is told of every write made.
	ObserveFunc func(kind string)
	// HeldFunc, when set, is told at the end of each run how many
	// entities the budget held.
	HeldFunc func(n int)
}

type noteRecord struct {
	Marks []store.WrittenMark `json:"marks"`
}

// Run writes every ticket that has dirty findings.
func (z *Zendesk) Run(ctx context.Context) (Stats, error) {
	var stats Stats
	var errs []error
	b, err := newBudget(ctx, z.Store, z.Budget, store.WriteZendeskTicketUpdate)
	if err != nil {
		return stats, err
	}
	after := ""
	for {
		ids, err := z.Store.DirtyEntities(ctx, cxaudit.EntityTicket, after, 100)
		if err != nil {
			return stats, err
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			if !b.allow() {
				stats.Held++
				continue
			}
			if err := z.writeTicket(ctx, id, &stats, b); err != nil {
				var rl *cxaudit.RateLimitError
				if errors.As(err, &rl) || ctx.Err() != nil {
					return stats, err
				}
				stats.Failed++
				z.Logger.Error("zendesk write-back failed", "ticket_id", id, "error", err)
				errs = append(errs, fmt.Errorf("ticket %s: %w", id, err))
			}
		}
		after = ids[len(ids)-1]
	}
	if z.HeldFunc != nil {
		z.HeldFunc(stats.Held)
	}
	if stats.Held > 0 {
		z.Logger.Warn("zendesk write budget spent; holding the rest until it allows", "budget_per_hour", z.Budget, "held_tickets", stats.Held)
	}
	return stats, errors.Join(errs...)
}

func (z *Zendesk) writeTicket(ctx context.Context, id string, stats *Stats, b *budget) error {
	ticketID, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return err
	}
	target := "zendesk:ticket:" + id
	rec, err := z.Store.GetWriteLog(ctx, target)
	if err != nil {
		return err
	}
	if rec.State == store.WritePending {
		// An earlier attempt may have been applied: look for its marker.
		applied, err := z.applied(ctx, ticketID, rec.Marker)
		if err != nil {
			return err
		}
		if applied {
			var nr noteRecord
			if err := json.Unmarshal(rec.Payload, &nr); err != nil {
				return fmt.Errorf("decode write-back log of %s: %w", target, err)
			}
			if err := z.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
				rec.State = store.WriteDone
				if err := q.PutWriteLog(ctx, rec); err != nil {
					return err
				}
				return q.MarkWritten(ctx, nr.Marks)
			}); err != nil {
				return err
			}
			stats.Reconciled++
			z.Logger.Info("adopted a write found in zendesk", "ticket_id", ticketID, "marker", rec.Marker)
		}
	}

	findings, err := z.Store.FindingsForEntity(ctx, cxaudit.EntityTicket, id)
	if err != nil {
		return err
	}
	var tags []string
	if t, err := z.Store.Ticket(ctx, ticketID); err == nil {
		tags = t.Tags
	} else if cxaudit.ErrorCode(err) != cxaudit.ENOTFOUND {
		return err
	}
	u, marks := z.plan(tags, findings)
	if len(marks) == 0 {
		return nil
	}
	if u.NoteHTML == "" && len(u.AddTags) == 0 && len(u.RemoveTags) == 0 {
		// Nothing visible changes (e.g. a finding without note or tags
		// resolved): record it as written.
		return z.Store.MarkWritten(ctx, marks)
	}
	marker := markerFor("t"+id, marks)
	if u.NoteHTML != "" {
		u.NoteHTML += footer(marker)
	}
	if z.DryRun {
		z.Logger.Info("dry run: would update zendesk ticket", "ticket_id", ticketID, "note", u.NoteHTML != "",
			"add_tags", u.AddTags, "remove_tags", u.RemoveTags, "findings", len(marks))
		return nil
	}
	payload, err := json.Marshal(noteRecord{Marks: marks})
	if err != nil {
		return err
	}
	rec = store.WriteRecord{Target: target, State: store.WritePending, Marker: marker, Payload: payload}
	if u.NoteHTML == "" {
		// Tag-only updates carry no marker; they are idempotent and can be
		// sent again safely.
		rec.Marker = ""
	}
	if err := z.Store.PutWriteLog(ctx, rec); err != nil {
		return err
	}
	b.spend(1)
	if _, err := z.Client.UpdateTicket(ctx, ticketID, u); err != nil {
		if cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND {
			// The ticket is gone: there is nowhere to write. Its findings
			// resolve when the sync sees the deletion.
			z.Logger.Warn("zendesk ticket not found; findings not written", "ticket_id", ticketID)
			return z.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
				rec.State = store.WriteDone
				if err := q.PutWriteLog(ctx, rec); err != nil {
					return err
				}
				return q.MarkWritten(ctx, marks)
			})
		}
		return err
	}
	return z.Store.InTx(ctx, func(ctx context.Context, q store.Querier) error {
		rec.State = store.WriteDone
		if err := q.PutWriteLog(ctx, rec); err != nil {
			return err
		}
		if err := q.MarkWritten(ctx, marks); err != nil {
			return err
		}
		if err := q.RecordWrite(ctx, store.WriteEvent{System: cxaudit.SourceZendesk, Kind: store.WriteZendeskTicketUpdate, Target: target}); err != nil {
			return err
		}
		if u.NoteHTML != "" {
			if err := z.record(ctx, q, stats, store.WriteZendeskNote, target); err != nil {
				return err
			}
		}
		if len(u.AddTags)+len(u.RemoveTags) > 0 {
			return z.record(ctx, q, stats, store.WriteZendeskTagUpdate, target)
		}
		return nil
	})
}

func (z *Zendesk) record(ctx context.Context, q store.Querier, stats *Stats, kind, target string) error {
	stats.count(kind)
	if z.ObserveFunc != nil {
		z.ObserveFunc(kind)
	}
	return q.RecordWrite(ctx, store.WriteEvent{System: cxaudit.SourceZendesk, Kind: kind, Target: target})
}

// applied reports whether a note carrying marker is on the ticket. A
// pending record without a marker was a tag-only update: sending it again
// is harmless, so it counts as not applied.
func (z *Zendesk) applied(ctx context.Context, ticketID int64, marker string) (bool, error) {
	if marker == "" {
		return false, nil
	}
	comments, err := z.Client.TicketComments(ctx, ticketID)
	if cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reconcile ticket %d: %w", ticketID, err)
	}
	for _, c := range comments {
		if strings.Contains(c.Body, marker) {
			return true, nil
		}
	}
	return false, nil
}

// plan decides the one update a ticket gets for its dirty findings, given
// the ticket's tags as last synced.
func (z *Zendesk) plan(ticketTags []string, findings []cxaudit.Finding) (zendesk.TicketUpdate, []store.WrittenMark) {
	var u zendesk.TicketUpdate
	var marks []store.WrittenMark
	var noted, cleared []cxaudit.Finding
	keep := map[string]bool{}
	for _, f := range findings {
		if f.Status == cxaudit.FindingOpen && f.WritesBack() {
			for _, t := range f.Actions.ZendeskTags {
				keep[t] = true
			}
		}
	}
	add, remove := map[string]bool{}, map[string]bool{}
	for _, f := range findings {
		if !f.Dirty() {
			continue
		}
		marks = append(marks, store.MarkOf(f))
		switch f.WriteStatus() {
		case cxaudit.FindingAcknowledged:
			// Acknowledged: nothing more to say; its tags stay until it
			// resolves, and the tag that acknowledged it goes.
			for _, t := range []string{cxaudit.AckTag, cxaudit.SnoozeTag} {
				if slices.Contains(ticketTags, t) {
					remove[t] = true
				}
			}
		case cxaudit.FindingOpen:
			if f.Actions.ZendeskNote {
				noted = append(noted, f)
			}
			for _, t := range f.Actions.ZendeskTags {
				add[t] = true
			}
		case cxaudit.FindingResolved:
			if f.Actions.ZendeskNote {
				cleared = append(cleared, f)
			}
			for _, t := range f.Actions.ZendeskTags {
				if !keep[t] {
					remove[t] = true
				}
			}
		}
	}
	u.AddTags, u.RemoveTags = sortedKeys(add), sortedKeys(remove)
	if !z.ResolutionNote {
		cleared = nil
	}
	if len(noted) > 0 || len(cleared) > 0 {
		u.NoteHTML = z.noteHTML(noted, cleared)
	}
	return u, marks
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// noteHTML renders the internal note for an agent: what was found, why it
// matters (the message), how to fix it (the rule's docs) and how to
// acknowledge it.
func (z *Zendesk) noteHTML(noted, cleared []cxaudit.Finding) string {
	var set *rules.Set
	if z.RulesFunc != nil {
		set = z.RulesFunc()
	}
	severityRank := func(s cxaudit.Severity) int { return slices.Index(cxaudit.Severities, s) }
	sort.SliceStable(noted, func(i, j int) bool { return severityRank(noted[i].Severity) < severityRank(noted[j].Severity) })

	// Every text comes from rules and synced records: it is escaped, and
	// stripped of bidirectional controls.
	text := func(s string) string { return html.EscapeString(withoutBidi(s)) }
	var b strings.Builder
	if len(noted) > 0 {
		fmt.Fprintf(&b, "<p><strong>cxaudit found %d issue%s on this ticket</strong></p><ul>", len(noted), plural(len(noted)))
		for _, f := range noted {
			fmt.Fprintf(&b, "<li><strong>[%s] %s</strong><br>%s", text(strings.ToUpper(string(f.Severity))),
				text(f.Title), text(f.Message))
			if set != nil {
				if r := set.Rule(f.RuleID); r != nil && r.Docs != "" {
					fmt.Fprintf(&b, `<br>How to fix: <a href="%s">%s</a>`, text(r.Docs), text(r.Docs))
				}
			}
			fmt.Fprintf(&b, "<br><small>rule %s</small></li>", text(f.RuleID))
		}
		b.WriteString("</ul>")
		fmt.Fprintf(&b, "<p>To acknowledge these, add the tag <code>%s</code>; to silence them for a week, <code>%s</code>. cxaudit removes its tags when an issue clears.</p>",
			cxaudit.AckTag, cxaudit.SnoozeTag)
	}
	if len(cleared) > 0 {
		b.WriteString("<p><strong>Resolved</strong></p><ul>")
		for _, f := range cleared {
			fmt.Fprintf(&b, "<li>%s</li>", text(f.Title))
		}
		b.WriteString("</ul>")
	}
	return b.String()
}

// withoutBidi removes the Unicode bidirectional controls from s: the
// marks (U+200E, U+200F, U+061C), embeddings and overrides (U+202A to
// U+202E) and isolates (U+2066 to U+2069). A ticket subject or an account
// name carrying an override would otherwise display reordered in the note
// or Task cxaudit writes ("invoice\u202Efdp.exe" reads "invoiceexe.pdf"),
// and could make cxaudit's own text around it display out of order.
func withoutBidi(s string) string {
	if !strings.ContainsFunc(s, isBidiControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isBidiControl(r) {
			return -1
		}
		return r
	}, s)
}

func isBidiControl(r rune) bool {
	switch {
	case r == '\u200E', r == '\u200F', r == '\u061C':
		return true
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// markerFor identifies one write: the target and what it carries. The same
// findings in the same state give the same marker, so a retried attempt
// finds the note of an earlier one.
func markerFor(target string, marks []store.WrittenMark) string {
	h := sha256.New()
	h.Write([]byte(target))
	sorted := slices.Clone(marks)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Fingerprint < sorted[j].Fingerprint })
	for _, m := range sorted {
		h.Write([]byte("\x00" + m.Fingerprint + "\x00" + string(m.Status) + "\x00" + m.Hash))
	}
	return "cxaudit:" + hex.EncodeToString(h.Sum(nil)[:10])
}

func footer(marker string) string {
	return `<p><small>` + marker + `</small></p>`
}
