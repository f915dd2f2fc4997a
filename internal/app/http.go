package app

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves /healthz (the process is alive), /readyz (the store
// answers, rules are loaded and no system rejects the credentials; the
// body lists the rules set aside and why, the records in quarantine and
// warnings (App.Warnings)),
// /metrics and, when CXAUDIT_RIVERUI_USERNAME and _PASSWORD are set, the
// River UI at /riverui/ behind basic auth (it can cancel, retry and delete
// jobs and pause queues, so nothing of it answers without credentials, and
// nothing of it changes state for a cross-site request), with the same
// credentials the KPI scorecard at /report (package report), and, when
// CXAUDIT_ZENDESK_WEBHOOK_SECRET is set, Zendesk's signed webhook at
// POST /webhooks/zendesk (see package webhook).
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		checks := map[string]any{"store": "ok", "rules": "ok"}
		status := http.StatusOK
		if _, err := a.Store.JobCounts(ctx); err != nil {
			checks["store"], status = "unavailable", http.StatusServiceUnavailable
			a.Logger.Warn("readiness: store check failed", "error", err)
		}
		if a.Rules() == nil {
			checks["rules"], status = "not loaded", http.StatusServiceUnavailable
		}
		// A system that rejected the credentials makes the worker unready,
		// and says which: "zendesk": "unauthorized: HTTP 401".
		for _, h := range a.SourceHealth() {
			checks[string(h.System)] = "ok"
			if !h.OK {
				checks[string(h.System)], status = "unauthorized: "+h.Reason, http.StatusServiceUnavailable
			} else if h.PauseReason != "" {
				checks[string(h.System)] = "paused until " + h.PausedUntil.UTC().Format(time.RFC3339) + ": " + h.PauseReason
			}
		}
		// Rules set aside (a field this tenant lacks, a first sync not
		// done) leave the worker ready: everything else runs. They are
		// listed for the operator.
		if a.Rules() != nil && status == http.StatusOK {
			if disabled, err := a.Availability(ctx); err == nil && len(disabled) > 0 {
				reasons := make(map[string]string, len(disabled))
				for id, d := range disabled {
					reasons[id] = d.Reason()
				}
				checks["rules_disabled"] = reasons
			}
		}
		// Records in quarantine leave the worker ready too (everything
		// else syncs); how many, by source and object, for the operator.
		if status == http.StatusOK {
			if counts, err := a.Store.CountQuarantine(ctx); err == nil && len(counts) > 0 {
				q := make(map[string]int, len(counts))
				for k, n := range counts {
					q[string(k.Source)+"/"+k.Object] = n
				}
				checks["quarantine"] = q
			}
		}
		// Warnings leave the worker ready too.
		if warnings := a.Warnings(); len(warnings) > 0 {
			checks["warnings"] = warnings
		}
		writeJSON(w, status, checks)
	})
	if a.webhook != nil {
		mux.Handle("POST "+WebhookPath, a.webhook)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Metrics.Registry, promhttp.HandlerOpts{}))
	if ui := a.obs.riverUI; ui != nil {
		// Basic auth alone does not stop cross-site requests: a browser
		// attaches cached credentials to a form or fetch from any page, and
		// the UI's own POSTs are text/plain (fetch with a string body), which
		// needs no CORS preflight. So an operator who opened a hostile page
		// could have jobs cancelled, retried or deleted. A state-changing
		// request must come from the UI's own origin, by Sec-Fetch-Site or,
		// from browsers that do not send it, Origin; requests with neither
		// come from no browser (curl, scripts) and need the credentials.
		csrf := http.NewCrossOriginProtection()
		auth := csrf.Handler(basicAuth(a.Config.RiverUI.Username, a.Config.RiverUI.Password.Reveal(), ui))
		mux.Handle(riverUIPath+"/", auth)
		mux.Handle(riverUIPath, basicAuth(a.Config.RiverUI.Username, a.Config.RiverUI.Password.Reveal(),
			http.RedirectHandler(riverUIPath+"/", http.StatusMovedPermanently)))
	}
	if a.Config.RiverUI.Username != "" {
		// The scorecard names customers and tickets: the same credentials
		// as the River UI guard it, and without them it is not served.
		mux.Handle("GET /report", basicAuth(a.Config.RiverUI.Username, a.Config.RiverUI.Password.Reveal(), http.HandlerFunc(a.reportHandler)))
	}
	return mux
}

// WebhookPath is where Zendesk's webhook posts.
const WebhookPath = "/webhooks/zendesk"

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
