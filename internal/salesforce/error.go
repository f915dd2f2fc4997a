package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/remote"
)

// Every failure the adapter reports goes through this file: HTTP responses
// (responseError), per-record save errors (saveError), transport errors and
// bodies that do not decode.

// Back-offs for rate limits that come without a Retry-After header.
const (
	// DailyLimitBackoff is how long to wait after REQUEST_LIMIT_EXCEEDED
	// for the org's rolling 24-hour API budget.
	DailyLimitBackoff = time.Hour
	// ConcurrencyLimitBackoff is how long to wait after the concurrent
	// long-running request limit (also REQUEST_LIMIT_EXCEEDED) or a 429.
	ConcurrencyLimitBackoff = time.Minute
)

// apiCodes maps Salesforce errorCodes (and per-record statusCodes) to
// cxaudit error codes.
var apiCodes = map[string]string{
	"INVALID_SESSION_ID":              cxaudit.EUNAUTHORIZED,
	"INVALID_AUTH_HEADER":             cxaudit.EUNAUTHORIZED,
	"API_DISABLED_FOR_ORG":            cxaudit.EUNAUTHORIZED,
	"INSUFFICIENT_ACCESS":             cxaudit.EUNAUTHORIZED,
	"INSUFFICIENT_ACCESS_OR_READONLY": cxaudit.EUNAUTHORIZED,
	"REQUEST_LIMIT_EXCEEDED":          cxaudit.ERATELIMITED,

	"MALFORMED_QUERY":                         cxaudit.EINVALID,
	"INVALID_FIELD":                           cxaudit.EINVALID,
	"INVALID_TYPE":                            cxaudit.EINVALID,
	"INVALID_QUERY_FILTER_OPERATOR":           cxaudit.EINVALID,
	"INVALID_QUERY_LOCATOR":                   cxaudit.EINVALID,
	"INVALID_FIELD_FOR_INSERT_UPDATE":         cxaudit.EINVALID,
	"INVALID_TYPE_ON_FIELD_IN_RECORD":         cxaudit.EINVALID,
	"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": cxaudit.EINVALID,
	"INVALID_CROSS_REFERENCE_KEY":             cxaudit.EINVALID,
	"INVALID_ID_FIELD":                        cxaudit.EINVALID,
	"FIELD_INTEGRITY_EXCEPTION":               cxaudit.EINVALID,
	"INACTIVE_OWNER_OR_USER":                  cxaudit.EINVALID,
	"REQUIRED_FIELD_MISSING":                  cxaudit.EINVALID,
	"STRING_TOO_LONG":                         cxaudit.EINVALID,
	"MISSING_ARGUMENT":                        cxaudit.EINVALID,
	"JSON_PARSER_ERROR":                       cxaudit.EINVALID,
	"EXCEEDED_ID_LIMIT":                       cxaudit.EINVALID,
	"NOT_FOUND":                               cxaudit.ENOTFOUND,
	"ENTITY_IS_DELETED":                       cxaudit.ENOTFOUND,
	"DUPLICATE_VALUE":                         cxaudit.ECONFLICT,
	"ALL_OR_NONE_OPERATION_ROLLED_BACK":       cxaudit.ECONFLICT,
	"UNABLE_TO_LOCK_ROW":                      cxaudit.EUNAVAILABLE,
	"SERVER_UNAVAILABLE":                      cxaudit.EUNAVAILABLE,
	"UNKNOWN_EXCEPTION":                       cxaudit.EUNAVAILABLE,
}

// codeFor returns the cxaudit code for an HTTP status and a Salesforce
// errorCode. The status decides for 401 and 5xx; otherwise a known
// errorCode does, then the status class.
func codeFor(status int, apiCode string) string {
	switch {
	case status == http.StatusUnauthorized:
		return cxaudit.EUNAUTHORIZED
	case status >= 500:
		return cxaudit.EUNAVAILABLE
	}
	if code, ok := apiCodes[apiCode]; ok {
		return code
	}
	switch {
	case status == http.StatusForbidden:
		return cxaudit.EUNAUTHORIZED
	case status == http.StatusNotFound:
		return cxaudit.ENOTFOUND
	case status == http.StatusConflict, status == http.StatusPreconditionFailed:
		return cxaudit.ECONFLICT
	case status == http.StatusTooManyRequests:
		return cxaudit.ERATELIMITED
	case status >= 400:
		return cxaudit.EINVALID
	}
	return cxaudit.EUNAVAILABLE
}

// apiError is one entry of Salesforce's JSON error array.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

