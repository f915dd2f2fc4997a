package zendesk

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nukosuke/go-zendesk/zendesk"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/remote"
)

// DefaultRetryAfter is the wait assumed when a 429 carries no Retry-After.
const DefaultRetryAfter = time.Minute

// classify turns a failed call of operation op into the project's errors.
// It is the only place that knows what Zendesk's statuses mean:
//
//	429         *cxaudit.RateLimitError (the caller snoozes)
//	401, 403    EUNAUTHORIZED
//	404         ENOTFOUND
//	409         ECONFLICT (a safe_update lost a race)
//	other 4xx   EINVALID
//	5xx         EUNAVAILABLE (the caller retries)
//	network     EUNAVAILABLE
//	bad JSON    EUNAVAILABLE, "malformed page"
//
// Messages hold the status and Zendesk's short error code and description,
// never the response body as a whole, nor any request header, nor a
// request's query (see requestError).
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	// The budget refused to send the request (too long a wait, or the
	// credentials were rejected moments ago): its error says why.
	var rl *cxaudit.RateLimitError
	if errors.As(err, &rl) {
		return rl
	}
	var cerr *cxaudit.Error
	if errors.As(err, &cerr) {
		return cerr
	}
	var zerr zendesk.Error
	if errors.As(err, &zerr) {
		status := zerr.Status()
		if status == http.StatusTooManyRequests {
			d, ok := remote.RetryAfter(zerr.Headers())
			if !ok {
				d = DefaultRetryAfter
			}
			return &cxaudit.RateLimitError{Source: cxaudit.SourceZendesk, RetryAfter: d}
		}
		msg := fmt.Sprintf("zendesk: %s: %d %s", op, status, http.StatusText(status))
		if detail := errorDetail(zerr); detail != "" {
			msg += ": " + detail
		}
		code := cxaudit.EUNAVAILABLE
		switch {
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			code = cxaudit.EUNAUTHORIZED
		case status == http.StatusNotFound:
			code = cxaudit.ENOTFOUND
		case status == http.StatusConflict:
			code = cxaudit.ECONFLICT
		case status >= 400 && status < 500:
			code = cxaudit.EINVALID
		}
		return &cxaudit.Error{Code: code, Message: msg}
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &syntaxErr) || errors.As(err, &typeErr) {
		return malformed(op, err)
	}
	return &cxaudit.Error{Code: cxaudit.EUNAVAILABLE, Message: "zendesk: " + op + ": request failed", Err: withoutSecrets(err)}
}

// malformed reports a response body that did not decode. The caller
// retries; its cursor stays where it was.
func malformed(op string, err error) error {
	return &cxaudit.Error{Code: cxaudit.EUNAVAILABLE, Message: "zendesk: " + op + ": malformed page (response body is not the expected JSON)", Err: err}
}

// errorDetail extracts Zendesk's error code and description from an
// error body: {"error":"RecordNotFound","description":"Not found"}, or
// {"error":{"title":...,"message":...}} on some endpoints.
func errorDetail(zerr zendesk.Error) string {
	var body struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"description"`
	}
	b := zerr.Body()
	defer b.Close()
	if json.NewDecoder(b).Decode(&body) != nil {
		return ""
	}
	var code string
	if json.Unmarshal(body.Error, &code) != nil {
		var obj struct{ Title, Message string }
		if json.Unmarshal(body.Error, &obj) == nil {
			code = strings.TrimSpace(obj.Title + " " + obj.Message)
		}
	}
	detail := code
	if body.Description != "" && body.Description != code {
		detail = strings.TrimPrefix(detail+" ("+body.Description+")", " ")
	}
	return truncate(detail, 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// mapError classifies err.
func (c *Client) mapError(op string, err error) error {
	return classify(op, err)
}

func (c *Client) decode(op string, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return malformed(op, err)
	}
	return nil
}

// requestError is a request that got no response, as errors show it: the
// method, the address without its query or credentials, and the cause.
// The API token travels only in the Authorization header, which no error
// carries; the address is cut down all the same, so that nothing a request
// carried besides its path can reach a log.
type requestError struct {
	method, url string
	err         error
}

func (e *requestError) Error() string {
	return e.method + " " + strconv.Quote(e.url) + ": " + e.err.Error()
}

// Unwrap keeps the cause (a timeout, a cancellation) reachable.
func (e *requestError) Unwrap() error { return e.err }

// withoutSecrets returns err with any *url.Error in it shown as a
// requestError.
func withoutSecrets(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	where := "(address not shown)"
	if u, perr := url.Parse(ue.URL); perr == nil {
		where = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	}
	return &requestError{method: ue.Op, url: where, err: ue.Err}
}
