package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

// echoFlow doubles a number through two nodes; failing on n == 13 when
// asked to.
const echoFlow = `name: "double"
inputs: {
	n:    int
	tag:  string | *"none"
}
nodes: {
	a: {tool: "t.echo", inputs: value: "${inputs.n}"}
	b: {tool: "builtin.template", inputs: {template: "{{.v}}-{{.tag}}", v: "${a.output.value}", tag: "${inputs.tag}"}}
}
outputs: {n: "${a.output.value}", text: "${b.output.text}"}
`

func jsonl(lines ...string) engine.Source {
	return engine.JSONL(strings.NewReader(strings.Join(lines, "\n")))
}

// numbered is a JSONL dataset of n lines {"n": i}.
func numbered(n int) engine.Source {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "{\"n\":%d}\n", i)
	}
	return engine.JSONL(strings.NewReader(b.String()))
}

// collect runs a batch to its end and returns its lines by line number.
func collect(t *testing.T, b *engine.Batch) (map[int]engine.LineResult, *engine.BatchSummary, error) {
	t.Helper()
	lines := map[int]engine.LineResult{}
	for lr := range b.Lines() {
		_, dup := lines[lr.Line]
		require.False(t, dup, "line %d reported twice", lr.Line)
		lines[lr.Line] = lr
	}
	sum, err := b.Wait()
	return lines, sum, err
}

func TestBatchRunsEveryLine(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, echoFlow)
	b, err := f.Batch(context.Background(), numbered(200), engine.BatchOptions{Concurrency: 4, RunID: "b1"})
	require.NoError(t, err)
	assert.Equal(t, "b1", b.ID())
	lines, sum, err := collect(t, b)
	require.NoError(t, err)
	require.Len(t, lines, 200)
	for i := 1; i <= 200; i++ {
		lr := lines[i]
		assert.Equal(t, engine.Succeeded, lr.Status)
		assert.JSONEq(t, fmt.Sprintf(`{"n":%d,"text":"%d-none"}`, i, i), string(lr.Outputs))
		assert.JSONEq(t, fmt.Sprintf(`{"n":%d,"tag":"none"}`, i), string(lr.Inputs), "defaults are applied")
		assert.Len(t, lr.Nodes, 2)
		assert.Nil(t, lr.Aggregate)
	}
	assert.Equal(t, engine.Completed, sum.Status)
	assert.Equal(t, 200, sum.Succeeded)
	assert.Equal(t, 0, sum.Failed)
	assert.Equal(t, 200, sum.Lines())
	assert.Equal(t, "double", sum.Flow)
	require.Len(t, sum.Nodes, 2)
	assert.Equal(t, engine.NodeStats{Node: "a", Runs: 200, Latency: sum.Nodes[0].Latency}, sum.Nodes[0])
	assert.LessOrEqual(t, sum.Latency.P50, sum.Latency.P99)
	assert.LessOrEqual(t, sum.Latency.P99, sum.Latency.Max)
	assert.Positive(t, sum.Latency.Max)
}

// TestBatchConcurrencyBound counts the lines inside a tool at once: never
// more than the concurrency, and all of it is used (a barrier of that size
// lets the first lines through only together).
func TestBatchConcurrencyBound(t *testing.T) {
	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	defer e.Close()
	var inside, most atomic.Int64
	gate := newBarrier(3)
	require.NoError(t, e.Register("c", plugins.Func("count", "Counts lines inside.", func(ctx context.Context, in valueIO) (valueIO, error) {
		n := inside.Add(1)
		defer inside.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		if in.Value == float64(1) || in.Value == float64(2) || in.Value == float64(3) {
			if err := gate.wait(ctx); err != nil {
				return valueIO{}, err
			}
		}
		return in, nil
	})))
	f := load(t, e, `name: "c"
inputs: n: int
nodes: a: {tool: "c.count", inputs: value: "${inputs.n}"}
outputs: v: "${a.output.value}"
`)
	b, err := f.Batch(context.Background(), numbered(300), engine.BatchOptions{Concurrency: 3})
	require.NoError(t, err)
	lines, sum, err := collect(t, b)
	require.NoError(t, err)
	assert.Len(t, lines, 300)
	assert.Equal(t, 300, sum.Succeeded)
	assert.EqualValues(t, 3, most.Load())
}

