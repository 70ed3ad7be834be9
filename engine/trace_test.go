package engine_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weirflow/weir/engine"
)

// TestSpanTree runs a real flow with an in-memory exporter and checks the
// tree: a run span, a span per node attempt under it (bypassed nodes too),
// and a sub-flow's run span under its node's span.
func TestSpanTree(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	e, _ := newEngine(t, engine.Options{TracerProvider: tp})
	dir := writeFlow(t, map[string]string{
		"flow.cue": `name: "traced"
nodes: {
	flaky: {tool: "t.flaky", inputs: {key: "span", failures: 1}, retry: {attempts: 2, backoff: "1ms"}}
	skip:  {tool: "t.echo", inputs: value: 1, when: {ref: "${flaky.output.n}", is: 99}}
	sub:   {flow: "child.cue", inputs: v: "${flaky.output.n}"}
}
outputs: v: "${sub.output.v}"
`,
		"child.cue": `name: "child"
inputs: v: int
nodes: echo: {tool: "t.echo", inputs: value: "${inputs.v}"}
outputs: v: "${echo.output.value}"
`,
	})
	f, err := e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	res, err := f.Run(context.Background(), nil)
	require.NoError(t, err)

	spans := exp.GetSpans()
	byID := map[string]tracetest.SpanStub{}
	var (
		run      tracetest.SpanStub
		attempts []tracetest.SpanStub
		nodes    = map[string]tracetest.SpanStub{}
		child    tracetest.SpanStub
	)
	for _, s := range spans {
		byID[s.SpanContext.SpanID().String()] = s
		attrs := attrMap(s.Attributes)
		switch {
		case s.Name == "weir.run" && attrs["weir.flow"] == "traced":
			run = s
		case s.Name == "weir.run" && attrs["weir.flow"] == "child":
			child = s
		case s.Name == "weir.node" && attrs["weir.node"] == "flaky":
			attempts = append(attempts, s)
		case s.Name == "weir.node":
			nodes[attrs["weir.node"].(string)] = s
		}
	}
	require.True(t, run.SpanContext.IsValid(), "no run span")
	assert.Equal(t, map[string]any{
		"weir.flow": "traced", "weir.run.id": res.RunID, "weir.run.status": "succeeded",
	}, attrMap(run.Attributes))
	assert.False(t, run.Parent.IsValid(), "the run span is a root")

	require.Len(t, attempts, 2, "one span per attempt")
	for i, s := range attempts {
		a := attrMap(s.Attributes)
		assert.Equal(t, run.SpanContext.SpanID(), s.Parent.SpanID())
		assert.Equal(t, int64(i+1), a["weir.node.attempt"])
		assert.Equal(t, "t.flaky", a["weir.tool"])
		assert.Equal(t, "native", a["weir.plugin.kind"])
		assert.Equal(t, false, a["weir.node.bypassed"])
		assert.Equal(t, int64(len(`{"key":"span","failures":1}`)), a["weir.node.bytes_in"])
	}
	assert.Equal(t, "failed", attrMap(attempts[0].Attributes)["weir.node.status"])
	assert.Equal(t, codes.Error, attempts[0].Status.Code)
	assert.Equal(t, "succeeded", attrMap(attempts[1].Attributes)["weir.node.status"])
	assert.Equal(t, int64(len(`{"n":2}`)), attrMap(attempts[1].Attributes)["weir.node.bytes_out"])

	skip := attrMap(nodes["skip"].Attributes)
	assert.Equal(t, true, skip["weir.node.bypassed"])
	assert.Equal(t, "bypassed", skip["weir.node.status"])
	assert.Equal(t, run.SpanContext.SpanID(), nodes["skip"].Parent.SpanID())

	sub := nodes["sub"]
	assert.Equal(t, "flow", attrMap(sub.Attributes)["weir.plugin.kind"])
	assert.Equal(t, run.SpanContext.SpanID(), sub.Parent.SpanID())
	require.True(t, child.SpanContext.IsValid(), "no sub-flow run span")
	assert.Equal(t, sub.SpanContext.SpanID(), child.Parent.SpanID(), "the sub-flow's run span is under its node's span")
	echo := nodes["echo"]
	assert.Equal(t, child.SpanContext.SpanID(), echo.Parent.SpanID())
	for _, s := range spans {
		assert.Equal(t, run.SpanContext.TraceID(), s.SpanContext.TraceID(), "one trace")
	}
	assert.Len(t, spans, 7)
}

func attrMap(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}
