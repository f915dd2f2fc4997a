package storetest

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseQueue(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

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
		after, err := s.NextAuditBatchAfter(ctx, store.QueueEntry{}, 10)
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
		var paged []store.QueueEntry
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
}
