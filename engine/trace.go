package engine

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/internal/schemas"
	"github.com/weirflow/weir/internal/tracing"
)

// The engine's spans are named "OPERATION TARGET", where the target is a
// name from the flow file (a flow, a node, a plugin): few enough to group
// by. Their attributes follow; no attribute name is also the prefix of
// another's, as OpenTelemetry asks (weir.node.name beside weir.node.status,
// never weir.node).
const (
	attrFlowName     = attribute.Key("weir.flow.name")
	attrFlowFile     = attribute.Key("weir.flow.file")
	attrRunID        = attribute.Key("weir.run.id")
	attrRunStatus    = attribute.Key("weir.run.status")
	attrNodeName     = attribute.Key("weir.node.name")
	attrNodeStatus   = attribute.Key("weir.node.status")
	attrNodeAttempt  = attribute.Key("weir.node.attempt")
	attrNodeBypassed = attribute.Key("weir.node.bypassed")
	attrNodeBytesIn  = attribute.Key("weir.node.bytes_in")
	attrNodeBytesOut = attribute.Key("weir.node.bytes_out")
	attrNodeCacheHit = attribute.Key("weir.node.cache_hit")
	attrToolName     = attribute.Key("weir.tool.name")
	attrPluginName   = attribute.Key("weir.plugin.name")
	attrPluginKind   = attribute.Key("weir.plugin.kind")
	attrBatchID      = attribute.Key("weir.batch.id")
	attrBatchLine    = attribute.Key("weir.batch.line")
)

// startSpan starts a span of the engine's tracer, or returns ctx and nil
// when the engine does not trace. For the spans of loads and plugin opens;
// runs and nodes check e.tracer themselves, so that an untraced run builds
// no attributes.
func (e *Engine) startSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if e.tracer == nil {
		return ctx, nil
	}
	return e.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
}

// endSpan ends span, which may be nil, marking it failed when err is not
// nil (see errorType).
func endSpan(span trace.Span, err error) {
	if span != nil {
		tracing.End(span, err, errorType(err))
	}
}

// errorType is the error.type of a failed span: timeout for a run that
// timed out, invalid_input for inputs that break a flow's types,
// invalid_flow for a flow that does not load, and otherwise the kind of
// the tool's error (see tracing.TypeOf).
func errorType(err error) string {
	var in *InputError
	var flow schemas.Errors
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrRunTimeout):
		return "timeout"
	case errors.As(err, &in):
		return "invalid_input"
	case errors.As(err, &flow):
		return "invalid_flow"
	}
	return tracing.TypeOf(err)
}

// endLoad ends the span of a flow file's load, named after the flow once
// its file parsed.
func endLoad(span trace.Span, spec *schemas.Flow, err error) {
	if span == nil {
		return
	}
	if spec != nil && spec.Name != "" {
		span.SetName("load " + spec.Name)
		span.SetAttributes(attrFlowName.String(spec.Name))
	}
	endSpan(span, err)
}