func TestBatchMapping(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, echoFlow)
	data := func() engine.Source {
		return jsonl(`{"num": 1, "n": 100, "label": "x"}`, `{"num": 2, "n": 200}`, `{"n": 3}`, `{"num": "three", "label": "y"}`)
	}
	b, err := f.Batch(context.Background(), data(), engine.BatchOptions{Map: map[string]string{"n": "${data.num}", "tag": "t-${data.label}"}})
	require.NoError(t, err)
	lines, sum, err := collect(t, b)
	require.NoError(t, err)
	// The mapping wins over the column of the same name.
	assert.JSONEq(t, `{"n":1,"text":"1-t-x"}`, string(lines[1].Outputs))
	assert.Equal(t, `input: input "tag": ${data.label}: the line has no column "label"`, why(t, lines[2]))
	assert.Equal(t, engine.Failed, lines[2].Status)
	assert.Nil(t, lines[2].Inputs)
	assert.Equal(t, `input: input "n": ${data.num}: the line has no column "num"`, why(t, lines[3]))
	assert.Equal(t, `input: flow "double": invalid inputs: n: must be an integer, got string`, why(t, lines[4]))
	assert.Equal(t, 1, sum.Succeeded)
	assert.Equal(t, 3, sum.Failed)

	// Without a mapping, the column of the same name, then the default.
	b, err = f.Batch(context.Background(), data(), engine.BatchOptions{})
	require.NoError(t, err)
	lines, _, err = collect(t, b)
	require.NoError(t, err)
	assert.JSONEq(t, `{"n":100,"text":"100-none"}`, string(lines[1].Outputs))
	assert.JSONEq(t, `{"n":3,"text":"3-none"}`, string(lines[3].Outputs))
	assert.Equal(t, `input: flow "double": invalid inputs: n: is required`, why(t, lines[4]))
}

func TestBatchMappingErrorsBeforeStart(t *testing.T) {
	e, tt := newEngine(t, engine.Options{})
	f := load(t, e, echoFlow)
	cases := []struct {
		data string
		m    map[string]string
		want string
	}{
		{`{"num": 1}`, map[string]string{"m": "${data.num}"}, `map m=${data.num}: the flow has no input "m" (inputs: n, tag); did you mean "n"?`},
		{`{"num": 1}`, map[string]string{"n": "${data.nmu}"}, `map n=${data.nmu}: the dataset has no column "nmu" (columns: num); did you mean "num"?`},
		{`{"num": 1}`, map[string]string{"n": "${inputs.n}"}, `map n=${inputs.n}: ${inputs.n}: a mapping takes a line's column, as in ${data.col}`},
		{`{"num": 1}`, map[string]string{"n": "${data.num"}, `map n=${data.num: unclosed reference "${data.num": add "}"`},
		{`{"num": 1}`, nil, `input "n" is required, but the dataset has no column "n" and no mapping gives it (columns: num): map one with n=${data.<col>}`},
		{``, nil, `dataset is empty`},
		{"\n\n", nil, `dataset is empty`},
	}
	for _, c := range cases {
		_, err := f.Batch(context.Background(), jsonl(c.data), engine.BatchOptions{Map: c.m})
		assert.EqualError(t, err, c.want, c.data)
	}
	_, err := f.Batch(context.Background(), jsonl(""), engine.BatchOptions{})
	assert.ErrorIs(t, err, engine.ErrEmptyDataset)
	assert.Zero(t, tt.count("echo"), "nothing ran")
}

