package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/tracing/tracingtest"
	"github.com/weirflow/weir/plugins"
)

// remoteFlow has, over its lines, every outcome a batch reports: a node
// bypassed on most lines, a line that fails in a tool (13) and so cancels
// the node after it, and aggregate nodes over the lines that succeed.
const remoteFlow = `name: "remote"
inputs: {
	n:   int
	tag: string | *"none"
}
nodes: {
	a:    {tool: "t.echo", inputs: value: "${inputs.n}"}
	fail: {tool: "t.fail", inputs: message: "thirteen", when: {ref: "${a.output.value}", is: 13}}
	b:    {tool: "builtin.template", inputs: {template: "{{.v}}-{{.tag}}", v: "${a.output.value}", tag: "${inputs.tag}", after: "${fail.output.value}"}}
	score: {tool: "builtin.stats", aggregate: true, inputs: values: "${a.output.value}"}
	count: {tool: "t.echo", aggregate: true, inputs: value: "${score.output.count}"}
}
outputs: {n: "${a.output.value}", text: "${b.output.text}"}
`

// remoteData is 40 lines {"n": i}, but for line 7, whose n breaks the
// flow's type, and line 9, which is not JSON.
func remoteData() engine.Source {
	var b strings.Builder
	for i := 1; i <= 40; i++ {
		switch i {
		case 7:
			b.WriteString(`{"n": "seven"}` + "\n")
		case 9:
			b.WriteString("nine\n")
		default:
			fmt.Fprintf(&b, "{\"n\":%d,\"tag\":\"t%d\"}\n", i, i%3)
		}
	}
	return engine.JSONL(strings.NewReader(b.String()))
}

// runLineOf returns a BatchOptions.Remote that runs each line on f, a flow
// of another engine, as a work pool's worker does.
func runLineOf(f *engine.Flow, opts engine.LineOptions) func(context.Context, int, json.RawMessage) (engine.LineResult, error) {
	return func(ctx context.Context, line int, in json.RawMessage) (engine.LineResult, error) {
		return f.RunLine(ctx, line, in, opts)
	}
}

// lineView is what a line reports, but for times.
type lineView struct {
	Status    engine.Status
	Why       string
	Inputs    string
	Outputs   string
	Aggregate string
	Nodes     []string // node: status: error
}

func view(t *testing.T, lr engine.LineResult) lineView {
	v := lineView{Status: lr.Status, Inputs: string(lr.Inputs), Outputs: string(lr.Outputs), Aggregate: string(lr.Aggregate)}
	if lr.Err != nil {
		v.Why = why(t, lr)
	}
	for _, nr := range lr.Nodes {
		v.Nodes = append(v.Nodes, fmt.Sprintf("%s: %s: %s (attempts %d)", nr.Node, nr.Status, nr.Error, nr.Attempts))
	}
	return v
}

// summaryView is a summary but for times.
func summaryView(sum *engine.BatchSummary) map[string]any {
	nodes := slices.Clone(sum.Nodes)
	for i := range nodes {
		nodes[i].Latency = engine.Latency{}
	}
	var aggNodes []string
	for _, nr := range sum.AggregateNodes {
		aggNodes = append(aggNodes, fmt.Sprintf("%s: %s: %s", nr.Node, nr.Status, nr.Error))
	}
	return map[string]any{
		"status": sum.Status, "error": sum.Error, "flow": sum.Flow,
		"succeeded": sum.Succeeded, "failed": sum.Failed, "carried": sum.Carried,
		"nodes": nodes, "aggregates": string(sum.Aggregates), "aggregate nodes": aggNodes,
	}
}

