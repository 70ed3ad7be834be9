package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

// evalFlow compares a prediction with the ground truth, as prompt flow's
// evaluation flows do over a classification run.
const evalFlow = `name: "eval"
inputs: {groundtruth: string, prediction: string, note: string | *"-"}
nodes: {
	grade: {tool: "builtin.template", inputs: {template: "{{.p}}={{.g}} {{.n}}", p: "${inputs.prediction}", g: "${inputs.groundtruth}", n: "${inputs.note}"}}
}
outputs: text: "${grade.output.text}"
`

// baseRun is an earlier run as a caller of BatchOptions.Run gives it: line
// 3 did not succeed there.
func baseRun(calls *atomic.Int64) func(int) (json.RawMessage, error) {
	return func(line int) (json.RawMessage, error) {
		calls.Add(1)
		if line == 3 {
			return nil, fmt.Errorf("run %q has no succeeded line %d", "classify-1", line)
		}
		return json.RawMessage(fmt.Sprintf(`{"outputs":{"category":"c%d","more":{"x":[%d]}},"inputs":{"url":"u%d"}}`, line, line, line)), nil
	}
}

func TestBatchMappingReadsAnEarlierRun(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, evalFlow)
	var calls atomic.Int64
	b, err := f.Batch(context.Background(), jsonl(`{"answer":"c1"}`, `{"answer":"c9"}`, `{"answer":"c3"}`, `{"answer":"c4"}`), engine.BatchOptions{
		Map: map[string]string{
			"groundtruth": "${data.answer}",
			"prediction":  "${run.outputs.category}",
			"note":        "${run.inputs.url}:${run.outputs.more.x[0]}",
		},
		Run: baseRun(&calls),
	})
	require.NoError(t, err)
	lines, sum, err := collect(t, b)
	require.NoError(t, err)
	assert.JSONEq(t, `{"text":"c1=c1 u1:1"}`, string(lines[1].Outputs))
	assert.JSONEq(t, `{"text":"c2=c9 u2:2"}`, string(lines[2].Outputs))
	assert.Equal(t, `input: run "classify-1" has no succeeded line 3`, why(t, lines[3]), "the line fails alone")
	assert.JSONEq(t, `{"text":"c4=c4 u4:4"}`, string(lines[4].Outputs))
	assert.Equal(t, 3, sum.Succeeded)
	assert.Equal(t, int64(4), calls.Load(), "once per line")

	// A path the earlier run's line lacks fails that line.
	b, err = f.Batch(context.Background(), jsonl(`{"answer":"c1"}`), engine.BatchOptions{
		Map: map[string]string{"groundtruth": "${data.answer}", "prediction": "${run.outputs.label}"},
		Run: baseRun(&calls),
	})
	require.NoError(t, err)
	lines, _, err = collect(t, b)
	require.NoError(t, err)
	assert.Equal(t, `input: input "prediction": ${run.outputs.label}: no field "label"`, why(t, lines[1]))

	// A mapping that does not read the run never calls Run.
	calls.Store(0)
	b, err = f.Batch(context.Background(), jsonl(`{"answer":"c1","prediction":"p"}`), engine.BatchOptions{
		Map: map[string]string{"groundtruth": "${data.answer}"},
		Run: baseRun(&calls),
	})
	require.NoError(t, err)
	lines, _, err = collect(t, b)
	require.NoError(t, err)
	assert.Equal(t, engine.Succeeded, lines[1].Status)
	assert.Zero(t, calls.Load())
}

func TestBatchRunMappingErrorsBeforeStart(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, evalFlow)
	var calls atomic.Int64
	cases := []struct {
		m    map[string]string
		run  bool
		want string
	}{
		{map[string]string{"prediction": "${run.outputs.category}"}, false,
			`map prediction=${run.outputs.category}: ${run.outputs.category} reads an earlier run, and the batch was given none`},
		{map[string]string{"prediction": "is ${run.inputs.x}"}, false,
			`map prediction=is ${run.inputs.x}: ${run.inputs.x} reads an earlier run, and the batch was given none`},
		{map[string]string{"prediction": "${run.output.category}"}, true,
			`map prediction=${run.output.category}: ${run.output.category}: a mapping takes an earlier run's outputs or inputs, as in ${run.outputs.x} or ${run.inputs.x}`},
		{map[string]string{"prediction": "${run}"}, true,
			`map prediction=${run}: ${run}: a mapping takes an earlier run's outputs or inputs, as in ${run.outputs.x} or ${run.inputs.x}`},
	}
	for _, c := range cases {
		opts := engine.BatchOptions{Map: c.m}
		if c.run {
			opts.Run = baseRun(&calls)
		}
		_, err := f.Batch(context.Background(), jsonl(`{"groundtruth":"a"}`), opts)
		assert.EqualError(t, err, c.want)
	}
	assert.Zero(t, calls.Load())
}

// metricsIn is what the "log" test tool returns as its metrics.
type metricsIn struct {
	Values  []int          `json:"values"`
	Metrics map[string]any `json:"metrics,omitempty"`
}

type metricsOut struct {
	Count   int            `json:"count"`
	Metrics map[string]any `json:"metrics,omitempty"`
}

func TestBatchMetricsAreTheAggregateNodesLoggedMetrics(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	require.NoError(t, e.Register("m", plugins.Func("log", "Returns the metrics it is given, as a Python tool that calls log_metric.",
		func(_ context.Context, in metricsIn) (metricsOut, error) {
			return metricsOut{Count: len(in.Values), Metrics: in.Metrics}, nil
		})))
	f := load(t, e, `name: "metrics"
inputs: n: int
nodes: {
	a: {tool: "t.echo", inputs: value: "${inputs.n}"}
	first: {tool: "m.log", aggregate: true, inputs: {values: "${a.output.value}", metrics: {accuracy: 0.5, f1: 0.25}}}
	none: {tool: "m.log", aggregate: true, inputs: values: "${a.output.value}"}
	second: {tool: "m.log", aggregate: true, inputs: {values: "${a.output.value}", metrics: {recall: 1, accuracy: 0.67}}}
}
outputs: n: "${a.output.value}"
`)
	b, err := f.Batch(context.Background(), numbered(3), engine.BatchOptions{})
	require.NoError(t, err)
	_, sum, err := collect(t, b)
	require.NoError(t, err)
	assert.Equal(t, `{"accuracy":0.67,"f1":0.25,"recall":1}`, string(sum.Metrics),
		"flow order; a key keeps its first place and its last value")

	// A flow whose aggregate nodes log no metrics has none.
	f = load(t, e, `name: "plain"
inputs: n: int
nodes: {
	a: {tool: "t.echo", inputs: value: "${inputs.n}"}
	s: {tool: "builtin.stats", aggregate: true, inputs: values: "${a.output.value}"}
}
outputs: n: "${a.output.value}"
`)
	b, err = f.Batch(context.Background(), numbered(3), engine.BatchOptions{})
	require.NoError(t, err)
	_, sum, err = collect(t, b)
	require.NoError(t, err)
	assert.Nil(t, sum.Metrics)
	assert.NotNil(t, sum.Aggregates)
}
