// Package ratelimit treats a remote system's API limits as a budget that
// every caller draws from, rather than as an error to recover from.
//
// One Budget exists per system (Zendesk, Salesforce) and every HTTP attempt
// to that system passes through it, whichever service sends it: sync and
// write-back share it. A Budget
//
//   - spaces requests under the account-wide limit per minute, with a
//     sliding window, so that no minute anywhere holds more than the limit;
//   - keeps a Reserve of each window for PriorityWrite (write-back of new
//     findings), which is also served first when both wait;
//   - applies per-endpoint limits on top (Zendesk's incremental exports:
//     10 requests a minute, 30 with the High Volume add-on);
//   - learns from the answers: a Retry-After closes the gate for every
//     caller until it passes (no request is sent inside the window);
//     X-Rate-Limit / X-Rate-Limit-Remaining (Zendesk) account for requests
//     other integrations made against the same limit; Sforce-Limit-Info
//     (Salesforce) stops all calls once DailyShare of the daily quota is
//     used, until it frees;
//   - stops calling a system that answered 401 for a back-off, and reports
//     it unhealthy (see Health) until a request succeeds again.
//
// Wait blocks up to MaxWait. A longer wait returns *cxaudit.RateLimitError,
// which River jobs turn into a snooze instead of holding a worker.
package ratelimit

