package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/metrics"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// TestQuarantineGauge puts two records in quarantine, on both stores, and
// reads cxaudit_quarantined_records: 2 for their stream, 0 (present) for
// the other streams, so an alert has a series to watch.
func TestQuarantineGauge(t *testing.T) {
	t.Parallel()
	for name, newStore := range storetest.Stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := newStore(t)
			require.NoError(t, st.Quarantine(context.Background(), cxaudit.SourceZendesk, []cxaudit.Rejected{
				{Object: "tickets", ID: "1", Reason: "bad", Raw: []byte(`{"id":1}`)},
				{Object: "tickets", ID: "2", Reason: "bad", Raw: []byte(`{"id":2}`)},
			}))
			c, err := metrics.NewStoreCollector(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
			require.NoError(t, err)
			reg := prometheus.NewRegistry()
			require.NoError(t, reg.Register(c))
			families, err := reg.Gather()
			require.NoError(t, err)
			got := map[string]float64{}
			for _, f := range families {
				if f.GetName() != "cxaudit_quarantined_records" {
					continue
				}
				for _, m := range f.GetMetric() {
					labels := map[string]string{}
					for _, l := range m.GetLabel() {
						labels[l.GetName()] = l.GetValue()
					}
					got[labels["source"]+"/"+labels["object"]] = m.GetGauge().GetValue()
				}
			}
			require.Equal(t, 2.0, got["zendesk/tickets"])
			require.Contains(t, got, "salesforce/Opportunity")
			require.Zero(t, got["salesforce/Opportunity"])
		})
	}
}
