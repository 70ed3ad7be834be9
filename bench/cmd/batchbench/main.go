// Command batchbench measures weir's batches, each side by side with its
// limit in the same run, and prints the ratios:
//
//   - throughput: lines per second of a 3-node flow of builtin tools and
//     of a 3-node flow of Wasm tools (bench/testdata/batch-*.cue) over
//     100k lines at concurrency 1, 2 and 8, along the whole path of weir
//     batch but for process start: the dataset hashed and streamed, the
//     run record written line by line, flushed every second and finished.
//     Beside each, the limit: the same three tool calls per line made
//     directly on the tools, by as many goroutines, over the same lines
//     parsed in memory, with no engine and no record; and, to show which
//     part costs what, the batch without its run record.
//   - peak memory: the weir binary (built first, CGO_ENABLED=0) running
//     weir batch --concurrency 8 on each flow, as a child process, over
//     100k lines and over 1M, with the Wasm modules compiled into its cache
//     beforehand: its peak RSS (ru_maxrss, from a small launcher process:
//     see spawn), which should stay under 256 MiB and flat as lines grow,
//     its wall time and lines per second.
//
// Everything it writes (datasets, records of a few hundred MB, the binary)
// goes into a temporary folder, removed at the end. Run it from anywhere in
// the repository; -quick is a smoke run of a few thousand lines; -json FILE
// also writes the figures as JSON (bench/figures.Batch), for
// bench/cmd/report:
//
//	go run ./bench/cmd/batchbench
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/weirflow/weir/bench"
	"github.com/weirflow/weir/bench/figures"
	"github.com/weirflow/weir/engine"
)

// The bounds on a batch's memory: peak RSS under maxRSS, and the
// peak over 10 times the lines at most flat times the peak over the
// smaller dataset.
const (
	maxRSS = 256 << 20
	flat   = 1.25
)

var concurrencies = []int{1, 2, 8}

func main() {
	if report := os.Getenv(spawnEnv); report != "" {
		os.Exit(spawn(report, os.Args[1:]))
	}
	lines := flag.Int("lines", 100_000, "lines of the throughput runs and of the smaller memory run; the larger has 10 times as many")
	quick := flag.Bool("quick", false, "a smoke run: 2000 lines unless -lines is given")
	rounds := flag.Int("rounds", 1, "rounds of each throughput row, whose medians are printed")
	throughput := flag.Bool("throughput", true, "measure the throughput in this process")
	memory := flag.Bool("memory", true, "measure the peak memory of the weir binary")
	jsonFile := flag.String("json", "", "also write the figures as JSON to `FILE`")
	flag.Parse()
	if *quick && !bench.FlagSet("lines") {
		*lines = 2000
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fig := &figures.Batch{Header: figures.NewHeader("batchbench"), Lines: max(*lines, 1), Rounds: max(*rounds, 1)}
	err := run(ctx, fig, *throughput, *memory)
	if err == nil && *jsonFile != "" {
		err = figures.Write(*jsonFile, fig)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "batchbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, fig *figures.Batch, throughput, memory bool) error {
	root, err := bench.ModuleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "batchbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("weir batch benchmarks (%s/%s, %d CPUs, %s)\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	if throughput {
		if err := lineRates(ctx, fig, root, dir); err != nil {
			return err
		}
	}
	if memory {
		return peakMemory(ctx, fig, root, dir, []int{fig.Lines, 10 * fig.Lines})
	}
	return nil
}

// lineRates prints the table of lines per second, weir's and direct.
func lineRates(ctx context.Context, fig *figures.Batch, root, dir string) error {
	n, rounds := fig.Lines, fig.Rounds
	data := filepath.Join(dir, "data.jsonl")
	warm := filepath.Join(dir, "warm.jsonl")
	if err := bench.WriteDataset(data, n); err != nil {
		return err
	}
	if err := bench.WriteDataset(warm, min(n, 1000)); err != nil {
		return err
	}
	lines, err := bench.ReadDataset(data)
	if err != nil {
		return err
	}
	fmt.Printf("throughput: %d lines through 3-node flows, medians of %d round(s); weir is weir batch in this process,\n", n, rounds)
	fmt.Printf("run record included; direct is the same tool calls alone, from the lines parsed in memory\n\n")
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "flow\tconcurrency\tweir lines/s\tdirect lines/s\tweir/direct\tno record lines/s\t")
	for _, name := range []string{bench.BuiltinFlow, bench.WasmFlow} {
		f, err := bench.OpenBatchFlow(ctx, root, name, filepath.Join(dir, name))
		if err != nil {
			return err
		}
		err = flowRows(ctx, tw, fig, f, name, data, warm, lines)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Println("\nweir/direct is weir's lines/s over direct's: the share of the limit that a batch reaches.")
	fmt.Println("no record is weir without its run record: engine.Batch alone, each line's result dropped.")
	fmt.Println()
	return nil
}

// flowRows measures one flow at each concurrency, after a warm-up of both
// sides (Wasm instance pools, template caches).
func flowRows(ctx context.Context, tw *tabwriter.Writer, fig *figures.Batch, f *bench.BatchFlow, name, data, warm string, lines []bench.Line) error {
	if err := f.Direct(ctx, lines[:min(len(lines), 1000)], 8); err != nil {
		return err
	}
	if _, err := batchRate(ctx, f, warm, 8, true); err != nil {
		return err
	}
	for _, c := range concurrencies {
		var weirs, engines, directs []float64
		for range fig.Rounds {
			d, err := rate(func() (int, error) { return len(lines), f.Direct(ctx, lines, c) })
			if err != nil {
				return err
			}
			e, err := batchRate(ctx, f, data, c, false)
			if err != nil {
				return err
			}
			w, err := batchRate(ctx, f, data, c, true)
			if err != nil {
				return err
			}
			directs, engines, weirs = append(directs, d), append(engines, e), append(weirs, w)
		}
		w, d, e := median(weirs), median(directs), median(engines)
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.2f\t%.0f\t\n", name, c, w, d, w/d, e)
		fig.Throughput = append(fig.Throughput, figures.BatchRate{Flow: name, Concurrency: c,
			WeirLinesPerSec: w, DirectLinesPerSec: d, WeirOverDirect: w / d, NoRecordLinesPerSec: e})
	}
	return nil
}

// rate times run, after a garbage collection, and returns the lines per
// second of the lines it says it did.
func rate(run func() (int, error)) (float64, error) {
	runtime.GC()
	start := time.Now()
	n, err := run()
	return float64(n) / time.Since(start).Seconds(), err
}

// batchRate runs the batch over data, with its run record (f.Run) or
// without (f.Engine), and returns its lines per second. The record is
// deleted afterwards, untimed: 100k lines leave some 50 MB.
func batchRate(ctx context.Context, f *bench.BatchFlow, data string, c int, record bool) (float64, error) {
	run := f.Engine
	if record {
		run = f.Run
	}
	var sum *engine.BatchSummary
	r, err := rate(func() (n int, err error) {
		if sum, err = run(ctx, data, c); sum != nil {
			n = sum.Lines()
		}
		return n, err
	})
	if record && sum != nil {
		err = errors.Join(err, f.Store().Delete(sum.RunID))
	}
	return r, err
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}
