package syncer_test

import (
	"context"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/syncer"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// newSalesforceSync serves w from a simulator with small pages and returns
// it with a sync into st through the real client.
func newSalesforceSync(t *testing.T, w *simworld.World, st store.Store) (*salesforcetest.Sim, *syncer.Salesforce) {
	t.Helper()
	sim := salesforcetest.New(salesforcetest.Options{World: w, PageSize: 7, AccessToken: "tok"})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := salesforce.New(salesforce.Config{InstanceURL: srv.URL, AccessToken: "tok",
		HTTP: quickRetries})
	require.NoError(t, err)
	fm, err := rules.ParseFieldMap("fields.yaml", simworld.FieldMapYAML)
	require.NoError(t, err)
	return sim, &syncer.Salesforce{Client: c, Store: st, FieldMapFunc: func() *tenant.FieldMap { return fm }}
}

// TestSalesforceSyncUnderFaults syncs with each fault knob of the
// simulator on (and all together), on PostgreSQL and on SQLite, retrying
// the sync as a job would until it completes, while accounts are deleted;
// then compares the store with the org: every Account, Contact and
// Opportunity in its latest state, none missing, none extra, the deleted
// ones gone.
func TestSalesforceSyncUnderFaults(t *testing.T) {
	t.Parallel()
	knobs := map[string]salesforcetest.Faults{
		"concurrent-limit storms": {StormEvery: 12, StormLength: 2}, // a pass that finds nothing new is 10 requests: 5 objects (Tasks included) and their deletions
		"malformed JSON":          {MalformedRate: 0.3, Seed: 5},
		"truncated bodies":        {TruncateRate: 0.3, Seed: 6},
		"records repeated":        {RepeatRecords: true},
		"changes during backfill": {ChangeEvery: 2, Seed: 9},
		"all at once, with 5xx and latency": {StormEvery: 13, StormLength: 2, MalformedRate: 0.1, TruncateRate: 0.1,
			ErrorRate: 0.1, Latency: time.Millisecond, RepeatRecords: true, ChangeEvery: 3, Seed: 13},
	}
	for dbName, newStore := range storetest.Stores {
		for name, f := range knobs {
			t.Run(dbName+"/"+name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				w := simworld.Generate(simworld.Options{Seed: 31, Accounts: 25})
				sim, s := newSalesforceSync(t, w, newStore(t))
				sim.DeleteAccount(w.Accounts[0].ID) // before the backfill: never stored
				sim.SetFaults(f)
				late := w.Accounts[len(w.Accounts)-1].ID

				failures := 0
				deleted, done := false, false
				for range 2000 {
					_, err := s.Sync(ctx)
					if err != nil {
						failures++
						code := cxaudit.ErrorCode(err)
						require.Contains(t, []string{cxaudit.EUNAVAILABLE, cxaudit.ERATELIMITED}, code, "only transient failures: %v", err)
					}
					if _, serr := s.Store.Account(ctx, late); !deleted && serr == nil {
						// Deleted once a pass has stored it: a later pass
						// must remove it.
						sim.DeleteAccount(late)
						deleted = true
						continue
					}
					if err == nil && deleted {
						done = true
						break
					}
				}
				require.True(t, done, "the sync completes after the deletion")
				st := sim.Stats()
				switch {
				case f.StormEvery > 0:
					require.Positive(t, st.LimitExceeded, "the storms happened")
				case f.MalformedRate > 0:
					require.Positive(t, st.Malformed, "bodies were malformed")
				case f.TruncateRate > 0:
					require.Positive(t, st.Truncated, "bodies were truncated")
				case f.ChangeEvery > 0:
					require.Positive(t, st.Changes, "records changed")
				}
				if !reflect.DeepEqual(f, salesforcetest.Faults{RepeatRecords: true}) && f.ChangeEvery == 0 {
					require.Positive(t, failures, "the faults failed some passes")
				}
				sim.SetFaults(salesforcetest.Faults{}) // the org stops changing; one more pass picks up the last changes
				_, err := s.Sync(ctx)
				require.NoError(t, err)

				assertSalesforceStoreMatches(t, s.Store, sim, w)
				require.Len(t, sim.Accounts(), len(w.Accounts)-2, "two accounts deleted")
			})
		}
	}
}