// TestBatchRemoteAsLocal runs the same batch here and through a Remote
// that runs each line on another engine: they report the same.
func TestBatchRemoteAsLocal(t *testing.T) {
	local, _ := newEngine(t, engine.Options{})
	worker, wt := newEngine(t, engine.Options{})
	f := load(t, local, remoteFlow)
	wf := load(t, worker, remoteFlow)

	b, err := f.Batch(context.Background(), remoteData(), engine.BatchOptions{RunID: "rb", Concurrency: 4})
	require.NoError(t, err)
	want, wantSum, err := collect(t, b)
	require.NoError(t, err)

	var asked sync.Map
	run := runLineOf(wf, engine.LineOptions{BatchID: "rb"})
	b, err = f.Batch(context.Background(), remoteData(), engine.BatchOptions{RunID: "rb", Concurrency: 4,
		Remote: func(ctx context.Context, line int, in json.RawMessage) (engine.LineResult, error) {
			_, twice := asked.LoadOrStore(line, true)
			assert.False(t, twice, "line %d asked twice", line)
			return run(ctx, line, in)
		}})
	require.NoError(t, err)
	got, gotSum, err := collect(t, b)
	require.NoError(t, err)

	_, unread := asked.Load(9)
	assert.False(t, unread, "a line that cannot be read fails here")
	assert.Equal(t, 38, wt.count("echo"), "the worker ran every line that reads, maps and checks")
	require.Len(t, got, 40)
	for line := 1; line <= 40; line++ {
		assert.Equal(t, view(t, want[line]), view(t, got[line]), "line %d", line)
	}
	assert.Equal(t, summaryView(wantSum), summaryView(gotSum))

	// The outcomes the flow is made for, so that the comparison above
	// compares them.
	assert.Equal(t, 37, gotSum.Succeeded)
	assert.Equal(t, 3, gotSum.Failed)
	assert.Equal(t, engine.NodeStats{Node: "fail", Runs: 1, Failed: 1, Bypassed: 37}, withoutLatency(gotSum.Nodes[1]))
	assert.Equal(t, engine.NodeStats{Node: "b", Runs: 37, Canceled: 1}, withoutLatency(gotSum.Nodes[2]))
	assert.Equal(t, `tool: node "fail" (tool t.fail, plugin t): thirteen`, why(t, got[13]))
	assert.Equal(t, `input: flow "remote": invalid inputs: n: must be an integer, got string`, why(t, got[7]))
	assert.Nil(t, got[7].Nodes, "no node ran")
	assert.Equal(t, "input: invalid JSON at column 2: invalid character 'i' in literal null (expecting 'u')", why(t, got[9]))
	assert.JSONEq(t, `{"n":5,"text":"5-t2"}`, string(got[5].Outputs))
	assert.JSONEq(t, `{"score":{"values":5},"count":{}}`, string(got[5].Aggregate))
	var agg struct {
		Score map[string]float64 `json:"score"`
		Count struct{ Value int }
	}
	require.NoError(t, json.Unmarshal(gotSum.Aggregates, &agg))
	assert.Equal(t, 820.0-7-9-13, agg.Score["sum"], "over the lines that succeeded")
	assert.Equal(t, 37, agg.Count.Value)
}

func withoutLatency(s engine.NodeStats) engine.NodeStats {
	s.Latency = engine.Latency{}
	return s
}

