package record_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
)

// BenchmarkWrite records lines of a two-node flow with an aggregate node,
// buffers written out to disk included, and reports lines per second.
func BenchmarkWrite(b *testing.B) {
	s := newStore(b)
	r, err := s.Create(record.Meta{ID: "bench", Flow: "qa"})
	require.NoError(b, err)
	lr := engine.LineResult{
		Status:  engine.Succeeded,
		Inputs:  json.RawMessage(`{"question":"What is the capital of France?","context":"Paris is the capital and largest city of France."}`),
		Outputs: json.RawMessage(`{"answer":"Paris","score":0.97}`),
		Nodes: []engine.NodeResult{
			{Node: "retrieve", Tool: "search.lookup", Status: engine.Succeeded, Attempts: 1, Duration: 812 * time.Microsecond},
			{Node: "answer", Tool: "llm.complete", Status: engine.Succeeded, Attempts: 1, Duration: 2345 * time.Microsecond},
		},
		Duration:  3200 * time.Microsecond,
		Aggregate: json.RawMessage(`{"accuracy":{"answer":"Paris","expected":"Paris"}}`),
	}
	b.ReportAllocs()
	for b.Loop() {
		lr.Line++
		if err := r.Write(lr); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	require.NoError(b, r.Finish(nil, errors.New("benchmark")))
}

// BenchmarkOutputs reads a run of 100k lines recorded in the order a
// batch of concurrency 8 ends them: each line a few places from its own.
func BenchmarkOutputs(b *testing.B) {
	s := newStore(b)
	r, err := s.Create(record.Meta{ID: "bench", Flow: "qa"})
	require.NoError(b, err)
	const n = 100_000
	for i := 0; i < n; i += 8 {
		for _, d := range []int{3, 0, 5, 1, 7, 2, 6, 4} {
			lr := ok(i+d+1, "")
			require.NoError(b, r.Write(lr))
		}
	}
	sum := &engine.BatchSummary{Status: engine.Completed, Succeeded: n}
	require.NoError(b, r.Finish(sum, nil))
	b.ReportAllocs()
	for b.Loop() {
		lines := 0
		for _, err := range s.Outputs("bench") {
			if err != nil {
				b.Fatal(err)
			}
			lines++
		}
		if lines != n {
			b.Fatalf("%d lines", lines)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "lines/s")
}
