package storetest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseFindings(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("MarkWrittenDirtyIsFindingDirty", func(t *testing.T) {
		t.Parallel()
		// "Needs writing back" is computed twice: in Go
		// (cxaudit.Finding.Dirty, which PutFinding stores) and in SQL
		// (MarkWritten's CASE, which must not read the finding back). This
		// pins the two together on every case: mode × actions × status ×
		// acknowledgement × what was written.
		s := newStore(t)
		ack := now.Add(-time.Hour)
		modes := []cxaudit.Mode{cxaudit.ModeEnforce, cxaudit.ModeObserve}
		actions := []cxaudit.Actions{{}, {ZendeskNote: true}, {ZendeskTags: []string{"cxaudit_x"}}, {SalesforceTask: &cxaudit.TaskAction{}}}
		statuses := []cxaudit.FindingStatus{cxaudit.FindingOpen, cxaudit.FindingResolved}
		written := []cxaudit.FindingStatus{"", cxaudit.FindingOpen, cxaudit.FindingAcknowledged, cxaudit.FindingResolved, cxaudit.FindingNotWritable}
		n := 0
		for _, mode := range modes {
			for _, act := range actions {
				for _, status := range statuses {
					for _, acked := range []bool{false, true} {
						for _, ws := range written {
							for _, sameHash := range []bool{false, true} {
								n++
								id := strconv.Itoa(n)
								f := cxaudit.Finding{
									Fingerprint: cxaudit.Fingerprint("r", cxaudit.EntityTicket, id), RuleID: "r", RuleVersion: "v1", Title: "T",
									Category: cxaudit.CategoryBacklogAging, Severity: cxaudit.SeverityLow, Mode: mode,
									EntityKind: cxaudit.EntityTicket, EntityID: id, Message: "m", Status: status,
									OpenedAt: now, UpdatedAt: now, Actions: act,
								}
								if acked {
									f.AcknowledgedAt = &ack
								}
								require.NoError(t, s.PutFinding(ctx, f))
								mark := store.WrittenMark{Fingerprint: f.Fingerprint, Status: ws, Hash: "other"}
								if sameHash {
									mark.Hash = f.ContentHash()
								}
								require.NoError(t, s.MarkWritten(ctx, []store.WrittenMark{mark}))
								f.WrittenStatus, f.WrittenHash = mark.Status, mark.Hash
								dirty, err := s.DirtyEntities(ctx, cxaudit.EntityTicket, strconv.Itoa(n-1), 1)
								require.NoError(t, err)
								require.Equal(t, f.Dirty(), slices.Contains(dirty, id),
									"mode %s, actions %+v, status %s, acknowledged %v, written %q, same hash %v", mode, act, status, acked, ws, sameHash)
							}
						}
					}
				}
			}
		}
	})

	t.Run("AuditKeepsWhatWriteBackWrote", func(t *testing.T) {
		t.Parallel()
		// The audit read a finding before write-back wrote it, and stores
		// its copy (written state empty, the wait a minute longer) after:
		// the write stays recorded and nothing is dirty. Before, the copy
		// overwrote it and the ticket got a second note.
		s := newStore(t)
		f := cxaudit.Finding{
			Fingerprint: cxaudit.Fingerprint("r1", cxaudit.EntityTicket, "9"), RuleID: "r1", RuleVersion: "v1", Title: "T",
			Category: cxaudit.CategoryBacklogAging, Severity: cxaudit.SeverityHigh, Mode: cxaudit.ModeEnforce,
			EntityKind: cxaudit.EntityTicket, EntityID: "9", Message: "waiting 31 h 24 min", Status: cxaudit.FindingOpen,
			OpenedAt: now, UpdatedAt: now, Actions: cxaudit.Actions{ZendeskNote: true},
		}
		require.NoError(t, s.PutFindings(ctx, []cxaudit.Finding{f}))
		auditCopy := f // read by the audit before the write
		require.NoError(t, s.MarkWritten(ctx, []store.WrittenMark{store.MarkOf(f)}))
		auditCopy.Message = "waiting 31 h 25 min"
		require.NoError(t, s.PutFindings(ctx, []cxaudit.Finding{auditCopy}))
		dirty, err := s.DirtyEntities(ctx, cxaudit.EntityTicket, "", 10)
		require.NoError(t, err)
		require.Empty(t, dirty, "the write stays recorded")
		got, err := s.FindingsForEntity(ctx, cxaudit.EntityTicket, "9")
		require.NoError(t, err)
		require.Equal(t, cxaudit.FindingOpen, got[0].WrittenStatus)
		require.Equal(t, "waiting 31 h 25 min", got[0].Message)

		// New evidence is still dirty against what was written, and a
		// closed ticket's not_writable still comes from the audit.
		auditCopy.Message = "waiting 3 days, escalated"
		require.NoError(t, s.PutFindings(ctx, []cxaudit.Finding{auditCopy}))
		dirty, err = s.DirtyEntities(ctx, cxaudit.EntityTicket, "", 10)
		require.NoError(t, err)
		require.Equal(t, []string{"9"}, dirty)
		auditCopy.WrittenStatus = cxaudit.FindingNotWritable
		require.NoError(t, s.PutFindings(ctx, []cxaudit.Finding{auditCopy}))
		got, err = s.FindingsForEntity(ctx, cxaudit.EntityTicket, "9")
		require.NoError(t, err)
		require.Equal(t, cxaudit.FindingNotWritable, got[0].WrittenStatus)
		dirty, err = s.DirtyEntities(ctx, cxaudit.EntityTicket, "", 10)
		require.NoError(t, err)
		require.Empty(t, dirty)
	})

	t.Run("FindingLifecycleAndDirty", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		f := cxaudit.Finding{
			Fingerprint: cxaudit.Fingerprint("r1", cxaudit.EntityTicket, "9"), RuleID: "r1", RuleVersion: "v1", Title: "T",
			Category: cxaudit.CategoryBacklogAging, Severity: cxaudit.SeverityMedium, Mode: cxaudit.ModeEnforce,
			EntityKind: cxaudit.EntityTicket, EntityID: "9", Message: "old", Status: cxaudit.FindingOpen,
			OpenedAt: now, UpdatedAt: now, Actions: cxaudit.Actions{ZendeskNote: true, ZendeskTags: []string{"cxaudit_old"}},
		}
		observed := f
		observed.Fingerprint, observed.RuleID, observed.Mode, observed.EntityID = cxaudit.Fingerprint("r2", cxaudit.EntityTicket, "10"), "r2", cxaudit.ModeObserve, "10"
		require.NoError(t, s.PutFinding(ctx, f))
		require.NoError(t, s.PutFinding(ctx, observed))

		dirty, err := s.DirtyEntities(ctx, cxaudit.EntityTicket, "", 10)
		require.NoError(t, err)
		require.Equal(t, []string{"9"}, dirty, "observe-mode findings are never dirty")

		// Written as it was before a change: still dirty.
		stale := f
		stale.Message = "older"
		require.NoError(t, s.MarkWritten(ctx, []store.WrittenMark{store.MarkOf(stale)}))
		dirty, err = s.DirtyEntities(ctx, cxaudit.EntityTicket, "", 10)
		require.NoError(t, err)
		require.Equal(t, []string{"9"}, dirty)

		require.NoError(t, s.MarkWritten(ctx, []store.WrittenMark{store.MarkOf(f)}))
		dirty, err = s.DirtyEntities(ctx, cxaudit.EntityTicket, "", 10)
		require.NoError(t, err)
		require.Empty(t, dirty)

		got, err := s.FindingsForEntity(ctx, cxaudit.EntityTicket, "9")
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, cxaudit.FindingOpen, got[0].WrittenStatus)
		require.Equal(t, f.ContentHash(), got[0].WrittenHash)
		require.Equal(t, f.Actions, got[0].Actions)

		// Resolving a written finding makes it dirty again, until written.
		res := got[0]
		res.Status, res.ResolvedAt = cxaudit.FindingResolved, &now
		require.NoError(t, s.PutFinding(ctx, res))
		dirty, err = s.DirtyEntities(ctx, cxaudit.EntityTicket, "", 10)
		require.NoError(t, err)
		require.Equal(t, []string{"9"}, dirty)
		list, err := s.ListFindings(ctx, store.FindingFilter{Status: cxaudit.FindingResolved})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.True(t, list[0].ResolvedAt.Equal(now))
	})

	t.Run("DirtyTicketsSortNumerically", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, id := range []string{"100", "9", "20"} {
			require.NoError(t, s.PutFinding(ctx, cxaudit.Finding{
				Fingerprint: cxaudit.Fingerprint("r", cxaudit.EntityTicket, id), RuleID: "r", Mode: cxaudit.ModeEnforce,
				EntityKind: cxaudit.EntityTicket, EntityID: id, Status: cxaudit.FindingOpen, OpenedAt: now, UpdatedAt: now,
				Actions: cxaudit.Actions{ZendeskNote: true},
			}))
		}
		page1, err := s.DirtyEntities(ctx, cxaudit.EntityTicket, "", 2)
		require.NoError(t, err)
		require.Equal(t, []string{"9", "20"}, page1)
		page2, err := s.DirtyEntities(ctx, cxaudit.EntityTicket, "20", 2)
		require.NoError(t, err)
		require.Equal(t, []string{"100"}, page2)
	})

	t.Run("BatchWritesMatchSingleWrites", func(t *testing.T) {
		t.Parallel()
		one, many, inTx := newStore(t), newStore(t), newStore(t)
		finding := func(i int) cxaudit.Finding {
			id := strconv.Itoa(i % 400)
			rule := "r" + strconv.Itoa(i/400)
			mode := cxaudit.ModeEnforce
			if i%7 == 0 {
				mode = cxaudit.ModeObserve
			}
			return cxaudit.Finding{Fingerprint: cxaudit.Fingerprint(rule, cxaudit.EntityTicket, id), RuleID: rule, RuleVersion: "v", Title: "t",
				Category: cxaudit.CategoryBacklogAging, Severity: cxaudit.SeverityMedium, Mode: mode, EntityKind: cxaudit.EntityTicket,
				EntityID: id, Message: "m" + strconv.Itoa(i), Status: cxaudit.FindingOpen, OpenedAt: now, UpdatedAt: now,
				Actions: cxaudit.Actions{ZendeskNote: true, ZendeskTags: []string{"cxaudit_x"}}}
		}
		// An existing finding, written; the batch updates it.
		first := finding(3)
		for _, s := range []store.Store{one, many} {
			require.NoError(t, s.PutFinding(ctx, first))
			require.NoError(t, s.MarkWritten(ctx, []store.WrittenMark{store.MarkOf(first)}))
		}
		// More than one statement's worth, with fingerprints repeated: the
		// last one stored wins, as with PutFinding one after another.
		var batch []cxaudit.Finding
		for i := range 1300 {
			f := finding(i)
			if i == 3 {
				f = first
				f.Severity, f.WrittenStatus, f.WrittenHash = cxaudit.SeverityHigh, cxaudit.FindingOpen, first.ContentHash()
			}
			if i == 5 {
				f.Status, f.ResolvedAt, f.AcknowledgedAt, f.SnoozedUntil = cxaudit.FindingResolved, &now, &now, &now
			}
			batch = append(batch, f)
		}
		again := finding(10)
		again.Message = "the last one"
		batch = append(batch, again, finding(5))
		for _, f := range batch {
			require.NoError(t, one.PutFinding(ctx, f))
		}
		require.NoError(t, many.PutFindings(ctx, batch))
		require.NoError(t, many.PutFindings(ctx, nil))
		// In a transaction (PostgreSQL takes the batch by COPY there), over
		// findings stored before.
		require.NoError(t, inTx.PutFindings(ctx, batch[:700]))
		require.NoError(t, inTx.InTx(ctx, func(ctx context.Context, q store.Querier) error { return q.PutFindings(ctx, batch) }))
		want, err := one.ListFindings(ctx, store.FindingFilter{})
		require.NoError(t, err)
		got, err := many.ListFindings(ctx, store.FindingFilter{})
		require.NoError(t, err)
		require.Len(t, got, 1300)
		require.Equal(t, want, got)
		got, err = inTx.ListFindings(ctx, store.FindingFilter{})
		require.NoError(t, err)
		require.Equal(t, want, got)
		wantDirty, err := one.DirtyEntities(ctx, cxaudit.EntityTicket, "", 1000)
		require.NoError(t, err)
		gotDirty, err := many.DirtyEntities(ctx, cxaudit.EntityTicket, "", 1000)
		require.NoError(t, err)
		require.Equal(t, wantDirty, gotDirty)

		// In a transaction that rolls back, the batch stores nothing.
		bad := finding(2000)
		err = many.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			if err := q.PutFindings(ctx, []cxaudit.Finding{bad}); err != nil {
				return err
			}
			return errors.New("boom")
		})
		require.Error(t, err)
		none, err := many.FindingsForEntity(ctx, cxaudit.EntityTicket, bad.EntityID)
		require.NoError(t, err)
		for _, f := range none {
			require.NotEqual(t, bad.Fingerprint, f.Fingerprint)
		}
	})
}
