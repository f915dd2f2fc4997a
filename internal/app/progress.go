package app

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cxaudit/cxaudit/internal/syncer"
)

// progressMetrics registers the sync progress gauges and returns the
// syncer.ProgressFunc that sets them.
func (a *App) progressMetrics() syncer.ProgressFunc {
	records := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cxaudit_sync_pass_records",
		Help: "Records stored by the current (or last) sync pass, by source and object.",
	}, []string{"source", "object"})
	fraction := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cxaudit_sync_time_covered_ratio",
		Help: "Share of the time span from where the current (or last) sync pass of each stream began to now that it has reached; 1 only once the pass caught up with the present. It measures time, not records: with recent changes bunched up it reads near 0.99 while many records remain (see cxaudit_sync_pass_records).",
	}, []string{"source", "object"})
	position := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cxaudit_sync_position_timestamp_seconds",
		Help: "The newest change time each stream has reached.",
	}, []string{"source", "object"})
	a.Metrics.Registry.MustRegister(records, fraction, position)
	return func(p syncer.Progress) {
		records.WithLabelValues(p.Source, p.Object).Set(float64(p.Records))
		fraction.WithLabelValues(p.Source, p.Object).Set(p.Fraction(time.Now()))
		if !p.Position.IsZero() {
			position.WithLabelValues(p.Source, p.Object).Set(float64(p.Position.Unix()))
		}
	}
}
