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
// searched for the marker and what is found is adopted. So is what another
// store wrote (a fresh database pointed at a tenant already audited): the
// notes' markers are in the comments the sync stored, and Tasks are looked
// up by theirs before any is created. Writes themselves are never retried
// blindly (see package remote).
//
// The protocol lives in one stage (stage.go); each target — the Zendesk
// ticket (zendesk.go), the Salesforce Task (salesforce.go) — supplies only
// how to plan, find and apply its writes.
package writeback

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/zendesk"
)

// Stats counts what a write-back run did.
type Stats struct {
	Writes     map[string]int
	Reconciled int // writes found made remotely and adopted
	Failed     int
	// Held counts writes (ticket updates, Tasks) left dirty because the
	// hourly write budget was spent; a later run writes them.
	Held int
	// NotWritable counts writes the remote record refused for good (a
	// closed ticket): their findings are never written again.
	NotWritable int
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
	Store  Store
	Logger *slog.Logger
	// RulesFunc gives notes each rule's docs link and owner; optional.
	RulesFunc func() *rules.Set
	// DryRun logs each would-be write instead of making it.
	DryRun bool
	// ResolutionNote adds a short note when findings clear.
	ResolutionNote bool
	// SnoozeFor is how long the snooze tag silences findings, as the note
	// tells agents (CXAUDIT_SNOOZE_DAYS). Default a week.
	SnoozeFor time.Duration
	// Budget caps ticket updates per rolling hour (0: no cap), so that a bad
	// rule cannot flood thousands of tickets. What is over the budget stays
	// dirty, is counted in Stats.Held, and is written when the budget allows.
	Budget int
	// ObserveFunc, when set, is told of every write made.
	ObserveFunc func(kind string)
	// HeldFunc, when set, is told at the end of each run how many
	// entities the budget held.
	HeldFunc func(n int)

	// saved remembers each ticket as Zendesk answered cxaudit's last
	// update of it, for as long as the store's copy is older: a second
	// update before the next sync then carries the right updated_at
	// instead of losing a safe_update race to cxaudit's own note.
	savedMu sync.Mutex
	saved   map[int64]cxaudit.Ticket

	// running makes Runs one at a time: see Salesforce.running.
	running sync.Mutex
}

// maxSaved bounds Zendesk.saved; when full it starts over.
const maxSaved = 10_000

func (z *Zendesk) remember(t cxaudit.Ticket) {
	z.savedMu.Lock()
	defer z.savedMu.Unlock()
	if z.saved == nil || len(z.saved) >= maxSaved {
		z.saved = map[int64]cxaudit.Ticket{}
	}
	z.saved[t.ID] = cxaudit.Ticket{ID: t.ID, Tags: t.Tags, UpdatedAt: t.UpdatedAt}
}

// fresher returns tk with the tags and updated_at of cxaudit's last
// update of it, when that is newer than what the store holds.
func (z *Zendesk) fresher(tk cxaudit.Ticket) cxaudit.Ticket {
	z.savedMu.Lock()
	defer z.savedMu.Unlock()
	if s, ok := z.saved[tk.ID]; ok {
		if s.UpdatedAt.After(tk.UpdatedAt) {
			tk.Tags, tk.UpdatedAt = s.Tags, s.UpdatedAt
		} else {
			delete(z.saved, tk.ID)
		}
	}
	return tk
}

// MaxConflicts is how often one ticket update is sent again after
// safe_update refused it because the ticket changed meanwhile (each time
// the ticket is read again and the tags recomputed); past it the ticket
// waits for the next run.
const MaxConflicts = 2

// Run writes every ticket that has dirty findings.
func (z *Zendesk) Run(ctx context.Context) (Stats, error) {
	z.running.Lock()
	defer z.running.Unlock()
	st := &stage{store: z.Store, logger: z.Logger, dryRun: z.DryRun, budget: z.Budget, system: cxaudit.SourceZendesk,
		name: string(cxaudit.SourceZendesk), observeFunc: z.ObserveFunc, heldFunc: z.HeldFunc}
	return st.run(ctx, zendeskTarget{z})
}

// zendeskTarget writes a ticket's dirty findings in one update: a private
// note for what is new or cleared, and the ticket's whole tag list, sent
// with safe_update so that no tag an agent set meanwhile is lost.
type zendeskTarget struct{ z *Zendesk }

// ticketWrite is one ticket update.
type ticketWrite struct {
	id   int64
	note string // HTML, with the marker in its footer; "" for none
	// add and remove are cxaudit's tag changes; tags is the whole list
	// they give from the ticket's tags as of stamp, nil when they change
	// nothing.
	add, remove []string
	tags        []string
	stamp       time.Time
}

