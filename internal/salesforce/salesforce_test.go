package salesforce_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

const testToken = "00Dxx0000001gPL!AR8AQJXg5oH.secret-session-token"

var worldNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// stdlog captures the standard logger for the whole run: simpleforce logs
// there, and nothing of it may get through.
var stdlog = &apptest.SyncBuffer{}

func TestMain(m *testing.M) {
	log.SetOutput(stdlog)
	code := m.Run()
	if out := stdlog.String(); strings.Contains(out, "[simpleforce]") || strings.Contains(out, testToken) {
		fmt.Fprintf(os.Stderr, "simpleforce leaked into the standard logger:\n%s", out)
		code = 1
	}
	os.Exit(code)
}

type testBundle struct {
	client *salesforce.Client
	sim    *salesforcetest.Sim
	world  *simworld.World
	logs   *apptest.SyncBuffer
	url    string
}

func setup(t *testing.T, opts salesforcetest.Options) *testBundle {
	t.Helper()
	w := simworld.Generate(simworld.Options{Seed: 11, Accounts: 60, Now: worldNow})
	opts.World = w
	if opts.AccessToken == "" {
		opts.AccessToken = testToken
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return worldNow }
	}
	sim, srv := salesforcetest.NewServer(opts)
	t.Cleanup(srv.Close)
	logs := &apptest.SyncBuffer{}
	client, err := salesforce.New(salesforce.Config{
		InstanceURL: srv.URL,
		AccessToken: testToken,
		Logger:      slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTP:        remote.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NotContains(t, logs.String(), testToken) })
	return &testBundle{client: client, sim: sim, world: w, logs: logs, url: srv.URL}
}

// tenant describes the org and resolves the simulated tenant's field map
// against it, as the sync does.
func (b *testBundle) tenant(t *testing.T) (*tenant.SalesforceSchema, *tenant.Tenant) {
	t.Helper()
	schema, err := b.client.Describe(context.Background())
	require.NoError(t, err)
	fm, err := rules.ParseFieldMap("fields.yaml", simworld.FieldMapYAML)
	require.NoError(t, err)
	return schema, tenant.Resolve(fm, schema, nil)
}

// allAccounts reads every account modified since, with every field the
// org has, typed as the sync types them.
func allAccounts(t *testing.T, b *testBundle, since time.Time) ([]cxaudit.Account, int) {
	t.Helper()
	schema, tn := b.tenant(t)
	fields, full := salesforce.SelectFields(schema.Objects["Account"], nil)
	require.True(t, full)
	var got []cxaudit.Account
	pages := 0
	err := b.client.Accounts(context.Background(), since, fields, func(page []cxaudit.Account, _ []cxaudit.Rejected) error {
		pages++
		for i := range page {
			tn.Account(&page[i])
		}
		got = append(got, page...)
		return nil
	})
	require.NoError(t, err)
	return got, pages
}

// domainOf is what an account read from the org must equal in the World:
// its domain fields, and the custom fields the World keeps in Raw.
func domainOf(a cxaudit.Account) cxaudit.Account {
	custom := map[string]any{}
	for k, v := range a.Raw {
		if strings.HasSuffix(k, "__c") && k != simworld.RenewalDateField && k != simworld.HealthField && k != simworld.TierField {
			custom[k] = v
		}
	}
	a.Raw, a.Fields, a.IsCustomer, a.Contacts, a.Opportunities = custom, nil, false, nil, nil
	return a
}

func TestAccountsPagesThroughEveryAccount(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{PageSize: 7})

	_, _, ok := b.client.Limits()
	require.False(t, ok)

	got, pages := allAccounts(t, b, time.Time{})
	require.Equal(t, 9, pages) // 60 accounts, 7 a page
	require.Len(t, got, len(b.world.Accounts))

	byID := map[string]cxaudit.Account{}
	for i, a := range got {
		_, dup := byID[a.ID]
		require.False(t, dup, "account %s twice", a.ID)
		byID[a.ID] = a
		if i > 0 {
			prev := got[i-1]
			require.False(t, a.SystemModstamp.Before(prev.SystemModstamp), "not in SystemModstamp order")
		}
	}
	for _, want := range b.world.Accounts {
		require.Equal(t, domainOf(want), domainOf(byID[want.ID]))
		require.True(t, byID[want.ID].IsCustomer, "Customer - Direct and - Channel are customers")
	}
	require.Equal(t, b.world.Accounts[0].Raw["ARR__c"], byID[b.world.Accounts[0].ID].Fields["ARR__c"], "custom fields typed for rules")

	used, limit, ok := b.client.Limits()
	require.True(t, ok)
	require.Equal(t, 9+7, used, "9 pages, 5 describes and the Task status and priority queries")
	require.Equal(t, 100000, limit)
}