// TestBatchRemoteMalformed gives the batch results it must not trust as
// they are, for line 2 of 3: each fails its line with the reason, or is
// made this engine's, and never panics.
func TestBatchRemoteMalformed(t *testing.T) {
	local, _ := newEngine(t, engine.Options{})
	worker, _ := newEngine(t, engine.Options{})
	f := load(t, local, remoteFlow)
	wf := load(t, worker, remoteFlow)
	const another = ": is the worker running another version of the flow?"
	for _, tc := range []struct {
		name   string
		mutate func(lr *engine.LineResult) error // the error Remote returns
		want   string
	}{
		{"another line", func(lr *engine.LineResult) error { lr.Line = 9; return nil },
			"tool: the worker's result is for line 9"},
		{"canceled", func(lr *engine.LineResult) error { lr.Status = engine.Canceled; return nil },
			`tool: the worker's result has status "canceled": a line ends succeeded or failed`},
		{"no status", func(lr *engine.LineResult) error { lr.Status = ""; return nil },
			`tool: the worker's result has status "": a line ends succeeded or failed`},
		{"failed without an error", func(lr *engine.LineResult) error { lr.Status = engine.Failed; return nil },
			"tool: the worker's result failed without an error"},
		{"failed with an empty LineError", func(lr *engine.LineResult) error {
			lr.Status, lr.Err = engine.Failed, &engine.LineError{Line: 2, Kind: engine.TimedOut}
			return nil
		}, "tool: the worker's result failed without an error"},
		{"failed with a nil LineError", func(lr *engine.LineResult) error {
			lr.Status, lr.Err = engine.Failed, (*engine.LineError)(nil)
			return nil
		}, "tool: the worker's result failed without an error"},
		{"succeeded with an error", func(lr *engine.LineResult) error { lr.Err = errors.New("boom"); return nil },
			"tool: the worker's result succeeded with an error: boom"},
		{"a node more", func(lr *engine.LineResult) error {
			lr.Nodes = append(lr.Nodes, engine.NodeResult{Node: "c", Status: engine.Succeeded})
			return nil
		}, "tool: the worker's result has 4 nodes, the flow has 3 per-line nodes" + another},
		{"a node less", func(lr *engine.LineResult) error { lr.Nodes = lr.Nodes[:1]; return nil },
			"tool: the worker's result has 1 node, the flow has 3 per-line nodes" + another},
		{"succeeded without nodes", func(lr *engine.LineResult) error { lr.Nodes = nil; return nil },
			"tool: the worker's result has 0 nodes, the flow has 3 per-line nodes" + another},
		{"another node", func(lr *engine.LineResult) error { lr.Nodes[1].Node = "fails"; return nil },
			`tool: the worker's result has node "fails" where the flow has node "fail"` + another},
		{"outputs cut", func(lr *engine.LineResult) error { lr.Outputs = lr.Outputs[:5]; return nil },
			"tool: the worker's result has outputs that are not a JSON object"},
		{"no outputs", func(lr *engine.LineResult) error { lr.Outputs = nil; return nil },
			"tool: the worker's result has outputs that are not a JSON object"},
		{"outputs a list", func(lr *engine.LineResult) error { lr.Outputs = json.RawMessage(`[2]`); return nil },
			"tool: the worker's result has outputs that are not a JSON object"},
		{"inputs a string", func(lr *engine.LineResult) error { lr.Inputs = json.RawMessage(`"n"`); return nil },
			"tool: the worker's result has inputs that are not a JSON object"},
		{"aggregate value missing", func(lr *engine.LineResult) error { lr.Aggregate = json.RawMessage(`{"score":{}}`); return nil },
			`tool: the worker's result has aggregate values that do not read back: aggregate value of node "score" input "values": no field "values"`},
		{"no aggregate", func(lr *engine.LineResult) error { lr.Aggregate = nil; return nil },
			"tool: the worker's result has no aggregate values, the flow has aggregate nodes" + another},
		{"aggregate not JSON", func(lr *engine.LineResult) error {
			lr.Aggregate = json.RawMessage(`{"score":{"values":}}`)
			return nil
		}, "tool: the worker's result has aggregate values that are not a JSON object"},

		// Results taken, made this engine's.
		{"an error that is not a LineError", func(lr *engine.LineResult) error {
			*lr = engine.LineResult{Line: 2, Status: engine.Failed, Err: errors.New("the worker lost its tool")}
			return nil
		}, "tool: the worker lost its tool"},
		{"a LineError of another line", func(lr *engine.LineResult) error {
			lr.Status, lr.Err = engine.Failed, &engine.LineError{Line: 7, Kind: engine.TimedOut, Err: errors.New("took too long")}
			return nil
		}, "timeout: took too long"},
		{"Remote fails, ctx live", func(*engine.LineResult) error { return errors.New("nats: no responders available for request") },
			"tool: nats: no responders available for request"},
		{"an error that is not inert", func(lr *engine.LineResult) error {
			lr.Status, lr.Err = engine.Failed, &engine.LineError{Line: 2, Kind: engine.ToolFailed, Err: errors.New("bad\n\x1b[2J" + strings.Repeat("x", 70_000))}
			return nil
		}, `tool: bad\n\x1b[2J` + strings.Repeat("x", 65536-len("bad\n\x1b[2J")) + "… (4472 bytes more)"},
		{"succeeded with an error that is not inert", func(lr *engine.LineResult) error { lr.Err = errors.New("boom\x1b[2J"); return nil },
			`tool: the worker's result succeeded with an error: boom\x1b[2J`},
		{"a kind from a later weir", func(lr *engine.LineResult) error {
			lr.Status, lr.Err = engine.Failed, &engine.LineError{Line: 2, Kind: 42, Err: errors.New("out of quota")}
			return nil
		}, "unknown: out of quota"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := f.Batch(context.Background(), numbered(3), engine.BatchOptions{
				Remote: func(ctx context.Context, line int, in json.RawMessage) (engine.LineResult, error) {
					lr, err := wf.RunLine(ctx, line, in, engine.LineOptions{})
					require.NoError(t, err)
					if line == 2 {
						err = tc.mutate(&lr)
					}
					return lr, err
				}})
			require.NoError(t, err)
			lines, sum, err := collect(t, b)
			require.NoError(t, err)
			require.Len(t, lines, 3)
			lr := lines[2]
			assert.Equal(t, engine.Failed, lr.Status)
			assert.Equal(t, tc.want, why(t, lr))
			assert.Nil(t, lr.Outputs)
			assert.Nil(t, lr.Aggregate)
			assert.Equal(t, engine.Succeeded, lines[3].Status)

			assert.Equal(t, 2, sum.Succeeded)
			assert.Equal(t, 1, sum.Failed)
			assert.JSONEq(t, `{"score":{"count":2,"sum":4,"mean":2,"min":1,"max":3},"count":{"value":2}}`, string(sum.Aggregates))
			if lr.Nodes == nil {
				assert.Equal(t, engine.NodeStats{Node: "a", Runs: 2}, withoutLatency(sum.Nodes[0]), "a result not taken counts no node")
			}
		})
	}
}

