package metrics

import (
	"context"
	"fmt"
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
	st     store.Store
	query  queryFunc
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

// queryFunc runs a query without arguments and calls each for every row
// with the row's Scan.
type queryFunc func(ctx context.Context, sql string, each func(scan func(dest ...any) error) error) error

// NewStoreCollector returns a collector reading st.
func NewStoreCollector(st store.Store, logger *slog.Logger) (*StoreCollector, error) {
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
	switch s := st.(type) {
	case *store.Postgres:
		c.query = func(ctx context.Context, sql string, each func(scan func(dest ...any) error) error) error {
			rows, err := s.Pool.Query(ctx, sql)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := each(rows.Scan); err != nil {
					return err
				}
			}
			return rows.Err()
		}
	case *store.SQLite:
		c.query = func(ctx context.Context, sql string, each func(scan func(dest ...any) error) error) error {
			rows, err := s.DB.QueryContext(ctx, sql)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := each(rows.Scan); err != nil {
					return err
				}
			}
			return rows.Err()
		}
	default:
		return nil, fmt.Errorf("metrics: unsupported store %T", st)
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
	return c.query(ctx, `SELECT rule_id, category, severity, COUNT(*) FROM finding
		WHERE status IN ('open', 'acknowledged') GROUP BY rule_id, category, severity`,
		func(scan func(...any) error) error {
			var rule, category, severity string
			var n int64
			if err := scan(&rule, &category, &severity, &n); err != nil {
				return err
			}
			ch <- prometheus.MustNewConstMetric(c.findingsOpen, prometheus.GaugeValue, float64(n), rule, category, severity)
			return nil
		})
}

func (c *StoreCollector) collectSync(ctx context.Context, ch chan<- prometheus.Metric) error {
	now := c.now()
	return c.query(ctx, `SELECT source, object, completed_at FROM sync_cursor`, func(scan func(...any) error) error {
		var source, object string
		var completedMS int64
		if err := scan(&source, &object, &completedMS); err != nil {
			return err
		}
		if completedMS == 0 {
			return nil
		}
		done := time.UnixMilli(completedMS)
		ch <- prometheus.MustNewConstMetric(c.syncDone, prometheus.GaugeValue, float64(done.UnixNano())/1e9, source, object)
		ch <- prometheus.MustNewConstMetric(c.syncLag, prometheus.GaugeValue, max(now.Sub(done).Seconds(), 0), source, object)
		return nil
	})
}

func (c *StoreCollector) collectQueues(ctx context.Context, ch chan<- prometheus.Metric) error {
	return c.query(ctx, `SELECT queue, state, COUNT(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'pending') GROUP BY queue, state`,
		func(scan func(...any) error) error {
			var queue, state string
			var n int64
			if err := scan(&queue, &state, &n); err != nil {
				return err
			}
			ch <- prometheus.MustNewConstMetric(c.queueDepth, prometheus.GaugeValue, float64(n), queue, state)
			return nil
		})
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
	var latest int64
	err := c.query(ctx, `SELECT kpi, dimension, slice_key, numerator, denominator, taken_at FROM kpi_snapshot
		WHERE day = (SELECT MAX(day) FROM kpi_snapshot) AND dimension IN ('', 'priority')`,
		func(scan func(...any) error) error {
			var kpi, dim, key string
			var num float64
			var den, at int64
			if err := scan(&kpi, &dim, &key, &num, &den, &at); err != nil {
				return err
			}
			prio := key
			if dim == "" {
				prio = "all"
			}
			latest = max(latest, at)
			ch <- prometheus.MustNewConstMetric(c.kpiNumerator, prometheus.GaugeValue, num, kpi, prio)
			ch <- prometheus.MustNewConstMetric(c.kpiDenominator, prometheus.GaugeValue, float64(den), kpi, prio)
			if den > 0 {
				ch <- prometheus.MustNewConstMetric(c.kpiRatio, prometheus.GaugeValue, num/float64(den), kpi, prio)
			}
			return nil
		})
	if err == nil && latest > 0 {
		ch <- prometheus.MustNewConstMetric(c.kpiSnapshotAt, prometheus.GaugeValue, float64(latest)/1000)
	}
	return err
}
