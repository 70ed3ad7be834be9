// Command weirbench runs weir's benchmark scenarios side by side in one
// process and prints them as a table with ratios, which hold on a noisy
// machine where absolute times drift. Beside the wall time per node it
// prints the CPU time per node (all of the process's threads), which a
// busy machine blurs less. -json FILE also writes the figures as JSON
// (bench/figures.Engine), for bench/cmd/report.
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
	"github.com/weirflow/weir/bench/figures"
)

func main() {
	nodes := flag.String("nodes", "10,100", "nodes per flow: one size, or several separated by commas")
	jsonFile := flag.String("json", "", "also write the figures as JSON to `FILE`")
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

	fig := measure(sizes)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Printf("weir engine overhead: flows of builtin.json no-op nodes (%s, %d CPUs, %s)\n\n",
		runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintln(tw, "scenario\truns/s\tns/node\tCPU ns/node\tallocs/node\tengine ns/node\tvs direct\t")
	for _, r := range fig.Rows {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.1f\t%.0f\t%.1fx\t\n", r.Scenario,
			r.RunsPerSec, r.NsPerNode, r.CPUNsPerNode, r.AllocsPerNode, r.EngineNsPerNode, r.VsDirect)
	}
	_ = tw.Flush()
	fmt.Println("\nengine ns/node is a node's cost minus the same tool call made directly.")
	if *jsonFile != "" {
		if err := figures.Write(*jsonFile, fig); err != nil {
			fmt.Fprintln(os.Stderr, "weirbench:", err)
			os.Exit(1)
		}
	}
}

// measure runs the direct calls, then a chain and a fan-out of each size.
func measure(sizes []int) *figures.Engine {
	fig := &figures.Engine{Header: figures.NewHeader("weirbench")}
	direct := testing.Benchmark(bench.DirectCalls(10))
	directNode := perNode(direct, 10)
	row := func(name, shape string, r testing.BenchmarkResult, n int) {
		ns := perNode(r, n)
		fig.Rows = append(fig.Rows, figures.EngineRow{
			Scenario: name, Shape: shape, Nodes: n,
			RunsPerSec:      1e9 / float64(r.NsPerOp()),
			NsPerNode:       ns,
			CPUNsPerNode:    r.Extra["cpu-ns/node"],
			AllocsPerNode:   float64(r.AllocsPerOp()) / float64(n),
			EngineNsPerNode: ns - directNode,
			VsDirect:        ns / directNode,
		})
	}
	row("direct tool calls", "direct", direct, 10)
	for _, n := range sizes {
		row(fmt.Sprintf("chain of %d", n), bench.Chain, testing.Benchmark(bench.EngineRun(bench.Chain, n)), n)
		row(fmt.Sprintf("fan-out of %d", n), bench.FanOut, testing.Benchmark(bench.EngineRun(bench.FanOut, n)), n)
	}
	return fig
}

func perNode(r testing.BenchmarkResult, nodes int) float64 {
	return float64(r.NsPerOp()) / float64(nodes)
}