// assertSalesforceStoreMatches compares every account of w, with its
// contacts and opportunities, in the store with the simulator's, and
// counts the rows: none stored twice or out of nowhere.
func assertSalesforceStoreMatches(t *testing.T, st store.Store, sim *salesforcetest.Sim, w *simworld.World) {
	t.Helper()
	ctx := context.Background()
	want := map[string]cxaudit.Account{}
	contacts, opps := 0, 0
	for _, a := range sim.Accounts() {
		want[a.ID] = a
		contacts += len(a.Contacts)
		opps += len(a.Opportunities)
	}
	for _, wa := range w.Accounts {
		got, err := st.Account(ctx, wa.ID)
		simA, ok := want[wa.ID]
		if !ok {
			require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err), "deleted account %s is gone: %v", wa.ID, err)
			continue
		}
		require.NoError(t, err, "account %s is in the store", wa.ID)
		require.Equal(t, utcAccount(simA), utcAccount(got), "account %s", wa.ID)
	}
	keys, err := st.SweepKeys(ctx)
	require.NoError(t, err)
	accounts := 0
	for _, k := range keys {
		if k.Kind == cxaudit.EntityAccount {
			accounts++
		}
	}
	require.Equal(t, len(want), accounts, "accounts stored")
	require.Equal(t, contacts, countRows(t, st, "salesforce_contact"), "contacts stored")
	require.Equal(t, opps, countRows(t, st, "salesforce_opportunity"), "opportunities stored")
}

// utcAccount is what an account in the store must equal in the org, as
// the simulator reports it: its domain fields (read from the org's own
// fields through the field map), every time in UTC, and the custom fields
// the simulator keeps in Raw.
func utcAccount(a cxaudit.Account) cxaudit.Account {
	// What the store finds beside an account (its duplicates, its
	// organizations) is not the account's own.
	a.Duplicates, a.Organizations = nil, nil
	utc := func(p *time.Time) *time.Time {
		if p == nil {
			return nil
		}
		u := p.UTC()
		return &u
	}
	custom := map[string]any{}
	for k, v := range a.Raw {
		if strings.HasSuffix(k, "__c") && k != simworld.RenewalDateField && k != simworld.HealthField && k != simworld.TierField {
			custom[k] = v
		}
	}
	a.Raw, a.Fields, a.IsCustomer = custom, nil, false
	a.SystemModstamp, a.RenewalDate = a.SystemModstamp.UTC(), utc(a.RenewalDate)
	a.Contacts = append([]cxaudit.Contact(nil), a.Contacts...)
	for i := range a.Contacts {
		c := &a.Contacts[i]
		c.SystemModstamp = c.SystemModstamp.UTC()
		c.Raw, c.Fields, c.Roles, c.Role = nil, nil, nil, ""
	}
	a.Opportunities = append([]cxaudit.Opportunity(nil), a.Opportunities...)
	for i := range a.Opportunities {
		o := &a.Opportunities[i]
		o.SystemModstamp, o.CloseDate = o.SystemModstamp.UTC(), utc(o.CloseDate)
		o.Raw, o.Fields, o.IsRenewal = nil, nil, false
	}
	return a
}

// countRows counts a table's rows; the store has no method for it.
func countRows(t *testing.T, st store.Store, table string) int {
	t.Helper()
	ctx := context.Background()
	var n int
	switch db := st.(type) {
	case *store.Postgres:
		require.NoError(t, db.Pool.QueryRow(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n))
	case *store.SQLite:
		require.NoError(t, db.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n))
	default:
		t.Fatalf("count rows of a %T", st)
	}
	return n
}

var salesforceCursors = []string{syncer.ObjectAccounts, syncer.ObjectContacts, syncer.ObjectOpportunities, syncer.ObjectAccountDeletions}

func salesforceCursorValues(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, o := range salesforceCursors {
		c, err := st.GetCursor(context.Background(), cxaudit.SourceSalesforce, o)
		require.NoError(t, err)
		out[o] = c.Value
	}
	return out
}

