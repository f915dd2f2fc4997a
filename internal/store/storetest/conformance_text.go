package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseText(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

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
}