func TestBatchBadLinesFailAloneAndTheRestRun(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, echoFlow)
	// The first readable line checks the columns, after two bad ones.
	b, err := f.Batch(context.Background(), jsonl(`{"n": 1`, `[2]`, `{"n": 3}`, `nope`, `{"n": 5}`), engine.BatchOptions{})
	require.NoError(t, err)
	lines, sum, err := collect(t, b)
	require.NoError(t, err)
	assert.Equal(t, "input: invalid JSON at column 7: unexpected end of JSON input", why(t, lines[1]))
	assert.Equal(t, "input: want a JSON object of columns, got an array", why(t, lines[2]))
	assert.Equal(t, "input: invalid JSON at column 2: invalid character 'o' in literal null (expecting 'u')", why(t, lines[4]))
	assert.Equal(t, engine.Succeeded, lines[3].Status)
	assert.Equal(t, engine.Succeeded, lines[5].Status)
	assert.Equal(t, 2, sum.Succeeded)
	assert.Equal(t, 3, sum.Failed)
	assert.Equal(t, engine.Completed, sum.Status)

	// A dataset of bad lines only runs and fails every line.
	b, err = f.Batch(context.Background(), jsonl(`x`, `y`), engine.BatchOptions{})
	require.NoError(t, err)
	_, sum, err = collect(t, b)
	require.NoError(t, err)
	assert.Equal(t, 2, sum.Failed)
}

func TestBatchCSVTextBecomesTyped(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `name: "typed"
inputs: {
	n:    int
	ok:   bool | *false
	x:    number | *0.5
	name: string
}
nodes: a: {tool: "t.echo", inputs: value: {n: "${inputs.n}", ok: "${inputs.ok}", x: "${inputs.x}", name: "${inputs.name}"}}
outputs: v: "${a.output.value}"
`)
	src := engine.CSV(strings.NewReader("n,ok,x,name\n3,true,2.5,007\n4,,,x\nfive,no,1,y\n"))
	b, err := f.Batch(context.Background(), src, engine.BatchOptions{})
	require.NoError(t, err)
	lines, _, err := collect(t, b)
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":{"n":3,"ok":true,"x":2.5,"name":"007"}}`, string(lines[2].Outputs))
	assert.JSONEq(t, `{"v":{"n":4,"ok":false,"x":0.5,"name":"x"}}`, string(lines[3].Outputs), "empty cells take the default")
	assert.Equal(t, `input: flow "typed": invalid inputs: n: must be an integer, got string; ok: must be a boolean, got string`, why(t, lines[4]))

	// Numbers keep their digits; what Go parses but JSON does not stays text.
	f = load(t, e, `name: "typed"
inputs: {
	n:    int
	x:    number
	name: string
}
nodes: a: {tool: "t.echo", inputs: value: "${inputs.name}"}
outputs: {n: "${inputs.n}", x: "${inputs.x}", name: "${a.output.value}"}
`)
	src = engine.CSV(strings.NewReader("n,x,name\n9007199254740993,9007199254740993.5,a\n+3,inf,b\n007,0x1p4,c\n"))
	b, err = f.Batch(context.Background(), src, engine.BatchOptions{})
	require.NoError(t, err)
	lines, _, err = collect(t, b)
	require.NoError(t, err)
	assert.Equal(t, `{"n":9007199254740993,"x":9007199254740993.5,"name":"a"}`, string(lines[2].Outputs))
	assert.Equal(t, `input: flow "typed": invalid inputs: n: must be an integer, got string; x: must be a number, got string`, why(t, lines[3]))
	assert.Equal(t, `input: flow "typed": invalid inputs: n: must be an integer, got string; x: must be a number, got string`, why(t, lines[4]))
}

func TestBatchLineTimeout(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `name: "slow"
inputs: n: int
nodes: {
	a: {tool: "t.echo", inputs: value: "${inputs.n}"}
	w: {tool: "t.wait", inputs: name: "x", when: {ref: "${inputs.n}", is: 2}}
}
outputs: v: "${a.output.value}"
`)
	// Long enough for a line that waits for nothing on a busy machine.
	b, err := f.Batch(context.Background(), numbered(3), engine.BatchOptions{LineTimeout: time.Second})
	require.NoError(t, err)
	lines, sum, err := collect(t, b)
	require.NoError(t, err)
	assert.Equal(t, engine.Succeeded, lines[1].Status)
	assert.Equal(t, `timeout: node "w" (tool t.wait, plugin t): run timed out after 1s`, why(t, lines[2]))
	assert.Equal(t, engine.Succeeded, lines[3].Status)
	assert.Equal(t, engine.Completed, sum.Status)
	assert.Equal(t, engine.NodeStats{Node: "w", Canceled: 1, Bypassed: 2, Latency: sum.Nodes[1].Latency}, sum.Nodes[1])
}

