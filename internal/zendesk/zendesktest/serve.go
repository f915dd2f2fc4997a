package zendesktest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

func (s *Sim) routes() {
	mux := http.NewServeMux()
	mux.HandleFunc(EndpointExportTickets, s.exportTickets)
	mux.HandleFunc(EndpointExportOrganizations, s.exportOrganizations)
	mux.HandleFunc(EndpointExportUsers, s.exportUsers)
	mux.HandleFunc(EndpointShowTicket, s.showTicket)
	mux.HandleFunc(EndpointTicketComments, s.ticketComments)
	mux.HandleFunc(EndpointUpdateTicket, s.updateTicket)
	mux.HandleFunc(EndpointMe, s.me)
	mux.HandleFunc(EndpointShowUser, s.showUser)
	mux.HandleFunc(EndpointDeletedTickets, s.deletedTickets)
	mux.HandleFunc(EndpointExportTicketEvents, s.exportTicketEvents)
	mux.HandleFunc(EndpointTicketFields, s.ticketFields)
	mux.HandleFunc(EndpointOrganizationFields, s.organizationFields)
	mux.HandleFunc(EndpointUserFields, s.userFields)
	mux.HandleFunc(EndpointShowOrganizations, s.showOrganizations)
	mux.HandleFunc(EndpointShowUsers, s.showUsers)
	mux.HandleFunc(EndpointListUsers, s.listUsers)
	mux.HandleFunc(EndpointSchedules, s.listSchedules)
	mux.HandleFunc(EndpointScheduleHolidays, s.scheduleHolidays)
	s.webhookRoutes(mux)
	s.mux = mux
}

// verdict is what the fault injection and the rate limiter decided about
// one request.
type verdict struct {
	status     int  // non-zero: answer with this failure
	retryAfter int  // seconds, for a 429
	applyFirst bool // run the handler before failing (a lost write response)
	malformed  bool // cut the body of a successful GET in half
	limit      int
	remaining  int
	// Update Ticket's own account limit, for its header.
	updateLimit, updateRemaining, updateResets int
}

