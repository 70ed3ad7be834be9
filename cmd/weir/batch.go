package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/internal/ref"
)

type batchFlags struct {
	data        string
	format      string
	maps        []string
	colMaps     []string // --column-mapping, prompt flow's name for --map
	run         string
	concurrency int
	lineTimeout time.Duration
	resume      string
	name        string
	maxFailures int
	output      string
	pool        string
	detach      bool
	nodeValues  string
	nats        *natsFlags
}

func newBatch(app *app) *cobra.Command {
	var fl batchFlags
	cmd := &cobra.Command{
		Use:   "batch [flags] FLOW --data FILE",
		Short: "Run a flow over every line of a dataset",
		Long: `Run a flow once per line of a dataset (JSONL: one JSON object per line, or
CSV with a header row), streaming it, and keep a run record: the flow, each
line's inputs, outputs and node details, and metrics. FLOW is a flow file, or
a folder holding one named flow.cue (or flow.yaml, flow.yml, flow.json).

A line's inputs come from --map name='${data.col}' first, then from the
column of the same name, then from the input's default. CSV cells are text,
converted to the number or boolean an input wants. --column-mapping is
prompt flow's name for --map, and takes its pairs as pf run create does:
--column-mapping a='${data.a}' b='${data.b}'. With --run RUN, a mapping may
also read ${run.outputs.x} and ${run.inputs.x}: the outputs and inputs of
the same line in the earlier run RUN (a line RUN did not succeed fails).

Aggregate nodes (aggregate: true) run once at the end over the lines that
succeeded; their outputs are the batch's metrics, and the metrics they
logged (a Python tool's log_metric) are gathered in one flat object, as
prompt flow's metrics.json.

Progress goes to stderr: a bar on a terminal, a line every 10s otherwise.
Ctrl-C stops the batch and leaves a record that --resume finishes, rerunning
only the lines that did not succeed. The exit code is 0 when every line
succeeded, 1 when some failed or the batch stopped.

Records live under $WEIR_HOME (see --home); list them with weir runs list.
The record keeps what each node got and returned (secrets redacted) for the
lines that failed, to show why; --node-values all keeps them for every line.

--pool NAME runs the lines on the workers of a work pool (see weir pool and
weir worker) instead of here: the flow's bundle goes to the pool once, the
lines to its queue, and their results come back into the same record, each
line once even when a worker died and its line ran again. --concurrency is
then how many lines are queued ahead of their results (256 unless given).
--detach queues every line, prints the run id and returns; weir runs wait
RUN collects the results later, as it does for a batch whose weir batch
was stopped.`,
		Example: `  weir batch examples/hello/flow.cue --data examples/hello/data.jsonl
  weir batch examples/hello/flow.cue --data people.csv --map name='${data.first_name}' --concurrency 16
  weir batch eval/flow.cue --data data.jsonl --run classify-20261122-101500-3f9a --column-mapping groundtruth='${data.answer}' prediction='${run.outputs.category}'
  weir batch examples/hello/flow.cue --resume hello-20261122-101500-3f9a
  weir batch examples/hello/flow.cue --data people.jsonl --pool batch --nats nats://10.0.0.5:4222`,
		Args: func(cmd *cobra.Command, a []string) error {
			flow, _ := splitColumnMappings(cmd, a)
			return args(1)(cmd, flow)
		},
		RunE: func(cmd *cobra.Command, a []string) error {
			flow, more := splitColumnMappings(cmd, a)
			fl.colMaps = append(fl.colMaps, more...)
			return app.batch(cmd, flow[0], fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.data, "data", "", "the dataset: a .jsonl or .csv `FILE` (with --resume, the resumed run's by default)")
	f.StringVar(&fl.format, "format", "", "the dataset's format, jsonl or csv (default from the file's extension)")
	f.StringArrayVar(&fl.maps, "map", nil, "an input from the line's columns, as name='${data.col}' (repeatable)")
	f.StringArrayVar(&fl.colMaps, "column-mapping", nil, "as --map, prompt flow's name for it: name='${data.col}' [name='${run.outputs.x}'...]")
	f.StringVar(&fl.run, "run", "", "the earlier `RUN` whose lines a mapping reads with ${run.outputs.x} and ${run.inputs.x}")
	f.IntVar(&fl.concurrency, "concurrency", 8, "lines run at once")
	f.DurationVar(&fl.lineTimeout, "line-timeout", 0, "bound each line's run (default: the flow's run timeout)")
	f.StringVar(&fl.resume, "resume", "", "rerun the lines of `RUN` that did not succeed, into a new run")
	f.StringVar(&fl.name, "name", "", "a name for the run, shown by weir runs list")
	f.IntVar(&fl.maxFailures, "max-failures", 0, "stop after this many failed lines (0: never)")
	f.StringVarP(&fl.output, "output", "o", "text", "summary format: text or json (the metrics)")
	f.StringVar(&fl.pool, "pool", "", "run the lines on the workers of work pool `NAME`")
	f.BoolVar(&fl.detach, "detach", false, "with --pool: queue the lines, print the run id and return")
	f.StringVar(&fl.nodeValues, "node-values", "failed", "the lines whose nodes' inputs and outputs the record keeps: failed or all")
	fl.nats = addNATSFlags(cmd)
	noCacheFlag(cmd, app)
	return cmd
}

func (app *app) batch(cmd *cobra.Command, flowPath string, fl batchFlags) error {
	ctx := cmd.Context()
	if err := oneOf("-o", fl.output, "text", "json"); err != nil {
		return err
	}
	if fl.concurrency < 1 {
		return usageError{fmt.Errorf("--concurrency must be at least 1, got %d", fl.concurrency)}
	}
	if fl.detach && fl.pool == "" {
		return usageError{errors.New("--detach needs --pool: a local batch runs in this process")}
	}
	if err := oneOf("--node-values", fl.nodeValues, "failed", "all"); err != nil {
		return err
	}
	if fl.pool != "" && !cmd.Flags().Changed("concurrency") {
		fl.concurrency = poolWindow
	}
	mapping, err := parseMaps(fl.maps, fl.colMaps)
	if err != nil {
		return err
	}
	if fl.data == "" && fl.resume == "" {
		return usageError{errors.New("batch needs --data FILE (or --resume RUN)")}
	}
	store, err := app.openStore()
	if err != nil {
		return err
	}
	defer store.Close()

	resume, err := resumed(store, &fl, &mapping)
	if err != nil {
		return err
	}
	if err := needsRun(mapping, fl.run); err != nil {
		return err
	}
	format, err := dataFormat(fl.data, fl.format)
	if err != nil {
		return err
	}
	data, err := record.ScanDataset(fl.data)
	if err != nil {
		return err
	}
	digest, lines := data.SHA256, data.Lines
	if format == "csv" && lines > 0 {
		lines-- // the header
	}
	meta := record.Meta{Name: fl.name, Data: fl.data, DataSHA256: digest, BaseRun: fl.run}
	if resume != nil {
		if resume.DataSHA256 != "" && resume.DataSHA256 != digest {
			return fmt.Errorf("resume: %s is not the dataset run %q read (its SHA-256 is %.12s…, the run's %.12s…): resume needs the same data", fl.data, resume.ID, digest, resume.DataSHA256)
		}
		meta.ResumedFrom = resume.ID
	}
	if fl.pool != "" || resume != nil && app.ranOnPool(resume.ID) {
		return app.poolBatch(cmd, flowPath, fl, poolBatchSpec{store: store, meta: meta, format: format, lines: lines, mapping: mapping})
	}

	f, closeAll, err := app.loadFlow(ctx, flowPath)
	if err != nil {
		return err
	}
	defer closeAll()
	file, err := os.Open(fl.data)
	if err != nil {
		return fmt.Errorf("read dataset: %w", err)
	}
	defer file.Close()
	src := engine.JSONL(file)
	if format == "csv" {
		src = engine.CSV(file)
	}
	b, err := store.StartBatch(ctx, f, src, meta, engine.BatchOptions{
		Concurrency: fl.concurrency,
		LineTimeout: fl.lineTimeout,
		Map:         mapping,
		MaxFailures: fl.maxFailures,
		NodeValues:  nodeValues[fl.nodeValues],
	})
	if err != nil {
		return err
	}
	return waitBatch(cmd, store, b, lines, fl.output, flowPath)
}

// nodeValues maps --node-values to what the engine keeps.
var nodeValues = map[string]engine.NodeValues{"failed": engine.FailedNodeValues, "all": engine.AllNodeValues}

// waitBatch shows a recorded batch's progress until it ends, then its
// summary, and returns the error weir batch ends with.
func waitBatch(cmd *cobra.Command, store *record.Store, b *record.Batch, lines int, output, flowPath string) error {
	p := newProgress(cmd.ErrOrStderr(), b.ID(), lines-b.Carried())
	var failed failedLines
	p.start()
	sum, batchErr := b.Wait(func(lr engine.LineResult) {
		p.add(lr.Status == engine.Succeeded)
		failed.add(lr)
	})
	p.stop()
	if err := printSummary(cmd.OutOrStdout(), output, store, b, sum); err != nil {
		return err
	}
	return batchError(sum, batchErr, flowPath, b.ID(), failed)
}

// resumed returns the run that --resume names, nil without it, and takes
// from it what the flags leave out: the dataset, the run the mapping reads,
// and the mapping when there is no --map.
func resumed(store *record.Store, fl *batchFlags, mapping *map[string]string) (*record.Info, error) {
	if fl.resume == "" {
		return nil, nil
	}
	info, err := store.Get(fl.resume)
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	if info.Status == engine.Running || info.Status == engine.Queued {
		return nil, fmt.Errorf("resume: run %q is still running", info.ID)
	}
	fl.data = cmp.Or(fl.data, info.Data)
	fl.run = cmp.Or(fl.run, info.BaseRun)
	if len(fl.maps) == 0 && len(fl.colMaps) == 0 {
		*mapping = info.Map
	}
	return &info, nil
}

// batchError is the error weir batch ends with after the batch id of
// flowPath ended as sum and err say: nil when every line succeeded, else
// what happened, with the first failed lines and how to go on.
func batchError(sum *engine.BatchSummary, err error, flowPath, id string, failed failedLines) error {
	switch {
	case sum.Status == engine.Canceled:
		return fmt.Errorf("batch canceled after %s; finish it with weir batch %s --resume %s", count(sum.Lines(), "line"), flowPath, id)
	case err != nil:
		msg := fmt.Sprintf("batch stopped: %v; rerun what is left with weir batch %s --resume %s", err, flowPath, id)
		if sum.Failed > 0 {
			msg += failed.list(sum.Failed, id)
		}
		return errors.New(msg)
	case sum.Failed > 0:
		return fmt.Errorf("%d of %s failed; rerun them with weir batch %s --resume %s%s", sum.Failed, count(sum.Lines(), "line"), flowPath, id, failed.list(sum.Failed, id))
	}
	return nil
}

// shownFailures is how many failed lines weir batch prints.
const shownFailures = 5

// failedLines keeps the failed lines of lowest numbers of a batch, to show
// them at its end: the first few that failed, whatever order lines ended
// in, with memory bounded by how many are shown.
type failedLines []engine.LineResult

func (fl *failedLines) add(lr engine.LineResult) {
	if lr.Status == engine.Succeeded {
		return
	}
	i, _ := slices.BinarySearchFunc(*fl, lr.Line, func(a engine.LineResult, line int) int { return a.Line - line })
	if i == shownFailures {
		return
	}
	lr.Inputs, lr.Outputs, lr.Nodes, lr.Aggregate = nil, nil, nil, nil // only the error is shown
	*fl = slices.Insert(*fl, i, lr)
	if len(*fl) > shownFailures {
		*fl = (*fl)[:shownFailures]
	}
}

// list says which lines failed and why, for the end of the error of a batch
// where total lines failed, and where to see them all.
func (fl failedLines) list(total int, runID string) string {
	var b strings.Builder
	for _, lr := range fl {
		fmt.Fprintf(&b, "\n  line %d: %s", lr.Line, cell(why(lr.Err)))
	}
	if more := total - len(fl); more > 0 {
		fmt.Fprintf(&b, "\n  and %d more", more)
	}
	fmt.Fprintf(&b, "\nevery line's outputs or error: weir runs outputs %s", runID)
	return b.String()
}

// why is the text of a failed line's error, without the line's number,
// which the caller shows.
func why(err error) string {
	var le *engine.LineError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return err.Error()
}

// parseMaps reads the name=template pairs of --map and --column-mapping.
func parseMaps(maps, colMaps []string) (map[string]string, error) {
	if len(maps)+len(colMaps) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for i, p := range slices.Concat(maps, colMaps) {
		flag := "--map"
		if i >= len(maps) {
			flag = "--column-mapping"
		}
		name, tmpl, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, usageError{fmt.Errorf("%s %q: write name='${data.col}'", flag, p)}
		}
		if _, dup := m[name]; dup {
			return nil, usageError{fmt.Errorf("%s %q: input %q is mapped twice", flag, p, name)}
		}
		m[name] = tmpl
	}
	return m, nil
}

// splitColumnMappings separates, when --column-mapping is given, the
// arguments that are more of its name=value pairs (prompt flow's
// --column-mapping takes several, as in --column-mapping a='${data.a}'
// b='${data.b}') from the others, the flow.
func splitColumnMappings(cmd *cobra.Command, a []string) (rest, pairs []string) {
	if !cmd.Flags().Changed("column-mapping") {
		return a, nil
	}
	for _, arg := range a {
		if mappingArg.MatchString(arg) {
			pairs = append(pairs, arg)
		} else {
			rest = append(rest, arg)
		}
	}
	return rest, pairs
}

// mappingArg is an argument that is a name=value pair of a mapping: an
// input name, then "=".
var mappingArg = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*=`)

// needsRun checks that a mapping that reads ${run...} has the run to read:
// the engine would refuse the batch, this says which flag is missing.
func needsRun(mapping map[string]string, run string) error {
	if run != "" {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(mapping)) {
		t, err := ref.Parse(mapping[name])
		if err != nil {
			continue // the engine says what is wrong with it
		}
		for _, p := range t.Parts {
			if p.Ref != nil && p.Ref.Root == "run" {
				return usageError{fmt.Errorf("mapping %s=%s reads ${%s} of an earlier run: name the run with --run RUN", name, mapping[name], p.Ref)}
			}
		}
	}
	return nil
}

// dataFormat picks the dataset's format from --format or the extension.
func dataFormat(path, format string) (string, error) {
	switch format {
	case "jsonl", "csv":
		return format, nil
	case "":
	default:
		return "", usageError{fmt.Errorf("--format must be jsonl or csv, not %q", format)}
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson", ".json":
		return "jsonl", nil
	case ".csv":
		return "csv", nil
	}
	return "", usageError{fmt.Errorf("--data %s: cannot tell the format from the extension; name it .jsonl or .csv, or pass --format", path)}
}

// progress shows how a batch goes on stderr: a bar redrawn in place on a
// terminal, a plain line every interval otherwise.
type progress struct {
	w        io.Writer
	id       string
	total    int // lines to run; 0 when unknown
	terminal bool
	interval time.Duration
	began    time.Time
	done     atomic.Int64
	failed   atomic.Int64
	quit     chan struct{}
	stopped  chan struct{}
}

// progressInterval is how often the plain progress line is printed.
var progressInterval = 10 * time.Second

func newProgress(w io.Writer, id string, total int) *progress {
	p := &progress{w: w, id: id, total: max(total, 0), interval: progressInterval, quit: make(chan struct{}), stopped: make(chan struct{})}
	if isTerminal(w) {
		p.terminal, p.interval = true, 200*time.Millisecond
	}
	return p
}

func (p *progress) add(ok bool) {
	p.done.Add(1)
	if !ok {
		p.failed.Add(1)
	}
}

func (p *progress) start() {
	p.began = time.Now()
	fmt.Fprintf(p.w, "batch %s: %s to run\n", p.id, count(p.total, "line"))
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.print(false)
			case <-p.quit:
				p.print(true)
				return
			}
		}
	}()
}

func (p *progress) stop() {
	close(p.quit)
	<-p.stopped
}

func (p *progress) print(final bool) {
	if !p.terminal && final {
		return // the summary follows
	}
	line := progressLine(int(p.done.Load()), int(p.failed.Load()), p.total, time.Since(p.began), p.terminal)
	if p.terminal {
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(p.w, "\r\x1b[K%s%s", line, end)
		return
	}
	fmt.Fprintf(p.w, "batch %s: %s\n", p.id, line)
}

// progressLine says how far a batch is: lines done of the total, failures,
// rate and time left; with a bar when drawn on a terminal.
func progressLine(done, failed, total int, elapsed time.Duration, bar bool) string {
	var b strings.Builder
	if bar && total > 0 {
		const width = 24
		filled := min(width, done*width/total)
		b.WriteString("[" + strings.Repeat("=", filled) + strings.Repeat(" ", width-filled) + "] ")
	}
	if total > 0 {
		fmt.Fprintf(&b, "%d/%d lines (%d%%)", done, total, min(100, done*100/total))
	} else {
		fmt.Fprintf(&b, "%d lines", done)
	}
	fmt.Fprintf(&b, ", %d failed", failed)
	if secs := elapsed.Seconds(); secs > 0 {
		rate := float64(done) / secs
		fmt.Fprintf(&b, ", %.0f lines/s", rate)
		if total > done && rate > 0 {
			eta := time.Duration(float64(total-done) / rate * float64(time.Second))
			fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
		}
	}
	return b.String()
}

// printSummary prints what a batch did and where its record is.
func printSummary(w io.Writer, output string, store *record.Store, run *record.Batch, sum *engine.BatchSummary) error {
	if output == "json" {
		m, err := store.Metrics(run.ID())
		if err != nil {
			return err
		}
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "run\t%s (%s)\n", run.ID(), sum.Status)
	fmt.Fprintf(tw, "flow\t%s\n", sum.Flow)
	lines := fmt.Sprintf("%d: %d succeeded, %d failed", sum.Lines(), sum.Succeeded, sum.Failed)
	if sum.Carried > 0 {
		lines += fmt.Sprintf(", %d carried over from earlier runs", sum.Carried)
	}
	fmt.Fprintf(tw, "lines\t%s\n", lines)
	if sum.Lines() > 0 {
		fmt.Fprintf(tw, "latency\tp50 %s, p95 %s, p99 %s\n", ms(sum.Latency.P50), ms(sum.Latency.P95), ms(sum.Latency.P99))
		fmt.Fprintf(tw, "rate\t%.0f lines/s over %s\n", float64(sum.Lines())/sum.Duration.Seconds(), sum.Duration.Round(time.Millisecond))
	}
	if len(sum.AggregateNodes) > 0 {
		fmt.Fprintf(tw, "metrics\t%s\n", display(sum.Aggregates))
	}
	fmt.Fprintf(tw, "outputs\t%s\n", filepath.Join(run.Dir(), "outputs.jsonl"))
	if err := tw.Flush(); err != nil {
		return err
	}
	return printMetrics(w, sum.Metrics)
}

// printMetrics prints the metrics the aggregate nodes logged, a METRIC and
// VALUE table after a blank line; nothing when there are none.
func printMetrics(w io.Writer, metrics json.RawMessage) error {
	if len(metrics) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := newTable(w)
	fmt.Fprintln(tw, "METRIC\tVALUE")
	for k, v := range jsonscan.Members(metrics) {
		fmt.Fprintf(tw, "%s\t%s\n", cell(string(jsonscan.AppendText(nil, k))), display(v))
	}
	return tw.Flush()
}

// ms prints a duration in milliseconds with three significant digits.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.2fms", v)
}
