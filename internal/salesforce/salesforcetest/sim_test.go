package salesforcetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/simworld"
)

const testToken = "00Dxx0000000001!AQ4AQ.sim-token"

var worldNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

type testBundle struct {
	sim    *Sim
	server *httptest.Server
	world  *simworld.World
}

func setup(t *testing.T, opts Options) *testBundle {
	t.Helper()
	w := simworld.Generate(simworld.Options{Seed: 7, Accounts: 50, Now: worldNow})
	opts.World = w
	if opts.AccessToken == "" {
		opts.AccessToken = testToken
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return worldNow }
	}
	sim, srv := NewServer(opts)
	t.Cleanup(srv.Close)
	return &testBundle{sim: sim, server: srv, world: w}
}

// do sends a request with the test token and returns the status, the
// headers and the body.
func (b *testBundle) do(t *testing.T, method, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, b.server.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.server.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, data
}

func (b *testBundle) query(t *testing.T, soql string) (int, []byte) {
	t.Helper()
	status, _, body := b.do(t, http.MethodGet, "/services/data/v59.0/query?q="+url.QueryEscape(soql), nil)
	return status, body
}

type result struct {
	TotalSize      int              `json:"totalSize"`
	Done           bool             `json:"done"`
	NextRecordsURL string           `json:"nextRecordsUrl"`
	Records        []map[string]any `json:"records"`
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(body, &v), string(body))
	return v
}

func TestParse(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		soql    string
		wantErr string // substring of the error; empty for success
	}{
		{"minimal", "SELECT Id FROM Account", ""},
		{"lower-case keywords", "select id, name from account where name like '%a%' order by name desc limit 5", ""},
		{"relationship field", "SELECT Id, Owner.IsActive FROM Account WHERE Owner.IsActive = false", ""},
		{"datetime Z", "SELECT Id FROM Account WHERE SystemModstamp >= 2024-05-01T12:00:00Z ORDER BY SystemModstamp, Id", ""},
		{"datetime offset millis", "SELECT Id FROM Account WHERE SystemModstamp > 2024-05-01T12:00:00.000+0000", ""},
		{"date", "SELECT Id FROM Opportunity WHERE CloseDate < 2024-06-01 AND IsClosed = false", ""},
		{"number", "SELECT Id FROM Opportunity WHERE Amount >= -10.5", ""},
		{"in list", "SELECT Id FROM Account WHERE Segment__c IN ('Enterprise', 'Growth')", ""},
		{"not in", "SELECT Id FROM Account WHERE Segment__c NOT IN ('Enterprise')", ""},
		{"null", "SELECT Id FROM Account WHERE Contract_End_Date__c = null", ""},
		{"or and parentheses", "SELECT Id FROM Task WHERE (Subject LIKE '%a%' OR Subject LIKE '%b%') AND NOT IsClosed = true", ""},
		{"escaped quote", `SELECT Id FROM Account WHERE Name = 'O\'Brien'`, ""},
		{"not equals alias", "SELECT Id FROM Account WHERE Customer_Health__c <> 'Green'", ""},
		{"nulls last", "SELECT Id FROM Account ORDER BY Contract_End_Date__c ASC NULLS LAST", ""},

		{"empty", "", "unexpected token: <EOF>"},
		{"missing from", "SELECT Id Account", "unexpected token: 'Account'"},
		{"typo keyword", "SELECT Id FRM Account", "unexpected token: 'FRM'"},
		{"trailing comma", "SELECT Id, FROM Account", "unexpected token: 'FROM'"},
		{"unterminated string", "SELECT Id FROM Account WHERE Name = 'abc", "unterminated string literal"},
		{"bad escape", `SELECT Id FROM Account WHERE Name = 'a\qb'`, "Illegal character sequence"},
		{"bad operator", "SELECT Id FROM Account WHERE Name ! 'a'", "unexpected token: '!'"},
		{"missing value", "SELECT Id FROM Account WHERE Name =", "unexpected token: <EOF>"},
		{"bad limit", "SELECT Id FROM Account LIMIT 1.5", "LIMIT must be a non-negative integer"},
		{"garbage after", "SELECT Id FROM Account LIMIT 5 5", "unexpected token: '5'"},
		{"bad datetime", "SELECT Id FROM Account WHERE SystemModstamp > 2024-13-01T00:00:00Z", "invalid date/time literal"},
		{"unclosed in", "SELECT Id FROM Account WHERE Segment__c IN ('a'", "unexpected token: <EOF>"},
		{"like needs string", "SELECT Id FROM Account WHERE Name LIKE 5", "LIKE needs a quoted string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse(tt.soql)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.wantErr)
			require.Equal(t, "MALFORMED_QUERY", err.(*queryError).code)
		})
	}
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})

	tests := []struct {
		soql     string
		wantCode string
		wantMsg  string
	}{
		{"SELECT Id, Colour FROM Account", "INVALID_FIELD", "No such column 'Colour' on entity 'Account'"},
		{"SELECT Id FROM Account WHERE Colour = 'x'", "INVALID_FIELD", "No such column 'Colour'"},
		{"SELECT Id FROM Account ORDER BY Colour", "INVALID_FIELD", "No such column 'Colour'"},
		{"SELECT Id, Boss.Name FROM Account", "INVALID_FIELD", "Didn't understand relationship 'Boss'"},
		{"SELECT Id, Owner.Colour FROM Account", "INVALID_FIELD", "No such column 'Owner.Colour'"},
		{"SELECT Id FROM Widget", "INVALID_TYPE", "sObject type 'Widget' is not supported"},
		{"SELECT Id FROM Account WHERE SystemModstamp > '2024-01-01'", "MALFORMED_QUERY", "must be of type dateTime"},
		{"SELECT Id FROM Account WHERE Name = 5", "MALFORMED_QUERY", "must be of type string and should be enclosed in quotes"},
		{"SELECT Id FROM Account WHERE IsDeleted > true", "INVALID_QUERY_FILTER_OPERATOR", "IsDeleted"},
		{"SELECT Id, Id FROM Account", "MALFORMED_QUERY", "duplicate field selected"},
		{"SELECT Id FRM Account", "MALFORMED_QUERY", "ERROR at Row:1:Column:11"},
	}
	for _, tt := range tests {
		status, body := b.query(t, tt.soql)
		require.Equal(t, http.StatusBadRequest, status, tt.soql)
		errs := decode[[]apiError](t, body)
		require.Len(t, errs, 1)
		require.Equal(t, tt.wantCode, errs[0].ErrorCode, tt.soql)
		require.Contains(t, errs[0].Message, tt.wantMsg, tt.soql)
	}
}

