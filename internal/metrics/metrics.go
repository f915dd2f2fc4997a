// Package metrics defines cxaudit's Prometheus metrics, all in one registry
// that the worker serves on /metrics.
package metrics

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/remote"
)

// Metrics holds every collector.
type Metrics struct {
	Registry *prometheus.Registry

	APIRequests        *prometheus.CounterVec
	APIRequestDuration *prometheus.HistogramVec
	SyncRecords        *prometheus.CounterVec
	FindingChanges     *prometheus.CounterVec
	Writes             *prometheus.CounterVec
	Jobs               *prometheus.CounterVec
	WritebackHeld      *prometheus.GaugeVec
	RulesReloadOK      prometheus.Gauge
	RulesLoaded        prometheus.Gauge
	// RulesDisabled is 1 for each rule set aside, by why: "field" (it
	// reads a field the tenant lacks) or "waiting" (for a first sync).
	RulesDisabled *prometheus.GaugeVec

	// RateLimitRemaining is the API budget left as the system last
	// reported it (X-Rate-Limit-Remaining, Sforce-Limit-Info).
	RateLimitRemaining *prometheus.GaugeVec
	// WriteDuration and WriteFailures cover write-back requests (every
	// method but GET and HEAD) to Zendesk and Salesforce.
	WriteDuration *prometheus.HistogramVec
	WriteFailures *prometheus.CounterVec
	// JobDuration is how long River jobs take, by kind and outcome.
	JobDuration *prometheus.HistogramVec
	// WebhookRequests counts requests to POST /webhooks/zendesk by
	// outcome (see webhook.Handler).
	WebhookRequests *prometheus.CounterVec
	// Mode is 1 for the CXAUDIT_MODE in force (observe or enforce).
	Mode *prometheus.GaugeVec
}

// New registers every collector in a fresh registry, with the Go and
// process collectors beside them.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		APIRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cxaudit_api_requests_total",
			Help: "HTTP requests to Zendesk and Salesforce, retries included, by system, method, endpoint (the path with ids as {id}) and status code (0: no response).",
		}, []string{"system", "method", "endpoint", "code"}),
		APIRequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cxaudit_api_request_duration_seconds",
			Help:    "Duration of HTTP requests to Zendesk and Salesforce.",
			Buckets: prometheus.DefBuckets,
		}, []string{"system"}),
		SyncRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cxaudit_sync_records_total",
			Help: "Records synced and stored, by source and object.",
		}, []string{"source", "object"}),
		FindingChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cxaudit_finding_changes_total",
			Help: "Findings opened, updated, resolved and reopened, by rule, category and severity.",
		}, []string{"rule", "category", "severity", "change"}),
		WebhookRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cxaudit_webhook_requests_total",
			Help: "Requests to POST /webhooks/zendesk, by outcome: queued, ignored, or why refused.",
		}, []string{"outcome"}),
		Writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cxaudit_writes_total",
			Help: "Writes made to Zendesk and Salesforce, by system and kind.",
		}, []string{"system", "kind"}),
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cxaudit_jobs_total",
			Help: "River jobs worked, by kind and outcome (completed, failed, cancelled, snoozed).",
		}, []string{"kind", "outcome"}),
		WritebackHeld: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cxaudit_writeback_held",
			Help: "Entities (tickets, Tasks) whose writes the last write-back run held because the hourly write budget was spent.",
		}, []string{"system"}),
		RulesReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cxaudit_rules_last_reload_successful",
			Help: "Whether the last load of the rules directory succeeded (1) or kept the previous rules (0).",
		}),
		RulesLoaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cxaudit_rules_loaded",
			Help: "Rules in the active rule set.",
		}),
		RulesDisabled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cxaudit_rule_disabled",
			Help: "1 for each rule the audit sets aside, by rule and reason: field (it reads a field this tenant lacks; see the log or /readyz) or waiting (for the first full sync of a system it reads).",
		}, []string{"rule", "reason"}),
		RateLimitRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cxaudit_api_rate_limit_remaining",
			Help: "API budget left as the system last reported it, by system and limit: Zendesk's requests left this minute (X-Rate-Limit-Remaining), Salesforce's daily API requests left (Sforce-Limit-Info).",
		}, []string{"system", "limit"}),
		WriteDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cxaudit_writeback_request_duration_seconds",
			Help:    "Duration of write-back requests (notes, tag updates, Tasks) to Zendesk and Salesforce, retries counted one by one.",
			Buckets: prometheus.DefBuckets,
		}, []string{"system"}),
		WriteFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cxaudit_writeback_request_failures_total",
			Help: "Write-back requests that failed, by system and status code (0: no response, outcome unknown until reconciled).",
		}, []string{"system", "code"}),
		JobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cxaudit_job_duration_seconds",
			Help:    "Duration of River jobs worked by this replica, by kind and outcome (ok or error).",
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"kind", "outcome"}),
		Mode: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cxaudit_mode",
			Help: "1 for the CXAUDIT_MODE in force: observe (every rule records findings, nothing is written back) or enforce (each rule's own mode).",
		}, []string{"mode"}),
	}
	r.MustRegister(m.Mode)
	r.MustRegister(m.WritebackHeld, m.RateLimitRemaining, m.WriteDuration, m.WriteFailures, m.JobDuration, m.WebhookRequests)
	r.MustRegister(m.APIRequests, m.APIRequestDuration, m.SyncRecords, m.FindingChanges, m.Writes, m.Jobs,
		m.RulesReloadOK, m.RulesLoaded, m.RulesDisabled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// SetMode sets cxaudit_mode to mode (observe or enforce) alone.
func (m *Metrics) SetMode(mode string) {
	m.Mode.Reset()
	m.Mode.WithLabelValues(mode).Set(1)
}

// ObserveAttempt records one HTTP round trip (a remote.Options.ObserveFunc).
func (m *Metrics) ObserveAttempt(a remote.Attempt) {
	m.APIRequests.WithLabelValues(string(a.System), a.Method, Endpoint(a.Path), strconv.Itoa(a.Status)).Inc()
	m.APIRequestDuration.WithLabelValues(string(a.System)).Observe(a.Duration.Seconds())
	if a.Method != http.MethodGet && a.Method != http.MethodHead {
		m.WriteDuration.WithLabelValues(string(a.System)).Observe(a.Duration.Seconds())
		if a.Status == 0 || a.Status >= 400 {
			m.WriteFailures.WithLabelValues(string(a.System), strconv.Itoa(a.Status)).Inc()
		}
	}
}

// Endpoint is path with its ids replaced by {id}, so that the label's
// values stay few: /api/v2/tickets/123/comments.json becomes
// /api/v2/tickets/{id}/comments.json, and a Salesforce record id
// (001…, 15 or 18 characters) becomes {id}. A Salesforce query locator,
// the segment after query/ or queryAll/ in a nextRecordsUrl
// (/query/01gD0000002HU6KIAW-2000), becomes {locator}: every page of
// every pass has a new one, and each would be a new series.
func Endpoint(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		base := strings.TrimSuffix(s, ".json")
		switch {
		case i > 0 && (segs[i-1] == "query" || segs[i-1] == "queryAll") && s != "":
			segs[i] = "{locator}"
		case isID(base):
			segs[i] = "{id}" + strings.TrimPrefix(s, base)
		}
	}
	return strings.Join(segs, "/")
}