// responseToError maps an error response of operation op.
func responseToError(op string, status int, h http.Header, body []byte) error {
	var errs []apiError
	_ = json.Unmarshal(body, &errs) // anything else leaves errs empty
	var first apiError
	if len(errs) > 0 {
		first = errs[0]
	}
	if first.ErrorCode == "REQUEST_LIMIT_EXCEEDED" || status == http.StatusTooManyRequests {
		wait, ok := remote.RetryAfter(h)
		if !ok {
			wait = ConcurrencyLimitBackoff
			if first.ErrorCode == "REQUEST_LIMIT_EXCEEDED" && !strings.Contains(first.Message, "Concurrent") {
				wait = DailyLimitBackoff
			}
		}
		what := "API request limit exceeded"
		if first.Message != "" {
			what += " (" + tidy(first.Message) + ")"
		}
		return &cxaudit.Error{
			Code:    cxaudit.ERATELIMITED,
			Message: fmt.Sprintf("salesforce: %s: %s", op, what),
			Err:     &cxaudit.RateLimitError{Source: cxaudit.SourceSalesforce, RetryAfter: wait},
		}
	}
	msg := fmt.Sprintf("salesforce: %s: HTTP %d", op, status)
	if first.ErrorCode != "" || first.Message != "" {
		msg += ": " + first.ErrorCode + ": " + tidy(first.Message)
	}
	return &cxaudit.Error{Code: codeFor(status, first.ErrorCode), Message: msg}
}

// saveError is a per-record error of an sObject Collections response.
type saveError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

// recordError maps the errors of one record that failed to save.
func recordError(op string, errs []saveError) error {
	if len(errs) == 0 {
		return cxaudit.Errorf(cxaudit.EUNAVAILABLE, "salesforce: %s: record not saved, and no error given", op)
	}
	e := errs[0]
	msg := fmt.Sprintf("salesforce: %s: %s: %s", op, e.StatusCode, tidy(e.Message))
	if len(e.Fields) > 0 {
		msg += " (fields: " + strings.Join(e.Fields, ", ") + ")"
	}
	return &cxaudit.Error{Code: codeFor(http.StatusBadRequest, e.StatusCode), Message: msg}
}

// malformedf reports a response that does not decode into what the API
// promises. It is never dropped silently: a page that cannot be read is an
// outage, not an empty page.
func malformedf(op, format string, args ...any) error {
	return cxaudit.Errorf(cxaudit.EUNAVAILABLE, "salesforce: %s: malformed page: %s", op, fmt.Sprintf(format, args...))
}

// classify maps the raw error of a call.
func classify(op string, err error) error {
	var (
		re   *responseError
		ue   *url.Error
		cerr *cxaudit.Error
		rl   *cxaudit.RateLimitError
	)
	switch {
	case errors.As(err, &rl):
		// The budget refused to send the request.
		return &cxaudit.Error{Code: cxaudit.ERATELIMITED, Message: "salesforce: " + op + ": " + rl.Error(), Err: rl}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		ctxErr := context.Canceled
		if errors.Is(err, context.DeadlineExceeded) {
			ctxErr = context.DeadlineExceeded
		}
		return &cxaudit.Error{Code: cxaudit.EUNAVAILABLE, Message: "salesforce: " + op, Err: ctxErr}
	case errors.As(err, &cerr):
		return err
	case errors.As(err, &re):
		return responseToError(op, re.status, re.header, re.body)
	case errors.As(err, &ue):
		return cxaudit.Errorf(cxaudit.EUNAVAILABLE, "salesforce: %s: %v", op, ue.Err)
	}
	// What is left failed after a 2xx response: the body did not decode
	// (simpleforce's json.Unmarshal) or simpleforce panicked on it.
	return malformedf(op, "%v", err)
}

// tidy turns Salesforce's multi-line query error messages ("\nSELECT
// …\n ^\nERROR at Row:1:Column:8\nNo such column …") into one line.
func tidy(msg string) string {
	var lines []string
	var at string
	for l := range strings.Lines(msg) {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case strings.HasPrefix(l, "ERROR at "):
			at = strings.TrimPrefix(l, "ERROR at ")
		default:
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return at
	}
	out := lines[len(lines)-1]
	if at != "" {
		out += " (at " + at + ")"
	}
	return out
}

// fail classifies the raw error of a call. No error carries a secret by
// construction: the access token travels only in the Authorization header,
// which no error shows; a transport error is shown without its address
// (classify), an error response by its status and Salesforce's errorCode
// and message.
func (c *Client) fail(op string, err error) error { return classify(op, err) }