func TestQueryFilterAndRender(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})

	status, body := b.query(t, "SELECT Id, Name, Owner.IsActive, Owner.Name, Contract_End_Date__c, SystemModstamp FROM Account WHERE Id = '"+simworld.AccountID(3)+"'")
	require.Equal(t, http.StatusOK, status, string(body))
	res := decode[result](t, body)
	require.Equal(t, 1, res.TotalSize)
	require.True(t, res.Done)
	want := b.world.Accounts[2]
	rec := res.Records[0]
	require.Equal(t, map[string]any{"type": "Account", "url": "/services/data/v59.0/sobjects/Account/" + want.ID}, rec["attributes"])
	require.Equal(t, want.Name, rec["Name"])
	owner := rec["Owner"].(map[string]any)
	require.Equal(t, want.OwnerActive, owner["IsActive"])
	require.Equal(t, "User", owner["attributes"].(map[string]any)["type"])
	require.Equal(t, want.SystemModstamp.Format("2006-01-02T15:04:05.000+0000"), rec["SystemModstamp"])
	if want.RenewalDate != nil {
		require.Equal(t, want.RenewalDate.Format(time.DateOnly), rec["Contract_End_Date__c"])
	}
	// Keys come in SELECT order after attributes.
	require.Less(t, bytes.Index(body, []byte(`"attributes"`)), bytes.Index(body, []byte(`"Name"`)))
	require.Less(t, bytes.Index(body, []byte(`"Name"`)), bytes.Index(body, []byte(`"Owner"`)))

	// Inactive owners: exactly the accounts of the inactive user.
	_, body = b.query(t, "SELECT Id FROM Account WHERE Owner.IsActive = false")
	res = decode[result](t, body)
	var inactive int
	for _, a := range b.world.Accounts {
		if !a.OwnerActive {
			inactive++
		}
	}
	require.Equal(t, inactive, res.TotalSize)

	// Ordering, limit and LIKE.
	_, body = b.query(t, "select Id, SystemModstamp from Account order by SystemModstamp desc, Id limit 10")
	res = decode[result](t, body)
	require.Len(t, res.Records, 10)
	for i := 1; i < len(res.Records); i++ {
		require.GreaterOrEqual(t, res.Records[i-1]["SystemModstamp"], res.Records[i]["SystemModstamp"])
	}
	name := b.world.Accounts[0].Name
	_, body = b.query(t, "SELECT Id FROM Account WHERE Name LIKE '%"+strings.ToUpper(name[1:4])+"%'")
	require.NotZero(t, decode[result](t, body).TotalSize)
}

