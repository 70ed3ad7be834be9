package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
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
	fail: {tool: "t.fail", inputs: message: "thirteen", when: {ref: "${inputs.n}", is: 13}}
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
