package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/report"
)

// reportHandler serves the KPI scorecard as the page `cxaudit report
// --html` writes, for the period ?since= (a duration, default 168h) up to
// ?until= (RFC 3339, default now), with the targets and field map of the
// rules loaded now. It reads the whole period per request: it is meant
// for a lead's browser, not for a dashboard that polls (the gauges are).
func (a *App) reportHandler(w http.ResponseWriter, r *http.Request) {
	since, until := 7*24*time.Hour, time.Now()
	if s := r.URL.Query().Get("since"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			http.Error(w, "since: give a positive duration, like 168h", http.StatusBadRequest)
			return
		}
		since = d
	}
	if s := r.URL.Query().Get("until"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			http.Error(w, "until: give a time like 2006-01-02T15:04:05Z", http.StatusBadRequest)
			return
		}
		until = t
	}
	rep, err := a.Report(r.Context(), until.Add(-since), until)
	if err != nil {
		a.Logger.Error("report: compute the scorecard", "error", err)
		http.Error(w, "the scorecard could not be computed", http.StatusServiceUnavailable)
		return
	}
	var b bytes.Buffer
	if err := rep.WriteHTML(&b); err != nil {
		a.Logger.Error("report: render the scorecard", "error", err)
		http.Error(w, "the scorecard could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}

// Report computes the scorecard from since to until with the targets and
// field map of the rules loaded now.
func (a *App) Report(ctx context.Context, since, until time.Time) (*report.Report, error) {
	set := a.Rules()
	if set == nil {
		return nil, errors.New("report: rules not loaded yet")
	}
	t, err := audit.LoadTenant(ctx, a.Store, set.FieldMap())
	if err != nil {
		return nil, fmt.Errorf("report: read the tenant's schema: %w", err)
	}
	return report.Compute(ctx, a.Store, report.Options{Since: since, Now: until, Targets: set.Targets(), Tenant: t})
}
