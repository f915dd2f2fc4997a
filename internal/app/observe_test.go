package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/jobs"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// Secrets the observability tests configure; none may reach a log line or
// an error.
const (
	dbPassword      = "db-pass-7f3a9c"
	riverUIUser     = "ops"
	riverUIPassword = "riverui-pass-91b2e4"
)

type obsBundle struct {
	sims  *demo.Simulators
	env   map[string]string
	logs  *apptest.SyncBuffer
	spans *tracetest.InMemoryExporter
}

// setupObs starts the simulators and returns the environment of a worker
// on PostgreSQL, with a password in the database URL (the local server
// trusts local connections, so it is carried and ignored) and the River UI
// enabled.
func setupObs(t *testing.T) *obsBundle {
	t.Helper()
	sims, err := demo.StartSimulators(demo.SimOptions{Seed: 11, Accounts: 30, Tickets: 300, ZendeskRateLimit: 100000})
	require.NoError(t, err)
	t.Cleanup(sims.Close)
	u, err := url.Parse(storetest.NewPostgresSchema(t))
	require.NoError(t, err)
	u.User = url.UserPassword(u.User.Username(), dbPassword)
	env := map[string]string{
		"CXAUDIT_DATABASE_URL":     u.String(),
		"CXAUDIT_RULES_DIR":        apptest.RulesDir(t),
		"CXAUDIT_RIVERUI_USERNAME": riverUIUser,
		"CXAUDIT_RIVERUI_PASSWORD": riverUIPassword,
	}
	for _, kv := range sims.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return &obsBundle{sims: sims, env: env, logs: &apptest.SyncBuffer{}, spans: tracetest.NewInMemoryExporter()}
}

func (b *obsBundle) newApp(t *testing.T, env map[string]string) *app.App {
	t.Helper()
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	logger := slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(b.spans))
	a, err := app.New(context.Background(), cfg, logger, app.Options{Migrate: true, TracerProvider: tp,
		NowFunc: func() time.Time { return b.sims.World.Now }})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	return a
}