import (
	"context"
	"errors"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Priority orders callers of one Budget.
type Priority int

const (
	// PrioritySync is background reading: sync and backfill. It may use
	// the window minus the reserve.
	PrioritySync Priority = iota
	// PriorityWrite is write-back of findings (and the reads that
	// reconcile it). It may use the reserve and goes first.
	PriorityWrite
)

func (p Priority) String() string {
	if p == PriorityWrite {
		return "write"
	}
	return "sync"
}

type priorityKey struct{}

// WithPriority returns ctx carrying p, for the requests sent under it.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityOf returns the priority ctx carries, and whether it carries one.
func PriorityOf(ctx context.Context) (Priority, bool) {
	p, ok := ctx.Value(priorityKey{}).(Priority)
	return p, ok
}

// Endpoint is a limit on a group of endpoints, on top of the account-wide
// one.
type Endpoint struct {
	// Name names the group in errors and events ("incremental_export").
	Name string
	// PathContains selects requests whose URL path contains it.
	PathContains string
	// Method, when set, selects only requests of that method (Zendesk's
	// Update Ticket limit counts PUTs to /api/v2/tickets/, not reads).
	Method string
	// PerMinute is the group's limit.
	PerMinute int
	// LimitHeader, when set, is a response header in which the system
	// tells the group's limit, as Zendesk's "Zendesk-RateLimit-<endpoint>:
	// total=100; remaining=99; resets=41"; the group then uses HeaderShare
	// (0..1] of the total it tells.
	LimitHeader string
	HeaderShare float64
	// ScaleFunc, when set, gives the group's limit for the account-wide
	// limit the system advertises (X-Rate-Limit), for limits that come
	// with the plan: Zendesk's exports allow 30 a minute instead of 10
	// with the High Volume add-on, which raises the account to 2,500.
	ScaleFunc func(accountLimit int) int
}

// Config configures a Budget. The zero value of each field is a sensible
// default, except System.
type Config struct {
	System cxaudit.Source
	// PerMinute is the account-wide limit. Zero: no local limit (the
	// Budget still honours what the system says). An X-Rate-Limit header
	// replaces it with what the account actually has.
	PerMinute int
	// Window is the span the limits apply to. Default a minute; tests and
	// benchmarks shrink it.
	Window time.Duration
	// Burst is the share (0..1] of a window sent as fast as callers ask;
	// past it, requests are paced evenly over the window so that the
	// budget is spent smoothly and a writer never waits behind a burst.
	// Default 0.5.
	Burst float64
	// Reserve is the share (0..1) of each window that only PriorityWrite
	// may use. Default 0: requests are paced evenly and PriorityWrite
	// goes first, so a writer waits at most one pacing interval; a reserve
	// also protects it from other integrations spending the limit.
	Reserve float64
	// Endpoints are per-endpoint limits.
	Endpoints []Endpoint
	// DailyShare is the share (0..1] of the Salesforce daily API quota
	// cxaudit may use, from Sforce-Limit-Info. Zero: no daily cap.
	DailyShare float64
	// DailyBackoff is how long calls stop once DailyShare is reached
	// before trying again (the quota is a rolling 24 hours). Default 1h.
	DailyBackoff time.Duration
	// MaxWait is the longest Wait blocks; a longer wait is returned as a
	// *cxaudit.RateLimitError. Default 30s.
	MaxWait time.Duration
	// MaxPause caps how long a Retry-After closes the gate: a server that
	// asks for more (Retry-After: 999999999 is 31 years) is asked again
	// after MaxPause. Default DefaultMaxPause.
	MaxPause time.Duration
	// AuthBackoff is how long calls stop after a 401; it doubles with each
	// further 401, up to 1h. Default 1m.
	AuthBackoff time.Duration
	// NowFunc is the clock. Default time.Now.
	NowFunc func() time.Time
	// ObserveFunc, when set, is told of events: EventThrottled (a
	// request waited), EventRateLimited (the system answered 429),
	// EventDeferred (a wait was handed back as a RateLimitError),
	// EventUnauthorized (a 401).
	ObserveFunc func(system cxaudit.Source, event string)
}

// Events passed to Config.ObserveFunc.
const (
	EventThrottled    = "throttled"
	EventRateLimited  = "rate_limited"
	EventDeferred     = "deferred"
	EventUnauthorized = "unauthorized"
	EventDailyCap     = "daily_cap"
)

// DefaultMaxPause is the default Config.MaxPause.
const DefaultMaxPause = 5 * time.Minute

// Budget is the API budget of one system. It is safe for concurrent use.
type Budget struct {
	cfg Config

	mu          sync.Mutex
	wake        chan struct{} // closed and replaced whenever state changes
	account     *window
	endpoints   []*window
	endpointCfg []Endpoint // the config of each of endpoints
	scale       []func(int) int
	// gateUntil: no request before it (Retry-After, daily cap, 401).
	gateUntil  time.Time
	gateReason string
	// writers waiting: sync callers yield to them.
	writersWaiting int

	dailyUsed, dailyLimit int
	dailyLocal            int // requests sent since the last header

	unauthorized bool
	authReason   string
	authBackoff  time.Duration
}

// New returns a Budget for cfg.
func New(cfg Config) *Budget {
	cfg.Reserve = min(max(cfg.Reserve, 0), 0.9)
	if cfg.Window == 0 {
		cfg.Window = time.Minute
	}
	if cfg.Burst <= 0 || cfg.Burst > 1 {
		cfg.Burst = 0.5
	}
	if cfg.DailyBackoff == 0 {
		cfg.DailyBackoff = time.Hour
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 30 * time.Second
	}
	if cfg.MaxPause <= 0 {
		cfg.MaxPause = DefaultMaxPause
	}
	if cfg.AuthBackoff == 0 {
		cfg.AuthBackoff = time.Minute
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	b := &Budget{cfg: cfg, wake: make(chan struct{})}
	if cfg.PerMinute > 0 {
		b.account = newWindow("account", cfg.PerMinute, "", cfg.Window, cfg.Burst)
	}
	for _, e := range cfg.Endpoints {
		if e.PerMinute > 0 {
			w := newWindow(e.Name, e.PerMinute, e.PathContains, cfg.Window, cfg.Burst)
			w.method = e.Method
			b.endpoints = append(b.endpoints, w)
			b.endpointCfg = append(b.endpointCfg, e)
			b.scale = append(b.scale, e.ScaleFunc)
		}
	}
	return b
}

// System returns the system the budget is for.
func (b *Budget) System() cxaudit.Source { return b.cfg.System }

func (b *Budget) observe(event string) {
	if b.cfg.ObserveFunc != nil {
		b.cfg.ObserveFunc(b.cfg.System, event)
	}
}

// Wait takes one request from the budget at priority p, for a request to
// no particular endpoint. See WaitPath.
func (b *Budget) Wait(ctx context.Context, p Priority) error { return b.WaitRequest(ctx, p, "", "") }

// WaitPath is WaitRequest for a request of no particular method.
func (b *Budget) WaitPath(ctx context.Context, p Priority, path string) error {
	return b.WaitRequest(ctx, p, "", path)
}

// WaitRequest blocks until a request of method to path may be sent at
// priority p and counts it. It returns a *cxaudit.RateLimitError when that
// would take longer than MaxWait, an EUNAUTHORIZED *cxaudit.Error while the
// system is in its back-off after a 401, or ctx's error.
func (b *Budget) WaitRequest(ctx context.Context, p Priority, method, path string) error {
	b.mu.Lock()
	if p == PriorityWrite {
		b.writersWaiting++
		defer func() {
			b.mu.Lock()
			b.writersWaiting--
			b.broadcast()
			b.mu.Unlock()
		}()
	}
	throttled := false
	for {
		now := b.cfg.NowFunc()
		wait, err := b.reserve(now, p, method, path)
		if err != nil {
			b.mu.Unlock()
			return err
		}
		if wait == 0 {
			b.mu.Unlock()
			if throttled {
				b.observe(EventThrottled)
			}
			return nil
		}
		if wait > b.cfg.MaxWait {
			b.mu.Unlock()
			b.observe(EventDeferred)
			return &cxaudit.RateLimitError{Source: b.cfg.System, RetryAfter: wait}
		}
		throttled = true
		wake := b.wake
		b.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		case <-wake:
			t.Stop()
		}
		b.mu.Lock()
	}
}

// reserve counts a request if one may go now, or returns how long to wait.
// Called with b.mu held.
func (b *Budget) reserve(now time.Time, p Priority, method, path string) (time.Duration, error) {
	if b.unauthorized && now.Before(b.gateUntil) {
		return 0, &cxaudit.Error{Code: cxaudit.EUNAUTHORIZED, Message: string(b.cfg.System) + ": not calling the API for " +
			b.gateUntil.Sub(now).Round(time.Second).String() + " after it rejected the credentials (" + b.authReason + ")"}
	}
	if now.Before(b.gateUntil) {
		return b.gateUntil.Sub(now), nil
	}
	if b.dailyCapped() {
		b.gateUntil, b.gateReason = now.Add(b.cfg.DailyBackoff), "daily quota share used"
		b.observe(EventDailyCap)
		return b.cfg.DailyBackoff, nil
	}
	if p == PrioritySync && b.writersWaiting > 0 {
		// Let the writers go first; they wake us when done.
		return b.cfg.MaxWait, nil
	}
	share := 1.0
	if p == PrioritySync {
		share = 1 - b.cfg.Reserve
	}
	var wait time.Duration
	if b.account != nil {
		wait = max(wait, b.account.wait(now, share))
	}
	for _, w := range b.endpoints {
		if w.matches(method, path) {
			// The reserve is an account-wide idea: endpoint limits are
			// shared by all priorities alike.
			wait = max(wait, w.wait(now, 1))
		}
	}
	if wait > 0 {
		return wait, nil
	}
	if b.account != nil {
		b.account.add(now)
	}
	for _, w := range b.endpoints {
		if w.matches(method, path) {
			w.add(now)
		}
	}
	b.dailyLocal++
	return 0, nil
}

func (b *Budget) dailyCapped() bool {
	if b.cfg.DailyShare <= 0 || b.dailyLimit <= 0 {
		return false
	}
	return float64(b.dailyUsed+b.dailyLocal) >= b.cfg.DailyShare*float64(b.dailyLimit)
}

// broadcast wakes every waiter. Called with b.mu held.
func (b *Budget) broadcast() {
	close(b.wake)
	b.wake = make(chan struct{})
}

// Observe learns from a response of the system: its status and headers.
func (b *Budget) Observe(status int, h http.Header) {
	now := b.cfg.NowFunc()
	b.mu.Lock()
	defer b.mu.Unlock()
	changed := false
	switch {
	case status == http.StatusUnauthorized:
		b.markUnauthorized(now, "HTTP 401")
		changed = true
	case status >= 200 && status < 400 && b.unauthorized:
		b.unauthorized, b.authReason, b.authBackoff = false, "", 0
		changed = true
	}
	if status == http.StatusTooManyRequests || (status == http.StatusServiceUnavailable && h.Get("Retry-After") != "") {
		b.observe(EventRateLimited)
		if d, ok := RetryAfter(h, now); ok {
			d = min(d, b.cfg.MaxPause)
			if now.Add(d).After(b.gateUntil) {
				b.gateUntil, b.gateReason = now.Add(d), "Retry-After"
			}
		}
	}
	// Zendesk: what the account has used of its limit, other integrations
	// included.
	if limit, err := strconv.Atoi(h.Get("X-Rate-Limit")); err == nil && limit > 0 && b.account != nil {
		if limit != b.account.limit {
			b.account.resize(limit)
			for i, w := range b.endpoints {
				if f := b.scale[i]; f != nil {
					w.resize(f(limit))
				}
			}
			changed = true
		}
		if remaining, err := strconv.Atoi(h.Get("X-Rate-Limit-Remaining")); err == nil {
			b.account.sync(now, limit-remaining)
		}
	}
	// Endpoint groups that tell their own limit.
	for i, e := range b.endpointCfg {
		if e.LimitHeader == "" {
			continue
		}
		if m := totalRE.FindStringSubmatch(h.Get(e.LimitHeader)); m != nil {
			if total, err := strconv.Atoi(m[1]); err == nil && total > 0 {
				limit := max(int(min(max(e.HeaderShare, 0), 1)*float64(total)), 1)
				if w := b.endpoints[i]; w.limit != limit {
					w.resize(limit)
					changed = true
				}
			}
		}
	}
	// Salesforce: api-usage=used/limit over a rolling 24 hours.
	if m := limitInfoRE.FindStringSubmatch(h.Get("Sforce-Limit-Info")); m != nil {
		used, err1 := strconv.Atoi(m[1])
		limit, err2 := strconv.Atoi(m[2])
		if err1 == nil && err2 == nil {
			b.dailyUsed, b.dailyLimit, b.dailyLocal = used, limit, 0
		}
	}
	if changed {
		b.broadcast()
	}
}

var (
	limitInfoRE = regexp.MustCompile(`api-usage=(\d+)/(\d+)`)
	totalRE     = regexp.MustCompile(`(?:^|[;\s])total=(\d+)`)
)

// MarkUnauthorized stops calls for the auth back-off and reports the
// system unhealthy. Adapters call it when a credential is refused in a way
// the status alone does not show (a token endpoint's invalid_grant).
func (b *Budget) MarkUnauthorized(reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.markUnauthorized(b.cfg.NowFunc(), reason)
	b.broadcast()
}

func (b *Budget) markUnauthorized(now time.Time, reason string) {
	if b.authBackoff == 0 {
		b.authBackoff = b.cfg.AuthBackoff
	} else {
		b.authBackoff = min(2*b.authBackoff, time.Hour)
	}
	b.unauthorized, b.authReason = true, reason
	if until := now.Add(b.authBackoff); until.After(b.gateUntil) {
		b.gateUntil, b.gateReason = until, "unauthorized"
	}
	b.observe(EventUnauthorized)
}

// ResetAuth clears the unauthorized state, as when credentials change.
func (b *Budget) ResetAuth() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.unauthorized {
		b.unauthorized, b.authReason, b.authBackoff = false, "", 0
		if b.gateReason == "unauthorized" {
			b.gateUntil = time.Time{}
		}
		b.broadcast()
	}
}