func isID(s string) bool {
	if s == "" {
		return false
	}
	digits, alnum := 0, true
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		default:
			alnum = false
		}
	}
	if digits == len(s) {
		return true
	}
	return alnum && digits > 0 && (len(s) == 15 || len(s) == 18)
}

// ObserveRateLimit records the budget a response reports: Zendesk's
// X-Rate-Limit-Remaining (requests left this minute) and Salesforce's
// Sforce-Limit-Info (api-usage=used/max per day).
func (m *Metrics) ObserveRateLimit(system cxaudit.Source, h http.Header) {
	if v := h.Get("X-Rate-Limit-Remaining"); v != "" {
		if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			m.RateLimitRemaining.WithLabelValues(string(system), "requests_per_minute").Set(n)
		}
	}
	for part := range strings.SplitSeq(h.Get("Sforce-Limit-Info"), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k != "api-usage" {
			continue
		}
		usedS, maxS, ok := strings.Cut(v, "/")
		used, err1 := strconv.ParseFloat(usedS, 64)
		limit, err2 := strconv.ParseFloat(maxS, 64)
		if ok && err1 == nil && err2 == nil {
			m.RateLimitRemaining.WithLabelValues(string(system), "requests_per_day").Set(limit - used)
		}
	}
}

// RateLimitTransport records the budget every response of system reports.
func (m *Metrics) RateLimitTransport(system cxaudit.Source, next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if resp != nil {
			m.ObserveRateLimit(system, resp.Header)
		}
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// ObserveFinding records a finding change (an audit.Auditor.ObserveFunc).
func (m *Metrics) ObserveFinding(f cxaudit.Finding, c audit.Change) {
	m.FindingChanges.WithLabelValues(f.RuleID, string(f.Category), string(f.Severity), string(c)).Inc()
}
