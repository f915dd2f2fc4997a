// Package remote builds the HTTP clients the Zendesk and Salesforce adapters
// talk through: go-retryablehttp underneath, with a retry policy that knows
// the difference between a read and a write.
//
// Reads (GET, HEAD) are retried on network errors, 429 and 5xx with
// exponential back-off, honouring Retry-After. Writes are retried only on
// 429, which the remote systems send before doing anything; a write that
// failed with a 5xx or a timeout may have been applied, so it is returned to
// the caller, which must reconcile with the remote system before writing
// again. A blindly retried note is a duplicate note.
//
// What a server may send is bounded: a response body larger than
// Options.MaxResponseBytes is an error, never read whole nor truncated
// silently; and a redirect is followed only within the origin (scheme,
// host and port) the request went to, so that credentials never travel
// to another port or host and nothing from one is taken for API data.
package remote

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/ratelimit"
)

// Options configure a client.
type Options struct {
	System cxaudit.Source
	Logger *slog.Logger

	// RetryMax is how many times a retryable request is retried. Default 4.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential back-off.
	// Defaults 250ms and 10s.
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxRetryAfter is the longest Retry-After honoured by waiting inside a
	// request. A longer one is returned to the caller (as a 429 response),
	// whose job snoozes instead of holding a worker slot. Default 30s.
	MaxRetryAfter time.Duration
	// Timeout bounds one attempt. Default 30s.
	Timeout time.Duration
	// MaxResponseBytes bounds the body of one response. A larger body is
	// an EUNAVAILABLE error naming the request, as a malformed page is: the
	// caller's job retries and its cursor stays. Default
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64

	// ObserveFunc, when set, is called after every attempt, retries included.
	ObserveFunc func(Attempt)
	// Transport is the underlying transport. Default: a pooled transport.
	Transport http.RoundTripper
	// Budget, when set, paces every attempt (retries included) and learns
	// from every response. A request it refuses (a wait longer than its
	// MaxWait, a system in its 401 back-off) fails with its error and is
	// not retried here.
	Budget *ratelimit.Budget
}

// DefaultMaxResponseBytes is the default Options.MaxResponseBytes: a
// Zendesk export page of 1,000 tickets or a Salesforce batch of 2,000
// records is a few megabytes; 200 MB took 1.5 GB of memory to decode.
const DefaultMaxResponseBytes = 64 << 20

// maxRedirects is how many redirects one request follows, as net/http.
const maxRedirects = 10

// Attempt is one HTTP round trip, for metrics and traces.
type Attempt struct {
	System   cxaudit.Source
	Method   string
	Path     string
	Status   int // 0 when the request failed before a response
	Err      error
	Duration time.Duration
}

// NewClient returns an *http.Client for opts.System.
func NewClient(opts Options) *http.Client {
	if opts.RetryMax == 0 {
		opts.RetryMax = 4
	}
	if opts.RetryWaitMin == 0 {
		opts.RetryWaitMin = 250 * time.Millisecond
	}
	if opts.RetryWaitMax == 0 {
		opts.RetryWaitMax = 10 * time.Second
	}
	if opts.MaxRetryAfter == 0 {
		opts.MaxRetryAfter = 30 * time.Second
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if opts.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		opts.Transport = t
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}

	next := opts.Transport
	if opts.Budget != nil {
		next = opts.Budget.Transport(next)
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{
		Timeout:       opts.Timeout,
		Transport:     &observer{opts: &opts, next: next},
		CheckRedirect: sameOriginRedirects,
	}
	rc.Logger = leveled{opts.Logger.With("system", string(opts.System))}
	rc.RetryMax = opts.RetryMax
	rc.RetryWaitMin, rc.RetryWaitMax = opts.RetryWaitMin, opts.RetryWaitMax
	rc.CheckRetry = checkRetry(opts.MaxRetryAfter)
	rc.Backoff = retryablehttp.DefaultBackoff
	// Hand the last response to the caller, so it sees the status (429 with
	// its Retry-After, 503) rather than an opaque "giving up" error.
	rc.ErrorHandler = func(resp *http.Response, err error, _ int) (*http.Response, error) {
		if resp != nil {
			return resp, nil
		}
		return nil, err
	}
	return &http.Client{
		Transport: &guard{next: &retryablehttp.RoundTripper{Client: rc}, maxBody: opts.MaxResponseBytes},
		// The inner client follows what may be followed; a redirect that
		// reaches this one was refused.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type methodKey struct{}

// guard is the outermost transport. It puts the request method into the
// context, where the retry policy (which sees only the context, the
// response and the error) can read it, and bounds what comes back: a
// redirect out of the origin is an error, and so is a body larger than
// maxBody.
type guard struct {
	next    http.RoundTripper
	maxBody int64
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := context.WithValue(req.Context(), methodKey{}, req.Method)
	resp, err := g.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	if to := refusedRedirect(req.URL, resp); to != nil {
		_ = resp.Body.Close()
		return nil, cxaudit.Errorf(cxaudit.EUNAVAILABLE, "%s %s: refused to follow a redirect (HTTP %d) to %s: another host or port than the configured one, "+
			"which would receive the credentials and whose answer is not API data; check the configured URL",
			req.Method, shownURL(req.URL), resp.StatusCode, origin(to))
	}
	if resp.ContentLength > g.maxBody {
		_ = resp.Body.Close()
		return nil, tooLarge(req, g.maxBody)
	}
	resp.Body = &boundedBody{body: resp.Body, limit: g.maxBody, req: req}
	return resp, nil
}

// sameOriginRedirects is the inner client's redirect policy: follow a
// redirect within the origin of the first request, with its headers
// (net/http forwards Authorization to the same host on any port, and
// drops it for another host but still hands over that host's answer);
// leave any other to guard, which refuses it.
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if origin(req.URL) != origin(via[0].URL) {
		return http.ErrUseLastResponse
	}
	return nil
}

// refusedRedirect returns where resp redirects to, if it is a redirect
// the inner client left unfollowed: out of the origin of u.
func refusedRedirect(u *url.URL, resp *http.Response) *url.URL {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil
	}
	loc, err := resp.Location()
	if err != nil {
		// No usable Location: the caller sees the status.
		return nil
	}
	if origin(loc) == origin(u) {
		return nil
	}
	return loc
}

// origin is scheme://host:port, the port spelled out.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// shownURL is u for errors: no user:password, no query (a SOQL query or
// a cursor says nothing the path does not).
func shownURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery = nil, "", false
	return c.String()
}