// TestBatchLineErrorKinds tells the failures of lines apart with
// errors.As: bad input, a tool that failed, a node or a line out of time.
func TestBatchLineErrorKinds(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `name: "kinds"
inputs: {n: int, do: string}
nodes: {
	fail: {tool: "t.fail", inputs: message: "no", when: {ref: "${inputs.do}", is: "fail"}}
	wait: {tool: "t.wait", inputs: name: "x", when: {ref: "${inputs.do}", is: "wait"}, timeout: "10ms"}
	hang: {tool: "t.wait", inputs: name: "y", when: {ref: "${inputs.do}", is: "hang"}}
}
outputs: n: "${inputs.n}"
`)
	b, err := f.Batch(context.Background(), jsonl(`{"n":1,"do":"none"}`, `{"n":`, `{"n":"x","do":"none"}`,
		`{"n":4,"do":"fail"}`, `{"n":5,"do":"wait"}`, `{"n":6,"do":"hang"}`), engine.BatchOptions{
		// Far above the wait node's 10ms, which must end its line first
		// even on a loaded machine.
		LineTimeout: time.Second,
	})
	require.NoError(t, err)
	lines, _, err := collect(t, b)
	require.NoError(t, err)
	require.Len(t, lines, 6)
	assert.Nil(t, lines[1].Err)
	kinds := map[int]engine.FailureKind{}
	for n, lr := range lines {
		var le *engine.LineError
		if errors.As(lr.Err, &le) {
			kinds[n] = le.Kind
		}
	}
	assert.Equal(t, map[int]engine.FailureKind{2: engine.BadInput, 3: engine.BadInput, 4: engine.ToolFailed, 5: engine.TimedOut, 6: engine.TimedOut}, kinds)

	// The engine's own errors are in the chain.
	var in *engine.InputError
	require.ErrorAs(t, lines[3].Err, &in)
	assert.Equal(t, "kinds", in.Flow)
	var node *engine.NodeError
	require.ErrorAs(t, lines[4].Err, &node)
	assert.Equal(t, "fail", node.Node)
	require.ErrorAs(t, lines[5].Err, &node)
	assert.Equal(t, plugins.Timeout, plugins.KindOf(node.Err))
	assert.ErrorIs(t, lines[6].Err, engine.ErrRunTimeout)
	assert.Equal(t, `timeout: node "hang" (tool t.wait, plugin t): run timed out after 1s`, why(t, lines[6]))

	// A LineResult encodes its error as the text.
	b2, err := json.Marshal(engine.LineResult{Line: 4, Status: engine.Failed, Err: lines[4].Err})
	require.NoError(t, err)
	assert.Contains(t, string(b2), `"error":"node \"fail\" (tool t.fail, plugin t): no"`)
}

func TestFailureKindText(t *testing.T) {
	for _, k := range []engine.FailureKind{engine.UnknownFailure, engine.BadInput, engine.ToolFailed, engine.TimedOut} {
		b, err := k.MarshalText()
		require.NoError(t, err)
		var back engine.FailureKind
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, k, back, string(b))
	}
	var k engine.FailureKind = engine.ToolFailed
	require.NoError(t, k.UnmarshalText([]byte("cosmic-ray")))
	assert.Equal(t, engine.UnknownFailure, k, "a kind of a later weir")
	assert.Equal(t, "FailureKind(9)", engine.FailureKind(9).String())
}