// ServeHTTP serves the Zendesk API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Handler finds the route for the stats; ServeHTTP below sets the path
	// values the handlers read.
	_, pattern := s.mux.Handler(r)
	endpoint := pattern
	if endpoint == "" {
		endpoint = EndpointUnknown
	}

	s.mu.Lock()
	s.stats.Requests++
	s.stats.ByEndpoint[endpoint]++
	latency := s.faults.Latency
	s.inFlight++
	s.stats.MaxInFlight = max(s.stats.MaxInFlight, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()

	if latency > 0 && !sleep(r.Context(), latency) {
		return
	}

	v := s.judge(r, endpoint)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Rate-Limit", strconv.Itoa(v.limit))
	w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(v.remaining))
	if endpoint == EndpointUpdateTicket {
		// Ticketing endpoints tell their own limit too
		// (https://developer.zendesk.com/api-reference/introduction/rate-limits/).
		w.Header().Set("Zendesk-RateLimit-tickets-update", fmt.Sprintf("total=%d; remaining=%d; resets=%d", v.updateLimit, v.updateRemaining, v.updateResets))
	}

	if v.status != 0 && !v.applyFirst {
		writeFailure(w, v)
		return
	}
	if !s.authorized(r) {
		if v.status != 0 {
			writeFailure(w, v)
			return
		}
		writeJSON(w, http.StatusUnauthorized, wireError{Error: "Couldn't authenticate you"})
		return
	}
	if endpoint == EndpointUnknown {
		writeJSON(w, http.StatusNotFound, wireError{Error: "InvalidEndpoint", Description: "Not found"})
		return
	}

	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, r)
	if v.status != 0 {
		writeFailure(w, v)
		return
	}
	body := rec.Body.Bytes()
	if v.malformed && rec.Code == http.StatusOK {
		body = body[:len(body)/2]
	}
	for k, vals := range rec.Header() {
		w.Header()[k] = vals
	}
	if s.huge.Serve(w, r, rec.Code, body) {
		return
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// judge applies FailNext, the rate limit and the random faults, in that
// order.
func (s *Sim) judge(r *http.Request, endpoint string) (v verdict) {
	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.now()
	if now.Before(s.windowStart) || !now.Before(s.windowStart.Add(s.minute)) {
		s.windowStart, s.windowCount = now, 0
	}
	v.limit = s.rateLimit
	defer func() {
		v.updateLimit, v.updateRemaining = s.updateLimit, max(s.updateLimit-s.updates.n, 0)
		v.updateResets = max(int(math.Ceil(s.updates.start.Add(s.minute).Sub(now).Seconds())), 0)
		v.remaining = max(s.rateLimit-s.windowCount, 0)
		if v.status == http.StatusTooManyRequests {
			s.stats.RateLimited++
		}
	}()
	isWrite := endpoint == EndpointUpdateTicket

	if s.failN > 0 {
		s.failN--
		v.status = s.failStatus
		if v.status == http.StatusTooManyRequests {
			v.retryAfter = max(s.failRetryAfter, 1)
		}
		v.applyFirst = isWrite && s.faults.LoseWriteResponses && v.status >= 500
		return v
	}
	if f := s.faults; f.StormEvery > 0 && f.StormLength > 0 {
		s.faultCount++
		if n := s.faultCount % (f.StormEvery + f.StormLength); n == 0 || n > f.StormEvery {
			v.status, v.retryAfter = http.StatusTooManyRequests, 1
			return v
		}
	}
	if s.windowCount >= s.rateLimit {
		v.status = http.StatusTooManyRequests
		wait := s.windowStart.Add(s.minute).Sub(now)
		v.retryAfter = max(int(math.Ceil(wait.Seconds())), 1)
		return v
	}
	if s.exportLimit > 0 && strings.HasPrefix(r.URL.Path, "/api/v2/incremental/") {
		if wait, ok := s.exports.full(now, s.exportLimit, s.minute); ok {
			v.status = http.StatusTooManyRequests
			v.retryAfter = max(int(math.Ceil(wait.Seconds())), 1)
			s.stats.ExportsRateLimited++
			return v
		}
		s.exports.n++
	}
	if isWrite {
		// Update Ticket's own limits, on top of the account's: the
		// account-wide one, and one per ticket (the simulator has one API
		// user).
		tw := s.ticketWins[ticketIDOf(r.URL.Path)]
		if tw == nil {
			tw = &fixedWindow{}
			s.ticketWins[ticketIDOf(r.URL.Path)] = tw
		}
		for _, w := range []struct {
			win   *fixedWindow
			limit int
			span  time.Duration
		}{{&s.updates, s.updateLimit, s.minute}, {tw, s.ticketLimit, 10 * s.minute}} {
			if wait, ok := w.win.full(now, w.limit, w.span); ok {
				v.status = http.StatusTooManyRequests
				v.retryAfter = max(int(math.Ceil(wait.Seconds())), 1)
				s.stats.UpdatesRateLimited++
				return v
			}
		}
		s.updates.n++
		tw.n++
	}
	s.windowCount++
	if s.faults.ErrorRate > 0 && s.dice.Float64() < s.faults.ErrorRate {
		v.status = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[s.dice.IntN(3)]
		v.applyFirst = isWrite && s.faults.LoseWriteResponses
		return v
	}
	if r.Method == http.MethodGet && s.faults.MalformedRate > 0 && s.dice.Float64() < s.faults.MalformedRate {
		v.malformed = true
	}
	return v
}

// fixedWindow counts requests in a window that starts with the first
// request after the last one ended.
type fixedWindow struct {
	start time.Time
	n     int
}

// full starts a new window when the last is over, and reports whether it
// holds limit requests already, with the time until it ends.
func (w *fixedWindow) full(now time.Time, limit int, span time.Duration) (time.Duration, bool) {
	if now.Before(w.start) || !now.Before(w.start.Add(span)) {
		w.start, w.n = now, 0
	}
	if w.n < limit {
		return 0, false
	}
	return w.start.Add(span).Sub(now), true
}

// ticketIDOf reads the ticket id of /api/v2/tickets/{id}.json (0 if none).
func ticketIDOf(path string) int64 {
	id, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(path, "/api/v2/tickets/"), ".json"), 10, 64)
	return id
}

func (s *Sim) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	return ok && user == s.email+"/token" && pass == s.token
}

func writeFailure(w http.ResponseWriter, v verdict) {
	if v.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(v.retryAfter))
		writeJSON(w, v.status, wireError{Error: "TooManyRequests", Description: "You have exceeded the rate limit. Retry after the number of seconds in Retry-After."})
		return
	}
	writeJSON(w, v.status, wireError{Error: http.StatusText(v.status), Description: "Injected failure"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"InternalError"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