func TestPagination(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{PageSize: 7})

	// Pages cover every record exactly once, even when records change
	// between pages.
	status, body := b.query(t, "SELECT Id FROM Account ORDER BY SystemModstamp, Id")
	require.Equal(t, http.StatusOK, status)
	seen := map[string]int{}
	pages := 0
	for {
		res := decode[result](t, body)
		require.Equal(t, len(b.world.Accounts), res.TotalSize)
		require.LessOrEqual(t, len(res.Records), 7)
		for _, r := range res.Records {
			seen[r["Id"].(string)]++
		}
		pages++
		if pages == 2 {
			b.sim.UpdateAccount(simworld.AccountID(1), func(a *cxaudit.Account) { a.Name = "Renamed" })
		}
		if res.Done {
			require.Empty(t, res.NextRecordsURL)
			break
		}
		require.True(t, strings.HasPrefix(res.NextRecordsURL, "/services/data/v59.0/query/01g"), res.NextRecordsURL)
		status, _, body = b.do(t, http.MethodGet, res.NextRecordsURL, nil)
		require.Equal(t, http.StatusOK, status)
	}
	require.Equal(t, 8, pages) // 50 accounts in pages of 7
	require.Len(t, seen, len(b.world.Accounts))
	for id, n := range seen {
		require.Equal(t, 1, n, id)
	}
	st := b.sim.Stats()
	require.Equal(t, 1, st.ByEndpoint["GET /query"])
	require.Equal(t, 7, st.ByEndpoint["GET /query/{locator}"])

	status, _, body = b.do(t, http.MethodGet, "/services/data/v59.0/query/01gnope-7", nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(body), "INVALID_QUERY_LOCATOR")
}

func TestAuth(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})

	for _, auth := range []string{"", "Bearer wrong", "Bearer ", "Basic " + testToken} {
		req, err := http.NewRequest(http.MethodGet, b.server.URL+"/services/data/v59.0/query?q=SELECT+Id+FROM+User", nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, auth)
		require.JSONEq(t, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, string(body))
		require.NotEmpty(t, resp.Header.Get("Sforce-Limit-Info"))
	}
	status, _ := b.query(t, "SELECT Id FROM User")
	require.Equal(t, http.StatusOK, status)
}

func TestDailyLimit(t *testing.T) {
	t.Parallel()
	now := worldNow
	b := setup(t, Options{DailyLimit: 3, Now: func() time.Time { return now }})

	for i := 1; i <= 3; i++ {
		status, h, _ := b.do(t, http.MethodGet, "/services/data/v61.0/query?q=SELECT+Id+FROM+User", nil)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "api-usage="+string(rune('0'+i))+"/3", h.Get("Sforce-Limit-Info"))
	}
	status, h, body := b.do(t, http.MethodGet, "/services/data/v61.0/query?q=SELECT+Id+FROM+User", nil)
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, "api-usage=4/3", h.Get("Sforce-Limit-Info"))
	require.JSONEq(t, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, string(body))
	require.Equal(t, 1, b.sim.Stats().LimitExceeded)
}

func TestCompositeCreateUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	acc := b.world.Accounts[0]
	var inactiveOwner string
	for _, u := range b.world.SalesforceUsers {
		if !u.IsActive {
			inactiveOwner = u.ID
		}
	}

	status, _, body := b.do(t, http.MethodPost, "/services/data/v59.0/composite/sobjects", map[string]any{
		"allOrNone": false,
		"records": []map[string]any{
			{"attributes": map[string]string{"type": "Task"}, "WhatId": acc.ID, "OwnerId": b.world.SalesforceUsers[0].ID,
				"Subject": "[cxaudit:abc] Renewal date missing", "Priority": "High", "ActivityDate": "2024-05-08"},
			{"attributes": map[string]string{"type": "Task"}, "WhatId": acc.ID, "OwnerId": inactiveOwner, "Subject": "x"},
			{"attributes": map[string]string{"type": "Task"}, "WhatId": acc.ID, "Priority": "Urgent"},
			{"attributes": map[string]string{"type": "Task"}, "WhatId": acc.ID, "Colour": "red"},
		},
	})
	require.Equal(t, http.StatusOK, status, string(body))
	res := decode[[]saveResult](t, body)
	require.Len(t, res, 4)
	require.Equal(t, saveResult{ID: "00T000000000000001", Success: true, Errors: []saveError{}}, res[0])
	require.Equal(t, "INACTIVE_OWNER_OR_USER", res[1].Errors[0].StatusCode)
	require.Equal(t, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", res[2].Errors[0].StatusCode)
	require.Equal(t, "INVALID_FIELD", res[3].Errors[0].StatusCode)
	for _, r := range res[1:] {
		require.False(t, r.Success)
		require.Empty(t, r.ID)
	}

	tasks := b.sim.Tasks()
	require.Len(t, tasks, 1)
	due := time.Date(2024, 5, 8, 0, 0, 0, 0, time.UTC)
	require.Equal(t, cxaudit.Task{ID: "00T000000000000001", WhatID: acc.ID, OwnerID: b.world.SalesforceUsers[0].ID,
		Subject: "[cxaudit:abc] Renewal date missing", Priority: "High", Status: "Not Started", ActivityDate: &due}, tasks[0])

	// allOrNone rolls every record back when one fails.
	status, _, body = b.do(t, http.MethodPost, "/services/data/v59.0/composite/sobjects", map[string]any{
		"allOrNone": true,
		"records": []map[string]any{
			{"attributes": map[string]string{"type": "Task"}, "WhatId": acc.ID, "Subject": "ok"},
			{"attributes": map[string]string{"type": "Task"}, "WhatId": "001nope", "Subject": "bad"},
		},
	})
	require.Equal(t, http.StatusOK, status)
	res = decode[[]saveResult](t, body)
	require.Equal(t, "ALL_OR_NONE_OPERATION_ROLLED_BACK", res[0].Errors[0].StatusCode)
	require.Equal(t, "FIELD_INTEGRITY_EXCEPTION", res[1].Errors[0].StatusCode)
	require.Len(t, b.sim.Tasks(), 1)

	// Update through PATCH: completing closes the task.
	status, _, body = b.do(t, http.MethodPatch, "/services/data/v59.0/composite/sobjects", map[string]any{
		"allOrNone": false,
		"records": []map[string]any{
			{"attributes": map[string]string{"type": "Task"}, "id": "00T000000000000001", "Status": "Completed"},
			{"attributes": map[string]string{"type": "Task"}, "id": "00T000000000000099", "Status": "Completed"},
		},
	})
	require.Equal(t, http.StatusOK, status)
	res = decode[[]saveResult](t, body)
	require.True(t, res[0].Success)
	require.Equal(t, "INVALID_ID_FIELD", res[1].Errors[0].StatusCode)
	_, body = b.query(t, "SELECT Id, Status, IsClosed FROM Task WHERE IsClosed = true")
	q := decode[result](t, body)
	require.Equal(t, 1, q.TotalSize)
	require.Equal(t, "Completed", q.Records[0]["Status"])

	// More than 200 records is refused whole.
	var many []map[string]any
	for range 201 {
		many = append(many, map[string]any{"attributes": map[string]string{"type": "Task"}, "WhatId": acc.ID})
	}
	status, _, body = b.do(t, http.MethodPost, "/services/data/v59.0/composite/sobjects", map[string]any{"records": many})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(body), "EXCEEDED_ID_LIMIT")

	st := b.sim.Stats()
	require.Equal(t, 1, st.TasksCreated)
	require.Equal(t, 1, st.TasksUpdated)
	require.Equal(t, 4, st.CompositeCalls)
}

