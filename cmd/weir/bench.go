package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/bench/load"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/jsonscan"
)

// benchFlags are weir bench's flags.
type benchFlags struct {
	url         string
	path        string
	allowRemote bool
	inputsFile  string
	pairs       []string
	data        string
	format      string
	concurrency string
	rate        string
	duration    time.Duration
	runs        int
	requests    int
	warmup      int
	timeout     time.Duration
	output      string
	compare     string
}

// maxBenchTime bounds a level measured by a number of runs alone: the load
// always stops by itself.
const maxBenchTime = 10 * time.Minute

func newBench(app *app) *cobra.Command {
	var fl benchFlags
	cmd := &cobra.Command{
		Use:   "bench [flags] FLOW | bench --url URL [flags]",
		Short: "Measure a flow's throughput and latency",
		Long: `Measure how many runs a second a flow makes and how long they take, at each
--concurrency level: closed-loop clients that each run the flow again as soon
as their run ends. For each level it prints runs/s, the latency percentiles
of the runs that succeeded, the failed runs with the first error, and where
the time goes: each node's mean and p99 duration and its share of the runs'
time (nodes that run in parallel can add up to more than 100%).

FLOW runs in this process on the inputs of --inputs (a JSON object in a file,
or - for stdin) and --input name=value, or on each line of --data in turn (a
.jsonl or .csv dataset, read into memory once and cycled through; a line's
inputs are its columns of the same names).

--url loads a served flow instead (weir serve): POST --path, /score by
default with the inputs as the body, or the runs API (/v1/flows/NAME/runs),
whose answers give the per-node breakdown. URL must be on this machine
unless --allow-remote.

--rate makes the load open-loop: runs start at a fixed rate whatever the
answers take, at most --concurrency at once, and each latency counts from
when its run was due, so that a stalled server cannot hide the runs it
delayed.

Each level first makes --warmup runs that are not measured, then measures
--runs runs, or for --duration (10s by default). -o json prints the figures
for CI; --compare OLD.json shows each one's change against an earlier -o json.`,
		Example: `  weir bench examples/hello/flow.cue --input name=Ada --concurrency 1,8 --runs 2000
  weir bench examples/hello/flow.cue --data examples/hello/data.jsonl --duration 30s -o json > new.json
  weir bench examples/hello/flow.cue --input name=Ada --compare old.json
  weir bench --url http://127.0.0.1:8080 --input name=Ada --concurrency 64 --duration 30s
  weir bench --url http://127.0.0.1:8080/v1/flows/hello/runs --input name=Ada --rate 500/s --requests 5000`,
		RunE: func(cmd *cobra.Command, a []string) error {
			if fl.url == "" {
				if err := args(1)(cmd, a); err != nil {
					return err
				}
			} else if len(a) > 0 {
				return usageError{fmt.Errorf("bench takes a FLOW or --url, not both")}
			}
			return app.bench(cmd, a, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.url, "url", "", "load the flow served at `URL` instead of running FLOW")
	f.StringVar(&fl.path, "path", "", "with --url: the route to POST to (default /score, or the path of URL)")
	f.BoolVar(&fl.allowRemote, "allow-remote", false, "with --url: allow a URL that is not on this machine")
	f.StringVar(&fl.inputsFile, "inputs", "", "a JSON file holding the inputs object (- for stdin)")
	f.StringArrayVar(&fl.pairs, "input", nil, "an input as name=value (repeatable)")
	f.StringVar(&fl.data, "data", "", "run on each line of a .jsonl or .csv `FILE` in turn")
	f.StringVar(&fl.format, "format", "", "the dataset's format, jsonl or csv (default from the file's extension)")
	f.StringVar(&fl.concurrency, "concurrency", "1,8,64", "the levels: runs at once, separated by commas; with --rate, the most runs in flight")
	f.StringVar(&fl.rate, "rate", "", "start runs at a fixed `RATE`, such as 500/s (open loop)")
	f.DurationVar(&fl.duration, "duration", 10*time.Second, "how long each level is measured")
	f.IntVar(&fl.runs, "runs", 0, "measure this many runs at each level, within "+maxBenchTime.String()+" (instead of --duration)")
	f.IntVar(&fl.requests, "requests", 0, "--runs's name with --url")
	f.IntVar(&fl.warmup, "warmup", -1, "runs made first at each level and not measured (default: 2 per client, at least 10; with --rate, 1s of runs)")
	f.DurationVar(&fl.timeout, "timeout", time.Minute, "with --url: bound each request")
	f.StringVarP(&fl.output, "output", "o", "table", "output format: table or json")
	f.StringVar(&fl.compare, "compare", "", "show each figure's change against an earlier result, from -o json in `FILE`")
	noCacheFlag(cmd, app)
	return cmd
}

// benchPlan is what each level of a bench does, from the flags.
type benchPlan struct {
	levels   []int
	rate     float64
	warmup   int // -1: the default of each level
	runs     int
	duration time.Duration
}

func (app *app) bench(cmd *cobra.Command, a []string, fl benchFlags) error {
	ctx := cmd.Context()
	if err := oneOf("-o", fl.output, "table", "json"); err != nil {
		return err
	}
	plan, err := fl.plan(cmd)
	if err != nil {
		return err
	}
	var old *benchReport
	if fl.compare != "" {
		if old, err = readReport(fl.compare); err != nil {
			return err
		}
	}
	if fl.data != "" && (fl.inputsFile != "" || len(fl.pairs) > 0) {
		return usageError{errors.New("--data cannot be mixed with --inputs or --input")}
	}
	if fl.url == "" {
		for _, name := range []string{"path", "allow-remote", "timeout"} {
			if cmd.Flags().Changed(name) {
				return usageError{fmt.Errorf("--%s needs --url", name)}
			}
		}
	}
	var target benchTarget
	if fl.url != "" {
		target, err = fl.httpTarget(cmd.InOrStdin())
	} else {
		var closeAll func()
		target, closeAll, err = app.flowTarget(ctx, a[0], fl, cmd.InOrStdin())
		if closeAll != nil {
			defer closeAll()
		}
	}
	if err != nil {
		return err
	}
	defer target.close()

	rep := &benchReport{
		Format:  benchFormat,
		Weir:    engine.Version(),
		Target:  target.name,
		Mode:    target.mode,
		Machine: benchMachine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU()},
	}
	// One call first: a load whose every call fails measures nothing, and
	// would take each level's whole warm-up and measure to say so.
	if _, err := target.call(ctx, 0); err != nil {
		return fmt.Errorf("bench %s: the first %s failed, so nothing was measured: %w", target.name, target.unit(1), err)
	}
	for _, c := range plan.levels {
		opts := plan.options(c)
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d warm-up %s, then %s\n", levelName(c, plan.rate), opts.Warmup, target.unit(opts.Warmup), plan.measure(target))
		res, err := load.Run(ctx, opts, target.call)
		if err != nil {
			return err
		}
		rep.Levels = append(rep.Levels, newLevel(c, plan.rate, res))
	}
	if old != nil {
		rep.compare(old)
	}
	if fl.output == "json" {
		if err := writeJSON(cmd.OutOrStdout(), rep); err != nil {
			return err
		}
	} else {
		rep.print(cmd.OutOrStdout(), target)
	}
	return rep.failed(target)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// plan checks the flags that shape the load.
func (fl *benchFlags) plan(cmd *cobra.Command) (benchPlan, error) {
	p := benchPlan{warmup: fl.warmup, runs: fl.runs, duration: fl.duration}
	changed := cmd.Flags().Changed
	if changed("runs") && changed("requests") {
		return p, usageError{errors.New("--runs and --requests are one flag under two names: give one")}
	}
	if changed("requests") {
		p.runs = fl.requests
	}
	if (changed("runs") || changed("requests")) && p.runs < 1 {
		return p, usageError{fmt.Errorf("--runs must be at least 1, got %d", p.runs)}
	}
	if fl.duration <= 0 {
		return p, usageError{fmt.Errorf("--duration must be positive, got %s", fl.duration)}
	}
	if p.runs > 0 && !changed("duration") {
		p.duration = maxBenchTime
	}
	if changed("warmup") && fl.warmup < 0 {
		return p, usageError{fmt.Errorf("--warmup must not be negative, got %d", fl.warmup)}
	}
	if fl.timeout <= 0 {
		return p, usageError{fmt.Errorf("--timeout must be positive, got %s", fl.timeout)}
	}
	for _, s := range strings.Split(fl.concurrency, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return p, usageError{fmt.Errorf("--concurrency %q: %q is not a whole number of 1 or more", fl.concurrency, s)}
		}
		p.levels = append(p.levels, n)
	}
	if fl.rate == "" {
		return p, nil
	}
	rate, err := parseRate(fl.rate)
	if err != nil {
		return p, usageError{err}
	}
	p.rate = rate
	if !changed("concurrency") {
		p.levels = []int{1000}
	}
	if len(p.levels) > 1 {
		return p, usageError{fmt.Errorf("--concurrency %q: with --rate it is one number, the most runs in flight", fl.concurrency)}
	}
	return p, nil
}

// parseRate reads a rate such as 500/s, 500 or 30000/m as runs per second.
func parseRate(s string) (float64, error) {
	num, unit, slash := strings.Cut(s, "/")
	if !slash {
		unit = "s"
	}
	per := map[string]float64{"s": 1, "m": 60}[unit]
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || per == 0 || !(n > 0) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("--rate %q: write a positive number of runs per second or minute, such as 500/s or 300/m", s)
	}
	return n / per, nil
}

