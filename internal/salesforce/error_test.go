package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simpleforce/simpleforce"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

func TestResponseToError(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		status    int
		header    http.Header
		body      string
		wantCode  string
		wantMsg   string        // substring of the error
		wantRetry time.Duration // RateLimitError.RetryAfter; 0 when not rate limited
	}{
		{"daily limit", 403, nil, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`,
			cxaudit.ERATELIMITED, "API request limit exceeded (TotalRequests Limit exceeded.)", time.Hour},
		{"daily limit with Retry-After", 403, http.Header{"Retry-After": {"120"}}, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`,
			cxaudit.ERATELIMITED, "limit exceeded", 2 * time.Minute},
		{"concurrent limit", 403, nil, `[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`,
			cxaudit.ERATELIMITED, "ConcurrentPerOrgLongTxn", time.Minute},
		{"429 without body", 429, http.Header{"Retry-After": {"45"}}, ``,
			cxaudit.ERATELIMITED, "limit exceeded", 45 * time.Second},
		{"session", 401, nil, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`,
			cxaudit.EUNAUTHORIZED, "INVALID_SESSION_ID: Session expired or invalid", 0},
		{"401 without body", 401, nil, ``, cxaudit.EUNAUTHORIZED, "HTTP 401", 0},
		{"forbidden", 403, nil, `[{"message":"no access","errorCode":"INSUFFICIENT_ACCESS"}]`, cxaudit.EUNAUTHORIZED, "no access", 0},
		{"malformed query", 400, nil,
			`[{"message":"\nSELECT Id FRM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: 'FRM'","errorCode":"MALFORMED_QUERY"}]`,
			cxaudit.EINVALID, "MALFORMED_QUERY: unexpected token: 'FRM' (at Row:1:Column:11)", 0},
		{"invalid field", 400, nil,
			`[{"message":"\nSELECT Colour FROM Account\n       ^\nERROR at Row:1:Column:8\nNo such column 'Colour' on entity 'Account'.","errorCode":"INVALID_FIELD"}]`,
			cxaudit.EINVALID, "INVALID_FIELD: No such column 'Colour' on entity 'Account'.", 0},
		{"bad locator", 400, nil, `[{"message":"invalid query locator","errorCode":"INVALID_QUERY_LOCATOR"}]`, cxaudit.EINVALID, "INVALID_QUERY_LOCATOR", 0},
		{"not found", 404, nil, `[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]`, cxaudit.ENOTFOUND, "NOT_FOUND", 0},
		{"deleted", 400, nil, `[{"message":"entity is deleted","errorCode":"ENTITY_IS_DELETED"}]`, cxaudit.ENOTFOUND, "ENTITY_IS_DELETED", 0},
		{"conflict", 409, nil, ``, cxaudit.ECONFLICT, "HTTP 409", 0},
		{"unknown 4xx", 418, nil, `[{"message":"teapot","errorCode":"WHATEVER"}]`, cxaudit.EINVALID, "WHATEVER: teapot", 0},
		{"server error", 500, nil, `[{"message":"An unexpected error occurred.","errorCode":"UNKNOWN_EXCEPTION"}]`, cxaudit.EUNAVAILABLE, "UNKNOWN_EXCEPTION", 0},
		{"5xx wins over errorCode", 503, nil, `[{"message":"x","errorCode":"INVALID_FIELD"}]`, cxaudit.EUNAVAILABLE, "HTTP 503", 0},
		{"html gateway page", 502, nil, `<html><body>Bad Gateway</body></html>`, cxaudit.EUNAVAILABLE, "HTTP 502", 0},
		{"empty array", 500, nil, `[]`, cxaudit.EUNAVAILABLE, "HTTP 500", 0},
		{"object not array", 400, nil, `{"error":"invalid_grant"}`, cxaudit.EINVALID, "HTTP 400", 0},
		{"unexpected 3xx", 302, nil, ``, cxaudit.EUNAVAILABLE, "HTTP 302", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			err := responseToError("read Account", tt.status, h, []byte(tt.body))
			require.Equal(t, tt.wantCode, cxaudit.ErrorCode(err))
			require.ErrorContains(t, err, "salesforce: read Account: ")
			require.ErrorContains(t, err, tt.wantMsg)
			var rl *cxaudit.RateLimitError
			if tt.wantRetry == 0 {
				require.False(t, errors.As(err, &rl))
				return
			}
			require.ErrorAs(t, err, &rl)
			require.Equal(t, tt.wantRetry, rl.RetryAfter)
			require.Equal(t, cxaudit.SourceSalesforce, rl.Source)
		})
	}
}

func TestRecordError(t *testing.T) {
	t.Parallel()

	tests := []struct {
		errs     []saveError
		wantCode string
		wantMsg  string
	}{
		{[]saveError{{StatusCode: "INACTIVE_OWNER_OR_USER", Message: "operation performed with inactive user"}}, cxaudit.EINVALID, "INACTIVE_OWNER_OR_USER"},
		{[]saveError{{StatusCode: "REQUIRED_FIELD_MISSING", Message: "Required fields are missing", Fields: []string{"Subject"}}}, cxaudit.EINVALID, "(fields: Subject)"},
		{[]saveError{{StatusCode: "UNABLE_TO_LOCK_ROW", Message: "unable to obtain exclusive access"}}, cxaudit.EUNAVAILABLE, "UNABLE_TO_LOCK_ROW"},
		{[]saveError{{StatusCode: "ENTITY_IS_DELETED", Message: "entity is deleted"}}, cxaudit.ENOTFOUND, "entity is deleted"},
		{[]saveError{{StatusCode: "DUPLICATE_VALUE", Message: "duplicate"}}, cxaudit.ECONFLICT, "duplicate"},
		{nil, cxaudit.EUNAVAILABLE, "no error given"},
	}
	for _, tt := range tests {
		err := recordError("create tasks", tt.errs)
		require.Equal(t, tt.wantCode, cxaudit.ErrorCode(err), tt.wantMsg)
		require.ErrorContains(t, err, tt.wantMsg)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()

	var syntaxErr error = json.Unmarshal([]byte(`{"totalSize":`), new(simpleforce.QueryResult))
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantMsg  string
		wantIs   error
	}{
		{"response", &url.Error{Op: "Get", URL: "https://x", Err: &responseError{status: 401}}, cxaudit.EUNAUTHORIZED, "HTTP 401", nil},
		{"network", &url.Error{Op: "Get", URL: "https://x/services/data/v59.0/query?q=SELECT", Err: syscall.ECONNREFUSED}, cxaudit.EUNAVAILABLE, "connection refused", nil},
		{"canceled", &url.Error{Op: "Get", URL: "https://x", Err: context.Canceled}, cxaudit.EUNAVAILABLE, "context canceled", context.Canceled},
		{"deadline", context.DeadlineExceeded, cxaudit.EUNAVAILABLE, "deadline exceeded", context.DeadlineExceeded},
		{"truncated json", syntaxErr, cxaudit.EUNAVAILABLE, "malformed page", nil},
		{"panic", &panicError{"runtime error: index out of range [0] with length 0"}, cxaudit.EUNAVAILABLE, "malformed page", nil},
	}
	for _, tt := range tests {
		err := classify("read Account", tt.err)
		require.Equal(t, tt.wantCode, cxaudit.ErrorCode(err), tt.name)
		require.ErrorContains(t, err, tt.wantMsg, tt.name)
		if tt.wantIs != nil {
			require.ErrorIs(t, err, tt.wantIs, tt.name)
		}
	}
}

func TestDoRecoversFromSimpleforcePanics(t *testing.T) {
	t.Parallel()
	c, err := New(Config{InstanceURL: "https://acme.my.salesforce.com", AccessToken: "tok"})
	require.NoError(t, err)

	// The panic simpleforce raises on an empty error array.
	err = c.do(context.Background(), func(*simpleforce.Client) error {
		return simpleforce.ParseSalesforceError(500, []byte(`[]`))
	})
	require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(c.fail("read Account", err)))
	require.ErrorContains(t, c.fail("read Account", err), "malformed page")

	// The client is usable afterwards (the mutex was released).
	err = c.do(context.Background(), func(*simpleforce.Client) error { return nil })
	require.NoError(t, err)
}

func TestFindTasksSOQL(t *testing.T) {
	t.Parallel()

	queries, err := findTasksSOQL(nil)
	require.NoError(t, err)
	require.Empty(t, queries)
	const acc = "001000000000000AAA"
	queries, err = findTasksSOQL([]TaskRef{{acc, "[cxaudit:ab]"}, {acc, ""}, {acc, `50% off_it's \ x`}, {acc, "[cxaudit:ab]"}})
	require.NoError(t, err)
	require.Equal(t,
		[]string{"SELECT " + taskFields + ` FROM Task WHERE (WhatId = '` + acc + `' AND Subject LIKE '[cxaudit:ab]%') OR (WhatId = '` + acc + `' AND Subject LIKE '50\% off\_it\'s \\ x%') ORDER BY Id`},
		queries)
	_, err = findTasksSOQL([]TaskRef{{"001' OR Id != '", "[cxaudit:ab]"}})
	require.Equal(t, cxaudit.EINVALID, cxaudit.ErrorCode(err), "an Id goes into SOQL unquoted: refused unless it is one")

	var refs []TaskRef
	for i := range 500 {
		refs = append(refs, TaskRef{acc, fmt.Sprintf("[cxaudit:%016x]", i%450)})
	}
	queries, err = findTasksSOQL(refs)
	require.NoError(t, err)
	require.Greater(t, len(queries), 1)
	clauses := 0
	for _, q := range queries {
		require.LessOrEqual(t, len(q), maxMarkerSOQL)
		clauses += strings.Count(q, "Subject LIKE")
	}
	require.Equal(t, 450, clauses, "each ref once")
}

func TestIncrementalSOQL(t *testing.T) {
	t.Parallel()
	require.Equal(t, "SELECT Id FROM Account ORDER BY SystemModstamp, Id", incrementalSOQL("Account", "Id", time.Time{}))
	since := time.Date(2024, 5, 1, 14, 0, 0, 999_000_000, time.FixedZone("CEST", 2*3600))
	require.Equal(t, "SELECT Id FROM Account WHERE SystemModstamp >= 2024-05-01T12:00:00Z ORDER BY SystemModstamp, Id",
		incrementalSOQL("Account", "Id", since))
}