// TestBatchRemoteNamesNodes takes a result whose nodes say no more than
// their names and what they did, as a compact wire format may: the batch
// names their tools as its flow does, and shows their errors inert.
func TestBatchRemoteNamesNodes(t *testing.T) {
	local, _ := newEngine(t, engine.Options{})
	worker, _ := newEngine(t, engine.Options{})
	f := load(t, local, remoteFlow)
	wf := load(t, worker, remoteFlow)
	b, err := f.Batch(context.Background(), numbered(1), engine.BatchOptions{
		Remote: func(ctx context.Context, line int, in json.RawMessage) (engine.LineResult, error) {
			lr, err := wf.RunLine(ctx, line, in, engine.LineOptions{})
			for i := range lr.Nodes {
				lr.Nodes[i] = engine.NodeResult{Node: lr.Nodes[i].Node, Status: lr.Nodes[i].Status, Error: "said\nno", Tool: "other"}
			}
			return lr, err
		}})
	require.NoError(t, err)
	lines, _, err := collect(t, b)
	require.NoError(t, err)
	var got []string
	for _, nr := range lines[1].Nodes {
		got = append(got, fmt.Sprintf("%s %s %s %s %s: %s", nr.Node, nr.Tool, nr.Plugin, nr.Kind, nr.Status, nr.Error))
	}
	assert.Equal(t, []string{
		`a t.echo t native succeeded: said\nno`,
		`fail t.fail t native bypassed: said\nno`,
		`b builtin.template builtin builtin succeeded: said\nno`,
	}, got)
}