// Health is what a Budget knows of its system's state, for readiness.
type Health struct {
	System cxaudit.Source `json:"system"`
	// OK is false while the credentials are rejected.
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
	// PausedUntil is when calls resume, if they are paused.
	PausedUntil time.Time `json:"paused_until,omitzero"`
	PauseReason string    `json:"pause_reason,omitempty"`
	// DailyUsed and DailyLimit are the last Sforce-Limit-Info seen.
	DailyUsed  int `json:"daily_used,omitempty"`
	DailyLimit int `json:"daily_limit,omitempty"`
}

// Health reports the system's state.
func (b *Budget) Health() Health {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := Health{System: b.cfg.System, OK: !b.unauthorized, Reason: b.authReason, DailyUsed: b.dailyUsed, DailyLimit: b.dailyLimit}
	if now := b.cfg.NowFunc(); now.Before(b.gateUntil) {
		h.PausedUntil, h.PauseReason = b.gateUntil, b.gateReason
	}
	return h
}

// RetryAfter parses a Retry-After header given in seconds or as an HTTP
// date, relative to now. Seconds beyond what a time.Duration holds (about
// 292 years) are that much, not an overflow to a negative wait.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && !math.IsInf(s, 0) {
		if s > float64(math.MaxInt64/int64(time.Second)) {
			return math.MaxInt64, true
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Transport returns a RoundTripper that passes every request to next
// through b: it waits its turn, then lets b learn from the response.
// Requests take the priority their context carries (WithPriority), else
// PriorityWrite for writes and PrioritySync for reads.
func (b *Budget) Transport(next http.RoundTripper) http.RoundTripper {
	return &transport{b: b, next: next}
}

type transport struct {
	b    *Budget
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	p, ok := PriorityOf(req.Context())
	if !ok {
		p = PrioritySync
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			p = PriorityWrite
		}
	}
	if err := t.b.WaitRequest(req.Context(), p, req.Method, req.URL.Path); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	if resp != nil {
		t.b.Observe(resp.StatusCode, resp.Header)
	}
	return resp, err
}

// IsBudgetError reports whether err is the Budget refusing a request (a
// wait too long, or a system in its 401 back-off) rather than the system
// failing: retrying it at once cannot help.
func IsBudgetError(err error) bool {
	var rl *cxaudit.RateLimitError
	if errors.As(err, &rl) {
		return true
	}
	var e *cxaudit.Error
	return errors.As(err, &e) && e.Code == cxaudit.EUNAUTHORIZED
}
