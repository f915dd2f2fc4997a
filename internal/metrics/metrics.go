// Package metrics defines cxaudit's Prometheus metrics, all in one registry
// that the worker serves on /metrics.
package metrics

import (
	"strconv"

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
}

// New registers every collector in a fresh registry, with the Go and
// process collectors beside them.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		APIRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cxaudit_api_requests_total",
			Help: "HTTP requests to Zendesk and Salesforce, retries included, by system, method and status code (0: no response).",
		}, []string{"system", "method", "code"}),
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
	}
	r.MustRegister(m.WritebackHeld)
	r.MustRegister(m.APIRequests, m.APIRequestDuration, m.SyncRecords, m.FindingChanges, m.Writes, m.Jobs,
		m.RulesReloadOK, m.RulesLoaded,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveAttempt records one HTTP round trip (a remote.Options.ObserveFunc).
func (m *Metrics) ObserveAttempt(a remote.Attempt) {
	m.APIRequests.WithLabelValues(string(a.System), a.Method, strconv.Itoa(a.Status)).Inc()
	m.APIRequestDuration.WithLabelValues(string(a.System)).Observe(a.Duration.Seconds())
}

// ObserveFinding records a finding change (an audit.Auditor.ObserveFunc).
func (m *Metrics) ObserveFinding(f cxaudit.Finding, c audit.Change) {
	m.FindingChanges.WithLabelValues(f.RuleID, string(f.Category), string(f.Severity), string(c)).Inc()
}
