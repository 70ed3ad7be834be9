package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/weirflow/weir/bench"
	"github.com/weirflow/weir/bench/figures"
	"github.com/weirflow/weir/internal/testbuild"
)

// peakMemory builds weir and runs weir batch as a child process over
// datasets of each size, for each flow, and prints their peak RSS.
func peakMemory(ctx context.Context, fig *figures.Batch, root, dir string, sizes []int) error {
	exe := filepath.Join(dir, "weir")
	if err := bench.BuildWeir(ctx, root, exe); err != nil {
		return err
	}
	if _, err := testbuild.TextPlugin(root); err != nil {
		return err
	}
	fmt.Println("peak memory: weir batch --concurrency 8, the weir binary as a child process, its Wasm modules compiled beforehand")
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "flow\tlines\twall\tlines/s\tpeak RSS\trun record\t")
	var verdicts []string
	for _, name := range []string{bench.BuiltinFlow, bench.WasmFlow} {
		flow := bench.BatchFlowFile(root, name)
		// A first run compiles the flow's modules into the cache, which
		// costs more memory than a batch: warm it outside the figures.
		warm := exec.CommandContext(ctx, exe, "validate", flow)
		warm.Env = append(os.Environ(), cacheEnv(dir))
		if out, err := warm.CombinedOutput(); err != nil {
			return fmt.Errorf("weir validate %s: %v\n%s", flow, err, out)
		}
		var runs []childRun
		for _, n := range sizes {
			r, err := batchChild(ctx, exe, flow, dir, n)
			if err != nil {
				return err
			}
			runs = append(runs, r)
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%s\t%.0f MB\t\n", name, n, r.wall.Round(10*time.Millisecond),
				float64(n)/r.wall.Seconds(), r.peak(), float64(r.record)/1e6)
			fig.Memory = append(fig.Memory, r.figures(name, n))
		}
		verdicts = append(verdicts, verdict(name, runs, sizes))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Println()
	for _, v := range verdicts {
		fmt.Println(v)
	}
	return nil
}

// verdict compares the peak RSS of the largest run with the smallest's.
func verdict(flow string, runs []childRun, sizes []int) string {
	small, large := runs[0], runs[len(runs)-1]
	if !small.exact() || !large.exact() {
		return flow + ": the peak RSS of a child process is not known exactly on this system: no verdict"
	}
	ratio := float64(large.rss) / float64(small.rss)
	met := "met"
	if max(small.rss, large.rss) >= maxRSS || ratio > flat {
		met = "missed"
	}
	return fmt.Sprintf("%s: %d lines over %d: peak RSS %.2fx (target: under %d MiB and at most %.2fx: %s; exact above the %s its launcher held, see spawn)",
		flow, sizes[len(sizes)-1], sizes[0], ratio, maxRSS>>20, flat, met, mib(max(small.floor, large.floor)))
}

// childRun is what one weir batch process took.
type childRun struct {
	wall time.Duration
	// rss is the process's peak RSS in bytes, 0 when unknown; when it is
	// not above floor, the peak is only known to be at most floor.
	rss, floor int64
	record     int64 // bytes of the run record it wrote
}

func (r childRun) exact() bool { return r.rss > r.floor }

// figures is the run as -json writes it.
func (r childRun) figures(flow string, lines int) figures.BatchRun {
	return figures.BatchRun{Flow: flow, Lines: lines, WallNs: r.wall.Nanoseconds(), LinesPerSec: float64(lines) / r.wall.Seconds(),
		PeakRSS: r.rss, PeakExact: r.exact(), FloorRSS: r.floor, RecordBytes: r.record}
}

func (r childRun) peak() string {
	switch {
	case r.rss <= 0:
		return "unknown"
	case !r.exact():
		return fmt.Sprintf("<= %s", mib(r.floor))
	}
	return mib(r.rss)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// batchChild runs weir batch over a new dataset of n lines with a record
// of its own, through spawn, and removes both afterwards.
func batchChild(ctx context.Context, exe, flow, dir string, n int) (childRun, error) {
	data := filepath.Join(dir, fmt.Sprintf("rss-%d.jsonl", n))
	home := filepath.Join(dir, fmt.Sprintf("home-%d", n))
	report := filepath.Join(dir, fmt.Sprintf("rss-%d.report", n))
	defer os.Remove(data)
	defer os.RemoveAll(home)
	if err := bench.WriteDataset(data, n); err != nil {
		return childRun{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return childRun{}, err
	}
	cmd := exec.CommandContext(ctx, self, exe, "batch", "--home", home, "--concurrency", "8", flow, "--data", data)
	cmd.Env = append(os.Environ(), spawnEnv+"="+report, cacheEnv(dir))
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return childRun{}, fmt.Errorf("weir batch over %d lines: %v\n%s", n, cmp.Or(context.Cause(ctx), err), out.Bytes())
	}
	r, err := readReport(report)
	if err != nil {
		return childRun{}, err
	}
	r.record, err = du(home)
	return r, err
}

// cacheEnv gives the children one cache folder, under dir.
func cacheEnv(dir string) string { return "WEIR_CACHE_DIR=" + filepath.Join(dir, "cache") }

// spawnEnv names the file that batchbench, started again as spawn, writes
// its report to.
const spawnEnv = "BATCHBENCH_REPORT"

// spawn runs args as a child process and writes its wall time and peak RSS
// to the file report, as "wall-ns rss-bytes floor-bytes"; it returns the
// child's exit code.
//
// Go starts a child with clone(CLONE_VM|CLONE_VFORK), and at exec Linux
// folds the peak RSS of the memory it leaves, the parent's, into the
// child's ru_maxrss. A batchbench that has run the throughput tables holds
// more than weir batch does, so it has this small process of its own start
// weir: the child's ru_maxrss is then exact whenever it is above this
// process's own peak, the floor.
func spawn(report string, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "batchbench: spawn: no command")
		return 2
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Pass interrupts on: weir batch stops cleanly on one.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	floor := bench.SelfPeakRSS()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "batchbench: spawn:", err)
		return 2
	}
	go func() {
		for s := range sig {
			_ = cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	wall := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "batchbench: spawn:", err)
		return 2
	}
	line := fmt.Sprintf("%d %d %d\n", wall.Nanoseconds(), bench.PeakRSS(cmd.ProcessState), floor)
	if err := os.WriteFile(report, []byte(line), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "batchbench: spawn:", err)
		return 2
	}
	return cmd.ProcessState.ExitCode()
}

func readReport(path string) (childRun, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return childRun{}, fmt.Errorf("read the child's report: %w", err)
	}
	var wall int64
	var r childRun
	if _, err := fmt.Sscan(string(b), &wall, &r.rss, &r.floor); err != nil {
		return childRun{}, fmt.Errorf("read the child's report %q: %w", b, err)
	}
	r.wall = time.Duration(wall)
	return r, nil
}

// du is the size of the files under dir.
func du(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	return n, err
}
