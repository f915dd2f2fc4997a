package zendesktest

import "net/http"

// RateLimitNext makes the next n requests fail with 429 Too Many Requests
// and Retry-After: retryAfter seconds, as Zendesk answers over a limit
// (https://developer.zendesk.com/api-reference/introduction/rate-limits/).
// The value is sent as given, however large: a client must bound what a
// server may ask of it.
func (s *Sim) RateLimitNext(n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus, s.failRetryAfter = n, http.StatusTooManyRequests, retryAfter
}
