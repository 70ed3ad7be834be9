// Package tracing holds what weir's packages share to make OpenTelemetry
// spans: child spans in the caller's TracerProvider, and the error.type of
// a failed span.
//
// The plugin kinds hold no TracerProvider of their own: they trace the work
// a traced caller asked for (a Wasm compile, a plugin process's start, a
// gRPC call to it) as children of the caller's span, in the provider that
// made that span, and nothing else. Work that no traced caller waits for,
// such as a health check, makes no span, so it cannot start a root trace.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/internal/inert"
	"github.com/weirflow/weir/plugins"
)

// Scope is the instrumentation scope of every weir tracer.
const Scope = "github.com/weirflow/weir"

// ErrorType is the key of the span attribute that says what kind of
// failure ended a span, as OpenTelemetry's semantic conventions name it.
const ErrorType = attribute.Key("error.type")

// Child starts a span under the recording span in ctx, with that span's
// TracerProvider. Without one it returns ctx and a span that records
// nothing, at the cost of a context lookup.
func Child(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, trace.SpanFromContext(context.Background())
	}
	return parent.TracerProvider().Tracer(Scope).Start(ctx, name, trace.WithAttributes(attrs...))
}

// End ends span; a non-nil err marks it failed, with the error's message
// (bounded and escaped, as a plugin may have written it) and its
// error.type, typ when not empty, else the kind TypeOf says.
func End(span trace.Span, err error, typ string) {
	if err != nil && span.IsRecording() {
		if typ == "" {
			typ = TypeOf(err)
		}
		msg := inert.Text(err.Error(), 1<<10)
		span.SetAttributes(ErrorType.String(typ))
		// As RecordError would, with the bounded message.
		span.AddEvent("exception", trace.WithAttributes(
			attribute.String("exception.type", fmt.Sprintf("%T", err)),
			attribute.String("exception.message", msg),
		))
		span.SetStatus(codes.Error, msg)
	}
	span.End()
}

// TypeOf is the error.type of a failure: "canceled" when a context was
// canceled, else the name of its plugins.Kind with underscores for
// spaces: timeout, retryable, limit, invalid_input or internal.
func TypeOf(err error) string {
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	return strings.ReplaceAll(plugins.KindOf(err).String(), " ", "_")
}