// options is the load of one level.
func (p benchPlan) options(c int) load.Options {
	o := load.Options{Clients: c, Rate: p.rate, Warmup: p.warmup, Calls: p.runs, Duration: p.duration}
	if p.warmup < 0 {
		o.Warmup = max(2*c, 10)
		if p.rate > 0 {
			o.Warmup = max(int(p.rate), 1)
		}
	}
	return o
}

// measure says how a level is measured: "200 runs" or "10s".
func (p benchPlan) measure(t benchTarget) string {
	if p.runs > 0 {
		return fmt.Sprintf("%d measured %s", p.runs, t.unit(p.runs))
	}
	return "measuring for " + p.duration.String()
}

func levelName(c int, rate float64) string {
	if rate > 0 {
		return fmt.Sprintf("rate %s/s, at most %d in flight", formatFloat(rate), c)
	}
	return fmt.Sprintf("concurrency %d", c)
}

// benchTarget is what a bench loads: a flow in this process or a served one.
type benchTarget struct {
	name  string // the flow file and name, or the URL
	mode  string // "flow" or "http"
	call  load.Func[sample]
	close func()
}

// unit names what the target's calls are: runs of a flow, requests to a URL.
func (t benchTarget) unit(n int) string {
	thing := "run"
	if t.mode == "http" {
		thing = "request"
	}
	if n == 1 {
		return thing
	}
	return thing + "s"
}