func TestSingleRecordWrites(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})

	status, _, body := b.do(t, http.MethodPost, "/services/data/v59.0/sobjects/Task", map[string]any{
		"WhatId": b.world.Accounts[1].ID, "Subject": "single",
	})
	require.Equal(t, http.StatusCreated, status, string(body))
	id := decode[saveResult](t, body).ID
	require.Equal(t, "00T000000000000001", id)

	status, _, body = b.do(t, http.MethodPatch, "/services/data/v59.0/sobjects/Task/"+id, map[string]any{"Status": "In Progress"})
	require.Equal(t, http.StatusNoContent, status, string(body))
	require.Empty(t, body)
	require.Equal(t, "In Progress", b.sim.Tasks()[0].Status)

	b.sim.CompleteTask(id)
	require.Equal(t, "Completed", b.sim.Tasks()[0].Status)

	status, _, _ = b.do(t, http.MethodPatch, "/services/data/v59.0/sobjects/Task/00T000000000000042", map[string]any{"Status": "Completed"})
	require.Equal(t, http.StatusNotFound, status)

	status, _, body = b.do(t, http.MethodPost, "/services/data/v59.0/sobjects/Task", map[string]any{"IsClosed": true})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(body), "INVALID_FIELD_FOR_INSERT_UPDATE")
}

func TestUpdateAccountBumpsModstamp(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := simworld.AccountID(5)
	b.sim.UpdateAccount(id, func(a *cxaudit.Account) { a.Health = "Red" })

	_, body := b.query(t, "SELECT Id, Customer_Health__c FROM Account WHERE SystemModstamp >= 2024-05-01T12:00:00Z")
	res := decode[result](t, body)
	require.Len(t, res.Records, 1)
	require.Equal(t, id, res.Records[0]["Id"])
	require.Equal(t, "Red", res.Records[0]["Customer_Health__c"])
}

func TestFaults(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})

	// A failed write is applied before the error is returned.
	b.sim.FailNext(1, http.StatusInternalServerError)
	status, _, body := b.do(t, http.MethodPost, "/services/data/v59.0/sobjects/Task", map[string]any{"Subject": "lost response"})
	require.Equal(t, http.StatusInternalServerError, status)
	require.Contains(t, string(body), "UNKNOWN_EXCEPTION")
	require.Len(t, b.sim.Tasks(), 1)

	b.sim.SetFaults(Faults{MalformedRate: 1, Seed: 1})
	status, body = b.query(t, "SELECT Id FROM User")
	require.Equal(t, http.StatusOK, status)
	require.Error(t, json.Unmarshal(body, new(result)))

	b.sim.SetFaults(Faults{ErrorRate: 1, Seed: 1})
	status, _ = b.query(t, "SELECT Id FROM User")
	require.Equal(t, http.StatusServiceUnavailable, status)
}

// pages runs soql and follows nextRecordsUrl to the end.
func (b *testBundle) pages(t *testing.T, soql string) []result {
	t.Helper()
	status, body := b.query(t, soql)
	var out []result
	for {
		require.Equal(t, http.StatusOK, status, string(body))
		res := decode[result](t, body)
		out = append(out, res)
		if res.Done {
			return out
		}
		status, _, body = b.do(t, http.MethodGet, res.NextRecordsURL, nil)
	}
}

func TestMalformedAndTruncatedBodies(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})

	// Malformed: the whole body, not JSON.
	b.sim.SetFaults(Faults{MalformedRate: 1})
	status, body := b.query(t, "SELECT Id FROM Account")
	require.Equal(t, http.StatusOK, status)
	require.False(t, json.Valid(body), "not JSON")
	i := bytes.IndexByte(body, '=')
	require.Positive(t, i)
	body[i] = ':'
	require.Len(t, decode[result](t, body).Records, len(b.world.Accounts), "whole, one byte changed")

	// Truncated: half the declared length, then the connection closes.
	b.sim.SetFaults(Faults{TruncateRate: 1})
	req, err := http.NewRequest(http.MethodGet, b.server.URL+"/services/data/v59.0/query?q="+url.QueryEscape("SELECT Id FROM Account"), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := b.server.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	data, err := io.ReadAll(resp.Body)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Equal(t, int(resp.ContentLength)/2, len(data))

	// Error responses are never spoiled.
	status, body = b.query(t, "SELECT Nope FROM Account")
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(body), "INVALID_FIELD")

	st := b.sim.Stats()
	require.Equal(t, 1, st.Malformed)
	require.Equal(t, 1, st.Truncated)
}