// retag recomputes the tag list from the ticket's current tags.
func (w *ticketWrite) retag(current []string, stamp time.Time) {
	w.tags, w.stamp = retagged(current, w.add, w.remove), stamp
}

// retagged is current without remove and with add (appended in order),
// or nil when that is current itself.
func retagged(current, add, remove []string) []string {
	out := slices.DeleteFunc(slices.Clone(current), func(t string) bool { return slices.Contains(remove, t) })
	for _, t := range add {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if slices.Equal(out, current) {
		return nil
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func (zendeskTarget) kind() cxaudit.EntityKind { return cxaudit.EntityTicket }
func (zendeskTarget) budgetKinds() []string    { return []string{store.WriteZendeskTicketUpdate} }
func (zendeskTarget) batchSize() int           { return 1 }

func (t zendeskTarget) describe(w write) []any {
	tw := w.body.(*ticketWrite)
	return []any{"ticket_id", tw.id, "note", tw.note != "", "add_tags", tw.add, "remove_tags", tw.remove}
}

func (t zendeskTarget) plan(ctx context.Context, id string) ([]write, error) {
	ticketID, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, err
	}
	logTarget := "zendesk:ticket:" + id
	rec, err := t.z.Store.GetWriteLog(ctx, logTarget)
	if err != nil {
		return nil, err
	}
	findings, err := t.z.Store.FindingsForEntity(ctx, cxaudit.EntityTicket, id)
	if err != nil {
		return nil, err
	}
	tk, err := t.z.Store.Ticket(ctx, ticketID)
	if err != nil && cxaudit.ErrorCode(err) != cxaudit.ENOTFOUND {
		return nil, err
	}
	tk.ID = ticketID
	w := t.z.plan(t.z.fresher(tk), findings)
	if len(w.marks) == 0 {
		return nil, nil
	}
	w.entityID, w.logTarget, w.rec = id, logTarget, rec
	return []write{w}, nil
}

// plan decides the one update a ticket gets for its dirty findings, given
// the ticket as last synced: its tags, and its comments, whose markers say
// what cxaudit (through this store or another) already noted. It is pure.
func (z *Zendesk) plan(tk cxaudit.Ticket, findings []cxaudit.Finding) write {
	var w write
	var noted, cleared []cxaudit.Finding
	var noteMarks []store.WrittenMark
	present := map[string]bool{}
	for _, c := range tk.Comments {
		if !c.Public {
			notedMarks(c.Body, present)
		}
	}
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
		m := store.MarkOf(f)
		w.marks = append(w.marks, m)
		switch f.WriteStatus() {
		case cxaudit.FindingAcknowledged:
			// Acknowledged: nothing more to say; its tags stay until it
			// resolves, and the tag that acknowledged it goes.
			remove[cxaudit.AckTag], remove[cxaudit.SnoozeTag] = true, true
		case cxaudit.FindingOpen:
			if f.Actions.ZendeskNote && !present[findingMark(m)] {
				noted = append(noted, f)
				noteMarks = append(noteMarks, m)
			}
			for _, t := range f.Actions.ZendeskTags {
				add[t] = true
			}
		case cxaudit.FindingResolved:
			if f.Actions.ZendeskNote && z.ResolutionNote && !present[findingMark(m)] {
				cleared = append(cleared, f)
				noteMarks = append(noteMarks, m)
			}
			for _, t := range f.Actions.ZendeskTags {
				if !keep[t] {
					remove[t] = true
				}
			}
		}
	}
	tw := &ticketWrite{id: tk.ID, add: sortedKeys(add), remove: sortedKeys(remove)}
	tw.retag(tk.Tags, tk.UpdatedAt)
	if len(noted) > 0 || len(cleared) > 0 {
		w.marker = noteMarker(noteMarks)
		tw.note = z.noteHTML(noted, cleared) + footer(w.marker, noted, cleared)
	}
	if tw.note != "" || tw.tags != nil {
		w.body = tw
	}
	return w
}

// find reconciles pending updates: the note of one whose answer was lost
// is looked for among the ticket's comments. (What another store noted is
// read from the stored comments when planning, at no cost.) A pending
// update without a marker changed tags only, and is harmless to send
// again.
func (t zendeskTarget) find(ctx context.Context, ws []write) (map[string]found, error) {
	out := map[string]found{}
	for _, w := range ws {
		if w.rec.State != store.WritePending || w.rec.Marker == "" {
			continue
		}
		id, _ := strconv.ParseInt(w.entityID, 10, 64)
		comments, err := t.z.Client.TicketComments(ctx, id)
		if cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reconcile ticket %d: %w", id, err)
		}
		if slices.ContainsFunc(comments, func(c cxaudit.Comment) bool { return strings.Contains(c.Body, w.rec.Marker) }) {
			marks, err := pendingMarks(w.rec)
			if err != nil {
				return nil, err
			}
			out[w.logTarget] = found{marks: marks}
		}
	}
	return out, nil
}