// sample is what one run says of its nodes: their names and durations,
// the nodes that did not run (bypassed, canceled) left out.
type sample struct {
	total time.Duration // the whole run's, as the engine timed it
	nodes []nodeTime
}

type nodeTime struct {
	node     string
	duration time.Duration
}

func nodeSample(total time.Duration, nodes []engine.NodeResult) sample {
	s := sample{total: total}
	for _, n := range nodes {
		if n.Status == engine.Succeeded || n.Status == engine.Failed {
			s.nodes = append(s.nodes, nodeTime{n.Node, n.Duration})
		}
	}
	return s
}

// flowTarget loads the flow at path and its inputs: one object, or the
// lines of --data.
func (app *app) flowTarget(ctx context.Context, path string, fl benchFlags, stdin io.Reader) (benchTarget, func(), error) {
	file, err := flowFile(path)
	if err != nil {
		return benchTarget{}, nil, err
	}
	f, closeAll, err := app.loadFlow(ctx, file)
	if err != nil {
		return benchTarget{}, nil, err
	}
	var inputs []json.RawMessage
	if fl.data != "" {
		inputs, err = datasetInputs(f, fl.data, fl.format)
	} else {
		var in json.RawMessage
		in, err = readInputs(f, fl.inputsFile, fl.pairs, stdin)
		inputs = []json.RawMessage{in}
	}
	if err != nil {
		return benchTarget{}, closeAll, err
	}
	return benchTarget{
		name: fmt.Sprintf("flow %q (%s)", f.Name(), file),
		mode: "flow",
		call: func(ctx context.Context, i int) (sample, error) {
			res, err := f.Run(ctx, inputs[i%len(inputs)])
			if res == nil {
				return sample{}, err
			}
			return nodeSample(res.Duration, res.Nodes), err
		},
		close: func() {},
	}, closeAll, nil
}

