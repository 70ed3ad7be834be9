// Command weirbench runs weir's benchmark scenarios side by side in one
// process and prints them as a table with ratios, which hold on a noisy
// machine where absolute times drift. Beside the wall time per node it
// prints the CPU time per node (all of the process's threads), which a
// busy machine blurs less.
//
//	go run ./bench/cmd/weirbench
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/weirflow/weir/bench"
)

func main() {
	nodes := flag.String("nodes", "10,100", "nodes per flow: one size, or several separated by commas")
	flag.Parse()
	testing.Init()
	var sizes []int
	for _, s := range strings.Split(*nodes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			fmt.Fprintf(os.Stderr, "weirbench: -nodes: %q is not a number of nodes of 2 or more\n", s)
			os.Exit(2)
		}
		sizes = append(sizes, n)
	}

	direct := testing.Benchmark(bench.DirectCalls(10))
	directNode := perNode(direct, 10)

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Printf("weir engine overhead: flows of builtin.json no-op nodes (%s, %d CPUs, %s)\n\n",
		runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintln(tw, "scenario\truns/s\tns/node\tCPU ns/node\tallocs/node\tengine ns/node\tvs direct\t")
	row := func(name string, r testing.BenchmarkResult, n int) {
		ns := perNode(r, n)
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.1f\t%.0f\t%.1fx\t\n", name,
			1e9/float64(r.NsPerOp()), ns, r.Extra["cpu-ns/node"], float64(r.AllocsPerOp())/float64(n), ns-directNode, ns/directNode)
	}
	row("direct tool calls", direct, 10)
	for _, n := range sizes {
		row(fmt.Sprintf("chain of %d", n), testing.Benchmark(bench.EngineRun(bench.Chain, n)), n)
		row(fmt.Sprintf("fan-out of %d", n), testing.Benchmark(bench.EngineRun(bench.FanOut, n)), n)
	}
	_ = tw.Flush()
	fmt.Println("\nengine ns/node is a node's cost minus the same tool call made directly.")
}

func perNode(r testing.BenchmarkResult, nodes int) float64 {
	return float64(r.NsPerOp()) / float64(nodes)
}
