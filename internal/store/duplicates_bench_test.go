package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// BenchmarkDuplicateAccounts measures the duplicate-account index at a
// tenant of 30,000 accounts (2 % of them entered twice), on both stores:
//
//   - sync-baseline: a page of 2,000 changed accounts stored, nothing else.
//
//   - sync: the same page stored with the
//     lookups of the accounts sharing their keys before and after
//     (AccountsSharingKeys twice), as the sync does; reported as
//     µs/account.
//
//   - audit: reading 500 accounts with their duplicates and linked
//     organizations (AccountsForOrganizations, the batch read of a ticket
//     batch); µs/account.
//
//   - allpairs: the n² scan the index replaces, comparing the name keys of
//     every pair of the 30,000 in memory, for the ratio; s/scan.
//
//     go test ./internal/store -run '^$' -bench BenchmarkDuplicateAccounts -benchtime 3x
func BenchmarkDuplicateAccounts(b *testing.B) {
	const n = 30_000
	accounts := make([]cxaudit.Account, 0, n)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		name := fmt.Sprintf("Company %d Holdings", i)
		site := fmt.Sprintf("https://www.company%d.example.com", i)
		if i%50 == 49 { // a duplicate of the account before, under its legal form
			name = fmt.Sprintf("Company %d Holdings, Inc.", i-1)
		}
		accounts = append(accounts, cxaudit.Account{ID: fmt.Sprintf("001%015d", i), Name: name, Website: site, SystemModstamp: now})
	}
	for _, db := range []struct {
		name string
		open func(testing.TB) store.Store
	}{
		{"postgres", func(tb testing.TB) store.Store { return storetest.NewPostgres(tb) }},
		{"sqlite", func(tb testing.TB) store.Store { return storetest.NewSQLite(tb) }},
	} {
		ctx := context.Background()
		st := db.open(b)
		for start := 0; start < n; start += 2000 {
			require.NoError(b, st.InTx(ctx, func(ctx context.Context, q store.Querier) error {
				return q.UpsertAccounts(ctx, accounts[start:start+2000])
			}))
		}
		orgs := make([]cxaudit.Organization, 500)
		for i := range orgs {
			orgs[i] = cxaudit.Organization{ID: int64(i + 1), Name: accounts[i*50].Name, ExternalID: accounts[i*50].ID, UpdatedAt: now}
		}
		require.NoError(b, st.UpsertOrganizations(ctx, orgs))

		b.Run(db.name+"/sync-baseline", func(b *testing.B) { // the same page stored without the lookups
			page := accounts[10_049:12_049]
			for b.Loop() {
				require.NoError(b, st.InTx(ctx, func(ctx context.Context, q store.Querier) error { return q.UpsertAccounts(ctx, page) }))
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(page)), "µs/account")
		})
		b.Run(db.name+"/sync", func(b *testing.B) {
			page := accounts[10_049:12_049] // splits two duplicate pairs
			for b.Loop() {
				require.NoError(b, st.InTx(ctx, func(ctx context.Context, q store.Querier) error {
					ids := make([]string, len(page))
					for i := range page {
						ids[i] = page[i].ID
					}
					if _, err := q.AccountsSharingKeys(ctx, ids); err != nil {
						return err
					}
					if err := q.UpsertAccounts(ctx, page); err != nil {
						return err
					}
					shared, err := q.AccountsSharingKeys(ctx, ids)
					if len(shared) != 2 {
						return fmt.Errorf("%d accounts outside the page share keys with it, want 2", len(shared))
					}
					return err
				}))
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(page)), "µs/account")
		})
		b.Run(db.name+"/audit", func(b *testing.B) {
			for b.Loop() {
				byOrg, err := st.AccountsForOrganizations(ctx, orgs)
				require.NoError(b, err)
				require.Len(b, byOrg, len(orgs))
				require.Len(b, byOrg[1].Duplicates, 0)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(orgs)), "µs/account")
		})
	}
	b.Run("allpairs", func(b *testing.B) {
		keys := make([]string, n)
		for i := range accounts {
			keys[i] = cxaudit.NameKey(accounts[i].Name)
		}
		for b.Loop() {
			pairs := 0
			for i := range keys {
				for j := i + 1; j < n; j++ {
					if keys[i] == keys[j] {
						pairs++
					}
				}
			}
			if pairs != n/50 {
				b.Fatalf("%d pairs, want %d", pairs, n/50)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/scan")
	})
}