// datasetInputs reads the dataset at path with the readers weir batch
// uses, and returns each line's inputs: its columns named as the flow's
// inputs, a CSV cell typed as the input wants.
func datasetInputs(f *engine.Flow, path, format string) ([]json.RawMessage, error) {
	records, err := readDataset(path, format)
	if err != nil {
		return nil, err
	}
	var lines []json.RawMessage
	for _, rec := range records {
		var cols map[string]json.RawMessage
		if err := json.Unmarshal(rec.Data, &cols); err != nil {
			return nil, fmt.Errorf("read dataset %s: line %d: %w", path, rec.Line, err)
		}
		var in inputsObject
		for _, input := range f.Inputs() {
			v, ok := cols[input.Name]
			if !ok {
				continue
			}
			if rec.Text {
				v = typedValue(string(jsonscan.AppendText(nil, v)), input.Types)
			}
			in.set(input.Name, v)
		}
		lines = append(lines, in.encode())
	}
	return lines, nil
}

// readDataset reads every record of the dataset at path; a line that is
// not a record stops it.
func readDataset(path, format string) ([]engine.Record, error) {
	format, err := dataFormat(path, format)
	if err != nil {
		return nil, err
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	defer file.Close()
	src := engine.JSONL(file)
	if format == "csv" {
		src = engine.CSV(file)
	}
	var records []engine.Record
	for rec, err := range src {
		if err != nil {
			return nil, fmt.Errorf("read dataset %s: %w", path, err)
		}
		records = append(records, rec)
	}
	if len(records) == 0 {
		return nil, fmt.Errorf("read dataset %s: %w", path, engine.ErrEmptyDataset)
	}
	return records, nil
}

// runsRoute matches the runs API, whose body holds the inputs under
// "inputs" and whose answer says what each node did.
var runsRoute = regexp.MustCompile(`^/v1/flows/[^/]+/runs$`)

// httpTarget checks --url and reads the bodies to post.
func (fl *benchFlags) httpTarget(stdin io.Reader) (benchTarget, error) {
	u, err := url.Parse(fl.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return benchTarget{}, usageError{fmt.Errorf("--url %q: want an http:// or https:// URL", fl.url)}
	}
	if !fl.allowRemote && !loopback(u.Hostname()) {
		return benchTarget{}, usageError{fmt.Errorf("--url %s: %s is not this machine; weir bench loads only loopback addresses unless --allow-remote", fl.url, u.Hostname())}
	}
	switch {
	case fl.path != "":
		u.Path = fl.path
	case u.Path == "" || u.Path == "/":
		u.Path = "/score"
	}
	runsAPI := runsRoute.MatchString(u.Path)

	var bodies [][]byte
	if fl.data != "" {
		records, err := readDataset(fl.data, fl.format)
		if err != nil {
			return benchTarget{}, err
		}
		for _, rec := range records {
			bodies = append(bodies, rec.Data)
		}
	} else {
		in, err := rawInputs(fl.inputsFile, fl.pairs, stdin)
		if err != nil {
			return benchTarget{}, err
		}
		bodies = [][]byte{in}
	}
	if runsAPI {
		for i, b := range bodies {
			bodies[i] = append(append([]byte(`{"inputs":`), b...), '}')
		}
	}
	hc := load.NewHTTPClient(1000, fl.timeout, nil)
	target := u.String()
	return benchTarget{
		name: "POST " + target,
		mode: "http",
		call: func(ctx context.Context, i int) (sample, error) {
			sent := time.Now()
			b, err := load.Post(ctx, hc, target, bodies[i%len(bodies)])
			if err != nil || !runsAPI {
				return sample{}, err
			}
			// The nodes' share is of the whole request's time.
			took := time.Since(sent)
			var run struct {
				Nodes []engine.NodeResult `json:"nodes"`
			}
			if err := json.Unmarshal(b, &run); err != nil {
				return sample{}, fmt.Errorf("read answer: %w", err)
			}
			return nodeSample(took, run.Nodes), nil
		},
		close: hc.CloseIdleConnections,
	}, nil
}

// loopback reports whether host names this machine: localhost, or a
// loopback address. Other names are not resolved: a name that resolves to
// this machine today may not tomorrow.
func loopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// rawInputs is readInputs without a flow to type the values by: a value of
// --input that reads as JSON is sent as JSON, any other as text.
func rawInputs(file string, pairs []string, stdin io.Reader) (json.RawMessage, error) {
	in, err := readInputsFile(file, stdin)
	if err != nil {
		return nil, err
	}
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, usageError{fmt.Errorf("--input %q: write name=value", p)}
		}
		in.set(name, typedValue(value, nil))
	}
	return in.encode(), nil
}

