package engine_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
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

// TestNodeLogs keeps the lines a tool logs with its call's context, over a
// logger of CaptureNodeLogs, in its node's NodeResult: redacted, bounded,
// whatever level the logger's own handler lets through, and only in runs
// that keep their nodes' values.
func TestNodeLogs(t *testing.T) {
	e, _ := newEngine(t, engine.Options{Secrets: func(string, engine.SecretSource) (string, error) { return secretKey, nil }})
	var out strings.Builder
	log := slog.New(engine.CaptureNodeLogs(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}))).With("plugin", "l")
	type in struct {
		Lines int    `json:"lines"`
		Key   string `json:"key"`
	}
	require.NoError(t, e.Register("l", plugins.Func("chatty", "Logs lines.", func(ctx context.Context, in in) (struct{}, error) {
		for i := range in.Lines {
			log.InfoContext(ctx, "line "+strconv.Itoa(i)+" of the key "+in.Key, "tool", "chatty", "stream", "stdout")
		}
		log.WarnContext(ctx, "done")
		return struct{}{}, nil
	})))
	f := load(t, e, `name: "logs"
secrets: key: env: "WEIR_TEST_KEY"
inputs: lines: int
nodes: {
	a: {tool: "l.chatty", inputs: {lines: "${inputs.lines}", key: "${secrets.key}"}}
	b: {tool: "t.echo", inputs: value: "${a.output}"}
}
`)
	ctx := context.Background()
	res, err := f.RunWith(ctx, map[string]any{"lines": 2}, engine.RunOptions{NodeValues: engine.AllNodeValues})
	require.NoError(t, err)
	logs := res.Nodes[0].Logs
	require.Len(t, logs, 3)
	assert.Equal(t, engine.LogLine{Time: logs[0].Time, Level: "INFO", Message: "line 0 of the key ***", Attrs: map[string]string{"stream": "stdout"}}, logs[0])
	assert.Equal(t, "line 1 of the key ***", logs[1].Message)
	assert.Equal(t, engine.LogLine{Time: logs[2].Time, Level: "WARN", Message: "done"}, logs[2])
	assert.Nil(t, res.Nodes[1].Logs, "echo logs nothing")
	assert.Equal(t, 1, strings.Count(out.String(), "level=WARN msg=done"), "the handler still gets what its level lets through, and only that")
	assert.NotContains(t, out.String(), "INFO")

	res, err = f.RunWith(ctx, map[string]any{"lines": 2}, engine.RunOptions{NodeValues: engine.FailedNodeValues})
	require.NoError(t, err)
	assert.Nil(t, res.Nodes[0].Logs, "kept as the values are: the run succeeded")
	res, err = f.Run(ctx, map[string]any{"lines": 2})
	require.NoError(t, err)
	assert.Nil(t, res.Nodes[0].Logs)

	res, err = f.RunWith(ctx, map[string]any{"lines": 150}, engine.RunOptions{NodeValues: engine.AllNodeValues})
	require.NoError(t, err)
	logs = res.Nodes[0].Logs
	require.Len(t, logs, 101)
	assert.Equal(t, "line 99 of the key ***", logs[99].Message)
	assert.Equal(t, "… 51 more lines: a run keeps at most 100 of a node", logs[100].Message)
}
