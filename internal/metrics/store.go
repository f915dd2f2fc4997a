package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cxaudit/cxaudit/internal/store"
)

// StoreCollector reports what the database holds, at scrape time: open
// findings by rule, category and severity, how far behind each sync is,
// and River's queue depth. Every replica reports the same numbers (they
// share the database); aggregate with max(), not sum().
type StoreCollector struct {
	st     Reader
	logger *slog.Logger
	now    func() time.Time

	findingsOpen *prometheus.Desc
	syncLag      *prometheus.Desc
	syncDone     *prometheus.Desc
	queueDepth   *prometheus.Desc
	quarantined  *prometheus.Desc
	scrapeErrors *prometheus.Desc

	kpiRatio       *prometheus.Desc
	kpiNumerator   *prometheus.Desc
	kpiDenominator *prometheus.Desc
	kpiSnapshotAt  *prometheus.Desc
}

// Reader is what the collector reads of the store: named by its consumer,
// five methods instead of the store's whole Querier.
type Reader interface {
	OpenFindingCounts(ctx context.Context) ([]store.OpenFindingCount, error)
	StreamCompletions(ctx context.Context) ([]store.StreamCompletion, error)
	QueueDepths(ctx context.Context) ([]store.QueueDepth, error)
	LatestKPISnapshot(ctx context.Context) ([]store.KPISnapshot, error)
	CountQuarantine(ctx context.Context) (map[store.QuarantineKey]int, error)
}

// NewStoreCollector returns a collector reading st.
func NewStoreCollector(st Reader, logger *slog.Logger) (*StoreCollector, error) {
	c := &StoreCollector{
		st:     st,
		logger: logger,
		now:    time.Now,
		findingsOpen: prometheus.NewDesc("cxaudit_findings_open",
			"Findings open now (acknowledged ones included), by rule, category and severity.",
			[]string{"rule", "category", "severity"}, nil),
		syncLag: prometheus.NewDesc("cxaudit_sync_lag_seconds",
			"Seconds since the sync of each source and object last reached the end of its stream (caught up). Absent before the first full sync.",
			[]string{"source", "object"}, nil),
		syncDone: prometheus.NewDesc("cxaudit_sync_last_completed_timestamp_seconds",
			"When the sync of each source and object last reached the end of its stream.",
			[]string{"source", "object"}, nil),
		queueDepth: prometheus.NewDesc("cxaudit_river_jobs",
			"River jobs not finished, by queue and state (available, scheduled, retryable, running, pending).",
			[]string{"queue", "state"}, nil),
		quarantined: prometheus.NewDesc("cxaudit_quarantined_records",
			"Records a source sent that could not be read, set aside in quarantine (cxaudit quarantine list), by source and object. 0 when none.",
			[]string{"source", "object"}, nil),
		kpiRatio: prometheus.NewDesc("cxaudit_kpi_ratio",
			"The KPI scorecard's figures of the latest daily snapshot (cxaudit report): numerator / denominator, a share from 0 to 1 (escalation_quality: the average packet score out of 5), by kpi and priority (all: the KPI overall). Absent when the denominator is 0.",
			[]string{"kpi", "priority"}, nil),
		kpiNumerator: prometheus.NewDesc("cxaudit_kpi_numerator",
			"The numerator of each KPI of the latest daily snapshot, by kpi and priority (all: overall).",
			[]string{"kpi", "priority"}, nil),
		kpiDenominator: prometheus.NewDesc("cxaudit_kpi_denominator",
			"The denominator of each KPI of the latest daily snapshot (what was measured: tickets, accounts, organizations), by kpi and priority (all: overall).",
			[]string{"kpi", "priority"}, nil),
		kpiSnapshotAt: prometheus.NewDesc("cxaudit_kpi_snapshot_timestamp_seconds",
			"When the latest daily KPI snapshot was taken.", nil, nil),
		scrapeErrors: prometheus.NewDesc("cxaudit_store_scrape_error",
			"1 if the last scrape could not read the database (the store metrics are then missing).", nil, nil),
	}
	return c, nil
}

