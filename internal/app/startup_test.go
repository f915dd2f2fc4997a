package app_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// spanExporters counts the running goroutines of OpenTelemetry batch span
// processors: one per tracer provider not shut down.
func spanExporters() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "(*batchSpanProcessor).processQueue")
}

// TestStartupErrorNamesTheVariableAndStopsTheTracer: a start-up error
// after tracing started (from OTEL_EXPORTER_OTLP_ENDPOINT) names the
// variable at fault from the error's field, not its text, and shuts the
// tracer down (its exporter goroutine used to leak, with the spans it
// held).
func TestStartupErrorNamesTheVariableAndStopsTheTracer(t *testing.T) {
	// t.Setenv: the OTEL_* variables are read from the process environment.
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(collector.Close)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	before := spanExporters()

	env := map[string]string{
		"CXAUDIT_DATABASE_URL": storetest.NewSQLitePath(t), "CXAUDIT_RULES_DIR": apptest.RulesDir(t),
		// Only the key's form is left for salesforce.New to refuse:
		// config.FromEnv checks that the others are set and are URLs.
		"SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com", "SALESFORCE_CLIENT_ID": "3MVG9-cxaudit",
		"SALESFORCE_USERNAME": "integration@acme.example", "SALESFORCE_PRIVATE_KEY": "not-a-pem-key-4711",
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	var logs bytes.Buffer
	_, err = app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)), app.Options{Migrate: true})
	require.ErrorContains(t, err, "SALESFORCE_PRIVATE_KEY: salesforce: JWTConfig.PrivateKey is not a PEM-encoded RSA private key")
	require.NotContains(t, err.Error(), "not-a-pem-key-4711")
	require.Contains(t, logs.String(), "tracing enabled", "the tracer was started before the error")
	require.Eventually(t, func() bool { return spanExporters() == before }, 5*time.Second, 10*time.Millisecond,
		"the tracer is shut down: %d span exporters running, %d before", spanExporters(), before)
}