// TestBatchRemoteRedacts shows a result's values pass through the
// batch's Redactor, whatever the worker's knew: here each knows one of the
// two secrets.
func TestBatchRemoteRedacts(t *testing.T) {
	here, there := engine.NewRedactor(), engine.NewRedactor()
	here.Add("s3cret")
	there.Add("t0p")
	local, _ := newEngine(t, engine.Options{Redactor: here})
	worker, _ := newEngine(t, engine.Options{Redactor: there})
	const src = `name: "words"
inputs: {word: string, kind: string | *"echo"}
nodes: {
	a:   {tool: "t.echo", inputs: value: "${inputs.word}"}
	f:   {tool: "t.fail", inputs: message: "no ${a.output.value}", when: {ref: "${inputs.kind}", is: "fail"}}
	all: {tool: "t.echo", aggregate: true, inputs: value: "${a.output.value}"}
}
outputs: w: "${a.output.value}"
`
	f := load(t, local, src)
	wf := load(t, worker, src)
	b, err := f.Batch(context.Background(), jsonl(`{"word": "s3cret t0p"}`, `{"word": "s3cret t0p", "kind": "fail"}`),
		engine.BatchOptions{Remote: runLineOf(wf, engine.LineOptions{})})
	require.NoError(t, err)
	lines, sum, err := collect(t, b)
	require.NoError(t, err)
	assert.Equal(t, lineView{
		Status:    engine.Succeeded,
		Inputs:    `{"word":"*** ***","kind":"echo"}`,
		Outputs:   `{"w":"*** ***"}`,
		Aggregate: `{"all":{"value":"*** ***"}}`,
		Nodes:     []string{"a: succeeded:  (attempts 1)", "f: bypassed:  (attempts 0)"},
	}, view(t, lines[1]))
	assert.Equal(t, lineView{
		Status: engine.Failed,
		Why:    `tool: node "f" (tool t.fail, plugin t): no *** ***`,
		Inputs: `{"word":"*** ***","kind":"fail"}`,
		Nodes:  []string{"a: succeeded:  (attempts 1)", "f: failed: no *** *** (attempts 1)"},
	}, view(t, lines[2]))
	assert.JSONEq(t, `{"all":{"value":["*** ***"]}}`, string(sum.Aggregates))
}