// apply sends one ticket update. When safe_update refuses it (the ticket
// changed since the tags were computed), the ticket is read again and the
// tags recomputed from what it has now, up to MaxConflicts times: so an
// agent's tag is never lost, at one call per ticket when nothing raced.
func (t zendeskTarget) apply(ctx context.Context, ws []write) ([]result, error) {
	out := make([]result, 0, len(ws))
	for _, w := range ws {
		r, err := t.update(ctx, w.body.(*ticketWrite))
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (t zendeskTarget) update(ctx context.Context, tw *ticketWrite) (result, error) {
	for conflicts := 0; ; conflicts++ {
		u := zendesk.TicketUpdate{NoteHTML: tw.note, Tags: tw.tags}
		if tw.tags != nil {
			u.SafeUpdateStamp = &tw.stamp
		}
		got, err := t.z.Client.UpdateTicket(ctx, tw.id, u)
		switch {
		case err == nil:
			got.ID = tw.id
			t.z.remember(got)
			r := result{outcome: written, events: []string{store.WriteZendeskTicketUpdate}}
			if tw.note != "" {
				r.events = append(r.events, store.WriteZendeskNote)
			}
			if tw.tags != nil {
				r.events = append(r.events, store.WriteZendeskTagUpdate)
				r.err = checkTags(got.Tags, tw.add, tw.remove)
			}
			return r, nil
		case errors.Is(err, zendesk.ErrTicketClosed):
			return result{outcome: refused, err: err}, nil
		case cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND:
			// The ticket is gone: its findings resolve when the sync sees
			// the deletion.
			return result{outcome: gone}, nil
		case cxaudit.ErrorCode(err) == cxaudit.ECONFLICT && conflicts < MaxConflicts:
			// Nothing was applied: read the ticket as it is now.
			fresh, err := t.z.Client.Ticket(ctx, tw.id)
			if err != nil {
				return t.failed(err)
			}
			tw.retag(fresh.Tags, fresh.UpdatedAt)
			if tw.note == "" && tw.tags == nil {
				// The ticket has the tags already.
				return result{outcome: written}, nil
			}
		default:
			return t.failed(err)
		}
	}
}

// failed is the result of an update that failed; a rate limit or a
// cancelled context ends the run instead.
func (zendeskTarget) failed(err error) (result, error) {
	var rl *cxaudit.RateLimitError
	if errors.As(err, &rl) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return result{}, err
	}
	return result{outcome: failed, err: err}, nil
}

// checkTags compares the tags a ticket has after an update with the
// changes sent: Zendesk answers with the ticket as saved, triggers
// included.
func checkTags(got, add, remove []string) error {
	var missing, kept []string
	for _, t := range add {
		if !slices.Contains(got, t) {
			missing = append(missing, t)
		}
	}
	for _, t := range remove {
		if slices.Contains(got, t) {
			kept = append(kept, t)
		}
	}
	if len(missing)+len(kept) == 0 {
		return nil
	}
	return fmt.Errorf("zendesk saved other tags than sent: missing %v, still there %v", missing, kept)
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
			b.WriteString("</li>")
		}
		b.WriteString("</ul>")
		fmt.Fprintf(&b, "<p>To acknowledge these, add the tag <code>%s</code>; to silence them for %s, <code>%s</code>. cxaudit removes its tags when an issue clears.</p>",
			cxaudit.AckTag, days(z.snoozeFor()), cxaudit.SnoozeTag)
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

// footer is the note's last line, small: the ids of the rules it speaks of
// (for whoever maintains them; agents read the titles above) and the
// marker that makes the note findable (see marker.go).
func footer(marker string, noted, cleared []cxaudit.Finding) string {
	var ids []string
	for _, fs := range [][]cxaudit.Finding{noted, cleared} {
		for _, f := range fs {
			if !slices.Contains(ids, f.RuleID) {
				ids = append(ids, f.RuleID)
			}
		}
	}
	var b strings.Builder
	b.WriteString("<p><small>")
	if len(ids) > 0 {
		b.WriteString(html.EscapeString(withoutBidi("rules: " + strings.Join(ids, ", "))))
		b.WriteString(" · ")
	}
	b.WriteString(marker + "</small></p>")
	return b.String()
}

func (z *Zendesk) snoozeFor() time.Duration {
	if z.SnoozeFor > 0 {
		return z.SnoozeFor
	}
	return cxaudit.DefaultSnooze
}

// days says d in whole days, as agents read it: "7 days", "1 day".
func days(d time.Duration) string {
	n := max(int((d+12*time.Hour)/(24*time.Hour)), 1)
	return strconv.Itoa(n) + " day" + plural(n)
}