func TestBatchMaxFailures(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `name: "fails"
inputs: n: int
nodes: a: {tool: "t.fail", inputs: message: "no"}
outputs: v: "${a.output}"
`)
	b, err := f.Batch(context.Background(), numbered(1000), engine.BatchOptions{MaxFailures: 5, Concurrency: 2})
	require.NoError(t, err)
	lines, sum, err := collect(t, b)
	require.ErrorIs(t, err, engine.ErrTooManyFailures)
	assert.EqualError(t, err, "too many failed lines: stopped after 5")
	assert.Equal(t, engine.Failed, sum.Status)
	assert.Equal(t, "too many failed lines: stopped after 5", sum.Error)
	// Lines already failing when the fifth did still count; none started after.
	assert.GreaterOrEqual(t, sum.Failed, 5)
	assert.LessOrEqual(t, sum.Failed, 5+2)
	assert.Len(t, lines, sum.Failed)
}

// TestBatchCancelAndResume stops a batch midway, then resumes it with the
// lines that succeeded: every line ends up run exactly once.
func TestBatchCancelAndResume(t *testing.T) {
	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var stopped atomic.Bool
	require.NoError(t, e.Register("r", plugins.Func("step", "Cancels the first batch at line 50.", func(ctx context.Context, in valueIO) (valueIO, error) {
		if in.Value == float64(50) && stopped.CompareAndSwap(false, true) {
			cancel()
			<-ctx.Done()
			return valueIO{}, ctx.Err()
		}
		if in.Value == float64(7) {
			return valueIO{}, errors.New("seven fails")
		}
		return in, nil
	})))
	f := load(t, e, `name: "r"
inputs: n: int
nodes: a: {tool: "r.step", inputs: value: "${inputs.n}"}
outputs: v: "${a.output.value}"
`)
	b, err := f.Batch(ctx, numbered(500), engine.BatchOptions{Concurrency: 4})
	require.NoError(t, err)
	first := canceledAt(t, b, 500, 50)

	var done []engine.LineResult
	for _, lr := range first {
		if lr.Status == engine.Succeeded {
			done = append(done, lr)
		}
	}
	second, _ := resume(t, f, 500, done, engine.BatchOptions{Concurrency: 4})
	assert.Equal(t, "seven fails", errOf(t, second, first, 7))
}

// canceledAt collects a batch over n lines canceled as line at ran: that line
// is not reported, and not every line ran.
func canceledAt(t *testing.T, b *engine.Batch, n, at int) map[int]engine.LineResult {
	t.Helper()
	lines, sum, err := collect(t, b)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, engine.Canceled, sum.Status)
	assert.NotContains(t, lines, at, "an abandoned line is not reported")
	assert.Less(t, len(lines), n)
	return lines
}

// resume runs f over numbered(n) again, carrying the lines done: it
// checks that none of them runs again and that the batch completes the
// rest, and returns the lines it ran.
func resume(t *testing.T, f *engine.Flow, n int, done []engine.LineResult, opts engine.BatchOptions) (map[int]engine.LineResult, *engine.BatchSummary) {
	t.Helper()
	opts.Resume = slices.Values(done)
	b, err := f.Batch(context.Background(), numbered(n), opts)
	require.NoError(t, err)
	lines, sum, err := collect(t, b)
	require.NoError(t, err)
	assert.Equal(t, engine.Completed, sum.Status)
	assert.Equal(t, len(done), sum.Carried)
	for _, lr := range done {
		assert.NotContains(t, lines, lr.Line, "line %d ran again", lr.Line)
	}
	assert.Equal(t, n, len(done)+len(lines))
	return lines, sum
}

func errOf(t *testing.T, a, b map[int]engine.LineResult, line int) string {
	lr, ok := a[line]
	if !ok {
		lr = b[line]
	}
	return strings.TrimPrefix(why(t, lr), `tool: node "a" (tool r.step, plugin r): `)
}

// why says why a line failed: the kind and the text of its *LineError.
func why(t *testing.T, lr engine.LineResult) string {
	t.Helper()
	var le *engine.LineError
	require.True(t, errors.As(lr.Err, &le), "line %d: %v", lr.Line, lr.Err)
	require.Equal(t, lr.Line, le.Line)
	require.Equal(t, fmt.Sprintf("line %d: %v", lr.Line, le.Err), lr.Err.Error())
	return le.Kind.String() + ": " + le.Err.Error()
}

