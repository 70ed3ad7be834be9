// Command poolbench measures batches on a work pool (hosts/pool), each
// beside what it is compared with in the same run, and prints the ratios:
//
//   - overhead: lines per second of the 3-node builtin flow
//     (bench/testdata/batch-builtin.cue) through a pool on a NATS server
//     embedded in this process, with one worker in this process, against
//     a local batch of the same flow, both with their run record: the
//     ratio, and what the pool adds to each line in µs;
//   - scaling: a flow whose one node waits 20 ms (builtin.sleep: I/O-bound,
//     so that two cores are not the limit) over 1, 2 and 4 weir worker
//     processes at the same -concurrency each, the submitter in this
//     process: lines per second, and their ratio to N times one worker's
//     rate (target: at least 0.9);
//   - recovery: a weir worker holding -concurrency lines of 3 s is
//     SIGKILLed while a second one waits idle; the time from the kill to
//     the lines' redelivery (the pool's consumer says so), and to their
//     results, for two ack waits: redelivery comes within the ack wait,
//     since a worker tells the server every third of it that it is still
//     at its lines;
//   - memory (-rss, opt-in: minutes): one weir worker's resident set and
//     its peak (VmHWM) after 100k, 500k and 1M lines of the builtin flow,
//     which should stay flat.
//
// The weir binary is built first (CGO_ENABLED=0), or -weir names one.
// Everything it writes (the NATS store, the record, the binary) goes into
// a temporary folder, removed at the end. Run it from anywhere in the
// repository; -quick is a smoke run of a few hundred lines; -json FILE also
// writes the figures as JSON (bench/figures.Pool), for bench/cmd/report:
//
//	go run ./bench/cmd/poolbench
//	go run ./bench/cmd/poolbench -rss
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/weirflow/weir/bench"
	"github.com/weirflow/weir/bench/figures"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/pool"
)

// The scaling target: N workers make at least this share of N times one
// worker's lines per second.
const scalingTarget = 0.9

type config struct {
	exe         string
	lines       int // overhead lines; scaling has lines/10 per worker
	rounds      int
	concurrency int
	window      int
	rssLines    int
	rss         bool
	jsonFile    string
}

