package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/tracing/tracingtest"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
	"github.com/weirflow/weir/plugins/wasm"
)

// traced is a flow with a node that fails once and is retried, a bypassed
// node, and a sub-flow.
var traced = map[string]string{
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
}

// TestSpanTree loads and runs a real flow with an in-memory exporter and
// checks the trees: the load's (sub-flow and plugin open under it), and
// the run's (a span per node attempt, bypassed nodes too, a sub-flow's run
// under its node), with their attributes and the failed attempt's
// error.type.
func TestSpanTree(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	e, _ := newEngine(t, engine.Options{TracerProvider: tp})
	dir := writeFlow(t, traced)
	f, err := e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	assert.Equal(t, `load traced
  load child
  open_plugin builtin
`, tracingtest.Tree(exp.GetSpans()))
	load := exp.GetSpans()[len(exp.GetSpans())-1]
	assert.Equal(t, map[string]any{
		"weir.flow.file": filepath.Join(dir, "flow.cue"), "weir.flow.name": "traced",
	}, attrMap(load.Attributes))
	open := named(t, exp.GetSpans(), "open_plugin builtin")
	assert.Equal(t, map[string]any{"weir.plugin.name": "builtin", "weir.plugin.kind": "builtin"}, attrMap(open[0].Attributes))

	exp.Reset()
	res, err := f.Run(context.Background(), nil)
	require.NoError(t, err)
	spans := exp.GetSpans()
	assert.Equal(t, `run traced
  node flaky
  node flaky
  node skip
  node sub
    run child
      node echo
`, tracingtest.Tree(spans))

	run := named(t, spans, "run traced")[0]
	assert.Equal(t, map[string]any{
		"weir.flow.name": "traced", "weir.run.id": res.RunID, "weir.run.status": "succeeded",
	}, attrMap(run.Attributes))
	assert.Equal(t, codes.Unset, run.Status.Code)

	attempts := named(t, spans, "node flaky")
	require.Len(t, attempts, 2)
	slices.SortFunc(attempts, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	common := map[string]any{
		"weir.run.id": res.RunID, "weir.node.name": "flaky", "weir.tool.name": "t.flaky",
		"weir.plugin.name": "t", "weir.plugin.kind": "native", "weir.node.bypassed": false,
		"weir.node.bytes_in": int64(len(`{"key":"span","failures":1}`)),
	}
	assert.Equal(t, with(common, map[string]any{
		"weir.node.attempt": int64(1), "weir.node.status": "failed", "weir.node.bytes_out": int64(0),
		"error.type": "retryable",
	}), attrMap(attempts[0].Attributes))
	assert.Equal(t, sdktrace.Status{Code: codes.Error, Description: "flaky failure 1"}, attempts[0].Status)
	require.Len(t, attempts[0].Events, 1)
	assert.Equal(t, map[string]any{
		"exception.type": "*plugins.Error", "exception.message": "flaky failure 1",
	}, attrMap(attempts[0].Events[0].Attributes))
	assert.Equal(t, with(common, map[string]any{
		"weir.node.attempt": int64(2), "weir.node.status": "succeeded", "weir.node.bytes_out": int64(len(`{"n":2}`)),
	}), attrMap(attempts[1].Attributes))
	assert.Equal(t, codes.Unset, attempts[1].Status.Code)

	skip := attrMap(named(t, spans, "node skip")[0].Attributes)
	assert.Equal(t, true, skip["weir.node.bypassed"])
	assert.Equal(t, "bypassed", skip["weir.node.status"])
	assert.Equal(t, "flow", attrMap(named(t, spans, "node sub")[0].Attributes)["weir.plugin.kind"])
	for _, s := range spans {
		assert.Equal(t, run.SpanContext.TraceID(), s.SpanContext.TraceID(), "one trace")
	}

	// The sub-flow's run is in the result too.
	require.Len(t, res.Subflows, 1)
	sub := res.Subflows["sub"]
	require.NotNil(t, sub)
	assert.Equal(t, "child", sub.Flow)
	assert.Equal(t, `{"v":2}`, string(sub.Outputs))
	require.Len(t, sub.Nodes, 1)
	assert.Equal(t, "echo", sub.Nodes[0].Node)
	assert.Equal(t, engine.Succeeded, sub.Nodes[0].Status)
}

// A run that fails says why in error.type, on the node and on the run: a
// node's own timeout, inputs that break the flow's types, a tool's error of
// a kind.
func TestSpanErrorType(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	e, _ := newEngine(t, engine.Options{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))})
	for _, c := range []struct {
		name, nodes, inputs, want string
	}{
		{"timeout", `n: {tool: "t.wait", inputs: name: "x", timeout: "10ms"}`, `{"x": 1}`, "timeout"},
		{"internal", `n: {tool: "t.fail", inputs: message: "no"}`, `{"x": 1}`, "internal"},
		{"invalid input", `n: {tool: "t.echo", inputs: value: "${inputs.x}"}`, `{"x": "not a number"}`, "invalid_input"},
	} {
		t.Run(c.name, func(t *testing.T) {
			exp.Reset()
			f := load(t, e, "name: \"failing\"\ninputs: x: int\nnodes: "+c.nodes+"\noutputs: v: \"${n.output}\"\n")
			exp.Reset()
			_, err := f.Run(context.Background(), []byte(c.inputs))
			require.Error(t, err)
			for _, s := range exp.GetSpans() {
				assert.Equal(t, c.want, attrMap(s.Attributes)["error.type"], s.Name)
				assert.Equal(t, codes.Error, s.Status.Code, s.Name)
			}
			assert.NotEmpty(t, named(t, exp.GetSpans(), "run failing"))
		})
	}
}

// The Wasm provider traces its compile under the engine's open, in the
// engine's TracerProvider, though it was given none.
func TestSpanTreeWasmStartup(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	e, err := engine.New(engine.Options{
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)),
		Providers:      []plugins.Provider{builtin.NewProvider(), wasm.NewProvider(wasm.Options{CacheDir: t.TempDir()})},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	wasmPath := textPlugin(t)
	f, err := e.Parse(context.Background(), "flow.cue", []byte(fmt.Sprintf(`name: "w"
plugins: text: wasm: %q
nodes: a: {tool: "text.upper", inputs: text: "x"}
outputs: v: "${a.output.text}"
`, wasmPath)))
	require.NoError(t, err)
	assert.Equal(t, `load w
  open_plugin builtin
  open_plugin text
    compile_wasm text
`, tracingtest.Tree(exp.GetSpans()))
	compile := attrMap(named(t, exp.GetSpans(), "compile_wasm text")[0].Attributes)
	assert.Equal(t, "text", compile["weir.plugin.name"])
	assert.Greater(t, compile["weir.wasm.bytes"], int64(0))

	exp.Reset()
	_, err = f.Run(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, "run w\n  node a\n", tracingtest.Tree(exp.GetSpans()), "a warm plugin makes no spans of its own")
}

// named returns the spans called name, failing the test when there is none.
func named(t *testing.T, spans []tracetest.SpanStub, name string) []tracetest.SpanStub {
	t.Helper()
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	require.NotEmpty(t, out, "no span %q", name)
	return out
}

func with(a, b map[string]any) map[string]any {
	m := map[string]any{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

func attrMap(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}
