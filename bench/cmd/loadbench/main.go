// Command loadbench measures how the cost of loading a flow grows with its
// size: no-op flows of builtin.json nodes, 1k and 10k of them, as a chain
// (each node uses the one before) and as a fan-out (every node uses the
// first), loaded two ways:
//
//   - weir validate, the weir binary (built first) as a child process: its
//     wall time, its CPU time (user and system, which a busy machine
//     inflates less than the wall time) and its peak RSS;
//   - engine.Parse in this process, as a Go benchmark: the bytes a load
//     allocates (its time is BenchmarkLoad's, in go test -bench Load
//     ./bench, but a busy machine blurs it more than a child's CPU time).
//
// Each shape ends with a row of 10k over 1k: loading that grows linearly
// with the flow costs about 10 times as much (the peak RSS less, since a
// process holds the same runtime and plugins whatever its flow). The
// children run first, while this process is small: a child's ru_maxrss
// counts its parent's memory at exec (see batchbench's spawn).
//
// -weir measures a weir binary built elsewhere (an older commit's) instead
// of this repository's, without the in-process column. -nodes chooses other
// sizes (the ratio row is then the largest over the smallest), and -json
// FILE also writes the figures as JSON (bench/figures.Load), for
// bench/cmd/report.
//
//	go run ./bench/cmd/loadbench
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/weirflow/weir/bench"
	"github.com/weirflow/weir/bench/figures"
)

func main() {
	rounds := flag.Int("rounds", 3, "loads of each flow, whose medians are printed")
	weir := flag.String("weir", "", "the weir binary to measure instead of this repository's")
	nodes := flag.String("nodes", "1000,10000", "sizes of the flows, in nodes, separated by commas: two or more, smallest first")
	jsonFile := flag.String("json", "", "also write the figures as JSON to `FILE`")
	flag.Parse()
	testing.Init()
	sizes, err := parseSizes(*nodes)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench: -nodes:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *weir, sizes, max(*rounds, 1), *jsonFile); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

// load is what loading one flow took, medians over the rounds.
type load struct {
	wall, cpu time.Duration // of weir validate
	rss       int64         // weir validate's peak RSS
	allocated int64         // by engine.Parse in this process, 0 if not measured
}

// parseSizes reads -nodes: two sizes or more, growing.
func parseSizes(list string) ([]int, error) {
	var sizes []int
	for _, s := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			return nil, fmt.Errorf("%q is not a number of nodes of 2 or more", s)
		}
		if len(sizes) > 0 && n <= sizes[len(sizes)-1] {
			return nil, fmt.Errorf("%d is not larger than the size before it", n)
		}
		sizes = append(sizes, n)
	}
	if len(sizes) < 2 {
		return nil, fmt.Errorf("%q: give two sizes or more", list)
	}
	return sizes, nil
}

func run(ctx context.Context, exe string, sizes []int, rounds int, jsonFile string) error {
	dir, err := os.MkdirTemp("", "loadbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	inProcess := exe == ""
	if inProcess {
		root, err := bench.ModuleRoot()
		if err != nil {
			return err
		}
		exe = filepath.Join(dir, "weir")
		if err := bench.BuildWeir(ctx, root, exe); err != nil {
			return err
		}
	}
	shapes := []string{bench.Chain, bench.FanOut}
	loads := map[string]*load{}
	for _, shape := range shapes {
		for _, n := range sizes {
			l, err := validate(ctx, exe, dir, shape, n, rounds)
			if err != nil {
				return err
			}
			loads[key(shape, n)] = l
		}
	}
	floor := bench.SelfPeakRSS()
	for _, shape := range shapes {
		for _, n := range sizes {
			if inProcess {
				// The same on every round: one will do.
				loads[key(shape, n)].allocated = testing.Benchmark(bench.LoadFlow(shape, n)).AllocedBytesPerOp()
			}
		}
	}

	fmt.Printf("loading no-op flows of builtin.json nodes (%s/%s, %d CPUs, %s), medians of %d rounds\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), rounds)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "flow\tnodes\tvalidate wall\tvalidate CPU\tvalidate peak RSS\tParse allocates\t")
	first, last := sizes[0], sizes[len(sizes)-1]
	for _, shape := range shapes {
		small, large := loads[key(shape, first)], loads[key(shape, last)]
		for _, n := range sizes {
			l := loads[key(shape, n)]
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", shape, n, ms(l.wall), ms(l.cpu), mib(l.rss), mib(l.allocated))
		}
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\t%s\t%s\t\n", shape, count(last), count(first),
			ratio(small.wall.Seconds(), large.wall.Seconds()), ratio(small.cpu.Seconds(), large.cpu.Seconds()),
			ratio(float64(small.rss), float64(large.rss)), ratio(float64(small.allocated), float64(large.allocated)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Println("\nvalidate is the weir binary as a child process, process start included; Parse is engine.Parse in this process.")
	fmt.Printf("Linear loading costs about %gx for %g times the nodes; a peak RSS grows less, from what every process holds.\n",
		float64(last)/float64(first), float64(last)/float64(first))
	if floor >= min(loads[key(shapes[0], first)].rss, loads[key(shapes[1], first)].rss) {
		fmt.Printf("this process held %s when the children started: their peak RSS may count it\n", mib(floor))
	}
	if jsonFile == "" {
		return nil
	}
	return figures.Write(jsonFile, loadFigures(shapes, sizes, rounds, loads))
}

// loadFigures is the figures of the table, row by row.
func loadFigures(shapes []string, sizes []int, rounds int, loads map[string]*load) *figures.Load {
	fig := &figures.Load{Header: figures.NewHeader("loadbench"), Rounds: rounds}
	for _, shape := range shapes {
		for _, n := range sizes {
			l := loads[key(shape, n)]
			fig.Rows = append(fig.Rows, figures.LoadRow{
				Shape: shape, Nodes: n,
				ValidateWallNs: l.wall.Nanoseconds(), ValidateCPUNs: l.cpu.Nanoseconds(),
				ValidatePeakRSS: l.rss, ParseAllocated: l.allocated,
			})
		}
	}
	return fig
}

// validate writes the flow and runs weir validate on it rounds times.
func validate(ctx context.Context, exe, dir, shape string, n, rounds int) (*load, error) {
	file := filepath.Join(dir, key(shape, n)+".cue")
	if err := os.WriteFile(file, []byte(bench.NoopFlow(shape, n)), 0o644); err != nil {
		return nil, err
	}
	var walls, cpus []time.Duration
	var rsss []int64
	for range rounds {
		cmd := exec.CommandContext(ctx, exe, "validate", file)
		cmd.Env = append(os.Environ(), "WEIR_CACHE_DIR="+filepath.Join(dir, "cache"))
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("weir validate %s: %v\n%s", filepath.Base(file), err, out)
		}
		ps := cmd.ProcessState
		walls = append(walls, time.Since(start))
		cpus = append(cpus, ps.UserTime()+ps.SystemTime())
		rsss = append(rsss, bench.PeakRSS(ps))
	}
	return &load{wall: median(walls), cpu: median(cpus), rss: median(rsss)}, nil
}

func key(shape string, n int) string { return fmt.Sprintf("%s-%d", shape, n) }

// count is a number of nodes as the ratio row says it: 10k for 10000.
func count(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

func median[T int64 | time.Duration](xs []T) T {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func ratio(small, large float64) string {
	if small <= 0 || large <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", large/small)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", d.Seconds()*1000) }

func mib(n int64) string {
	if n <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
