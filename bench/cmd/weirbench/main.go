// Command weirbench runs weir's benchmark scenarios side by side in one
// process and prints them as a table with ratios, which hold on a noisy
// machine where absolute times drift.
//
//	go run ./bench/cmd/weirbench
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"testing"
	"text/tabwriter"

	"github.com/weirflow/weir/bench"
)

func main() {
	nodes := flag.Int("nodes", 10, "nodes per flow")
	flag.Parse()
	testing.Init()

	direct := testing.Benchmark(bench.DirectCalls(*nodes))
	directNode := perNode(direct, *nodes)

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Printf("weir engine overhead: %d-node flows of builtin.json no-op nodes (%s, %d CPUs, %s)\n\n",
		*nodes, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintln(tw, "scenario\truns/s\tns/node\tallocs/node\tengine ns/node\tvs direct\t")
	row := func(name string, r testing.BenchmarkResult) {
		ns := perNode(r, *nodes)
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.1f\t%.0f\t%.1fx\t\n", name,
			1e9/float64(r.NsPerOp()), ns, float64(r.AllocsPerOp())/float64(*nodes), ns-directNode, ns/directNode)
	}
	row("direct tool calls", direct)
	row("chain", testing.Benchmark(bench.EngineRun(bench.Chain, *nodes)))
	row("fan-out", testing.Benchmark(bench.EngineRun(bench.FanOut, *nodes)))
	_ = tw.Flush()
	fmt.Println("\nengine ns/node is a node's cost minus the same tool call made directly.")
}

func perNode(r testing.BenchmarkResult, nodes int) float64 {
	return float64(r.NsPerOp()) / float64(nodes)
}