const aggFlow = `name: "eval"
inputs: {n: int, want: int}
nodes: {
	a:     {tool: "t.echo", inputs: value: "${inputs.n}"}
	check: {tool: "t.echo", inputs: value: "${inputs.want}"}
	score: {
		tool:      "builtin.stats"
		aggregate: true
		inputs: values: "${a.output.value}"
	}
	list: {
		tool:      "t.echo"
		aggregate: true
		inputs: value: {ns: "${inputs.n}", mean: "${score.output.mean}"}
	}
	report: {
		tool:      "t.echo"
		aggregate: true
		inputs: value: "${score.output.count}"
	}
}
outputs: n: "${a.output.value}"
`

func TestBatchAggregate(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	_, err := e.Parse(context.Background(), "x.cue", []byte(aggFlow))
	require.Error(t, err)
	assert.Equal(t, `x.cue:14:18: node "list": input "value" mixes per-line values (${inputs.n}) with aggregate nodes (${score.output.mean}): give each its own input`, err.Error())

	src := strings.Replace(aggFlow, `{ns: "${inputs.n}", mean: "${score.output.mean}"}`, `"${inputs.n}"`, 1)
	f := load(t, e, src)
	b, err := f.Batch(context.Background(), engine.Records(func(yield func(map[string]int) bool) {
		for i := 1; i <= 100; i++ {
			if !yield(map[string]int{"n": i, "want": i % 2}) {
				return
			}
		}
	}), engine.BatchOptions{Concurrency: 8})
	require.NoError(t, err)
	lines, sum, err := collect(t, b)
	require.NoError(t, err)
	assert.JSONEq(t, `{"score":{"values":3},"list":{"value":3},"report":{}}`, string(lines[3].Aggregate))
	assert.Len(t, lines[3].Nodes, 2, "aggregate nodes are not line nodes")
	var agg struct {
		Score  map[string]float64 `json:"score"`
		List   struct{ Value []int }
		Report struct{ Value int }
	}
	require.NoError(t, json.Unmarshal(sum.Aggregates, &agg))
	assert.Equal(t, map[string]float64{"count": 100, "sum": 5050, "mean": 50.5, "min": 1, "max": 100}, agg.Score)
	want := make([]int, 100)
	for i := range want {
		want[i] = i + 1
	}
	assert.Equal(t, want, agg.List.Value, "lists are in line order")
	assert.Equal(t, 100, agg.Report.Value, "an aggregate node reads another one's output")
	require.Len(t, sum.AggregateNodes, 3)
	for _, nr := range sum.AggregateNodes {
		assert.Equal(t, engine.Succeeded, nr.Status, nr.Node+": "+nr.Error)
	}
	assert.Len(t, sum.Nodes, 2)

	// A resume counts the carried lines' values: the metrics cover the
	// whole dataset.
	var carried []engine.LineResult
	for i := 1; i <= 60; i++ {
		carried = append(carried, lines[i])
	}
	b, err = f.Batch(context.Background(), engine.Records(func(yield func(map[string]int) bool) {
		for i := 1; i <= 100; i++ {
			if !yield(map[string]int{"n": i, "want": 0}) {
				return
			}
		}
	}), engine.BatchOptions{Resume: slices.Values(carried)})
	require.NoError(t, err)
	again, sum, err := collect(t, b)
	require.NoError(t, err)
	assert.Len(t, again, 40)
	assert.Equal(t, 60, sum.Carried)
	require.NoError(t, json.Unmarshal(sum.Aggregates, &agg))
	assert.Equal(t, 5050.0, agg.Score["sum"])
	assert.Equal(t, want, agg.List.Value)
}