func main() {
	var c config
	flag.StringVar(&c.exe, "weir", "", "use the weir binary at `PATH` rather than building one")
	flag.IntVar(&c.lines, "lines", 20_000, "lines of the overhead runs; the scaling runs have a tenth of it per worker")
	flag.IntVar(&c.rounds, "rounds", 3, "rounds of each overhead and scaling row, whose medians are printed")
	flag.IntVar(&c.concurrency, "concurrency", 8, "lines each worker holds at once (and the local batch's concurrency)")
	flag.IntVar(&c.window, "window", 256, "lines the submitter queues ahead of their results, as weir batch --pool --concurrency")
	flag.BoolVar(&c.rss, "rss", false, "measure a weir worker's memory over -rss-lines lines (minutes)")
	flag.IntVar(&c.rssLines, "rss-lines", 1_000_000, "lines of the memory run; the memory is read at a tenth, half and all of them")
	flag.StringVar(&c.jsonFile, "json", "", "also write the figures as JSON to `FILE`")
	quick := flag.Bool("quick", false, "a smoke run: 1000 lines and 1 round unless -lines or -rounds is given")
	flag.Parse()
	if *quick {
		if !bench.FlagSet("lines") {
			c.lines = 1000
		}
		if !bench.FlagSet("rounds") {
			c.rounds = 1
		}
		if !bench.FlagSet("rss-lines") {
			c.rssLines = 10_000
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "poolbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	root, err := bench.ModuleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "poolbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if c.exe == "" {
		c.exe = filepath.Join(dir, "weir")
		if err := bench.BuildWeir(ctx, root, c.exe); err != nil {
			return err
		}
	}
	fmt.Printf("weir work pool benchmarks (%s/%s, %d CPUs, %s)\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	p, err := bench.StartPool(ctx, filepath.Join(dir, "nats"), "bench", pool.Settings{})
	if err != nil {
		return err
	}
	defer p.Close()
	fig := &figures.Pool{Header: figures.NewHeader("poolbench"), Concurrency: c.concurrency}
	if err := overhead(ctx, fig, root, dir, p, c); err != nil {
		return err
	}
	if err := scaling(ctx, fig, dir, p, c); err != nil {
		return err
	}
	if err := recovery(ctx, fig, dir, c); err != nil {
		return err
	}
	if c.rss {
		if err := memory(ctx, fig, root, dir, c); err != nil {
			return err
		}
	}
	if c.jsonFile == "" {
		return nil
	}
	return figures.Write(c.jsonFile, fig)
}

// overhead prints the builtin flow's lines per second, local and on the
// pool with one worker in this process.
func overhead(ctx context.Context, fig *figures.Pool, root, dir string, p *bench.Pool, c config) error {
	data := filepath.Join(dir, "overhead.jsonl")
	if err := bench.WriteDataset(data, c.lines); err != nil {
		return err
	}
	f, err := bench.OpenBatchFlow(ctx, root, bench.BuiltinFlow, filepath.Join(dir, "overhead"))
	if err != nil {
		return err
	}
	defer f.Close()
	stopWorker, err := p.Worker(filepath.Join(dir, "overhead-bundles"), c.concurrency)
	if err != nil {
		return err
	}
	defer stopWorker()
	// Warm both sides: templates parsed, the bundle fetched and loaded.
	warm := filepath.Join(dir, "warm.jsonl")
	if err := bench.WriteDataset(warm, min(c.lines, 500)); err != nil {
		return err
	}
	if _, err := f.Run(ctx, warm, c.concurrency); err != nil {
		return err
	}
	if _, err := f.RunOnPool(ctx, p, warm, c.window); err != nil {
		return err
	}
	var locals, pools []float64
	for range c.rounds {
		l, err := rate(ctx, c.lines, func() (*engine.BatchSummary, error) { return f.Run(ctx, data, c.concurrency) }, f)
		if err != nil {
			return err
		}
		r, err := rate(ctx, c.lines, func() (*engine.BatchSummary, error) { return f.RunOnPool(ctx, p, data, c.window) }, f)
		if err != nil {
			return err
		}
		locals, pools = append(locals, l), append(pools, r)
	}
	if err := stopWorker(); err != nil {
		return err
	}
	l, r := median(locals), median(pools)
	fig.Overhead = &figures.PoolOverhead{Lines: c.lines, LocalLinesPerSec: l, PoolLinesPerSec: r}
	fmt.Printf("overhead: %d lines of the 3-node builtin flow, run record included, medians of %d round(s);\n", c.lines, c.rounds)
	fmt.Printf("pool is an embedded NATS server and one worker (concurrency %d) in this process, the submitter queueing %d ahead\n\n", c.concurrency, c.window)
	tw := table()
	fmt.Fprintln(tw, "local lines/s\tpool lines/s\tpool/local\tper line local\tper line pool\tadded per line\t")
	fmt.Fprintf(tw, "%.0f\t%.0f\t%.2f\t%s\t%s\t%s\t\n", l, r, r/l, micros(1/l), micros(1/r), micros(1/r-1/l))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Println("\nper line is wall time over lines; on this machine the worker, the server and the submitter share its cores.")
	fmt.Println()
	return nil
}

// rate runs a batch and returns its lines per second; its record is
// deleted afterwards, untimed.
func rate(ctx context.Context, n int, batch func() (*engine.BatchSummary, error), f *bench.BatchFlow) (float64, error) {
	runtime.GC()
	start := time.Now()
	sum, err := batch()
	elapsed := time.Since(start)
	if err != nil {
		return 0, err
	}
	if sum.Succeeded != n {
		return 0, fmt.Errorf("batch %s: %d of %d lines succeeded", sum.RunID, sum.Succeeded, n)
	}
	return float64(n) / elapsed.Seconds(), f.Store().Delete(sum.RunID)
}

// scaling prints the lines per second of the sleep flow over 1, 2 and 4
// worker processes.
func scaling(ctx context.Context, fig *figures.Pool, dir string, p *bench.Pool, c config) error {
	const wait = 20 * time.Millisecond
	fig.ScalingWaitNs = wait.Nanoseconds()
	f, digest, err := loadSleep(ctx, dir, p, wait)
	if err != nil {
		return err
	}
	fmt.Printf("scaling: a 1-node flow that waits %s per line, %d lines per worker, on weir worker processes of\n", wait, max(c.lines/10, 100))
	fmt.Printf("concurrency %d each (at most %.0f lines/s each), the submitter queueing %d ahead; medians of %d round(s)\n\n",
		c.concurrency, float64(c.concurrency)/wait.Seconds(), c.window, c.rounds)
	tw := table()
	fmt.Fprintln(tw, "workers\tlines/s\tper worker\tx one worker\tof N x one\ttarget\t")
	var one float64
	for _, n := range []int{1, 2, 4} {
		r, err := workersRate(ctx, dir, p, f, digest, n, c)
		if err != nil {
			return err
		}
		if n == 1 {
			one = r
		}
		share := r / (float64(n) * one)
		met := "met"
		if share < scalingTarget {
			met = "missed"
		}
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.2f\t%.2f\t>= %.2f: %s\t\n", n, r, r/float64(n), r/one, share, scalingTarget, met)
		fig.Scaling = append(fig.Scaling, figures.PoolScale{Workers: n, LinesPerSec: r, OfNTimesOne: share})
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Println()
	return nil
}

// loadSleep loads a sleep flow of d in this process and puts its bundle in
// the pool.
func loadSleep(ctx context.Context, dir string, p *bench.Pool, d time.Duration) (*engine.Flow, string, error) {
	folder := filepath.Join(dir, "sleep-"+d.String())
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return nil, "", err
	}
	path, err := bench.SleepFlow(folder, d.String())
	if err != nil {
		return nil, "", err
	}
	e, err := bench.BuiltinEngine()
	if err != nil {
		return nil, "", err
	}
	// The engine lives as long as the process: its flow is used until the
	// end.
	f, err := e.Load(ctx, path)
	if err != nil {
		return nil, "", err
	}
	digest, err := p.Put(ctx, f)
	return f, digest, err
}

// workersRate starts n workers and returns the median lines per second of
// the rounds, after a warm-up that has each load the flow.
func workersRate(ctx context.Context, dir string, p *bench.Pool, f *engine.Flow, digest string, n int, c config) (float64, error) {
	var ws []*worker
	defer func() {
		for _, w := range ws {
			w.kill()
		}
	}()
	for i := range n {
		w, err := startWorker(ctx, c.exe, p, dir, fmt.Sprintf("scale%d-%d", n, i), c.concurrency)
		if err != nil {
			return 0, err
		}
		ws = append(ws, w)
	}
	lines := max(c.lines/10, 100) * n
	data := filepath.Join(dir, fmt.Sprintf("scale-%d.jsonl", n))
	if err := bench.WriteDataset(data, lines); err != nil {
		return 0, err
	}
	if _, err := p.Batch(ctx, f, digest, data, c.window, nil); err != nil {
		return 0, err
	}
	var rates []float64
	for range c.rounds {
		runtime.GC()
		start := time.Now()
		if _, err := p.Batch(ctx, f, digest, data, c.window, nil); err != nil {
			return 0, err
		}
		rates = append(rates, float64(lines)/time.Since(start).Seconds())
	}
	return median(rates), stopAll(ws)
}

// recovery prints, for two ack waits, how long the lines of a killed
// worker take to be redelivered and done.
func recovery(ctx context.Context, fig *figures.Pool, dir string, c config) error {
	const line = 3 * time.Second
	fmt.Printf("recovery: a weir worker holding %d lines of %s is SIGKILLed, a second one idle; from the kill to\n", c.concurrency, line)
	fmt.Printf("the lines' redelivery (the consumer's count, read every 20 ms) and to their results in the batch\n\n")
	tw := table()
	fmt.Fprintln(tw, "ack wait\tto redelivery\tto results\tresults less the line's own run\t")
	for _, ackWait := range []time.Duration{2 * time.Second, 5 * time.Second} {
		redelivered, done, err := recoverOnce(ctx, dir, c, ackWait, line)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", ackWait, seconds(redelivered), seconds(done), seconds(done-line))
		fig.Recovery = append(fig.Recovery, figures.PoolRecovery{AckWaitNs: ackWait.Nanoseconds(),
			RedeliveredNs: redelivered.Nanoseconds(), DoneNs: done.Nanoseconds()})
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Println("\na worker marks its lines in progress every third of the ack wait: after a kill, the server redelivers")
	fmt.Println("them between two thirds of the ack wait and the ack wait; a line then runs again from its start.")
	fmt.Println()
	return nil
}

// recoverOnce measures one kill, on a pool of its own with ack wait
// ackWait, whose lines take line each.
func recoverOnce(ctx context.Context, dir string, c config, ackWait, line time.Duration) (redelivered, done time.Duration, err error) {
	name := "recover-" + ackWait.String()
	p, err := bench.StartPool(ctx, filepath.Join(dir, name), "recover", pool.Settings{AckWait: ackWait})
	if err != nil {
		return 0, 0, err
	}
	defer p.Close()
	f, digest, err := loadSleep(ctx, dir, p, line)
	if err != nil {
		return 0, 0, err
	}
	victim, err := startWorker(ctx, c.exe, p, dir, name+"-a", c.concurrency)
	if err != nil {
		return 0, 0, err
	}
	defer victim.kill()
	data := filepath.Join(dir, name+".jsonl")
	if err := bench.WriteDataset(data, c.concurrency); err != nil {
		return 0, 0, err
	}
	var last atomic.Int64 // when the last result came, in ns since the Unix epoch
	batchDone := make(chan error, 1)
	go func() {
		_, err := p.Batch(ctx, f, digest, data, c.window, func(engine.LineResult) { last.Store(time.Now().UnixNano()) })
		batchDone <- err
	}()
	// The victim holds every line; the other worker starts once it does,
	// so that it takes none of them first.
	if err := poll(ctx, time.Minute, victim, func(st *pool.Status) bool { return st.InFlight == c.concurrency }, p); err != nil {
		return 0, 0, err
	}
	spare, err := startWorker(ctx, c.exe, p, dir, name+"-b", c.concurrency)
	if err != nil {
		return 0, 0, err
	}
	defer spare.kill()
	st, err := p.Pool().Status(ctx)
	if err != nil {
		return 0, 0, err
	}
	if st.InFlight != c.concurrency || st.Redelivered != 0 {
		return 0, 0, fmt.Errorf("the lines ended before the kill (in flight %d, redelivered %d): make them longer", st.InFlight, st.Redelivered)
	}
	killed := time.Now()
	victim.kill()
	if err := poll(ctx, 2*ackWait+time.Minute, spare, func(st *pool.Status) bool { return st.Redelivered >= uint64(c.concurrency) }, p); err != nil {
		return 0, 0, err
	}
	redelivered = time.Since(killed)
	select {
	case err := <-batchDone:
		if err != nil {
			return 0, 0, err
		}
	case <-time.After(2*line + time.Minute):
		return 0, 0, fmt.Errorf("the batch did not finish a minute after the redelivery")
	}
	done = time.Unix(0, last.Load()).Sub(killed)
	return redelivered, done, spare.stop()
}

// memory prints a weir worker's memory over a long batch of the builtin
// flow.
func memory(ctx context.Context, fig *figures.Pool, root, dir string, c config) error {
	p, err := bench.StartPool(ctx, filepath.Join(dir, "rss"), "rss", pool.Settings{})
	if err != nil {
		return err
	}
	defer p.Close()
	e, err := bench.BuiltinEngine()
	if err != nil {
		return err
	}
	defer e.Close()
	f, err := e.Load(ctx, bench.BatchFlowFile(root, bench.BuiltinFlow))
	if err != nil {
		return err
	}
	digest, err := p.Put(ctx, f)
	if err != nil {
		return err
	}
	w, err := startWorker(ctx, c.exe, p, dir, "rss", c.concurrency)
	if err != nil {
		return err
	}
	defer w.kill()
	data := filepath.Join(dir, "rss.jsonl")
	if err := bench.WriteDataset(data, c.rssLines); err != nil {
		return err
	}
	marks := []int{c.rssLines / 10, c.rssLines / 2, c.rssLines}
	type reading struct {
		lines     int
		at        time.Duration
		rss, peak int64
	}
	var readings []reading
	done := 0
	start := time.Now()
	_, err = p.Batch(ctx, f, digest, data, c.window, func(engine.LineResult) {
		done++
		if len(readings) < len(marks) && done == marks[len(readings)] {
			rss, peak := w.memory()
			readings = append(readings, reading{done, time.Since(start), rss, peak})
		}
	})
	if err != nil {
		return err
	}
	if err := w.stop(); err != nil {
		return err
	}
	fmt.Printf("memory: one weir worker (concurrency %d) over %d lines of the 3-node builtin flow, read from /proc as the lines come back\n\n", c.concurrency, c.rssLines)
	tw := table()
	fmt.Fprintln(tw, "lines\telapsed\tlines/s\tRSS\tpeak RSS\t")
	for _, r := range readings {
		fmt.Fprintf(tw, "%d\t%s\t%.0f\t%s\t%s\t\n", r.lines, seconds(r.at), float64(r.lines)/r.at.Seconds(), mib(r.rss), mib(r.peak))
		fig.Memory = append(fig.Memory, figures.PoolMemory{Lines: r.lines, ElapsedNs: r.at.Nanoseconds(), RSS: r.rss, PeakRSS: r.peak})
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(readings) == len(marks) && readings[0].peak > 0 {
		fmt.Printf("\npeak at %d lines over the peak at %d: %.2fx\n", marks[2], marks[0], float64(readings[2].peak)/float64(readings[0].peak))
	}
	return nil
}

func table() *tabwriter.Writer {
	return tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func micros(s float64) string { return fmt.Sprintf("%.0f µs", s*1e6) }

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mib(n int64) string {
	if n <= 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