// TestBatchRemoteCancelAndResume stops a batch whose lines run remotely:
// the lines Remote abandons are not reported, and a resume runs them, with
// the aggregate values of the lines done before.
func TestBatchRemoteCancelAndResume(t *testing.T) {
	local, _ := newEngine(t, engine.Options{})
	worker, _ := newEngine(t, engine.Options{})
	const src = `name: "sum"
inputs: n: int
nodes: {
	a:     {tool: "t.echo", inputs: value: "${inputs.n}"}
	score: {tool: "builtin.stats", aggregate: true, inputs: values: "${a.output.value}"}
}
outputs: n: "${a.output.value}"
`
	f := load(t, local, src)
	wf := load(t, worker, src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var abandoned atomic.Int64
	b, err := f.Batch(ctx, numbered(200), engine.BatchOptions{Concurrency: 4,
		Remote: func(ctx context.Context, line int, in json.RawMessage) (engine.LineResult, error) {
			if line == 50 {
				cancel()
			}
			lr, err := wf.RunLine(ctx, line, in, engine.LineOptions{})
			if err != nil {
				assert.ErrorIs(t, err, context.Canceled)
				assert.Equal(t, fmt.Sprintf("run line %d: context canceled", line), err.Error())
				abandoned.Add(1)
			}
			return lr, err
		}})
	require.NoError(t, err)
	first := canceledAt(t, b, 200, 50)
	assert.Positive(t, abandoned.Load())

	var done []engine.LineResult
	for _, lr := range first {
		require.Equal(t, engine.Succeeded, lr.Status, "line %d: %v", lr.Line, lr.Err)
		done = append(done, lr)
	}
	var ran sync.Map
	second, sum := resume(t, f, 200, done, engine.BatchOptions{Concurrency: 4,
		Remote: func(ctx context.Context, line int, in json.RawMessage) (engine.LineResult, error) {
			_, twice := ran.LoadOrStore(line, true)
			assert.False(t, twice, "line %d", line)
			return wf.RunLine(ctx, line, in, engine.LineOptions{})
		}})
	assert.Contains(t, second, 50)
	var agg struct{ Score struct{ Count, Sum float64 } }
	require.NoError(t, json.Unmarshal(sum.Aggregates, &agg))
	assert.Equal(t, 200.0, agg.Score.Count, "the carried lines' values count")
	assert.Equal(t, 20100.0, agg.Score.Sum)
}

// TestRunLineSpan runs a line as a worker does, in the trace context a
// submitter sent in a message's headers: the run's span is a child of the
// submitter's span, and says which batch and line it is.
func TestRunLineSpan(t *testing.T) {
	submitter := tracetest.NewInMemoryExporter()
	stp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(submitter))
	ctx, batch := stp.Tracer("test").Start(context.Background(), "batch lines")
	headers := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, headers)
	batch.End()

	exp := tracetest.NewInMemoryExporter()
	e, _ := newEngine(t, engine.Options{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))})
	f := load(t, e, echoFlow)
	exp.Reset()
	wctx := propagation.TraceContext{}.Extract(context.Background(), headers)
	lr, err := f.RunLine(wctx, 4, json.RawMessage(`{"n":4}`), engine.LineOptions{BatchID: "b9"})
	require.NoError(t, err)
	assert.Equal(t, engine.Succeeded, lr.Status)

	spans := exp.GetSpans()
	assert.Equal(t, "run double\n  node a\n  node b\n", tracingtest.Tree(spans))
	run := named(t, spans, "run double")[0]
	sent := submitter.GetSpans()[0]
	assert.Equal(t, sent.SpanContext.SpanID(), run.Parent.SpanID(), "a child of the submitter's span")
	assert.Equal(t, sent.SpanContext.TraceID(), run.SpanContext.TraceID())
	assert.True(t, run.Parent.IsRemote())
	assert.Equal(t, map[string]any{
		"weir.flow.name": "double", "weir.run.id": "b9/4", "weir.run.status": "succeeded",
		"weir.batch.id": "b9", "weir.batch.line": int64(4),
	}, attrMap(run.Attributes))
}