// Describe implements prometheus.Collector.
func (c *StoreCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.findingsOpen
	ch <- c.syncLag
	ch <- c.syncDone
	ch <- c.queueDepth
	ch <- c.quarantined
	ch <- c.scrapeErrors
	ch <- c.kpiRatio
	ch <- c.kpiNumerator
	ch <- c.kpiDenominator
	ch <- c.kpiSnapshotAt
}

// Collect implements prometheus.Collector.
func (c *StoreCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	failed := 0.0
	for _, f := range []func(context.Context, chan<- prometheus.Metric) error{c.collectFindings, c.collectSync, c.collectQueues, c.collectQuarantine, c.collectKPIs} {
		if err := f(ctx, ch); err != nil {
			failed = 1
			c.logger.Warn("metrics: reading the store failed", "error", err)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErrors, prometheus.GaugeValue, failed)
}

func (c *StoreCollector) collectFindings(ctx context.Context, ch chan<- prometheus.Metric) error {
	counts, err := c.st.OpenFindingCounts(ctx)
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.findingsOpen, prometheus.GaugeValue, float64(n.N), n.RuleID, string(n.Category), string(n.Severity))
	}
	return err
}

func (c *StoreCollector) collectSync(ctx context.Context, ch chan<- prometheus.Metric) error {
	now := c.now()
	streams, err := c.st.StreamCompletions(ctx)
	for _, s := range streams {
		if s.CompletedAt.IsZero() {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.syncDone, prometheus.GaugeValue, float64(s.CompletedAt.UnixNano())/1e9, s.Source, s.Object)
		ch <- prometheus.MustNewConstMetric(c.syncLag, prometheus.GaugeValue, max(now.Sub(s.CompletedAt).Seconds(), 0), s.Source, s.Object)
	}
	return err
}

func (c *StoreCollector) collectQueues(ctx context.Context, ch chan<- prometheus.Metric) error {
	depths, err := c.st.QueueDepths(ctx)
	for _, d := range depths {
		ch <- prometheus.MustNewConstMetric(c.queueDepth, prometheus.GaugeValue, float64(d.N), d.Queue, d.State)
	}
	return err
}

// quarantineStreams are the streams reported even when nothing of them is
// in quarantine, so that an alert on > 0 has a series to watch.
var quarantineStreams = []store.QuarantineKey{
	{Source: "zendesk", Object: "tickets"}, {Source: "zendesk", Object: "organizations"}, {Source: "zendesk", Object: "users"},
	{Source: "salesforce", Object: "Account"}, {Source: "salesforce", Object: "Contact"}, {Source: "salesforce", Object: "Opportunity"},
}

func (c *StoreCollector) collectQuarantine(ctx context.Context, ch chan<- prometheus.Metric) error {
	counts, err := c.st.CountQuarantine(ctx)
	if err != nil {
		return err
	}
	for _, k := range quarantineStreams {
		if _, ok := counts[k]; !ok {
			counts[k] = 0
		}
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.quarantined, prometheus.GaugeValue, float64(n), string(k.Source), k.Object)
	}
	return nil
}

// collectKPIs reports the latest day's KPI snapshot (see package report):
// every replica reads the same rows, so the gauges agree across replicas
// and survive a restart.
func (c *StoreCollector) collectKPIs(ctx context.Context, ch chan<- prometheus.Metric) error {
	snaps, err := c.st.LatestKPISnapshot(ctx)
	var latest time.Time
	for _, sn := range snaps {
		prio := sn.Key
		if sn.Dimension == "" {
			prio = "all"
		}
		if sn.TakenAt.After(latest) {
			latest = sn.TakenAt
		}
		ch <- prometheus.MustNewConstMetric(c.kpiNumerator, prometheus.GaugeValue, sn.Numerator, sn.KPI, prio)
		ch <- prometheus.MustNewConstMetric(c.kpiDenominator, prometheus.GaugeValue, float64(sn.Denominator), sn.KPI, prio)
		if sn.Denominator > 0 {
			ch <- prometheus.MustNewConstMetric(c.kpiRatio, prometheus.GaugeValue, sn.Numerator/float64(sn.Denominator), sn.KPI, prio)
		}
	}
	if err == nil && !latest.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.kpiSnapshotAt, prometheus.GaugeValue, float64(latest.UnixMilli())/1000)
	}
	return err
}
