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
package remote

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
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
		Timeout:   opts.Timeout,
		Transport: &observer{opts: &opts, next: next},
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
	return &http.Client{Transport: &methodTagger{next: &retryablehttp.RoundTripper{Client: rc}}}
}

type methodKey struct{}

// methodTagger puts the request method into its context, where the retry
// policy (which sees only the context, the response and the error) can
// read it.
type methodTagger struct{ next http.RoundTripper }

func (m *methodTagger) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := context.WithValue(req.Context(), methodKey{}, req.Method)
	return m.next.RoundTrip(req.WithContext(ctx))
}

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

// RetryAfter parses a Retry-After header given in seconds or as an HTTP date.
func RetryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
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