func TestAccountsSince(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{PageSize: 5})

	stamps := make([]time.Time, 0, len(b.world.Accounts))
	for _, a := range b.world.Accounts {
		stamps = append(stamps, a.SystemModstamp)
	}
	slices.SortFunc(stamps, time.Time.Compare)
	since := stamps[len(stamps)-12]

	got, _ := allAccounts(t, b, since)
	require.Len(t, got, 12)
	for _, a := range got {
		require.False(t, a.SystemModstamp.Before(since))
	}

	// A user edit moves the account past any cursor.
	id := simworld.AccountID(3)
	b.sim.UpdateAccount(id, func(a *cxaudit.Account) { a.Health = "Red" })
	got, _ = allAccounts(t, b, worldNow)
	require.Len(t, got, 1)
	require.Equal(t, id, got[0].ID)
	require.Equal(t, "Red", got[0].Health)

	// An error from fn stops the read and comes back as is.
	errStop := errors.New("stop")
	before := b.sim.Stats().Requests
	err := b.client.Accounts(context.Background(), time.Time{}, nil, func([]cxaudit.Account, []cxaudit.Rejected) error { return errStop })
	require.ErrorIs(t, err, errStop)
	require.Equal(t, before+1, b.sim.Stats().Requests)
}

func TestContactsAndOpportunities(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{PageSize: 25})

	var wantContacts, wantOpps int
	for _, a := range b.world.Accounts {
		wantContacts += len(a.Contacts)
		wantOpps += len(a.Opportunities)
	}
	schema, tn := b.tenant(t)
	fields, _ := salesforce.SelectFields(schema.Objects["Contact"], nil)
	var contacts []cxaudit.Contact
	require.NoError(t, b.client.Contacts(context.Background(), time.Time{}, fields, func(p []cxaudit.Contact, _ []cxaudit.Rejected) error {
		contacts = append(contacts, p...)
		return nil
	}))
	require.Len(t, contacts, wantContacts)
	fields, _ = salesforce.SelectFields(schema.Objects["Opportunity"], nil)
	var opps []cxaudit.Opportunity
	require.NoError(t, b.client.Opportunities(context.Background(), time.Time{}, fields, func(p []cxaudit.Opportunity, _ []cxaudit.Rejected) error {
		for i := range p {
			tn.Opportunity(&p[i])
		}
		opps = append(opps, p...)
		return nil
	}))
	require.Len(t, opps, wantOpps)
	var rels []cxaudit.ContactRelation
	require.NoError(t, b.client.ContactRelations(context.Background(), time.Time{}, func(p []cxaudit.ContactRelation, _ []cxaudit.Rejected) error {
		rels = append(rels, p...)
		return nil
	}))
	require.Len(t, rels, wantContacts, "one direct relation per contact")

	for _, a := range b.world.Accounts {
		for _, want := range a.Opportunities {
			i := slices.IndexFunc(opps, func(o cxaudit.Opportunity) bool { return o.ID == want.ID })
			got := opps[i]
			require.Equal(t, want.IsRenewal || want.Type == simworld.RenewalOpportunityType, got.IsRenewal,
				"the field map names the org's renewal type")
			got.Raw, got.Fields, got.IsRenewal = nil, nil, false
			require.Equal(t, want, got)
		}
		for _, want := range a.Contacts {
			i := slices.IndexFunc(rels, func(r cxaudit.ContactRelation) bool { return r.ContactID == want.ID })
			require.Equal(t, want.Roles, rels[i].Roles)
			require.Equal(t, a.ID, rels[i].AccountID)
		}
	}
}