func TestStorms(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.sim.SetFaults(Faults{StormEvery: 3, StormLength: 2})
	var got []int
	usage := ""
	for range 10 {
		status, h, body := b.do(t, http.MethodGet, "/services/data/v59.0/query?q="+url.QueryEscape("SELECT Id FROM User"), nil)
		got = append(got, status)
		if status == http.StatusForbidden {
			// The wire format of the concurrent request limit: 403, no
			// Retry-After.
			require.JSONEq(t, `[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, string(body))
			require.Empty(t, h.Get("Retry-After"))
			require.Equal(t, usage, h.Get("Sforce-Limit-Info"), "a refused request is not counted")
		}
		usage = h.Get("Sforce-Limit-Info")
	}
	require.Equal(t, []int{200, 200, 200, 403, 403, 200, 200, 200, 403, 403}, got)
	require.Equal(t, 4, b.sim.Stats().LimitExceeded)
	require.Equal(t, "api-usage=6/100000", usage)
}

func TestRepeatRecords(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{PageSize: 10})
	b.sim.SetFaults(Faults{RepeatRecords: true})
	pages := b.pages(t, "SELECT Id FROM Account ORDER BY SystemModstamp, Id")
	require.Len(t, pages, 5)
	seen := map[string]int{}
	for i, p := range pages {
		require.Equal(t, len(b.world.Accounts), p.TotalSize)
		if i > 0 {
			require.Len(t, p.Records, 11)
			prev := pages[i-1].Records
			require.Equal(t, prev[len(prev)-1]["Id"], p.Records[0]["Id"], "page %d starts with the last record of page %d", i+1, i)
		}
		for _, r := range p.Records {
			seen[r["Id"].(string)]++
		}
	}
	require.Len(t, seen, len(b.world.Accounts), "none missing")

	// Off, each record once.
	b.sim.SetFaults(Faults{})
	n := 0
	for _, p := range b.pages(t, "SELECT Id FROM Account ORDER BY SystemModstamp, Id") {
		n += len(p.Records)
	}
	require.Equal(t, len(b.world.Accounts), n)
}

func TestChangeEvery(t *testing.T) {
	t.Parallel()
	run := func() ([]result, []cxaudit.Account, Stats) {
		var mu sync.Mutex
		clock := worldNow
		b := setup(t, Options{PageSize: 10, Now: func() time.Time { // a minute a reading
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Minute)
			return clock
		}})
		b.sim.SetFaults(Faults{ChangeEvery: 1, Seed: 4})
		pages := b.pages(t, "SELECT Id, Name, SystemModstamp FROM Account ORDER BY SystemModstamp, Id")
		// Other objects and queryAll change nothing.
		b.query(t, "SELECT Id FROM User")
		b.do(t, http.MethodGet, "/services/data/v59.0/queryAll?q="+url.QueryEscape("SELECT Id FROM Account"), nil)
		return pages, b.sim.Accounts(), b.sim.Stats()
	}
	pages, accounts, st := run()
	require.Len(t, pages, 5)
	require.Equal(t, 5, st.Changes, "one change per Account query request")

	changed := map[int]cxaudit.Account{}
	for _, a := range accounts {
		if _, n, ok := strings.Cut(a.Name, " (changed "); ok {
			var k int
			_, err := fmt.Sscanf(n, "%d)", &k)
			require.NoError(t, err)
			changed[k] = a
		}
	}
	require.Len(t, changed, 5)
	// Change 1 is an ordinary edit: now, the newest of all.
	require.True(t, changed[1].SystemModstamp.After(worldNow))
	// Change 2 lands exactly on the boundary, the newest SystemModstamp.
	require.Equal(t, changed[1].SystemModstamp, changed[2].SystemModstamp)
	// Change 3 commits a second before it.
	require.Equal(t, changed[1].SystemModstamp.Add(-time.Second), changed[3].SystemModstamp)
	// Then again: an ordinary edit, one on the new boundary.
	require.True(t, changed[4].SystemModstamp.After(changed[1].SystemModstamp))
	require.Equal(t, changed[4].SystemModstamp, changed[5].SystemModstamp)

	// The query is a snapshot taken after change 1: it holds change 1, last,
	// and none of the others.
	last := pages[4].Records[len(pages[4].Records)-1]
	require.Contains(t, last["Name"], "(changed 1)")
	for _, p := range pages {
		for _, r := range p.Records {
			require.NotRegexp(t, `changed [2-5]`, r["Name"])
		}
	}

	// Deterministic for a seed.
	_, again, _ := run()
	require.Equal(t, accounts, again)
}
