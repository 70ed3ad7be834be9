package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
)

// Shapes of the no-op flows: a chain where each node references the one
// before, and a fan-out where every node references the first.
const (
	Chain  = "chain"
	FanOut = "fanout"
)

// NoopFlow returns the source of a flow of n builtin.json identity nodes in
// the given shape.
func NoopFlow(shape string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %q\ninputs: x: string\nconcurrency: %d\nnodes: {\n", shape, n)
	b.WriteString("\tn0: {tool: \"builtin.json\", inputs: value: \"${inputs.x}\"}\n")
	for i := 1; i < n; i++ {
		from := i - 1
		if shape == FanOut {
			from = 0
		}
		fmt.Fprintf(&b, "\tn%d: {tool: \"builtin.json\", inputs: value: \"${n%d.output.value}\"}\n", i, from)
	}
	b.WriteString("}\noutputs: {\n")
	last := []int{n - 1}
	if shape == FanOut {
		last = last[:0]
		for i := 1; i < n; i++ {
			last = append(last, i)
		}
	}
	for _, i := range last {
		fmt.Fprintf(&b, "\tv%d: \"${n%d.output.value}\"\n", i, i)
	}
	b.WriteString("}\n")
	return b.String()
}

// EngineRun benchmarks whole runs of a no-op flow of n nodes and reports
// ns/node, allocs/node and runs/s.
func EngineRun(shape string, n int) func(b *testing.B) {
	return func(b *testing.B) {
		e, err := weir.New(engine.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		f, err := e.Parse(context.Background(), shape+".cue", []byte(NoopFlow(shape, n)))
		if err != nil {
			b.Fatal(err)
		}
		inputs := []byte(`{"x":"hello"}`)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		cpu := CPUTime()
		for b.Loop() {
			if _, err := f.Run(ctx, inputs); err != nil {
				b.Fatal(err)
			}
		}
		reportPerNode(b, n, CPUTime()-cpu)
	}
}

// DirectCalls benchmarks the same n tool calls made directly, one after the
// other, with the bytes a run would pass: what a run costs without the engine.
func DirectCalls(n int) func(b *testing.B) {
	return func(b *testing.B) {
		var tool plugins.Tool
		for _, t := range builtin.Tools(plugins.Grants{}) {
			if t.Contract().Name == "json" {
				tool = t
			}
		}
		in := []byte(`{"value":"hello"}`)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		cpu := CPUTime()
		for b.Loop() {
			for range n {
				if _, err := tool.Invoke(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportPerNode(b, n, CPUTime()-cpu)
	}
}

// reportPerNode reports the wall and CPU time per node (CPU time, all of
// the process's threads, blurs less on a busy machine), and runs/s.
func reportPerNode(b *testing.B, n int, cpu time.Duration) {
	runs := float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/runs/float64(n), "ns/node")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/runs/float64(n), "cpu-ns/node")
	}
	b.ReportMetric(runs/b.Elapsed().Seconds(), "runs/s")
}