// TestSalesforceMalformedPageNeverAdvancesTheCursor spoils every body
// (malformed JSON, then truncated): each pass fails, as an outage, nothing
// is stored and no cursor moves. Then it spoils some bodies, so that
// passes fail midway: after each failure every record older than its
// object's cursor is stored in its latest state (no page was skipped).
// Once the bodies are whole, the sync completes from where it was.
func TestSalesforceMalformedPageNeverAdvancesTheCursor(t *testing.T) {
	t.Parallel()
	for dbName, newStore := range storetest.Stores {
		t.Run(dbName, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := simworld.Generate(simworld.Options{Seed: 32, Accounts: 20})
			st := newStore(t)
			sim, s := newSalesforceSync(t, w, st)
			_, err := s.Sync(ctx)
			require.NoError(t, err)
			before := salesforceCursorValues(t, st)
			for _, a := range w.Accounts[:15] {
				sim.UpdateAccount(a.ID, func(a *cxaudit.Account) { a.Health = "Red" })
			}

			for _, f := range []salesforcetest.Faults{{MalformedRate: 1}, {TruncateRate: 1}} {
				sim.SetFaults(f)
				for range 3 {
					_, err = s.Sync(ctx)
					require.Error(t, err)
					require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err), "a spoiled page is an error, never skipped: %v", err)
					require.Contains(t, err.Error(), "malformed page")
				}
				require.Equal(t, before, salesforceCursorValues(t, st), "no cursor moved")
				got, err := st.Account(ctx, w.Accounts[0].ID)
				require.NoError(t, err)
				require.NotEqual(t, "Red", got.Health, "nothing stored")
			}

			// Some pages spoiled: passes fail midway.
			sim.SetFaults(salesforcetest.Faults{MalformedRate: 0.25, TruncateRate: 0.25, Seed: 7})
			moved, done := false, false
			for range 2000 { // a pass is ten requests, each spoiled one time in two: about one pass in a thousand gets through
				if _, err = s.Sync(ctx); err == nil {
					done = true
					break
				}
				require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err), "%v", err)
				cur := salesforceCursorValues(t, st)
				moved = moved || cur[syncer.ObjectAccounts] != before[syncer.ObjectAccounts]
				assertStoredBeforeCursors(t, st, sim, cur)
			}
			require.True(t, done, "the sync completes")
			require.True(t, moved, "a pass failed after it stored a page")
			require.Positive(t, sim.Stats().Malformed)
			require.Positive(t, sim.Stats().Truncated)

			sim.SetFaults(salesforcetest.Faults{})
			_, err = s.Sync(ctx)
			require.NoError(t, err)
			assertSalesforceStoreMatches(t, st, sim, w)
			got, err := st.Account(ctx, w.Accounts[0].ID)
			require.NoError(t, err)
			require.Equal(t, "Red", got.Health)
		})
	}
}

// assertStoredBeforeCursors checks that every record with a SystemModstamp
// before its object's cursor is stored as the org has it now. (A record
// tied with the cursor may be on the page that failed.)
func assertStoredBeforeCursors(t *testing.T, st store.Store, sim *salesforcetest.Sim, cursors map[string]string) {
	t.Helper()
	at := func(object string) time.Time {
		c, err := time.Parse(time.RFC3339Nano, cursors[object])
		require.NoError(t, err)
		return c
	}
	accCur, conCur, oppCur := at(syncer.ObjectAccounts), at(syncer.ObjectContacts), at(syncer.ObjectOpportunities)
	for _, want := range sim.Accounts() {
		got, err := st.Account(context.Background(), want.ID)
		require.NoError(t, err)
		if want.SystemModstamp.Before(accCur) {
			require.Equal(t, want.Health, got.Health, "account %s, before the cursor %s", want.ID, accCur)
			require.True(t, want.SystemModstamp.Equal(got.SystemModstamp), "account %s", want.ID)
		}
		stored := map[string]time.Time{}
		for _, c := range got.Contacts {
			stored[c.ID] = c.SystemModstamp
		}
		for _, o := range got.Opportunities {
			stored[o.ID] = o.SystemModstamp
		}
		for _, c := range want.Contacts {
			if c.SystemModstamp.Before(conCur) {
				require.True(t, c.SystemModstamp.Equal(stored[c.ID]), "contact %s, before the cursor", c.ID)
			}
		}
		for _, o := range want.Opportunities {
			if o.SystemModstamp.Before(oppCur) {
				require.True(t, o.SystemModstamp.Equal(stored[o.ID]), "opportunity %s, before the cursor", o.ID)
			}
		}
	}
}