func TestObservability(t *testing.T) {
	t.Parallel()
	b := setupObs(t)
	a := b.newApp(t, b.env)
	ctx := context.Background()
	res, err := a.RunOnce(ctx)
	require.NoError(t, err)
	require.Positive(t, res.Writes["zendesk_notes"])
	// A job waiting in the queue shows in the queue depth.
	require.NoError(t, a.Store.Enqueue(ctx, jobs.Params(jobs.AuditArgs{})...))

	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)

	t.Run("metrics", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/metrics")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		fams := gather(t, a)

		open := series(fams, "cxaudit_findings_open")
		require.NotEmpty(t, open)
		var total float64
		for _, m := range open {
			require.NotEmpty(t, label(m, "rule"))
			require.NotEmpty(t, label(m, "category"))
			require.NotEmpty(t, label(m, "severity"))
			total += m.GetGauge().GetValue()
		}
		require.Positive(t, total)

		for _, so := range [][2]string{{"zendesk", "tickets"}, {"salesforce", "accounts"}} {
			lag := find(t, fams, "cxaudit_sync_lag_seconds", "source", so[0], "object", so[1])
			require.GreaterOrEqual(t, lag.GetGauge().GetValue(), 0.0)
			require.Less(t, lag.GetGauge().GetValue(), 600.0, "%v caught up during the cycle", so)
			require.Positive(t, find(t, fams, "cxaudit_sync_records_total", "source", so[0], "object", so[1]).GetCounter().GetValue())
		}
		require.Positive(t, find(t, fams, "cxaudit_api_rate_limit_remaining", "system", "zendesk", "limit", "requests_per_minute").GetGauge().GetValue())
		require.Positive(t, find(t, fams, "cxaudit_api_rate_limit_remaining", "system", "salesforce", "limit", "requests_per_day").GetGauge().GetValue())
		for _, m := range series(fams, "cxaudit_api_requests_total") {
			require.NotRegexp(t, `/\d{3,}`, label(m, "endpoint"), "ids are folded into {id}")
		}
		require.Positive(t, find(t, fams, "cxaudit_writeback_request_duration_seconds", "system", "zendesk").GetHistogram().GetSampleCount())
		require.Positive(t, find(t, fams, "cxaudit_writeback_request_duration_seconds", "system", "salesforce").GetHistogram().GetSampleCount())
		require.Positive(t, find(t, fams, "cxaudit_finding_changes_total", "change", "opened").GetCounter().GetValue())
		require.Positive(t, find(t, fams, "cxaudit_jobs_total", "kind", "zendesk_sync", "outcome", "job_completed").GetCounter().GetValue())
		require.Positive(t, find(t, fams, "cxaudit_job_duration_seconds", "kind", "audit", "outcome", "ok").GetHistogram().GetSampleCount())
		require.Equal(t, 1.0, find(t, fams, "cxaudit_rules_last_reload_successful").GetGauge().GetValue())
		require.Positive(t, find(t, fams, "cxaudit_rules_loaded").GetGauge().GetValue())
		require.Equal(t, 1.0, find(t, fams, "cxaudit_river_jobs", "queue", jobs.QueueAudit, "state", "available").GetGauge().GetValue())
		require.Equal(t, 0.0, find(t, fams, "cxaudit_store_scrape_error").GetGauge().GetValue())
		for name := range fams {
			require.Contains(t, string(body), name, "/metrics serves the registry")
		}

		// The example dashboard charts metrics that exist: each one is
		// defined in the code, and the ones a cycle produces were scraped.
		dashboard(t, fams)
	})

	t.Run("traces", func(t *testing.T) {
		spans := b.spans.GetSpans()
		jobSpans := map[string]string{} // span id -> name
		for _, s := range spans {
			if strings.HasPrefix(s.Name, "job ") {
				jobSpans[s.SpanContext.SpanID().String()] = s.Name
			}
		}
		require.Contains(t, mapValues(jobSpans), "job zendesk_sync")
		require.Contains(t, mapValues(jobSpans), "job salesforce_writeback")
		children := map[string]int{}
		for _, s := range spans {
			if parent, ok := jobSpans[s.Parent.SpanID().String()]; ok && !strings.HasPrefix(s.Name, "job ") {
				children[parent+" > "+s.Name]++
			}
		}
		require.Positive(t, children["job zendesk_sync > zendesk GET"], "API calls are children of their job: %v", children)
		require.Positive(t, children["job zendesk_writeback > zendesk PUT"], "%v", children)
		require.Positive(t, children["job salesforce_sync > salesforce GET"], "%v", children)
	})

	t.Run("riverui", func(t *testing.T) {
		get := func(method, path, user, pass string) int {
			req, err := http.NewRequest(method, srv.URL+path, nil)
			require.NoError(t, err)
			if user != "" {
				req.SetBasicAuth(user, pass)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode
		}
		for _, p := range []struct{ method, path string }{
			{"GET", "/riverui/"}, {"GET", "/riverui"}, {"GET", "/riverui/jobs"},
			{"GET", "/riverui/api/jobs?state=completed&limit=5"},
			{"POST", "/riverui/api/jobs/cancel"}, {"PUT", "/riverui/api/queues/sync/pause"},
			{"DELETE", "/riverui/api/jobs/1"},
		} {
			require.Equal(t, http.StatusUnauthorized, get(p.method, p.path, "", ""), "%s %s without credentials", p.method, p.path)
			require.Equal(t, http.StatusUnauthorized, get(p.method, p.path, riverUIUser, "wrong"), "%s %s with a wrong password", p.method, p.path)
			require.Equal(t, http.StatusUnauthorized, get(p.method, p.path, "admin", riverUIPassword), "%s %s with a wrong user", p.method, p.path)
		}
		require.Equal(t, http.StatusOK, get("GET", "/riverui/", riverUIUser, riverUIPassword))
		require.Equal(t, http.StatusOK, get("GET", "/riverui/jobs", riverUIUser, riverUIPassword), "the SPA serves its routes")

		req, _ := http.NewRequest("GET", srv.URL+"/riverui/api/jobs?state=completed&limit=50", nil)
		req.SetBasicAuth(riverUIUser, riverUIPassword)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		require.Contains(t, string(body), "zendesk_sync")
	})

	// Error paths: the systems reject the tokens. The worker reports it
	// without echoing any token, and without the River UI configured it
	// serves none.
	env := map[string]string{}
	for k, v := range b.env {
		env[k] = v
	}
	env["ZENDESK_API_TOKEN"] = "wrong-zendesk-token-5d1c"
	env["SALESFORCE_ACCESS_TOKEN"] = "wrong-salesforce-token-8e2f"
	delete(env, "CXAUDIT_RIVERUI_USERNAME")
	delete(env, "CXAUDIT_RIVERUI_PASSWORD")
	bad := b.newApp(t, env)
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	_, badErr := bad.RunOnce(cctx)
	require.Error(t, badErr, "rejected credentials fail the cycle")
	require.Contains(t, b.logs.String(), "401")
	rec := httptest.NewRecorder()
	bad.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/riverui/", nil))
	require.Equal(t, http.StatusNotFound, rec.Code, "no River UI without credentials")
	rec = httptest.NewRecorder()
	bad.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)

	t.Run("no secret in logs or errors", func(t *testing.T) {
		logs := b.logs.String()
		require.Contains(t, logs, `"level":"DEBUG"`, "the test ran at debug level")
		for _, secret := range []string{demo.SimZendeskToken, demo.SimSalesforceToken, dbPassword, riverUIPassword,
			env["ZENDESK_API_TOKEN"], env["SALESFORCE_ACCESS_TOKEN"]} {
			require.NotContains(t, logs, secret)
			require.NotContains(t, badErr.Error(), secret)
			require.NotContains(t, rec.Body.String(), secret)
		}
		// Comment bodies are customer data: never at info level or above.
		var bodies []string
		for _, tk := range b.sims.World.Tickets {
			for _, c := range tk.Comments {
				if len(c.Body) >= 40 {
					bodies = append(bodies, c.Body)
				}
			}
		}
		require.NotEmpty(t, bodies)
		var lines int
		for line := range strings.Lines(logs) {
			var rec struct {
				Level string `json:"level"`
			}
			require.NoError(t, json.Unmarshal([]byte(line), &rec), "every log line is JSON: %s", line)
			lines++
			if rec.Level == "DEBUG" {
				continue
			}
			for _, body := range bodies {
				require.NotContains(t, line, body, "a comment body logged at %s", rec.Level)
			}
		}
		require.Positive(t, lines)
	})
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func gather(t *testing.T, a *app.App) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := a.Metrics.Registry.Gather()
	require.NoError(t, err)
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

