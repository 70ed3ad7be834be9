package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weirflow/weir/engine"
)

// keyed passes a secret to a node and its output on to a node that fails
// when the input message is "fail".
const keyed = `name: "keyed"
secrets: key: env: "WEIR_TEST_KEY"
inputs: message: string
nodes: {
	echo: {tool: "t.echo", inputs: value: {key: "${secrets.key}", message: "${inputs.message}"}}
	check: {tool: "t.fail", inputs: message: "${echo.output.value.message}", when: {ref: "${inputs.message}", is: "fail"}}
}
outputs: v: "${echo.output.value}"
`

const secretKey = "sk-node-values-0123"

// values returns each node's inputs and outputs, as text.
func values(res *engine.Result) map[string][2]string {
	m := map[string][2]string{}
	for _, n := range res.Nodes {
		m[n.Node] = [2]string{string(n.Inputs), string(n.Outputs)}
	}
	return m
}

func TestRunNodeValues(t *testing.T) {
	e, _ := newEngine(t, engine.Options{Secrets: func(string, engine.SecretSource) (string, error) { return secretKey, nil }})
	f := load(t, e, keyed)
	ctx := context.Background()
	none := map[string][2]string{"echo": {}, "check": {}}
	echoed := [2]string{`{"value":{"key":"***","message":"hi"}}`, `{"value":{"key":"***","message":"hi"}}`}

	res, err := f.Run(ctx, map[string]any{"message": "hi"})
	require.NoError(t, err)
	assert.Equal(t, none, values(res), "kept only when asked")

	res, err = f.RunWith(ctx, map[string]any{"message": "hi"}, engine.RunOptions{NodeValues: engine.FailedNodeValues})
	require.NoError(t, err)
	assert.Equal(t, none, values(res), "the run succeeded")

	res, err = f.RunWith(ctx, map[string]any{"message": "hi"}, engine.RunOptions{NodeValues: engine.AllNodeValues})
	require.NoError(t, err)
	assert.Equal(t, map[string][2]string{"echo": echoed, "check": {}}, values(res), "check was bypassed")
	assert.Equal(t, `{"message":"hi"}`, string(res.Inputs))
	lr := res.Line(7, nil)
	assert.Equal(t, engine.LineResult{Line: 7, Status: engine.Succeeded, Inputs: res.Inputs, Outputs: res.Outputs, Nodes: res.Nodes,
		Start: res.Start, Duration: res.Duration}, lr)

	res, err = f.RunWith(ctx, map[string]any{"message": "fail"}, engine.RunOptions{NodeValues: engine.FailedNodeValues})
	require.EqualError(t, err, `node "check" (tool t.fail, plugin t): fail`)
	assert.Equal(t, map[string][2]string{
		"echo":  {`{"value":{"key":"***","message":"fail"}}`, `{"value":{"key":"***","message":"fail"}}`},
		"check": {`{"message":"fail"}`, ""},
	}, values(res))
	for _, n := range res.Nodes {
		assert.NotContains(t, string(n.Inputs)+string(n.Outputs), secretKey)
	}
	lr = res.Line(1, err)
	assert.Equal(t, engine.Failed, lr.Status)
	assert.Nil(t, lr.Outputs)
	assert.Equal(t, `{"message":"fail"}`, string(lr.Inputs))
	var le *engine.LineError
	require.ErrorAs(t, lr.Err, &le)
	assert.Equal(t, engine.ToolFailed, le.Kind)
	assert.EqualError(t, le, `line 1: node "check" (tool t.fail, plugin t): fail`)
}

// A batch keeps the values of the lines asked for, redacted.
func TestBatchNodeValues(t *testing.T) {
	e, _ := newEngine(t, engine.Options{Secrets: func(string, engine.SecretSource) (string, error) { return secretKey, nil }})
	f := load(t, e, keyed)
	b, err := f.Batch(context.Background(), engine.JSONL(strings.NewReader("{\"message\":\"hi\"}\n{\"message\":\"fail\"}\n")),
		engine.BatchOptions{NodeValues: engine.FailedNodeValues})
	require.NoError(t, err)
	got := map[int][]string{}
	for lr := range b.Lines() {
		for _, n := range lr.Nodes {
			got[lr.Line] = append(got[lr.Line], string(n.Inputs)+" -> "+string(n.Outputs))
		}
	}
	_, err = b.Wait()
	require.NoError(t, err)
	assert.Equal(t, map[int][]string{
		1: {" -> ", " -> "},
		2: {`{"value":{"key":"***","message":"fail"}} -> {"value":{"key":"***","message":"fail"}}`, `{"message":"fail"} -> `},
	}, got)
}

// A traced run names its trace; an untraced one does not.
func TestRunTraceID(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	e, _ := newEngine(t, engine.Options{TracerProvider: tp})
	f := load(t, e, `name: "one"
nodes: echo: {tool: "t.echo", inputs: value: 1}
outputs: v: "${echo.output.value}"
`)
	res, err := f.Run(context.Background(), nil)
	require.NoError(t, err)
	spans := exp.GetSpans()
	require.NotEmpty(t, spans)
	assert.Equal(t, spans[len(spans)-1].SpanContext.TraceID().String(), res.TraceID)
	assert.Len(t, res.TraceID, 32)

	b, err := f.Batch(context.Background(), engine.JSONL(strings.NewReader("{}\n")), engine.BatchOptions{})
	require.NoError(t, err)
	var line string
	for lr := range b.Lines() {
		line = lr.TraceID
	}
	_, err = b.Wait()
	require.NoError(t, err)
	assert.Equal(t, named(t, exp.GetSpans(), "batch one")[0].SpanContext.TraceID().String(), line, "the line's run is in the batch's trace")

	e, _ = newEngine(t, engine.Options{})
	res, err = load(t, e, `name: "one"
nodes: echo: {tool: "t.echo", inputs: value: 1}
outputs: v: "${echo.output.value}"
`).Run(context.Background(), nil)
	require.NoError(t, err)
	assert.Empty(t, res.TraceID)
}
