package ratelimit

import (
	"strings"
	"time"
)

// window is a sliding-window log: the send times of the last limit
// requests. A request may go when fewer than limit were sent in the
// minute before it, so no minute, however aligned, holds more than limit
// (a token bucket with a burst would overrun a fixed window at its start).
type window struct {
	name   string
	match  string
	method string // "" for any
	limit  int
	span   time.Duration
	burst  float64
	times  []time.Time // ring buffer of send times, oldest at head
	head   int
	n      int
	// last is the latest send time: requests are also paced evenly, one
	// every span/limit, so that the budget is spent smoothly instead of in
	// a burst at the start of each minute.
	last time.Time
}

// newWindow returns a window of limit requests per per. Its span is per
// plus a margin (1/120) for the time a request takes to reach the system,
// so that jitter never lands a request in the system's previous minute.
// The first burst share of the window goes unpaced. limit is capped at
// maxLimit, as a limit a server advertises is: a configured limit of two
// billion would otherwise allocate 48 GB before the first request.
func newWindow(name string, limit int, match string, per time.Duration, burst float64) *window {
	limit = min(limit, maxLimit)
	return &window{name: name, match: match, limit: limit, times: make([]time.Time, limit),
		span: per + per/120, burst: burst}
}

// matches reports whether a request of method to path counts in w.
func (w *window) matches(method, path string) bool {
	return path != "" && strings.Contains(path, w.match) && (w.method == "" || w.method == method)
}

// maxLimit caps the limit a server may advertise (X-Rate-Limit) and the
// one a window is built with: the window keeps a send time per allowed
// request, and a server claiming a billion must not make it allocate
// gigabytes. Zendesk's largest plan allows 2,500 a minute.
const maxLimit = 100_000

// resize changes the limit, keeping the most recent send times.
func (w *window) resize(limit int) {
	limit = min(limit, maxLimit)
	if limit == w.limit || limit <= 0 {
		return
	}
	times := make([]time.Time, limit)
	keep := min(w.n, limit)
	for i := range keep {
		times[i] = w.times[(w.head+w.n-keep+i)%w.limit]
	}
	w.times, w.head, w.n, w.limit = times, 0, keep, limit
}

// expire drops send times older than span.
func (w *window) expire(now time.Time) {
	for w.n > 0 && !now.Before(w.times[w.head].Add(w.span)) {
		w.head = (w.head + 1) % w.limit
		w.n--
	}
}

// wait returns how long until a request may go, using at most share of
// the limit.
func (w *window) wait(now time.Time, share float64) time.Duration {
	w.expire(now)
	allowed := max(int(share*float64(w.limit)), 1)
	var pace time.Duration
	if !w.last.IsZero() && float64(w.n) >= w.burst*float64(allowed) {
		pace = max(w.last.Add(time.Duration(float64(w.span)/float64(allowed))).Sub(now), 0)
	}
	if w.n < allowed {
		return pace
	}
	// The (n-allowed+1)-th oldest entry must expire.
	i := (w.head + w.n - allowed) % w.limit
	return max(w.times[i].Add(w.span).Sub(now), pace, time.Millisecond)
}

func (w *window) add(now time.Time) {
	w.expire(now)
	if w.n == w.limit {
		// Full (only after sync): the oldest gives way.
		w.head = (w.head + 1) % w.limit
		w.n--
	}
	w.times[(w.head+w.n)%w.limit] = now
	w.n++
	w.last = now
}

// sync accounts for requests the system counted that this window did not
// see (other integrations on the same account): used is the system's count
// for the current minute.
func (w *window) sync(now time.Time, used int) {
	w.expire(now)
	last := w.last
	for extra := min(used, w.limit) - w.n; extra > 0; extra-- {
		w.add(now)
	}
	w.last = last
}