// TestRunLineEnds shows when RunLine returns an error: only when its
// context ended before the line did. A line out of its own time is a
// result.
func TestRunLineEnds(t *testing.T) {
	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	defer e.Close()
	inside := make(chan struct{})
	require.NoError(t, e.Register("w", plugins.Func("wait", "Waits for its context.", func(ctx context.Context, in valueIO) (valueIO, error) {
		if in.Value == "signal" {
			close(inside)
		}
		<-ctx.Done()
		return valueIO{}, context.Cause(ctx)
	})))
	f := load(t, e, `name: "w"
inputs: v: string
nodes: a: {tool: "w.wait", inputs: value: "${inputs.v}"}
outputs: v: "${a.output.value}"
`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = f.RunLine(ctx, 3, json.RawMessage(`{"v":"x"}`), engine.LineOptions{})
	assert.EqualError(t, err, "run line 3: context canceled")
	assert.ErrorIs(t, err, context.Canceled)

	ctx, stop := context.WithCancelCause(context.Background())
	go func() {
		<-inside
		stop(errors.New("worker draining"))
	}()
	_, err = f.RunLine(ctx, 5, json.RawMessage(`{"v":"signal"}`), engine.LineOptions{})
	assert.EqualError(t, err, "run line 5: worker draining", "a line canceled as it ran")

	lr, err := f.RunLine(context.Background(), 6, json.RawMessage(`{"v":"x"}`), engine.LineOptions{Timeout: 20 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, engine.Failed, lr.Status)
	assert.Equal(t, `timeout: node "a" (tool w.wait, plugin w): run timed out after 20ms`, why(t, lr))
	assert.Len(t, lr.Nodes, 1)

	lr, err = f.RunLine(context.Background(), 7, json.RawMessage(`[1]`), engine.LineOptions{})
	require.NoError(t, err)
	assert.Equal(t, `input: flow "w": invalid inputs: inputs must be a JSON object`, why(t, lr))
	assert.Nil(t, lr.Nodes)
	assert.Nil(t, lr.Inputs)
}

// BenchmarkBatchRemote compares a batch that runs its lines here with one
// whose Remote calls RunLine in the same process: the difference is the
// engine's side of the hook (checking and taking each result), without
// any transport.
func BenchmarkBatchRemote(b *testing.B) {
	e, err := weir.New(engine.Options{})
	require.NoError(b, err)
	defer e.Close()
	tt := &testTools{}
	require.NoError(b, e.Register("t", tt.tools()...))
	path := filepath.Join(b.TempDir(), "flow.cue")
	require.NoError(b, writeFile(path, `name: "three"
inputs: {n: int, tag: string | *"none"}
nodes: {
	a:     {tool: "t.echo", inputs: value: "${inputs.n}"}
	b:     {tool: "builtin.template", inputs: {template: "{{.v}}-{{.tag}}", v: "${a.output.value}", tag: "${inputs.tag}"}}
	c:     {tool: "t.echo", inputs: value: "${b.output.text}"}
	score: {tool: "builtin.stats", aggregate: true, inputs: values: "${a.output.value}"}
}
outputs: {n: "${a.output.value}", text: "${c.output.value}"}
`))
	f, err := e.Load(context.Background(), path)
	require.NoError(b, err)
	for _, bc := range []struct {
		name   string
		remote func(context.Context, int, json.RawMessage) (engine.LineResult, error)
	}{
		{"local", nil},
		{"remote", runLineOf(f, engine.LineOptions{BatchID: "bench"})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var data strings.Builder
			for i := 1; i <= b.N; i++ {
				fmt.Fprintf(&data, "{\"n\":%d}\n", i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			batch, err := f.Batch(context.Background(), engine.JSONL(strings.NewReader(data.String())),
				engine.BatchOptions{RunID: "bench", Remote: bc.remote})
			require.NoError(b, err)
			sum, err := batch.Wait()
			require.NoError(b, err)
			require.Equal(b, b.N, sum.Succeeded)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// FuzzBatchRemote gives a batch results made of arbitrary values, as a
// broken or hostile worker could: the line is reported once, succeeded or
// failed, with JSON outputs, and nothing panics.
func FuzzBatchRemote(f *testing.F) {
	e, err := weir.New(engine.Options{})
	require.NoError(f, err)
	defer e.Close()
	require.NoError(f, e.Register("t", (&testTools{}).tools()...))
	flow, err := e.Parse(context.Background(), "flow.cue", []byte(remoteFlow))
	require.NoError(f, err)
	f.Add(1, "succeeded", "a,fail,b", `{"n":1,"text":"1-none"}`, `{"n":1,"tag":"none"}`, `{"score":{"values":1},"count":{}}`, "", uint8(0))
	f.Add(1, "failed", "", "", "", "", "line 1: no", uint8(2))
	f.Add(2, "succeeded", "a,b", `{`, `[]`, `{"score":{"values":}}`, "x", uint8(200))
	f.Add(1, "failed", "a,fail,b", `{}`, `{}`, `{"score":{"values":[1,{"a":"\u0000"}]}}`, "\x1b\n", uint8(3))
	f.Fuzz(func(t *testing.T, line int, status, nodes, outputs, inputs, aggregate, errText string, kind uint8) {
		raw := func(s string) json.RawMessage {
			if s == "" {
				return nil
			}
			return json.RawMessage(s)
		}
		give := engine.LineResult{Line: line, Status: engine.Status(status), Outputs: raw(outputs), Inputs: raw(inputs), Aggregate: raw(aggregate)}
		if nodes != "" {
			for _, n := range strings.Split(nodes, ",") {
				give.Nodes = append(give.Nodes, engine.NodeResult{Node: n, Status: engine.Status(status), Error: errText})
			}
		}
		if errText != "" {
			give.Err = &engine.LineError{Line: line, Kind: engine.FailureKind(kind), Err: errors.New(errText)}
		}
		b, err := flow.Batch(context.Background(), numbered(1), engine.BatchOptions{
			Remote: func(context.Context, int, json.RawMessage) (engine.LineResult, error) { return give, nil },
		})
		require.NoError(t, err)
		lines, sum, err := collect(t, b)
		require.NoError(t, err)
		require.Len(t, lines, 1)
		lr := lines[1]
		assert.Equal(t, 1, sum.Succeeded+sum.Failed)
		switch lr.Status {
		case engine.Succeeded:
			assert.True(t, json.Valid(lr.Outputs), "outputs %q", lr.Outputs)
			assert.Len(t, lr.Nodes, 3)
		case engine.Failed:
			why(t, lr)
			assert.Nil(t, lr.Outputs)
		default:
			t.Fatalf("status %q", lr.Status)
		}
		_, err = json.Marshal(lr)
		require.NoError(t, err, "the result encodes")
	})
}

// TestBatchRemoteLogs takes the log lines of a result from elsewhere as
// this engine keeps its own: at most 101 a node, each message cut and made
// inert, secrets redacted, a line of too many attributes without them.
func TestBatchRemoteLogs(t *testing.T) {
	red := engine.NewRedactor()
	red.Add("s3cret")
	e, _ := newEngine(t, engine.Options{Redactor: red})
	f := load(t, e, `name: "one"
inputs: word: string
nodes: a: {tool: "t.echo", inputs: value: "${inputs.word}"}
outputs: w: "${a.output.value}"
`)
	many := map[string]string{}
	for i := range 17 {
		many[strconv.Itoa(i)] = "v"
	}
	logs := []engine.LogLine{
		{Level: "INFO", Message: "the s3cret is \x1b[31mred", Attrs: map[string]string{"stream\n": "s3cret"}},
		{Level: "WARN", Message: strings.Repeat("x", 5000), Attrs: many},
	}
	for range 150 {
		logs = append(logs, engine.LogLine{Level: "INFO", Message: "more"})
	}
	remote := func(_ context.Context, line int, _ json.RawMessage) (engine.LineResult, error) {
		return engine.LineResult{Line: line, Status: engine.Succeeded, Outputs: json.RawMessage(`{"w":"x"}`),
			Nodes: []engine.NodeResult{{Node: "a", Status: engine.Succeeded, Attempts: 1, Logs: logs}}}, nil
	}
	b, err := f.Batch(context.Background(), jsonl(`{"word": "x"}`), engine.BatchOptions{Remote: remote})
	require.NoError(t, err)
	lines, _, err := collect(t, b)
	require.NoError(t, err)
	got := lines[1].Nodes[0].Logs
	require.Len(t, got, 101)
	assert.Equal(t, engine.LogLine{Level: "INFO", Message: `the *** is \x1b[31mred`, Attrs: map[string]string{`stream\n`: "***"}}, got[0])
	assert.Equal(t, strings.Repeat("x", 4096)+"… (904 bytes more)", got[1].Message)
	assert.Nil(t, got[1].Attrs, "too many attributes")
}
