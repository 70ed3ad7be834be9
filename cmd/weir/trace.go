package main

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/engine"
)

// tracingHelp is what weir --help says about tracing.
const tracingHelp = `Tracing is off unless the standard OpenTelemetry variables turn it on:
  OTEL_EXPORTER_OTLP_ENDPOINT=URL  export spans over OTLP (or OTEL_TRACES_EXPORTER=otlp)
  OTEL_TRACES_EXPORTER=console     write spans to standard error, a JSON object a line
                                   (never to standard output: -o json stays JSON)
OTEL_SERVICE_NAME (default weir), OTEL_RESOURCE_ATTRIBUTES and the other
OTEL_EXPORTER_OTLP_* variables apply as usual.`

// tracerFromEnv returns a tracer provider configured by the standard
// OTEL_TRACES_EXPORTER and OTEL_EXPORTER_OTLP_* variables, or nil when
// neither names an exporter: tracing is off unless asked for. The console
// exporter writes to standard error: standard output is the command's
// output, which -o json promises to be JSON alone.
func tracerFromEnv(ctx context.Context) (trace.TracerProvider, func(), error) {
	exp := os.Getenv("OTEL_TRACES_EXPORTER")
	if exp == "none" || (exp == "" && os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" &&
		os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "") {
		return nil, func() {}, nil
	}
	var exporter sdktrace.SpanExporter
	var err error
	if exp == "console" {
		exporter, err = stdouttrace.New(stdouttrace.WithWriter(os.Stderr))
	} else {
		exporter, err = autoexport.NewSpanExporter(ctx)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("set up tracing: %w", err)
	}
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, read last, win.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "weir"), attribute.String("service.version", engine.Version())),
		resource.WithFromEnv())
	if err != nil {
		return nil, nil, fmt.Errorf("set up tracing: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return tp, func() { _ = tp.Shutdown(context.Background()) }, nil
}
