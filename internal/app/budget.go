package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/ratelimit"
	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/zendesk"
)

// budgets builds the API budget of each system — shared by its sync and
// its write-back, since both go through the one client — and registers
// their metrics: events (throttled, rate limited, deferred, unauthorized),
// whether each system currently accepts the credentials, and until when
// calls to it are paused. A Retry-After pauses them for at most
// CXAUDIT_MAX_RETRY_AFTER.
func (a *App) budgets(cfg config.Config) map[cxaudit.Source]*ratelimit.Budget {
	events := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cxaudit_api_budget_events_total",
		Help: "API budget events by system: throttled (a request waited its turn), rate_limited (a 429), deferred (a wait handed back to the job as a snooze), daily_cap (the Salesforce quota share reached), unauthorized (a 401).",
	}, []string{"system", "event"})
	healthy := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cxaudit_source_credentials_ok",
		Help: "1 while the system accepts cxaudit's credentials, 0 after a 401 until a request succeeds again.",
	}, []string{"system"})
	a.Metrics.Registry.MustRegister(events, healthy)
	observe := func(system cxaudit.Source, event string) {
		events.WithLabelValues(string(system), event).Inc()
		switch event {
		case ratelimit.EventUnauthorized:
			healthy.WithLabelValues(string(system)).Set(0)
		}
	}
	out := map[cxaudit.Source]*ratelimit.Budget{}
	add := func(c ratelimit.Config) {
		c.ObserveFunc, c.MaxPause = observe, cfg.MaxRetryAfter
		b := ratelimit.New(c)
		out[c.System] = b
		healthy.WithLabelValues(string(c.System)).Set(1)
		a.Metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "cxaudit_source_paused_until_seconds",
			Help:        "Until when (Unix time) calls to the system are paused: by a Retry-After, the daily quota share or a 401; 0 when they are not.",
			ConstLabels: prometheus.Labels{"system": string(c.System)},
		}, func() float64 {
			if h := b.Health(); !h.PausedUntil.IsZero() {
				return float64(h.PausedUntil.Unix())
			}
			return 0
		}))
	}
	if cfg.Zendesk.Enabled() {
		add(zendesk.BudgetConfig(cfg.Zendesk.RateLimit, cfg.Zendesk.ExportRateLimit, cfg.Zendesk.UpdateShare))
	}
	if cfg.Salesforce.Enabled() {
		add(salesforce.BudgetConfig(cfg.Salesforce.DailyQuotaShare))
	}
	a.healthGauge = healthy
	return out
}

// budgeted returns opts drawing from the budget of system, and bounded as
// configured in what one response may bring (CXAUDIT_MAX_RESPONSE_BYTES).
func (a *App) budgeted(opts remote.Options, system cxaudit.Source) remote.Options {
	if opts.Budget == nil {
		opts.Budget = a.Budgets[system]
	}
	if opts.MaxResponseBytes == 0 {
		opts.MaxResponseBytes = int64(a.Config.MaxResponseBytes)
	}
	return opts
}

// SourceHealth reports each configured system's state for /readyz, and
// brings the credentials gauge up to date.
func (a *App) SourceHealth() []ratelimit.Health {
	var out []ratelimit.Health
	for _, s := range []cxaudit.Source{cxaudit.SourceZendesk, cxaudit.SourceSalesforce} {
		if b := a.Budgets[s]; b != nil {
			h := b.Health()
			if a.healthGauge != nil {
				v := 0.0
				if h.OK {
					v = 1
				}
				a.healthGauge.WithLabelValues(string(s)).Set(v)
			}
			out = append(out, h)
		}
	}
	return out
}
