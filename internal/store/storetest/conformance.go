package storetest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

// Exercise runs the conformance suite against stores newStore opens. Every
// store implementation must pass it, on a real database.
func Exercise(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

	t.Run("CursorRoundTrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c, err := s.GetCursor(ctx, cxaudit.SourceZendesk, "tickets")
		require.NoError(t, err)
		require.Equal(t, store.Cursor{}, c, "an unknown cursor is the zero cursor")

		want := store.Cursor{Value: "abc", CompletedAt: now, UpdatedAt: now}
		require.NoError(t, s.PutCursor(ctx, cxaudit.SourceZendesk, "tickets", want))
		want.Value = "def"
		require.NoError(t, s.PutCursor(ctx, cxaudit.SourceZendesk, "tickets", want))
		got, err := s.GetCursor(ctx, cxaudit.SourceZendesk, "tickets")
		require.NoError(t, err)
		require.Equal(t, want, got)
	})

	t.Run("TxRollsBackRowsAndCursorTogether", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		boom := errors.New("boom")
		err := s.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			require.NoError(t, q.UpsertTickets(ctx, []cxaudit.Ticket{ticket(1, now)}))
			require.NoError(t, q.PutCursor(ctx, cxaudit.SourceZendesk, "tickets", store.Cursor{Value: "c1"}))
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = s.Ticket(ctx, 1)
		require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err))
		c, err := s.GetCursor(ctx, cxaudit.SourceZendesk, "tickets")
		require.NoError(t, err)
		require.Empty(t, c.Value)

		require.NoError(t, s.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			if err := q.UpsertTickets(ctx, []cxaudit.Ticket{ticket(1, now)}); err != nil {
				return err
			}
			return q.PutCursor(ctx, cxaudit.SourceZendesk, "tickets", store.Cursor{Value: "c1"})
		}))
		_, err = s.Ticket(ctx, 1)
		require.NoError(t, err)
	})

	t.Run("TicketUpsertKeepsComments", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tk := ticket(7, now)
		tk.Comments = []cxaudit.Comment{{ID: 1, AuthorID: 5, Public: true, Body: "hello", CreatedAt: now}}
		reply := int64(12)
		tk.Metrics = &cxaudit.TicketMetrics{ReplyTimeCalendarMinutes: &reply, Replies: 1}
		require.NoError(t, s.UpsertTickets(ctx, []cxaudit.Ticket{tk}))

		// A re-sync from the export carries no comments: the stored ones stay.
		tk2 := ticket(7, now.Add(time.Hour))
		tk2.Status = cxaudit.StatusPending
		tk2.Metrics = tk.Metrics
		require.NoError(t, s.UpsertTickets(ctx, []cxaudit.Ticket{tk2}))
		got, err := s.Ticket(ctx, 7)
		require.NoError(t, err)
		require.Equal(t, cxaudit.StatusPending, got.Status)
		require.Equal(t, tk.Comments, got.Comments)
		require.Equal(t, int64(12), *got.Metrics.ReplyTimeCalendarMinutes)
		require.True(t, got.UpdatedAt.Equal(now.Add(time.Hour)))

		require.NoError(t, s.PutComments(ctx, 7, nil))
		got, err = s.Ticket(ctx, 7)
		require.NoError(t, err)
		require.Empty(t, got.Comments)
		require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(s.PutComments(ctx, 99, nil)))

		n, err := s.CountTickets(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	})

	t.Run("OrganizationAccountLinks", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		byID := cxaudit.Organization{ID: 1, Name: "Acme", ExternalID: "001A", DomainNames: []string{"acme.example.com"}, UpdatedAt: now}
		byDomain := cxaudit.Organization{ID: 2, Name: "Blue", DomainNames: []string{"Blue.Example.com"}, UpdatedAt: now}
		unlinked := cxaudit.Organization{ID: 3, Name: "Lost", DomainNames: []string{"lost.example.net"}, UpdatedAt: now}
		require.NoError(t, s.UpsertOrganizations(ctx, []cxaudit.Organization{byID, byDomain, unlinked}))
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{
			{ID: "001A", Name: "Acme", Website: "https://www.acme.example.com", SystemModstamp: now},
			{ID: "001B", Name: "Blue", Website: "http://blue.example.com/home", SystemModstamp: now},
		}))
		require.NoError(t, s.UpsertContacts(ctx, []cxaudit.Contact{{ID: "003A1", AccountID: "001A", Name: "Ada", SystemModstamp: now}}))
		require.NoError(t, s.UpsertOpportunities(ctx, []cxaudit.Opportunity{{ID: "006A1", AccountID: "001A", Name: "Renewal", SystemModstamp: now}}))

		a, err := s.AccountForOrganization(ctx, byID)
		require.NoError(t, err)
		require.Equal(t, "001A", a.ID)
		require.Len(t, a.Contacts, 1)
		require.Len(t, a.Opportunities, 1)

		a, err = s.AccountForOrganization(ctx, byDomain)
		require.NoError(t, err)
		require.Equal(t, "001B", a.ID, "falls back to the website domain")

		_, err = s.AccountForOrganization(ctx, unlinked)
		require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err))

		o, err := s.OrganizationForAccount(ctx, cxaudit.Account{ID: "001A"})
		require.NoError(t, err)
		require.Equal(t, int64(1), o.ID)
		o, err = s.OrganizationForAccount(ctx, cxaudit.Account{ID: "001B", Website: "blue.example.com"})
		require.NoError(t, err)
		require.Equal(t, int64(2), o.ID)

		// Changing the account queues its organizations and their open tickets.
		open, solved := ticket(10, now), ticket(11, now)
		open.OrganizationID, solved.OrganizationID = 2, 2
		solved.Status = cxaudit.StatusSolved
		require.NoError(t, s.UpsertTickets(ctx, []cxaudit.Ticket{open, solved}))
		require.NoError(t, s.QueueAccountDependents(ctx, []string{"001B"}))
		batch, err := s.NextAuditBatch(ctx, 10)
		require.NoError(t, err)
		require.ElementsMatch(t, []store.EntityKey{{Kind: cxaudit.EntityOrganization, ID: "2"}, {Kind: cxaudit.EntityTicket, ID: "10"}}, keysOnly(batch))
	})

	t.Run("AuditQueue", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		open, solved := ticket(1, now), ticket(2, now)
		solved.Status = cxaudit.StatusSolved
		require.NoError(t, s.UpsertTickets(ctx, []cxaudit.Ticket{open, solved}))
		require.NoError(t, s.UpsertOrganizations(ctx, []cxaudit.Organization{{ID: 5, UpdatedAt: now}}))
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{{ID: "001X", SystemModstamp: now}}))

		keys, err := s.SweepKeys(ctx)
		require.NoError(t, err)
		require.ElementsMatch(t, []store.EntityKey{{Kind: cxaudit.EntityTicket, ID: "1"}, {Kind: cxaudit.EntityOrganization, ID: "5"},
			{Kind: cxaudit.EntityAccount, ID: "001X"}}, keys, "open ticket, organization, account")
		require.NoError(t, s.QueueAudit(ctx, keys))
		require.NoError(t, s.QueueAudit(ctx, []store.EntityKey{{Kind: cxaudit.EntityTicket, ID: "1"}, {Kind: cxaudit.EntityTicket, ID: "2"}}))
		batch, err := s.NextAuditBatch(ctx, 10)
		require.NoError(t, err)
		require.Len(t, batch, 4, "queueing twice keeps one entry")
		require.NoError(t, s.DoneAudit(ctx, batch[:3]))
		rest, err := s.NextAuditBatch(ctx, 10)
		require.NoError(t, err)
		require.Equal(t, batch[3:], rest)

		// An entry queued again after it was read survives DoneAudit: the
		// change that queued it is audited too.
		require.NoError(t, s.QueueAudit(ctx, keysOnly(rest)))
		require.NoError(t, s.DoneAudit(ctx, rest))
		again, err := s.NextAuditBatch(ctx, 10)
		require.NoError(t, err)
		require.Equal(t, keysOnly(rest), keysOnly(again))
	})

	t.Run("AuditQueueHold", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		held := []store.EntityKey{{Kind: cxaudit.EntityAccount, ID: "001H"}}
		free := []store.EntityKey{{Kind: cxaudit.EntityTicket, ID: "7"}}
		require.NoError(t, s.HoldAudit(ctx, held, time.Now().Add(time.Hour)))
		require.NoError(t, s.QueueAudit(ctx, free))
		require.NoError(t, s.QueueAudit(ctx, held), "queueing a held entry again keeps it held")
		batch, err := s.NextAuditBatch(ctx, 10)
		require.NoError(t, err)
		require.Equal(t, free, keysOnly(batch), "held entries wait")
		after, err := s.NextAuditBatchAfter(ctx, store.EntityKey{}, 10)
		require.NoError(t, err)
		require.Equal(t, free, keysOnly(after), "in every reader")
		require.NoError(t, s.ReleaseAudit(ctx))
		batch, err = s.NextAuditBatch(ctx, 10)
		require.NoError(t, err)
		require.ElementsMatch(t, append(held, free...), keysOnly(batch), "released")

		// A release of some kinds leaves the others held.
		acc := []store.EntityKey{{Kind: cxaudit.EntityAccount, ID: "001H"}}
		tk := []store.EntityKey{{Kind: cxaudit.EntityTicket, ID: "77"}}
		require.NoError(t, s.DoneAudit(ctx, batch))
		require.NoError(t, s.HoldAudit(ctx, append(slices.Clone(acc), tk...), time.Now().Add(time.Hour)))
		require.NoError(t, s.ReleaseAudit(ctx, cxaudit.EntityTicket, cxaudit.EntityOrganization))
		batch, err = s.NextAuditBatch(ctx, 10)
		require.NoError(t, err)
		require.Equal(t, tk, keysOnly(batch), "only the tickets are released")
		require.NoError(t, s.DoneAudit(ctx, batch))
		require.NoError(t, s.ReleaseAudit(ctx, cxaudit.EntityAccount))
		batch, err = s.NextAuditBatch(ctx, 10)
		require.NoError(t, err)
		require.Equal(t, acc, keysOnly(batch))
		require.NoError(t, s.DoneAudit(ctx, batch))

		// A hold lasts until its time at most: a pass that died releases nothing.
		expired := []store.EntityKey{{Kind: cxaudit.EntityAccount, ID: "001E"}}
		require.NoError(t, s.HoldAudit(ctx, expired, time.Now().Add(-time.Second)))
		batch, err = s.NextAuditBatch(ctx, 10)
		require.NoError(t, err)
		require.Contains(t, keysOnly(batch), expired[0])
	})

	t.Run("Quarantine", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		bad := cxaudit.Rejected{Object: "tickets", ID: "9", Reason: "updated_at: not a time", Raw: []byte("{\"id\":9,\"subject\":\"a\x00b \xff\"}")}
		require.NoError(t, s.Quarantine(ctx, cxaudit.SourceZendesk, []cxaudit.Rejected{bad}))
		require.NoError(t, s.Quarantine(ctx, cxaudit.SourceZendesk, []cxaudit.Rejected{bad}), "rejected again: one entry")
		require.NoError(t, s.Quarantine(ctx, cxaudit.SourceSalesforce, []cxaudit.Rejected{{Object: "Account", ID: "001Q", Reason: "r", Raw: []byte("{}")}}))
		list, err := s.ListQuarantine(ctx, 10)
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.Equal(t, cxaudit.SourceSalesforce, list[0].Source, "by source")
		z := list[1]
		require.Equal(t, "9", z.ID)
		require.Equal(t, 2, z.Attempts)
		require.False(t, z.FirstSeen.After(z.LastSeen))
		require.Contains(t, string(z.Raw), "subject", "a NUL or invalid UTF-8 in the record does not stop it being kept")
		counts, err := s.CountQuarantine(ctx)
		require.NoError(t, err)
		require.Equal(t, map[store.QuarantineKey]int{{Source: cxaudit.SourceZendesk, Object: "tickets"}: 1, {Source: cxaudit.SourceSalesforce, Object: "Account"}: 1}, counts)
		require.NoError(t, s.Unquarantine(ctx, cxaudit.SourceZendesk, "tickets", []string{"9", "10"}))
		require.NoError(t, s.Unquarantine(ctx, cxaudit.SourceZendesk, "tickets", nil))
		list, err = s.ListQuarantine(ctx, 10)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, "001Q", list[0].ID)
	})

	t.Run("AccountLinks", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{
			{ID: "001A", Name: "Acme Labs", Website: "https://www.acme.example.com", SystemModstamp: now},
			{ID: "001B", Name: "Acme Laboratories", Website: "acme.example.com", SystemModstamp: now},
			{ID: "001C", Name: "GLOBEX, Inc.", Website: "https://globex.example.com", SystemModstamp: now},
			{ID: "001D", Name: "Globex GmbH", Website: "https://globex.example.de", SystemModstamp: now},
			{ID: "001E", Name: "Initech", SystemModstamp: now},
		}))
		require.NoError(t, s.UpsertOrganizations(ctx, []cxaudit.Organization{
			{ID: 1, Name: "Acme", ExternalID: "001C", DomainNames: []string{"acme.example.com"}, UpdatedAt: now},
			{ID: 2, Name: "Globex EMEA", DomainNames: []string{"globex.example.com"}, UpdatedAt: now},
		}))
		a, err := s.Account(ctx, "001A")
		require.NoError(t, err)
		require.Equal(t, []cxaudit.AccountRef{{ID: "001B", Name: "Acme Laboratories", Domain: "acme.example.com", Match: "domain"}}, a.Duplicates)
		require.Equal(t, []cxaudit.AccountRef{{ID: "1", Name: "Acme", Match: "domain"}}, a.Organizations)
		c, err := s.Account(ctx, "001C")
		require.NoError(t, err)
		require.Equal(t, []cxaudit.AccountRef{{ID: "001D", Name: "Globex GmbH", Domain: "globex.example.de", Match: "name"}}, c.Duplicates)
		require.Equal(t, []cxaudit.AccountRef{{ID: "1", Name: "Acme", Match: "external_id"}, {ID: "2", Name: "Globex EMEA", Match: "domain"}}, c.Organizations)
		e, err := s.Account(ctx, "001E")
		require.NoError(t, err)
		require.Empty(t, e.Duplicates)
		require.Empty(t, e.Organizations)

		o, err := s.Organization(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, []cxaudit.AccountRef{
			{ID: "001C", Name: "GLOBEX, Inc.", Domain: "globex.example.com", Match: "external_id"},
			{ID: "001A", Name: "Acme Labs", Domain: "acme.example.com", Match: "domain"},
			{ID: "001B", Name: "Acme Laboratories", Domain: "acme.example.com", Match: "domain"},
		}, o.LinkedAccounts)
		orgs, err := s.OrganizationsByID(ctx, []int64{1, 2})
		require.NoError(t, err)
		require.Len(t, orgs[0].LinkedAccounts, 3, "the batch read finds the same")
		require.Equal(t, "001C", orgs[1].LinkedAccounts[0].ID)

		// Batch reads of accounts (through the organizations of tickets)
		// find the same duplicates.
		byOrg, err := s.AccountsForOrganizations(ctx, orgs)
		require.NoError(t, err)
		require.Equal(t, c.Duplicates, byOrg[1].Duplicates)
		require.Equal(t, c.Organizations, byOrg[1].Organizations)

		shared, err := s.AccountsSharingKeys(ctx, []string{"001A", "001D"})
		require.NoError(t, err)
		require.Equal(t, []string{"001B", "001C"}, shared)

		// A rename ends a name match; nothing of it is stored with the account.
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{{ID: "001D", Name: "Umbrella GmbH", Website: "https://globex.example.de", SystemModstamp: now, Duplicates: c.Duplicates}}))
		c, err = s.Account(ctx, "001C")
		require.NoError(t, err)
		require.Empty(t, c.Duplicates)
		d, err := s.Account(ctx, "001D")
		require.NoError(t, err)
		require.Empty(t, d.Duplicates)
		n, err := s.FillAccountKeys(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "every account stored now has its key")
	})

	t.Run("DeletionsAndAgents", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// More ids than one statement takes, so the batching is exercised.
		var tickets []cxaudit.Ticket
		var ids []int64
		for i := range 2500 {
			tickets = append(tickets, ticket(int64(i+1), now))
			ids = append(ids, int64(i+1))
		}
		require.NoError(t, s.UpsertTickets(ctx, tickets))
		require.NoError(t, s.DeleteTickets(ctx, ids[:2400]))
		n, err := s.CountTickets(ctx)
		require.NoError(t, err)
		require.Equal(t, 100, n)
		_, err = s.Ticket(ctx, 1)
		require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err))
		require.NoError(t, s.DeleteTickets(ctx, nil), "nothing to delete is no error")

		// An account goes with its contacts, opportunities, relations and Tasks.
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{{ID: "001D", Name: "Doomed", SystemModstamp: now}, {ID: "001K", Name: "Kept", SystemModstamp: now}}))
		require.NoError(t, s.UpsertContacts(ctx, []cxaudit.Contact{{ID: "003D", AccountID: "001D", Name: "C", SystemModstamp: now}, {ID: "003K", AccountID: "001K", Name: "K", SystemModstamp: now}}))
		require.NoError(t, s.UpsertOpportunities(ctx, []cxaudit.Opportunity{{ID: "006D", AccountID: "001D", Name: "O", SystemModstamp: now}}))
		require.NoError(t, s.UpsertTasks(ctx, []cxaudit.Task{{ID: "00TD", AccountID: "001D", WhatID: "001D", Subject: "Call", SystemModstamp: now},
			{ID: "00TK", AccountID: "001K", WhatID: "001K", Subject: "Call", SystemModstamp: now}, {ID: "00TC", AccountID: "001K", IsClosed: true, SystemModstamp: now}}))
		require.NoError(t, s.DeleteAccounts(ctx, []string{"001D"}))
		_, err = s.Account(ctx, "001D")
		require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err))
		kept, err := s.Account(ctx, "001K")
		require.NoError(t, err)
		require.Len(t, kept.Contacts, 1)
		require.Equal(t, []string{"00TK"}, []string{kept.OpenTasks[0].ID}, "a closed Task is not kept")
		require.NoError(t, s.DeleteTasks(ctx, []string{"00TK"}))
		kept, err = s.Account(ctx, "001K")
		require.NoError(t, err)
		require.Empty(t, kept.OpenTasks)

		// Agents and admins, not end users; a user who stops being an agent stops counting.
		require.NoError(t, s.UpsertUsers(ctx, []cxaudit.User{{ID: 1, Role: "agent", UpdatedAt: now}, {ID: 2, Role: "admin", UpdatedAt: now}, {ID: 3, Role: "end-user", UpdatedAt: now}}))
		agents, err := s.AgentIDs(ctx)
		require.NoError(t, err)
		require.Equal(t, map[int64]bool{1: true, 2: true}, agents)
		require.NoError(t, s.UpsertUsers(ctx, []cxaudit.User{{ID: 2, Role: "end-user", UpdatedAt: now}}))
		agents, err = s.AgentIDs(ctx)
		require.NoError(t, err)
		require.Equal(t, map[int64]bool{1: true}, agents)
	})

	t.Run("AuditQueueMany", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		// More than one statement's worth, each key twice: queued once.
		var keys []store.EntityKey
		for i := range 1200 {
			k := store.EntityKey{Kind: cxaudit.EntityTicket, ID: strconv.Itoa(i / 2)}
			if i%2 == 1 {
				k.Kind = cxaudit.EntityOrganization
			}
			keys = append(keys, k, k)
		}
		require.NoError(t, s.QueueAudit(ctx, keys))
		all, err := s.NextAuditBatch(ctx, 5000)
		require.NoError(t, err)
		require.Len(t, all, 1200)
		require.ElementsMatch(t, keysOnly(all), slices.Compact(keys))
	})

	t.Run("AuditQueuePages", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var keys []store.EntityKey
		for _, id := range []string{"1", "2", "10", "3"} {
			keys = append(keys, store.EntityKey{Kind: cxaudit.EntityTicket, ID: id})
		}
		require.NoError(t, s.QueueAudit(ctx, keys))
		require.NoError(t, s.QueueAudit(ctx, []store.EntityKey{{Kind: cxaudit.EntityAccount, ID: "001A"}}))
		all, err := s.NextAuditBatch(ctx, 10)
		require.NoError(t, err)
		require.Len(t, all, 5)
		var paged []store.EntityKey
		page, err := s.NextAuditBatch(ctx, 2)
		require.NoError(t, err)
		for len(page) > 0 {
			paged = append(paged, page...)
			page, err = s.NextAuditBatchAfter(ctx, page[len(page)-1], 2)
			require.NoError(t, err)
		}
		require.Equal(t, all, paged, "pages follow NextAuditBatch's order")
		// An entry queued again moves behind the cursor's position.
		require.NoError(t, s.QueueAudit(ctx, keysOnly(all[:1])))
		after, err := s.NextAuditBatchAfter(ctx, all[len(all)-1], 10)
		require.NoError(t, err)
		require.Equal(t, keysOnly(all[:1]), keysOnly(after))
	})

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

	t.Run("WriteLog", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		r, err := s.GetWriteLog(ctx, "zendesk:ticket:1")
		require.NoError(t, err)
		require.Empty(t, r.State)
		want := store.WriteRecord{Target: "zendesk:ticket:1", State: store.WritePending, Marker: "cxaudit:w:1", Payload: []byte(`{"a":1}`), UpdatedAt: now}
		require.NoError(t, s.PutWriteLog(ctx, want))
		got, err := s.GetWriteLog(ctx, "zendesk:ticket:1")
		require.NoError(t, err)
		require.JSONEq(t, `{"a":1}`, string(got.Payload))
		got.Payload = want.Payload
		require.Equal(t, want, got)

		require.NoError(t, s.RecordWrite(ctx, store.WriteEvent{System: cxaudit.SourceZendesk, Kind: store.WriteZendeskNote, Target: "t1", At: now}))
		require.NoError(t, s.RecordWrite(ctx, store.WriteEvent{System: cxaudit.SourceZendesk, Kind: store.WriteZendeskNote, Target: "t2", At: now}))
		counts, err := s.CountWrites(ctx, now)
		require.NoError(t, err)
		require.Equal(t, map[string]int{store.WriteZendeskNote: 2}, counts)
		counts, err = s.CountWrites(ctx, now.Add(time.Second))
		require.NoError(t, err)
		require.Empty(t, counts)
	})

	// PostgreSQL refuses U+0000 in TEXT and the escape \u0000 in JSONB; one
	// NUL in an e-mailed ticket blocked the Zendesk sync for ever. Both
	// stores keep such text with U+FFFD in place of each NUL, alike.
	t.Run("NULIsStoredAsReplacementCharacter", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		const nul, fffd = "bad\x00byte \x00", "bad\uFFFDbyte \uFFFD"
		nuls := func(s string) string { return strings.ReplaceAll(s, "\x00", "\uFFFD") }

		tk := ticket(1, now)
		tk.Subject, tk.Description, tk.Tags = "Subject "+nul, "Body "+nul, []string{"tag" + nul}
		tk.Comments = []cxaudit.Comment{{ID: 1, AuthorID: 5, Body: "comment " + nul, CreatedAt: now}}
		// Both ways tickets are stored: a page in a transaction (COPY on
		// PostgreSQL) and on their own.
		tk2 := tk
		tk2.ID = 2
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			return q.UpsertTickets(ctx, []cxaudit.Ticket{tk})
		}))
		require.NoError(t, s.UpsertTickets(ctx, []cxaudit.Ticket{tk2}))
		require.NoError(t, s.PutComments(ctx, 2, []cxaudit.Comment{{ID: 2, AuthorID: 5, Body: "later " + nul, CreatedAt: now}}))
		for _, id := range []int64{1, 2} {
			got, err := s.Ticket(ctx, id)
			require.NoError(t, err)
			require.Equal(t, "Subject "+fffd, got.Subject)
			require.Equal(t, "Body "+fffd, got.Description)
			require.Equal(t, []string{"tag" + fffd}, got.Tags)
			require.Len(t, got.Comments, 1)
			require.NotContains(t, got.Comments[0].Body, "\x00")
		}
		got, err := s.Ticket(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, "comment "+fffd, got.Comments[0].Body)
		got, err = s.Ticket(ctx, 2)
		require.NoError(t, err)
		require.Equal(t, "later "+fffd, got.Comments[0].Body)

		org := cxaudit.Organization{ID: 7, Name: "Org " + nul, ExternalID: "001N", DomainNames: []string{"nul.example.com"}, Tags: []string{nul}, UpdatedAt: now}
		require.NoError(t, s.UpsertOrganizations(ctx, []cxaudit.Organization{org}))
		require.NoError(t, s.UpsertUsers(ctx, []cxaudit.User{{ID: 8, Name: "User " + nul, Email: "u@example.com", Role: "agent", UpdatedAt: now}}))
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{{ID: "001N", Name: "Account " + nul, Website: "https://nul.example.com", Industry: nul, SystemModstamp: now}}))
		require.NoError(t, s.UpsertContacts(ctx, []cxaudit.Contact{{ID: "003N", AccountID: "001N", Name: "Contact " + nul, Title: nul, SystemModstamp: now}}))
		require.NoError(t, s.UpsertOpportunities(ctx, []cxaudit.Opportunity{{ID: "006N", AccountID: "001N", Name: "Opportunity " + nul, StageName: nul, SystemModstamp: now}}))
		o, err := s.Organization(ctx, 7)
		require.NoError(t, err)
		require.Equal(t, "Org "+fffd, o.Name)
		require.Equal(t, []string{fffd}, o.Tags)
		a, err := s.AccountForOrganization(ctx, o)
		require.NoError(t, err)
		require.Equal(t, "Account "+fffd, a.Name)
		require.Equal(t, fffd, a.Industry)
		require.Len(t, a.Contacts, 1)
		require.Equal(t, "Contact "+fffd, a.Contacts[0].Name)
		require.Equal(t, fffd, a.Contacts[0].Title)
		require.Len(t, a.Opportunities, 1)
		require.Equal(t, "Opportunity "+fffd, a.Opportunities[0].Name)
		require.Equal(t, fffd, a.Opportunities[0].StageName)

		// Findings quote what they found: one by one, and in a batch in a
		// transaction (COPY on PostgreSQL).
		f := cxaudit.Finding{
			Fingerprint: cxaudit.Fingerprint("r.nul", cxaudit.EntityTicket, "1"), RuleID: "r.nul", RuleVersion: "v1", Title: "Title " + nul,
			Category: cxaudit.CategoryBacklogAging, Severity: cxaudit.SeverityLow, Mode: cxaudit.ModeEnforce,
			EntityKind: cxaudit.EntityTicket, EntityID: "1", Message: "Subject " + nul + " is stale", Status: cxaudit.FindingOpen,
			OpenedAt: now, UpdatedAt: now, Actions: cxaudit.Actions{ZendeskNote: true, ZendeskTags: []string{"cxaudit_" + nul}},
		}
		batch := f
		batch.Fingerprint, batch.EntityID = cxaudit.Fingerprint("r.nul", cxaudit.EntityTicket, "2"), "2"
		require.NoError(t, s.PutFinding(ctx, f))
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			return q.PutFindings(ctx, []cxaudit.Finding{batch})
		}))
		for _, id := range []string{"1", "2"} {
			fs, err := s.FindingsForEntity(ctx, cxaudit.EntityTicket, id)
			require.NoError(t, err)
			require.Len(t, fs, 1)
			require.Equal(t, "Title "+fffd, fs[0].Title)
			require.Equal(t, "Subject "+fffd+" is stale", fs[0].Message)
			require.Equal(t, []string{"cxaudit_" + fffd}, fs[0].Actions.ZendeskTags)
		}

		// The write log's payload is a document too, and its marker text.
		rec := store.WriteRecord{Target: "zendesk:ticket:" + nul, State: store.WritePending, Marker: "cxaudit:" + nul,
			Payload: []byte(`{"subject":"a\u0000b","path":"C:\\u0000"}`), UpdatedAt: now}
		require.NoError(t, s.PutWriteLog(ctx, rec))
		wl, err := s.GetWriteLog(ctx, "zendesk:ticket:"+nul)
		require.NoError(t, err, "a lookup by the same key finds it")
		require.Equal(t, store.WritePending, wl.State)
		require.Equal(t, nuls(rec.Marker), wl.Marker)
		require.JSONEq(t, `{"subject":"a\ufffdb","path":"C:\\u0000"}`, string(wl.Payload),
			"an escaped backslash before u0000 is text, not a NUL")
		require.Equal(t, `{"subject":"a\u0000b","path":"C:\\u0000"}`, string(rec.Payload), "the caller's payload is not changed")

		require.NoError(t, s.PutCursor(ctx, cxaudit.SourceZendesk, "tickets", store.Cursor{Value: "c" + nul}))
		c, err := s.GetCursor(ctx, cxaudit.SourceZendesk, "tickets")
		require.NoError(t, err)
		require.Equal(t, "c"+fffd, c.Value)
	})

	t.Run("WorkerLeases", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		require.NoError(t, s.RenewLease(ctx, "worker_a", time.Minute))
		require.NoError(t, s.RenewLease(ctx, "worker_a", 2*time.Minute))
		n, err := s.RescueOrphanedJobs(ctx, "worker_a", time.Minute)
		require.NoError(t, err, "the rescue statement runs against River's schema")
		require.Zero(t, n)
		require.NoError(t, s.DropLease(ctx, "worker_a"))
	})

	t.Run("MigrateIsIdempotent", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		res, err := store.Migrate(ctx, s)
		require.NoError(t, err)
		require.Empty(t, res.App)
		require.Empty(t, res.River)
	})

	t.Run("BatchReadsMatchSingleReads", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		orgs := []cxaudit.Organization{
			{ID: 1, Name: "Acme", ExternalID: "001A", DomainNames: []string{"acme.example.com"}, UpdatedAt: now},
			{ID: 2, Name: "Blue", DomainNames: []string{"Blue.Example.com"}, UpdatedAt: now},
			{ID: 3, Name: "Lost", DomainNames: []string{"lost.example.net"}, UpdatedAt: now},
			{ID: 4, Name: "Stale link", ExternalID: "001GONE", DomainNames: []string{"acme.example.com"}, UpdatedAt: now},
		}
		require.NoError(t, s.UpsertOrganizations(ctx, orgs))
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{
			{ID: "001A", Name: "Acme", Website: "https://www.acme.example.com", SystemModstamp: now},
			{ID: "001B", Name: "Blue", Website: "http://blue.example.com/home", SystemModstamp: now},
		}))
		require.NoError(t, s.UpsertContacts(ctx, []cxaudit.Contact{
			{ID: "003A2", AccountID: "001A", Name: "Bo", SystemModstamp: now}, {ID: "003A1", AccountID: "001A", Name: "Ada", SystemModstamp: now},
		}))
		require.NoError(t, s.UpsertOpportunities(ctx, []cxaudit.Opportunity{{ID: "006B1", AccountID: "001B", Name: "Renewal", SystemModstamp: now}}))
		t1, t2, t3 := ticket(10, now), ticket(11, now), ticket(12, now)
		t1.OrganizationID, t3.Status = 1, cxaudit.StatusSolved
		t1.Comments = []cxaudit.Comment{{ID: 1, Body: "hi", CreatedAt: now}}
		require.NoError(t, s.UpsertTickets(ctx, []cxaudit.Ticket{t1, t2, t3}))

		ts, err := s.TicketsByID(ctx, []int64{12, 10, 99})
		require.NoError(t, err)
		require.Len(t, ts, 2, "missing ids are left out")
		for _, got := range ts {
			want, err := s.Ticket(ctx, got.ID)
			require.NoError(t, err)
			require.Equal(t, want, got)
		}
		gotOrgs, err := s.OrganizationsByID(ctx, []int64{3, 1, 2, 4, 99})
		require.NoError(t, err)
		require.Len(t, gotOrgs, 4)
		accs, err := s.AccountsForOrganizations(ctx, gotOrgs)
		require.NoError(t, err)
		for _, o := range gotOrgs {
			want, err := s.AccountForOrganization(ctx, o)
			got, ok := accs[o.ID]
			if cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND {
				require.False(t, ok, "organization %d", o.ID)
				continue
			}
			require.NoError(t, err)
			require.Equal(t, want, got, "organization %d", o.ID)
		}
		require.Equal(t, "001A", accs[4].ID, "a stale external_id falls back to the domain")

		f := cxaudit.Finding{Fingerprint: "fp1", RuleID: "r", RuleVersion: "v", Title: "t", Category: cxaudit.Categories[0],
			Severity: cxaudit.Severities[0], Mode: cxaudit.ModeEnforce, EntityKind: cxaudit.EntityTicket, EntityID: "10", Message: "m",
			Status: cxaudit.FindingOpen, OpenedAt: now, UpdatedAt: now}
		require.NoError(t, s.PutFinding(ctx, f))
		byEntity, err := s.FindingsForEntities(ctx, cxaudit.EntityTicket, []string{"10", "11"})
		require.NoError(t, err)
		want, err := s.FindingsForEntity(ctx, cxaudit.EntityTicket, "10")
		require.NoError(t, err)
		require.Equal(t, map[string][]cxaudit.Finding{"10": want}, byEntity)

		keys, err := s.SweepKeys(ctx)
		require.NoError(t, err)
		require.NoError(t, s.QueueAudit(ctx, keys))
		batch, err := s.NextAuditBatch(ctx, 100)
		require.NoError(t, err)
		require.ElementsMatch(t, keysOnly(batch), keys)
		// DoneAuditBatch, like DoneAudit, keeps entries queued again since.
		require.NoError(t, s.QueueAudit(ctx, keysOnly(batch[:1])))
		require.NoError(t, s.DoneAuditBatch(ctx, batch))
		rest, err := s.NextAuditBatch(ctx, 100)
		require.NoError(t, err)
		require.Equal(t, keysOnly(batch[:1]), keysOnly(rest))
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

	t.Run("TicketWindowsMatchSingleReads", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var ts []cxaudit.Ticket
		for i := range 30 {
			tk := ticket(int64(100+i), now.Add(-time.Duration(i)*24*time.Hour))
			tk.OrganizationID = int64(1 + i%3)
			tk.Comments = []cxaudit.Comment{{ID: int64(i + 1), Body: "c", CreatedAt: now}}
			ts = append(ts, tk)
		}
		require.NoError(t, s.UpsertTickets(ctx, ts))
		since := now.Add(-20 * 24 * time.Hour)
		got, err := s.TicketsForOrganizations(ctx, []int64{3, 1, 2, 9}, since, true)
		require.NoError(t, err)
		bare, err := s.TicketsForOrganizations(ctx, []int64{3, 1, 2, 9}, since, false)
		require.NoError(t, err)
		for _, org := range []int64{1, 2, 3, 9} {
			want, err := s.TicketsForOrganization(ctx, org, since)
			require.NoError(t, err)
			require.Equal(t, want, got[org], "organization %d", org)
			for i := range want {
				require.NotEmpty(t, want[i].Comments)
				want[i].Comments = nil
			}
			require.Equal(t, want, bare[org], "organization %d without comments", org)
		}
		_, ok := got[9]
		require.False(t, ok, "an organization with no tickets is missing")
		empty, err := s.TicketsForOrganizations(ctx, nil, since, true)
		require.NoError(t, err)
		require.Empty(t, empty)
	})
	t.Run("Sweep", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var ts []cxaudit.Ticket
		for i := range 7 {
			tk := ticket(int64(i+1), now)
			if i == 3 {
				tk.Status = cxaudit.StatusSolved
			}
			ts = append(ts, tk)
		}
		require.NoError(t, s.UpsertTickets(ctx, ts))
		require.NoError(t, s.UpsertOrganizations(ctx, []cxaudit.Organization{{ID: 9, UpdatedAt: now}, {ID: 10, UpdatedAt: now}}))
		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{{ID: "001B", SystemModstamp: now}, {ID: "001A", SystemModstamp: now}}))

		sw, err := s.GetSweep(ctx)
		require.NoError(t, err)
		require.Equal(t, store.Sweep{}, sw, "no sweep before one is asked for")
		require.NoError(t, s.RequestSweep(ctx))
		sw, err = s.GetSweep(ctx)
		require.NoError(t, err)
		require.Equal(t, store.Sweep{Due: true}, sw)

		// Open tickets by id, in pages; the solved one is left out.
		page, err := s.OpenTicketsAfter(ctx, 0, 3)
		require.NoError(t, err)
		require.Equal(t, []int64{1, 2, 3}, ticketIDs(page))
		want, err := s.Ticket(ctx, 2)
		require.NoError(t, err)
		require.Equal(t, want, page[1], "tickets come with what Ticket reads")
		page, err = s.OpenTicketsAfter(ctx, 3, 3)
		require.NoError(t, err)
		require.Equal(t, []int64{5, 6, 7}, ticketIDs(page))
		// Organizations numerically (10 after 9), accounts by id.
		orgs, err := s.SweepKeysAfter(ctx, cxaudit.EntityOrganization, "", 10)
		require.NoError(t, err)
		require.Equal(t, []store.EntityKey{{Kind: cxaudit.EntityOrganization, ID: "9"}, {Kind: cxaudit.EntityOrganization, ID: "10"}}, orgs)
		orgs, err = s.SweepKeysAfter(ctx, cxaudit.EntityOrganization, "9", 10)
		require.NoError(t, err)
		require.Equal(t, []store.EntityKey{{Kind: cxaudit.EntityOrganization, ID: "10"}}, orgs)
		accs, err := s.SweepKeysAfter(ctx, cxaudit.EntityAccount, "001A", 10)
		require.NoError(t, err)
		require.Equal(t, []store.EntityKey{{Kind: cxaudit.EntityAccount, ID: "001B"}}, accs)
		_, err = s.SweepKeysAfter(ctx, cxaudit.EntityOrganization, "x", 10)
		require.Equal(t, cxaudit.EINVALID, cxaudit.ErrorCode(err))

		// The position survives; a request made while the sweep runs is met
		// by it; finishing clears the position.
		pos := store.EntityKey{Kind: cxaudit.EntityOrganization, ID: "9"}
		require.NoError(t, s.SaveSweepPosition(ctx, pos))
		require.NoError(t, s.RequestSweep(ctx))
		sw, err = s.GetSweep(ctx)
		require.NoError(t, err)
		require.Equal(t, store.Sweep{Due: true, Position: pos}, sw)
		require.NoError(t, s.FinishSweep(ctx))
		sw, err = s.GetSweep(ctx)
		require.NoError(t, err)
		require.Equal(t, store.Sweep{}, sw)
		require.NoError(t, s.RequestSweep(ctx))
		sw, err = s.GetSweep(ctx)
		require.NoError(t, err)
		require.True(t, sw.Due, "a request right after a finish is not lost within the same millisecond")
	})

	t.Run("ReportReads", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		since := now.AddDate(0, 0, -7)
		old := now.AddDate(0, -2, 0)
		var tks []cxaudit.Ticket
		// 1: open, created long ago: measured (the backlog).
		tks = append(tks, ticket(1, old))
		// 2: solved long ago and not touched since: not measured.
		t2 := ticket(2, old)
		t2.Status = cxaudit.StatusSolved
		// 3: created long ago, solved within the period: measured.
		t3 := ticket(3, old)
		t3.Status, t3.UpdatedAt = cxaudit.StatusSolved, now.AddDate(0, 0, -1)
		// 4: closed, created within the period: measured.
		t4 := ticket(4, now.AddDate(0, 0, -2))
		t4.Status = cxaudit.StatusClosed
		tks = append(tks, t2, t3, t4, ticket(5, now))
		require.NoError(t, s.UpsertTickets(ctx, tks))
		require.NoError(t, s.PutComments(ctx, 3, []cxaudit.Comment{{ID: 9, AuthorID: 2, Public: true, Body: "fixed", CreatedAt: now, ByAgent: true}}))
		page, err := s.ReportTicketsAfter(ctx, since, 0, 2)
		require.NoError(t, err)
		require.Equal(t, []int64{1, 3}, ticketIDs(page))
		require.Len(t, page[1].Comments, 1, "with their comments")
		page, err = s.ReportTicketsAfter(ctx, since, 3, 2)
		require.NoError(t, err)
		require.Equal(t, []int64{4, 5}, ticketIDs(page))
		page, err = s.ReportTicketsAfter(ctx, since, 5, 2)
		require.NoError(t, err)
		require.Empty(t, page)

		require.NoError(t, s.UpsertOrganizations(ctx, []cxaudit.Organization{
			{ID: 30, Name: "c", UpdatedAt: now}, {ID: 10, Name: "a", UpdatedAt: now}, {ID: 20, Name: "b", ExternalID: "001B", UpdatedAt: now}}))
		orgs, err := s.OrganizationsAfter(ctx, 0, 2)
		require.NoError(t, err)
		require.Len(t, orgs, 2)
		require.Equal(t, []int64{10, 20}, []int64{orgs[0].ID, orgs[1].ID})
		orgs, err = s.OrganizationsAfter(ctx, 20, 2)
		require.NoError(t, err)
		require.Len(t, orgs, 1)
		require.Equal(t, int64(30), orgs[0].ID)

		require.NoError(t, s.UpsertAccounts(ctx, []cxaudit.Account{
			{ID: "001C", Name: "C", SystemModstamp: now}, {ID: "001A", Name: "A", SystemModstamp: now}, {ID: "001B", Name: "B", OwnerActive: true, SystemModstamp: now}}))
		require.NoError(t, s.UpsertContacts(ctx, []cxaudit.Contact{
			{ID: "003X", AccountID: "001B", Name: "X", SystemModstamp: now}, {ID: "003Y", AccountID: "001C", Name: "Y", SystemModstamp: now}}))
		require.NoError(t, s.UpsertContactRelations(ctx, []cxaudit.ContactRelation{
			{ID: "07kX", AccountID: "001B", ContactID: "003X", Roles: []string{"Executive Sponsor"}, IsActive: true, SystemModstamp: now}}))
		accs, err := s.AccountsAfter(ctx, "", 2)
		require.NoError(t, err)
		require.Len(t, accs, 2)
		require.Equal(t, []string{"001A", "001B"}, []string{accs[0].ID, accs[1].ID})
		require.Empty(t, accs[0].Contacts)
		require.Len(t, accs[1].Contacts, 1)
		require.Equal(t, []string{"Executive Sponsor"}, accs[1].Contacts[0].Roles, "with the roles of their relations")
		accs, err = s.AccountsAfter(ctx, "001B", 2)
		require.NoError(t, err)
		require.Len(t, accs, 1)
		require.Equal(t, "Y", accs[0].Contacts[0].Name)
	})

	t.Run("KPISnapshots", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		snaps := []store.KPISnapshot{
			{Day: "2026-11-01", KPI: "crm_owner_active", Numerator: 2, Denominator: 3, TakenAt: now},
			{Day: "2026-11-01", KPI: "first_response", Dimension: "priority", Key: "P1", Numerator: 4, Denominator: 6, TakenAt: now},
			{Day: "2026-11-02", KPI: "escalation_quality", Numerator: 8.7, Denominator: 2, TakenAt: now},
		}
		require.NoError(t, s.PutKPISnapshots(ctx, snaps))
		// A later snapshot of the same day replaces it.
		later := store.KPISnapshot{Day: "2026-11-01", KPI: "crm_owner_active", Numerator: 3, Denominator: 3, TakenAt: now.Add(time.Hour)}
		require.NoError(t, s.PutKPISnapshots(ctx, []store.KPISnapshot{later}))
		got, err := s.KPISnapshots(ctx, "2026-11-01", "2026-11-02")
		require.NoError(t, err)
		require.Equal(t, []store.KPISnapshot{later, snaps[1], snaps[2]}, got)
		got, err = s.KPISnapshots(ctx, "2026-11-02", "2026-11-30")
		require.NoError(t, err)
		require.Equal(t, []store.KPISnapshot{snaps[2]}, got)
	})
}

func ticketIDs(ts []cxaudit.Ticket) []int64 {
	out := make([]int64, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func ticket(id int64, at time.Time) cxaudit.Ticket {
	return cxaudit.Ticket{ID: id, Subject: "s", Status: cxaudit.StatusOpen, Priority: cxaudit.PriorityNormal, CreatedAt: at, UpdatedAt: at, Tags: []string{"x"}}
}

func keysOnly(keys []store.EntityKey) []store.EntityKey {
	out := make([]store.EntityKey, len(keys))
	for i, k := range keys {
		out[i] = store.EntityKey{Kind: k.Kind, ID: k.ID}
	}
	return out
}