// findingTasks builds n tasks on the world's accounts, each with a marker
// in its subject.
func findingTasks(w *simworld.World, n int) []cxaudit.Task {
	var active []string
	for _, u := range w.SalesforceUsers {
		if u.IsActive {
			active = append(active, u.ID)
		}
	}
	due := worldNow.AddDate(0, 0, 7).Truncate(24 * time.Hour)
	tasks := make([]cxaudit.Task, n)
	for i := range tasks {
		tasks[i] = cxaudit.Task{
			WhatID: w.Accounts[i%len(w.Accounts)].ID, OwnerID: active[i%len(active)],
			Subject:     fmt.Sprintf("[cxaudit:%016x] Renewal date missing", i),
			Description: "The account has no renewal date.", Priority: "High", ActivityDate: &due,
		}
	}
	return tasks
}

func TestCreateAndUpdateTasks(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{})
	ctx := context.Background()

	tasks := findingTasks(b.world, 450)
	var inactive string
	for _, u := range b.world.SalesforceUsers {
		if !u.IsActive {
			inactive = u.ID
		}
	}
	tasks[201].OwnerID = inactive

	res, err := b.client.CreateTasks(ctx, tasks)
	require.NoError(t, err)
	require.Len(t, res, 450)
	require.Equal(t, 3, b.sim.Stats().CompositeCalls) // 200 + 200 + 50
	require.Equal(t, "00T000000000000001", res[0].ID)
	require.Equal(t, cxaudit.EINVALID, cxaudit.ErrorCode(res[201].Err))
	require.Contains(t, res[201].Err.Error(), "INACTIVE_OWNER_OR_USER")
	require.Empty(t, res[201].ID)
	for i, r := range res {
		if i != 201 {
			require.NoError(t, r.Err)
			require.NotEmpty(t, r.ID)
		}
	}
	created := b.sim.Tasks()
	require.Len(t, created, 449)
	require.Equal(t, tasks[0].Subject, created[0].Subject)
	require.Equal(t, "Not Started", created[0].Status)
	require.Equal(t, tasks[0].ActivityDate.Format(time.DateOnly), created[0].ActivityDate.Format(time.DateOnly))

	// Complete two, by Id; one Id is unknown.
	upd, err := b.client.UpdateTasks(ctx, []cxaudit.Task{
		{ID: res[0].ID, Status: "Completed"},
		{ID: "00T999999999999999", Status: "Completed"},
		{Status: "Completed"},
		{ID: res[5].ID, Status: "Completed", Description: "Cleared."},
	})
	require.NoError(t, err)
	require.Equal(t, res[0].ID, upd[0].ID)
	require.NoError(t, upd[0].Err)
	require.Equal(t, cxaudit.EINVALID, cxaudit.ErrorCode(upd[1].Err))
	require.Equal(t, cxaudit.EINVALID, cxaudit.ErrorCode(upd[2].Err))
	require.NoError(t, upd[3].Err)
	require.Equal(t, 4, b.sim.Stats().CompositeCalls)

	found, err := b.client.FindTasks(ctx, []salesforce.TaskRef{
		{WhatID: tasks[0].WhatID, SubjectPrefix: "[cxaudit:0000000000000000]"},
		{WhatID: tasks[5].WhatID, SubjectPrefix: "[cxaudit:0000000000000005]"},
		{WhatID: tasks[0].WhatID, SubjectPrefix: "no-such-marker"},
		{WhatID: tasks[0].WhatID, SubjectPrefix: "[cxaudit:0000000000000001]"}, // on another account
		{WhatID: tasks[0].WhatID, SubjectPrefix: "Renewal date"},               // not how it starts
	})
	require.NoError(t, err)
	require.Len(t, found, 2)
	require.Equal(t, "Completed", found[0].Status)
	require.Equal(t, "Cleared.", found[1].Description)
	require.Equal(t, "High", found[1].Priority)
}