func tooLarge(req *http.Request, limit int64) error {
	return cxaudit.Errorf(cxaudit.EUNAVAILABLE, "%s %s: response body larger than %d bytes (CXAUDIT_MAX_RESPONSE_BYTES); not read further",
		req.Method, shownURL(req.URL), limit)
}

// boundedBody reads at most limit bytes of body; one more is an error,
// so that an oversized body is never taken for a whole one.
type boundedBody struct {
	body  io.ReadCloser
	limit int64
	read  int64
	req   *http.Request
	err   error
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if left := b.limit - b.read + 1; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := b.body.Read(p)
	b.read += int64(n)
	if b.read > b.limit {
		// The byte past the bound: the body is too large.
		b.err = tooLarge(b.req, b.limit)
		return n - int(b.read-b.limit), b.err
	}
	return n, err
}

func (b *boundedBody) Close() error { return b.body.Close() }

func idempotent(ctx context.Context) bool {
	m, _ := ctx.Value(methodKey{}).(string)
	return m == "" || m == http.MethodGet || m == http.MethodHead
}

func checkRetry(maxRetryAfter time.Duration) retryablehttp.CheckRetry {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if err != nil && ratelimit.IsBudgetError(err) {
			return false, err
		}
		if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			// Nothing was done; safe to retry for reads and writes alike,
			// unless the wait is long enough to be better spent snoozed.
			if d, ok := RetryAfter(resp.Header); ok && d > maxRetryAfter {
				return false, nil
			}
			return true, nil
		}
		if !idempotent(ctx) {
			return false, nil
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
}

// RetryAfter parses a Retry-After header given in seconds or as an HTTP
// date (see ratelimit.RetryAfter). What it returns is the server's word,
// however long: the budget and the jobs cap it (CXAUDIT_MAX_RETRY_AFTER).
func RetryAfter(h http.Header) (time.Duration, bool) {
	return ratelimit.RetryAfter(h, time.Now())
}

type observer struct {
	opts *Options
	next http.RoundTripper
}

func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := o.next.RoundTrip(req)
	if o.opts.ObserveFunc != nil {
		a := Attempt{System: o.opts.System, Method: req.Method, Path: req.URL.Path, Err: err, Duration: time.Since(start)}
		if resp != nil {
			a.Status = resp.StatusCode
		}
		o.opts.ObserveFunc(a)
	}
	return resp, err
}

// leveled adapts slog to retryablehttp's LeveledLogger. It logs at debug
// level only: retryablehttp's own lines carry URLs (never credentials,
// which travel in headers) and are noise at info level.
type leveled struct{ l *slog.Logger }

func (l leveled) Error(msg string, kv ...any) { l.l.Debug(msg, kv...) }
func (l leveled) Info(msg string, kv ...any)  { l.l.Debug(msg, kv...) }
func (l leveled) Debug(msg string, kv ...any) { l.l.Debug(msg, kv...) }
func (l leveled) Warn(msg string, kv ...any)  { l.l.Debug(msg, kv...) }