func series(fams map[string]*dto.MetricFamily, name string) []*dto.Metric {
	if mf := fams[name]; mf != nil {
		return mf.GetMetric()
	}
	return nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// find returns the series of name whose labels match the given pairs.
func find(t *testing.T, fams map[string]*dto.MetricFamily, name string, kv ...string) *dto.Metric {
	t.Helper()
	require.Contains(t, fams, name)
next:
	for _, m := range series(fams, name) {
		for i := 0; i < len(kv); i += 2 {
			if label(m, kv[i]) != kv[i+1] {
				continue next
			}
		}
		return m
	}
	t.Fatalf("no %s series with labels %v", name, kv)
	return nil
}

var metricName = regexp.MustCompile(`\bcxaudit_[a-z0-9_]+`)

// dashboard checks deploy/grafana/cxaudit-dashboard.json: valid JSON whose
// every panel queries metrics that cxaudit defines; those a cycle
// produces must have been scraped.
func dashboard(t *testing.T, fams map[string]*dto.MetricFamily) {
	t.Helper()
	d, data := readDashboard(t, "cxaudit-dashboard.json")
	defined := definedMetrics(t)
	for _, p := range d.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, target := range p.Targets {
			names := metricName.FindAllString(target.Expr, -1)
			require.NotEmpty(t, names, "%s: %s", p.Title, target.Expr)
			for _, n := range names {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum")
				require.True(t, defined[base], "panel %q: %s is no metric of cxaudit's", p.Title, n)
			}
		}
	}
	// Series a cycle always produces.
	for _, n := range []string{"cxaudit_sync_lag_seconds", "cxaudit_findings_open", "cxaudit_api_requests_total",
		"cxaudit_api_rate_limit_remaining", "cxaudit_writeback_request_duration_seconds", "cxaudit_river_jobs",
		"cxaudit_jobs_total", "cxaudit_job_duration_seconds", "cxaudit_rules_last_reload_successful",
		"cxaudit_finding_changes_total", "cxaudit_writes_total", "cxaudit_sync_records_total"} {
		require.True(t, defined[n], n)
		require.Contains(t, fams, n)
		require.Contains(t, string(data), n, "the dashboard charts %s", n)
	}
}

// grafanaDashboard is what the tests read of a Grafana dashboard file.
type grafanaDashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// readDashboard reads the dashboard deploy/grafana/name, which must have
// panels, and returns it with its raw text.
func readDashboard(t *testing.T, name string) (grafanaDashboard, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../deploy/grafana", name))
	require.NoError(t, err)
	var d grafanaDashboard
	require.NoError(t, json.Unmarshal(data, &d))
	require.NotEmpty(t, d.Panels, name)
	return d, data
}

// definedMetrics returns every metric name the code of internal/ defines.
func definedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	re := regexp.MustCompile(`(?:Name:\s*|NewDesc\(\s*)"(cxaudit_[a-z0-9_]+)"`)
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			out[m[1]] = true
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestSyncGaugesAfterAFullPass: once every stream of both systems has
// caught up, cxaudit_sync_time_covered_ratio reads 1 for each of them (a
// Salesforce object never said it was done, and stayed where its last
// page left it), and cxaudit_sync_pass_records counts what the pass stored.
func TestSyncGaugesAfterAFullPass(t *testing.T) {
	t.Parallel()
	w := simworld.Generate(simworld.Options{Seed: 9, Accounts: 10, Tickets: 60})
	a, _, _ := newSimApp(t, w, storetest.NewSQLitePath(t), nil)
	_, err := a.RunOnce(context.Background())
	require.NoError(t, err)
	fams := gather(t, a)
	covered := series(fams, "cxaudit_sync_time_covered_ratio")
	sources := map[string]int{}
	for _, m := range covered {
		sources[label(m, "source")]++
		require.Equal(t, 1.0, m.GetGauge().GetValue(), "%s/%s caught up", label(m, "source"), label(m, "object"))
	}
	require.Positive(t, sources["zendesk"])
	require.Positive(t, sources["salesforce"])
	tickets := find(t, fams, "cxaudit_sync_pass_records", "source", "zendesk", "object", "tickets")
	require.Equal(t, float64(len(w.Tickets)), tickets.GetGauge().GetValue())
}