// The shape of weir bench -o json. Fields are added, never renamed or
// removed; benchFormat changes if one ever must be.
const benchFormat = 1

type benchReport struct {
	Format  int          `json:"format"`
	Weir    string       `json:"weir"`
	Target  string       `json:"target"`
	Mode    string       `json:"mode"` // flow or http
	Machine benchMachine `json:"machine"`
	Levels  []benchLevel `json:"levels"`
}

type benchMachine struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
	CPUs int    `json:"cpus"`
}

// benchLevel is one level's figures; durations are in milliseconds.
type benchLevel struct {
	Concurrency   int          `json:"concurrency"`
	Rate          float64      `json:"rate,omitempty"` // asked, runs/s; 0 for a closed loop
	Runs          int          `json:"runs"`           // measured, succeeded
	Failed        int          `json:"failed"`
	FirstError    string       `json:"first_error,omitempty"`
	Seconds       float64      `json:"seconds"`
	RunsPerSecond float64      `json:"runs_per_second"`
	Latency       benchLatency `json:"latency_ms"`
	Nodes         []benchNode  `json:"nodes,omitempty"`
	// Change is each figure's change in percent against --compare's
	// level of the same concurrency and rate.
	Change map[string]float64 `json:"change,omitempty"`
}

type benchLatency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

type benchNode struct {
	Node   string  `json:"node"`
	Runs   int     `json:"runs"`
	MeanMS float64 `json:"mean_ms"`
	P99MS  float64 `json:"p99_ms"`
	// Share is the node's part of the runs' time, in percent: the sum of
	// its durations over the sum of the runs'.
	Share float64 `json:"share"`
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func newLevel(c int, rate float64, r *load.Result[sample]) benchLevel {
	l := benchLevel{
		Concurrency:   c,
		Rate:          rate,
		Runs:          len(r.Latencies),
		Failed:        r.Errors,
		Seconds:       r.Window.Seconds(),
		RunsPerSecond: r.Rate(),
		Latency: benchLatency{
			Mean: msOf(load.Mean(r.Latencies)),
			P50:  msOf(load.Percentile(r.Latencies, 50)),
			P90:  msOf(load.Percentile(r.Latencies, 90)),
			P99:  msOf(load.Percentile(r.Latencies, 99)),
			Max:  msOf(load.Percentile(r.Latencies, 100)),
		},
	}
	if r.FirstErr != nil {
		l.FirstError = r.FirstErr.Error()
	}
	// Nodes in the order they first ended, durations gathered by node.
	var order []string
	times := map[string][]time.Duration{}
	var total time.Duration
	for _, s := range r.Values {
		total += s.total
		for _, n := range s.nodes {
			if _, ok := times[n.node]; !ok {
				order = append(order, n.node)
			}
			times[n.node] = append(times[n.node], n.duration)
		}
	}
	for _, name := range order {
		d := times[name]
		slices.Sort(d)
		n := benchNode{Node: name, Runs: len(d), MeanMS: msOf(load.Mean(d)), P99MS: msOf(load.Percentile(d, 99))}
		if total > 0 {
			var sum time.Duration
			for _, x := range d {
				sum += x
			}
			n.Share = 100 * float64(sum) / float64(total)
		}
		l.Nodes = append(l.Nodes, n)
	}
	return l
}

// readReport reads an earlier weir bench -o json.
func readReport(path string) (*benchReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read --compare: %w", err)
	}
	var rep benchReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("read --compare %s: not the output of weir bench -o json: %w", path, err)
	}
	if rep.Format != benchFormat {
		return nil, fmt.Errorf("read --compare %s: not the output of weir bench -o json (format %d, want %d)", path, rep.Format, benchFormat)
	}
	return &rep, nil
}

