package app

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/trace"
	"riverqueue.com/riverui"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/jobs"
	"github.com/cxaudit/cxaudit/internal/metrics"
	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/telemetry"
)

// observability is what the App adds for operators: traces, the River UI.
type observability struct {
	tracer         trace.TracerProvider
	shutdownTracer func(context.Context) error
	riverUI        *riverui.Handler
}

// observe sets up tracing (opts.TracerProvider, else from the OTEL_*
// variables) and registers the metrics read from the store.
func (a *App) observe(ctx context.Context, st store.Store, opts Options) error {
	a.obs.tracer = opts.TracerProvider
	if a.obs.tracer == nil {
		tp, err := telemetry.NewTracerProvider(ctx, os.Getenv)
		if err != nil {
			return err
		}
		if tp != nil {
			a.obs.tracer, a.obs.shutdownTracer = tp, tp.Shutdown
			a.Logger.Info("tracing enabled (OTEL_EXPORTER_OTLP_ENDPOINT)")
		}
	}
	sc, err := metrics.NewStoreCollector(st, a.Logger)
	if err != nil {
		return err
	}
	return a.Metrics.Registry.Register(sc)
}

// instrumented returns opts whose requests to system are traced and report
// the rate-limit budget the system answers with.
func (a *App) instrumented(opts remote.Options, system cxaudit.Source) remote.Options {
	next := opts.Transport
	if next == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		next = t
	}
	opts.Transport = telemetry.Transport(a.obs.tracer, system, a.Metrics.RateLimitTransport(system, next))
	return opts
}

// jobMiddleware times every job and, when tracing, gives it a span; and
// caps every snooze at CXAUDIT_MAX_RETRY_AFTER.
func (a *App) jobMiddleware() []rivertype.Middleware {
	out := []rivertype.Middleware{a.Metrics.JobMiddleware(), &jobs.SnoozeLimit{Max: a.Config.MaxRetryAfter, Logger: a.Logger}}
	if mw := telemetry.JobMiddleware(a.obs.tracer); mw != nil {
		out = append(out, mw)
	}
	return out
}

// newRiverUI builds the River UI for c when its credentials are set.
func newRiverUI[TTx any](a *App, c *river.Client[TTx]) error {
	if !a.Config.RiverUI.Enabled() {
		return nil
	}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(c, nil),
		Logger:    a.Logger.With("component", "riverui"),
		Prefix:    riverUIPath,
		// Job args hold no secrets, but there is no reason to show them
		// before someone asks.
		JobListHideArgsByDefault: true,
	})
	if err != nil {
		return fmt.Errorf("river UI: %w", err)
	}
	a.obs.riverUI = h
	return nil
}

const riverUIPath = "/riverui"

// startRiverUI starts the UI's background services until ctx ends.
func (a *App) startRiverUI(ctx context.Context) {
	if a.obs.riverUI == nil {
		return
	}
	if err := a.obs.riverUI.Start(ctx); err != nil {
		a.Logger.Error("river UI did not start", "error", err)
	}
}

// closeObservability flushes the last spans.
func (a *App) closeObservability() {
	if a.obs.shutdownTracer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.obs.shutdownTracer(ctx); err != nil {
			a.Logger.Warn("flushing traces failed", "error", err)
		}
	}
}

// basicAuth lets a request through only with the configured username and
// password. Both are compared in constant time, over their hashes so that
// their lengths do not leak either.
func basicAuth(username, password string, next http.Handler) http.Handler {
	wantUser, wantPass := sha256.Sum256([]byte(username)), sha256.Sum256([]byte(password))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		gotUser, gotPass := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		userOK := subtle.ConstantTimeCompare(gotUser[:], wantUser[:]) == 1
		passOK := subtle.ConstantTimeCompare(gotPass[:], wantPass[:]) == 1
		if !ok || !userOK || !passOK {
			w.Header().Set("WWW-Authenticate", `Basic realm="cxaudit", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
