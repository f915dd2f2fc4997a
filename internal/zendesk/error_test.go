package zendesk

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/nukosuke/go-zendesk/zendesk"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

func TestClassify(t *testing.T) {
	t.Parallel()

	apiError := func(status int, body string, header http.Header) error {
		return zendesk.NewError([]byte(body), &http.Response{StatusCode: status, Header: header})
	}
	for _, tt := range []struct {
		name    string
		err     error
		code    string        // cxaudit error code; "" for a RateLimitError
		wait    time.Duration // RetryAfter of a RateLimitError
		message string
	}{
		{name: "400", err: apiError(400, `{"error":"InvalidValue","description":"bad start_time"}`, nil), code: cxaudit.EINVALID,
			message: "zendesk: op: 400 Bad Request: InvalidValue (bad start_time)"},
		{name: "401", err: apiError(401, `{"error":"Couldn't authenticate you"}`, nil), code: cxaudit.EUNAUTHORIZED,
			message: "zendesk: op: 401 Unauthorized: Couldn't authenticate you"},
		{name: "403", err: apiError(403, `{"error":{"title":"Forbidden","message":"You do not have access"}}`, nil), code: cxaudit.EUNAUTHORIZED,
			message: "zendesk: op: 403 Forbidden: Forbidden You do not have access"},
		{name: "404", err: apiError(404, `{"error":"RecordNotFound","description":"Not found"}`, nil), code: cxaudit.ENOTFOUND},
		{name: "409", err: apiError(409, `{"error":"UpdateConflict","description":"Safe Update prevented the update"}`, nil), code: cxaudit.ECONFLICT,
			message: "zendesk: op: 409 Conflict: UpdateConflict (Safe Update prevented the update)"},
		{name: "422", err: apiError(422, `{"error":"RecordInvalid"}`, nil), code: cxaudit.EINVALID},
		{name: "429 with Retry-After", err: apiError(429, ``, http.Header{"Retry-After": {"93"}}), wait: 93 * time.Second},
		{name: "429 without Retry-After", err: apiError(429, `Too Many Requests`, http.Header{}), wait: DefaultRetryAfter},
		{name: "500", err: apiError(500, `<html>oops</html>`, nil), code: cxaudit.EUNAVAILABLE, message: "zendesk: op: 500 Internal Server Error"},
		{name: "502", err: apiError(502, ``, nil), code: cxaudit.EUNAVAILABLE},
		{name: "503", err: apiError(503, `{"error":"ServiceUnavailable"}`, nil), code: cxaudit.EUNAVAILABLE},
		{name: "504", err: apiError(504, ``, nil), code: cxaudit.EUNAVAILABLE},
		{name: "network", err: &url.Error{Op: "Get", URL: "https://acme.zendesk.com/api/v2/x", Err: errors.New("connection refused")}, code: cxaudit.EUNAVAILABLE,
			message: `zendesk: op: request failed: Get "https://acme.zendesk.com/api/v2/x": connection refused`},
		{name: "canceled", err: context.Canceled, code: cxaudit.EUNAVAILABLE},
		{name: "malformed", err: json.Unmarshal([]byte(`{"comments":[`), &struct{}{}), code: cxaudit.EUNAVAILABLE,
			message: "zendesk: op: malformed page (response body is not the expected JSON): unexpected end of JSON input"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := classify("op", tt.err)
			require.Error(t, err)
			if tt.code == "" {
				var rl *cxaudit.RateLimitError
				require.ErrorAs(t, err, &rl)
				require.Equal(t, cxaudit.SourceZendesk, rl.Source)
				require.Equal(t, tt.wait, rl.RetryAfter)
				return
			}
			require.Equal(t, tt.code, cxaudit.ErrorCode(err))
			if tt.message != "" {
				require.Equal(t, tt.message, err.Error())
			}
		})
	}

	require.NoError(t, classify("op", nil))
	require.ErrorIs(t, classify("op", context.Canceled), context.Canceled, "the cause stays reachable")
}

// TestRequestErrorsShowNoQueryOrCredentials: a request that got no answer
// is shown by its method, host and path; what the address carried besides
// (a query, credentials) is left out, and the cause stays reachable.
func TestRequestErrorsShowNoQueryOrCredentials(t *testing.T) {
	t.Parallel()
	err := classify("op", &url.Error{Op: "Get", URL: "https://bot:pw@acme.zendesk.com/api/v2/x?token=abc&cursor=1", Err: context.DeadlineExceeded})
	require.EqualError(t, err, `zendesk: op: request failed: Get "https://acme.zendesk.com/api/v2/x": context deadline exceeded`)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	err = classify("op", &url.Error{Op: "Get", URL: "http://[::1", Err: errors.New("refused")})
	require.EqualError(t, err, `zendesk: op: request failed: Get "(address not shown)": refused`)
}