// figures are the figures of a level --compare compares, by name.
func (l *benchLevel) figures() map[string]float64 {
	return map[string]float64{
		"runs_per_second": l.RunsPerSecond,
		"mean":            l.Latency.Mean,
		"p50":             l.Latency.P50,
		"p90":             l.Latency.P90,
		"p99":             l.Latency.P99,
		"max":             l.Latency.Max,
	}
}

// compare sets each level's change against old's level of the same
// concurrency and rate.
func (r *benchReport) compare(old *benchReport) {
	for i := range r.Levels {
		l := &r.Levels[i]
		j := slices.IndexFunc(old.Levels, func(o benchLevel) bool { return o.Concurrency == l.Concurrency && o.Rate == l.Rate })
		if j < 0 {
			continue
		}
		was := old.Levels[j].figures()
		l.Change = map[string]float64{}
		for name, v := range l.figures() {
			if was[name] > 0 {
				l.Change[name] = 100 * (v - was[name]) / was[name]
			}
		}
	}
}

// failed is the error weir bench ends with when runs failed: after the
// figures, which say what failed.
func (r *benchReport) failed(t benchTarget) error {
	var failed, all int
	for _, l := range r.Levels {
		failed += l.Failed
		all += l.Failed + l.Runs
	}
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("bench %s: %d of %d measured %s failed", t.name, failed, all, t.unit(all))
}

// print prints the report as tables: the figures of each level, then
// where the time goes at each level.
func (r *benchReport) print(w io.Writer, t benchTarget) {
	fmt.Fprintf(w, "%s on %s/%s, %d CPUs\n\n", r.Target, r.Machine.OS, r.Machine.Arch, r.Machine.CPUs)
	units := strings.ToUpper(t.unit(2))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	first := "CONCURRENCY"
	if len(r.Levels) > 0 && r.Levels[0].Rate > 0 {
		first = "RATE"
	}
	fmt.Fprintf(tw, "%s\t%s\tFAILED\t%s/S\tMEAN\tP50\tP90\tP99\tMAX\n", first, units, units)
	for _, l := range r.Levels {
		lvl := strconv.Itoa(l.Concurrency)
		if l.Rate > 0 {
			lvl = formatFloat(l.Rate) + "/s"
		}
		lat := l.Latency
		figures := []string{l.changed("mean", formatMS(lat.Mean)), l.changed("p50", formatMS(lat.P50)),
			l.changed("p90", formatMS(lat.P90)), l.changed("p99", formatMS(lat.P99)), l.changed("max", formatMS(lat.Max))}
		if l.Runs == 0 {
			figures = []string{"-", "-", "-", "-", "-"} // no run succeeded to time
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", lvl, l.Runs, l.Failed,
			l.changed("runs_per_second", fmt.Sprintf("%.1f", l.RunsPerSecond)), strings.Join(figures, "\t"))
	}
	tw.Flush()
	for _, l := range r.Levels {
		if l.FirstError != "" {
			fmt.Fprintf(w, "%s: first error: %s\n", levelName(l.Concurrency, l.Rate), l.FirstError)
		}
	}
	for _, l := range r.Levels {
		if len(l.Nodes) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s: where the time goes\n", levelName(l.Concurrency, l.Rate))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NODE\tRUNS\tMEAN\tP99\tSHARE")
		for _, n := range l.Nodes {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.1f%%\n", n.Node, n.Runs, formatMS(n.MeanMS), formatMS(n.P99MS), n.Share)
		}
		tw.Flush()
	}
}

// changed is a figure's text, followed by its change when --compare gave one.
func (l *benchLevel) changed(name, text string) string {
	c, ok := l.Change[name]
	if !ok {
		return text
	}
	return fmt.Sprintf("%s (%+.1f%%)", text, c)
}

// formatMS writes a duration in milliseconds with 3 significant digits or
// so, in the unit that reads best.
func formatMS(ms float64) string {
	switch {
	case ms < 1:
		return fmt.Sprintf("%.0fµs", ms*1000)
	case ms < 10:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.2fs", ms/1000)
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
