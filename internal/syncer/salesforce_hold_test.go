package syncer_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// TestSalesforceAccountsWaitForTheirPass looks at the audit queue after
// every page a Salesforce pass commits, on both stores: no account may be
// handed to an audit before the pass has read the contacts and
// opportunities that follow the accounts (an audit in between saw a
// healthy account without contacts, created a Task and completed it
// seconds later). Once the pass ends every account it read is queued.
func TestSalesforceAccountsWaitForTheirPass(t *testing.T) {
	t.Parallel()
	for dbName, newStore := range storetest.Stores {
		t.Run(dbName, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := newStore(t)
			w := simworld.Generate(simworld.Options{Seed: 32, Accounts: 20})
			_, s := newSalesforceSync(t, w, st)
			pages := 0
			s.ObserveFunc = func(object string, _ int) {
				pages++
				batch, err := st.NextAuditBatch(ctx, 1000)
				require.NoError(t, err)
				for _, e := range batch {
					require.NotEqual(t, cxaudit.EntityAccount, e.Key.Kind, "account %s is auditable after a page of %s, before its pass ended", e.Key.ID, object)
				}
			}
			_, err := s.Sync(ctx)
			require.NoError(t, err)
			require.Greater(t, pages, 3, "several pages")
			require.Equal(t, len(w.Accounts), auditable(t, st, cxaudit.EntityAccount), "every account read is queued once the pass ends")
		})
	}
}

// auditable counts the entities of kind an audit may take from the queue
// now (held ones are not).
func auditable(t *testing.T, st store.Store, kind cxaudit.EntityKind) int {
	t.Helper()
	batch, err := st.NextAuditBatch(context.Background(), 100_000)
	require.NoError(t, err)
	n := 0
	for _, e := range batch {
		if e.Key.Kind == kind {
			n++
		}
	}
	return n
}