func TestBatchAggregateFailure(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `name: "eval"
inputs: n: int
nodes: {
	a:   {tool: "t.echo", inputs: value: "${inputs.n}"}
	bad: {tool: "t.fail", aggregate: true, inputs: message: "metrics broke"}
	after: {tool: "t.echo", aggregate: true, inputs: value: "${bad.output}"}
}
outputs: n: "${a.output.value}"
`)
	b, err := f.Batch(context.Background(), numbered(3), engine.BatchOptions{})
	require.NoError(t, err)
	_, sum, err := collect(t, b)
	assert.EqualError(t, err, `node "bad" (tool t.fail, plugin t): metrics broke`)
	assert.Equal(t, engine.Failed, sum.Status)
	assert.Equal(t, 3, sum.Succeeded)
	assert.Equal(t, `{}`, string(sum.Aggregates))
	assert.Equal(t, []engine.Status{engine.Failed, engine.Canceled}, []engine.Status{sum.AggregateNodes[0].Status, sum.AggregateNodes[1].Status})

	errs := loadErrors(t, e, "flow.cue", `name: "eval"
inputs: n: int
nodes: {
	a:   {tool: "t.echo", inputs: value: "${inputs.n}"}
	agg: {tool: "builtin.stats", aggregate: true, inputs: values: "${a.output.value}", when: {ref: "${inputs.n}", is: 1}}
}
outputs: n: "${a.output.value}"
`)
	assert.Equal(t, []string{`flow.cue:5:97: node "agg": an aggregate node runs once per batch and cannot have when`}, errs)
}

// TestBatchSourceErrorStops shows a source that fails midway: the lines
// before the failure are reported, and the batch fails with the error.
func TestBatchSourceErrorStops(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, echoFlow)
	src := func(yield func(engine.Record, error) bool) {
		for i := 1; i <= 3; i++ {
			if !yield(engine.Record{Line: i, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}, nil) {
				return
			}
		}
		yield(engine.Record{}, errors.New("read dataset: connection reset"))
	}
	b, err := f.Batch(context.Background(), src, engine.BatchOptions{Concurrency: 1})
	require.NoError(t, err)
	lines, sum, err := collect(t, b)
	assert.EqualError(t, err, "read dataset: connection reset")
	assert.Equal(t, engine.Failed, sum.Status)
	assert.Len(t, lines, 3)

	var backwards iter.Seq2[engine.Record, error] = func(yield func(engine.Record, error) bool) {
		for range 2 {
			if !yield(engine.Record{Line: 2, Data: json.RawMessage(`{"n":2}`)}, nil) {
				return
			}
		}
	}
	b, err = f.Batch(context.Background(), backwards, engine.BatchOptions{})
	require.NoError(t, err)
	_, _, err = collect(t, b)
	assert.EqualError(t, err, "read dataset: line 2 comes after line 2: a source must number its lines in increasing order")
}

func TestBatchTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := trace.NewTracerProvider(trace.WithSyncer(exp))
	e, _ := newEngine(t, engine.Options{TracerProvider: tp})
	f := load(t, e, echoFlow)
	b, err := f.Batch(context.Background(), numbered(3), engine.BatchOptions{RunID: "tb"})
	require.NoError(t, err)
	_, _, err = collect(t, b)
	require.NoError(t, err)

	spans := exp.GetSpans()
	var batch tracetest.SpanStub
	runs := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		switch s.Name {
		case "batch double":
			batch = s
		case "run double":
			runs[attr(s, "weir.run.id")] = s
		}
	}
	require.Equal(t, "batch double", batch.Name)
	assert.Equal(t, "tb", attr(batch, "weir.batch.id"))
	assert.Equal(t, "completed", attr(batch, "weir.batch.status"))
	assert.Equal(t, "3", attr(batch, "weir.batch.succeeded"))
	assert.Equal(t, []string{"tb/1", "tb/2", "tb/3"}, slices.Sorted(maps.Keys(runs)))
	for id, s := range runs {
		assert.Equal(t, batch.SpanContext.SpanID(), s.Parent.SpanID(), id)
		assert.Equal(t, "tb", attr(s, "weir.batch.id"), id)
		assert.Equal(t, strings.TrimPrefix(id, "tb/"), attr(s, "weir.batch.line"), id)
	}
}

// attr returns a span attribute as text.
func attr(s tracetest.SpanStub, key string) string {
	v, ok := attrMap(s.Attributes)[key]
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}
