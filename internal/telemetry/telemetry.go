// Package telemetry sends cxaudit's traces through OpenTelemetry: a span
// for every River job and, beneath it, one for every HTTP call to Zendesk
// and Salesforce. Tracing is on when the standard OTEL_* variables name an
// exporter endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); the OTLP/HTTP exporter, the sampler
// (OTEL_TRACES_SAMPLER) and the resource (OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES) read the rest of them.
package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// ScopeName names cxaudit's tracer.
const ScopeName = "github.com/cxaudit/cxaudit"

// Enabled reports whether the environment asks for traces.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// NewTracerProvider returns a provider exporting over OTLP/HTTP as the
// environment configures it, or nil when tracing is not enabled. Shut it
// down on exit to flush the last spans.
func NewTracerProvider(ctx context.Context, getenv func(string) string) (*sdktrace.TracerProvider, error) {
	if !Enabled(getenv) {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
	}
	res, err := resource.Merge(
		resource.NewSchemaless(semconv.ServiceName("cxaudit")),
		resource.Environment(),
	)
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// Transport traces every request to system through next. A nil tp
// returns next as it is.
func Transport(tp trace.TracerProvider, system cxaudit.Source, next http.RoundTripper) http.RoundTripper {
	if tp == nil {
		return next
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return otelhttp.NewTransport(next,
		otelhttp.WithTracerProvider(tp),
		// No trace context to Zendesk or Salesforce: they are not ours.
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return fmt.Sprintf("%s %s", system, r.Method)
		}),
		otelhttp.WithSpanOptions(trace.WithAttributes(attribute.String("cxaudit.system", string(system)))),
	)
}

// JobMiddleware starts a span for every River job worked; the job's API
// calls are its children. A nil tp returns nil.
func JobMiddleware(tp trace.TracerProvider) rivertype.WorkerMiddleware {
	if tp == nil {
		return nil
	}
	tracer := tp.Tracer(ScopeName)
	return river.WorkerMiddlewareFunc(func(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
		ctx, span := tracer.Start(ctx, "job "+job.Kind,
			trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(
				attribute.String("messaging.system", "river"),
				attribute.String("messaging.destination.name", job.Queue),
				attribute.String("river.job.kind", job.Kind),
				attribute.String("river.job.id", strconv.FormatInt(job.ID, 10)),
				attribute.Int("river.job.attempt", job.Attempt),
			))
		defer span.End()
		err := doInner(ctx)
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		return err
	})
}
