package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
)

// BenchmarkEngine runs no-op flows of 10 and 100 nodes; compare ns/node
// with BenchmarkDirect for the engine's own cost per node.
func BenchmarkEngine(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("%s-%d", Chain, n), EngineRun(Chain, n))
		b.Run(fmt.Sprintf("%s-%d", FanOut, n), EngineRun(FanOut, n))
	}
}

// BenchmarkDirect makes the same 10 tool calls without the engine.
func BenchmarkDirect(b *testing.B) {
	b.Run("calls", DirectCalls(10))
}

// TestNoopFlowsRun keeps the benchmark flows valid.
func TestNoopFlowsRun(t *testing.T) {
	e, err := weir.New(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, shape := range []string{Chain, FanOut} {
		f, err := e.Parse(context.Background(), shape+".cue", []byte(NoopFlow(shape, 10)))
		if err != nil {
			t.Fatalf("%s: %v", shape, err)
		}
		res, err := f.Run(context.Background(), []byte(`{"x":"hi"}`))
		if err != nil {
			t.Fatalf("%s: %v", shape, err)
		}
		if len(res.Nodes) != 10 {
			t.Fatalf("%s: %d nodes", shape, len(res.Nodes))
		}
		for _, n := range res.Nodes {
			if n.Status != engine.Succeeded {
				t.Fatalf("%s: node %s %s", shape, n.Node, n.Status)
			}
		}
	}
}

// BenchmarkLoad loads no-op flows of 1k and 10k nodes; linear loading
// takes 10 times as long for the larger.
func BenchmarkLoad(b *testing.B) {
	for _, shape := range []string{Chain, FanOut} {
		for _, n := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("%s-%d", shape, n), LoadFlow(shape, n))
		}
	}
}