func TestFindTasksSplitsLongMarkerLists(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{})
	ctx := context.Background()

	tasks := findingTasks(b.world, 300)
	_, err := b.client.CreateTasks(ctx, tasks)
	require.NoError(t, err)

	markers := make([]salesforce.TaskRef, 0, len(tasks))
	for i := range tasks {
		markers = append(markers, salesforce.TaskRef{WhatID: tasks[i].WhatID, SubjectPrefix: fmt.Sprintf("[cxaudit:%016x]", i)})
	}
	before := b.sim.Stats().ByEndpoint["GET /query"]
	found, err := b.client.FindTasks(ctx, markers)
	require.NoError(t, err)
	require.Len(t, found, 300)
	require.Greater(t, b.sim.Stats().ByEndpoint["GET /query"]-before, 1)

	found, err = b.client.FindTasks(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, found)
}

func TestFindTasksMatchesMarkersLiterally(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{})
	ctx := context.Background()

	_, err := b.client.CreateTasks(ctx, []cxaudit.Task{
		{WhatID: b.world.Accounts[0].ID, Subject: `50% off_it's \ done`},
		{WhatID: b.world.Accounts[0].ID, Subject: "500 offXit"},
	})
	require.NoError(t, err)
	for prefix, want := range map[string]int{`50% off_it's \`: 1, "50% off": 1, "50%": 1, "50_": 0, "5": 2, "0%": 0} {
		found, err := b.client.FindTasks(ctx, []salesforce.TaskRef{{WhatID: b.world.Accounts[0].ID, SubjectPrefix: prefix}})
		require.NoError(t, err)
		require.Len(t, found, want, prefix)
	}
}

func TestCreateNotRetriedOn5xx(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{})
	ctx := context.Background()

	tasks := findingTasks(b.world, 3)
	b.sim.FailNext(1, http.StatusInternalServerError)
	res, err := b.client.CreateTasks(ctx, tasks)
	require.Error(t, err)
	require.Empty(t, res)
	require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
	require.Equal(t, 1, b.sim.Stats().ByEndpoint["POST /composite/sobjects"], "a write must not be retried blindly")

	// The write happened before the response was lost: reconcile.
	found, err := b.client.FindTasks(ctx, []salesforce.TaskRef{{WhatID: tasks[1].WhatID, SubjectPrefix: "[cxaudit:0000000000000001]"}})
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Equal(t, tasks[1].Subject, found[0].Subject)
}

func TestReadsRetriedOn5xx(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{})

	b.sim.FailNext(2, http.StatusServiceUnavailable)
	got, _ := allAccounts(t, b, time.Time{})
	require.Len(t, got, len(b.world.Accounts))
	require.Equal(t, 3, b.sim.Stats().ByEndpoint["GET /query"])
}

func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	noop := func([]cxaudit.Account, []cxaudit.Rejected) error { return nil }

	t.Run("Unauthorized", func(t *testing.T) {
		t.Parallel()
		b := setup(t, salesforcetest.Options{AccessToken: "another-token"})
		err := b.client.Accounts(ctx, time.Time{}, nil, noop)
		require.Equal(t, cxaudit.EUNAUTHORIZED, cxaudit.ErrorCode(err))
		require.Contains(t, err.Error(), "INVALID_SESSION_ID")
		require.NotContains(t, err.Error(), testToken)
	})

	t.Run("DailyLimit", func(t *testing.T) {
		t.Parallel()
		b := setup(t, salesforcetest.Options{DailyLimit: 2, PageSize: 10})
		err := b.client.Accounts(ctx, time.Time{}, nil, noop)
		var rl *cxaudit.RateLimitError
		require.ErrorAs(t, err, &rl)
		require.Equal(t, time.Hour, rl.RetryAfter)
		require.Equal(t, cxaudit.SourceSalesforce, rl.Source)
		require.Equal(t, cxaudit.ERATELIMITED, cxaudit.ErrorCode(err))
		used, limit, ok := b.client.Limits()
		require.True(t, ok)
		require.Equal(t, 3, used)
		require.Equal(t, 2, limit)
		require.Equal(t, 1, b.sim.Stats().LimitExceeded)
	})

	t.Run("MalformedPage", func(t *testing.T) {
		t.Parallel()
		b := setup(t, salesforcetest.Options{})
		b.sim.SetFaults(salesforcetest.Faults{MalformedRate: 1, Seed: 3})
		called := false
		err := b.client.Accounts(ctx, time.Time{}, nil, func([]cxaudit.Account, []cxaudit.Rejected) error { called = true; return nil })
		require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
		require.Contains(t, err.Error(), "malformed page")
		require.False(t, called)

		_, err = b.client.CreateTasks(ctx, findingTasks(b.world, 1))
		require.Contains(t, err.Error(), "malformed page")
	})

	t.Run("Canceled", func(t *testing.T) {
		t.Parallel()
		b := setup(t, salesforcetest.Options{})
		b.sim.SetFaults(salesforcetest.Faults{Latency: 5 * time.Second})
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := b.client.Accounts(ctx, time.Time{}, nil, noop)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
		require.Less(t, time.Since(start), 2*time.Second)
	})

	t.Run("Unreachable", func(t *testing.T) {
		t.Parallel()
		c, err := salesforce.New(salesforce.Config{InstanceURL: "http://127.0.0.1:1", AccessToken: testToken,
			HTTP: remote.Options{RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond}})
		require.NoError(t, err)
		err = c.Accounts(ctx, time.Time{}, nil, noop)
		require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
		require.NotContains(t, err.Error(), testToken)
	})
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg     salesforce.Config
		wantErr string
	}{
		{salesforce.Config{AccessToken: "x"}, "Config.InstanceURL is required"},
		{salesforce.Config{InstanceURL: "acme.my.salesforce.com", AccessToken: "x"}, "is not an http(s) URL"},
		{salesforce.Config{InstanceURL: "https://acme.my.salesforce.com"}, "Config.AccessToken or Config.JWT is required"},
		{salesforce.Config{InstanceURL: "https://acme.my.salesforce.com", AccessToken: "x", APIVersion: "latest"}, "Config.APIVersion"},
		{salesforce.Config{InstanceURL: "https://acme.my.salesforce.com", AccessToken: "x", APIVersion: "v60.0"}, ""},
	} {
		_, err := salesforce.New(tt.cfg)
		if tt.wantErr == "" {
			require.NoError(t, err)
			continue
		}
		require.ErrorContains(t, err, tt.wantErr)
		require.Equal(t, cxaudit.EINVALID, cxaudit.ErrorCode(err))
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{PageSize: 9})
	b.sim.SetFaults(salesforcetest.Faults{ErrorRate: 0.05, Seed: 42})
	ctx := context.Background()

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				switch (g + i) % 4 {
				case 0:
					_ = b.client.Accounts(ctx, time.Time{}, nil, func([]cxaudit.Account, []cxaudit.Rejected) error { return nil })
				case 1:
					_, _ = b.client.CreateTasks(ctx, []cxaudit.Task{{WhatID: b.world.Accounts[g].ID,
						Subject: fmt.Sprintf("[cxaudit:g%di%d]", g, i)}})
				case 2:
					_, _ = b.client.FindTasks(ctx, []salesforce.TaskRef{{WhatID: b.world.Accounts[g].ID, SubjectPrefix: fmt.Sprintf("[cxaudit:g%d", g)}})
				case 3:
					_ = b.client.Contacts(ctx, time.Time{}, nil, func([]cxaudit.Contact, []cxaudit.Rejected) error { return nil })
				}
				b.client.Limits()
			}
		})
	}
	wg.Wait()
	used, _, ok := b.client.Limits()
	require.True(t, ok)
	require.Positive(t, used)
}

func TestNoTokenInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{DailyLimit: 12})
	ctx := context.Background()

	var errs []error
	b.sim.FailNext(1, http.StatusInternalServerError)
	_, err := b.client.CreateTasks(ctx, findingTasks(b.world, 2))
	errs = append(errs, err)
	b.sim.FailNext(5, http.StatusBadGateway)
	errs = append(errs, b.client.Accounts(ctx, time.Time{}, nil, func([]cxaudit.Account, []cxaudit.Rejected) error { return nil }))
	b.sim.SetFaults(salesforcetest.Faults{MalformedRate: 1})
	_, err = b.client.FindTasks(ctx, []salesforce.TaskRef{{WhatID: b.world.Accounts[0].ID, SubjectPrefix: "x"}})
	errs = append(errs, err)
	b.sim.SetFaults(salesforcetest.Faults{})
	for range 5 {
		_, err = b.client.FindTasks(ctx, []salesforce.TaskRef{{WhatID: b.world.Accounts[0].ID, SubjectPrefix: "y"}})
		errs = append(errs, err)
	}
	res, err := b.client.CreateTasks(ctx, []cxaudit.Task{{WhatID: "001bogus", Subject: "z"}})
	errs = append(errs, err)
	for _, r := range res {
		errs = append(errs, r.Err)
	}

	var failures int
	for _, err := range errs {
		if err != nil {
			failures++
			require.NotContains(t, err.Error(), testToken)
		}
	}
	require.GreaterOrEqual(t, failures, 4)
	require.NotContains(t, b.logs.String(), testToken)
	require.NotEmpty(t, b.logs.String())
	require.NotContains(t, stdlog.String(), "[simpleforce]")
}

// TestQueryLocatorMustMove: a batch whose nextRecordsUrl was followed
// before makes no progress; following it again burned 950 quota-charged
// calls in 45 seconds. The read fails after the repeat, with what it read.
func TestQueryLocatorMustMove(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{PageSize: 7})
	b.sim.SetFaults(salesforcetest.Faults{RepeatLocator: true})
	var pages int
	err := b.client.Accounts(context.Background(), time.Time{}, nil, func([]cxaudit.Account, []cxaudit.Rejected) error {
		pages++
		return nil
	})
	require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
	require.EqualError(t, err, `salesforce: read Account: malformed page: nextRecordsUrl "/services/data/v59.0/query/01g000000000000001-7" was followed before (page 2): the query makes no progress`)
	require.Equal(t, 2, pages, "the first batch, and the second once")
	used, _, _ := b.client.Limits()
	require.Equal(t, 2, used)
}

// TestOneCharacterToken: errors carry no secret by construction, so an
// access token of one letter leaves them as they are; replacing it in
// messages turned every "t" of every error into "<secret>".
func TestOneCharacterToken(t *testing.T) {
	t.Parallel()
	const tok = "t"
	w := simworld.Generate(simworld.Options{Seed: 3, Accounts: 5, Now: worldNow})
	sim, srv := salesforcetest.NewServer(salesforcetest.Options{World: w, AccessToken: tok, Now: func() time.Time { return worldNow }})
	t.Cleanup(srv.Close)
	logs := &apptest.SyncBuffer{}
	c, err := salesforce.New(salesforce.Config{InstanceURL: srv.URL, AccessToken: tok,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTP:   remote.Options{RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond}})
	require.NoError(t, err)
	ctx := context.Background()

	var got []string
	sim.FailNext(5, http.StatusInternalServerError)
	got = append(got, c.Accounts(ctx, time.Time{}, nil, func([]cxaudit.Account, []cxaudit.Rejected) error { return nil }).Error())
	sim.FailNext(0, 0)
	res, err := c.CreateTasks(ctx, []cxaudit.Task{{WhatID: "001bogus", Subject: "z"}})
	require.NoError(t, err)
	got = append(got, res[0].Err.Error())
	wrong, err := salesforce.New(salesforce.Config{InstanceURL: srv.URL, AccessToken: "u"})
	require.NoError(t, err)
	got = append(got, wrong.Contacts(ctx, time.Time{}, nil, func([]cxaudit.Contact, []cxaudit.Rejected) error { return nil }).Error())

	require.Equal(t, []string{
		"salesforce: read Account: HTTP 500: UNKNOWN_EXCEPTION: An unexpected error occurred. Please include this ErrorId if you contact support: 1234567-89 (-1)",
		"salesforce: create tasks: FIELD_INTEGRITY_EXCEPTION: Related To ID: id value of incorrect type: 001bogus (fields: WhatId)",
		"salesforce: read Contact: HTTP 401: INVALID_SESSION_ID: Session expired or invalid",
	}, got)
	require.NotContains(t, logs.String(), "<secret>")
}
