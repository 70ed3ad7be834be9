package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/engine/internal/hist"
	"github.com/weirflow/weir/engine/internal/lineset"
	"github.com/weirflow/weir/engine/internal/ref"
	"github.com/weirflow/weir/internal/jsonscan"
)

// BatchOptions adjust a batch. The zero value runs every line of the
// dataset, eight at a time, each under the flow's own run deadline.
type BatchOptions struct {
	// RunID names the batch in results and traces; a random one when empty.
	RunID string
	// Concurrency bounds the lines that run at once (8). Memory grows with
	// it, never with the size of the dataset.
	Concurrency int
	// LineTimeout bounds each line's run when positive; otherwise the flow's
	// run deadline applies.
	LineTimeout time.Duration
	// Map gives flow inputs from a line's columns: input name to a string
	// such as "${data.question}" (the column's value, with its type) or
	// "Q: ${data.question}" (interpolated). An input that is not mapped
	// takes the column of the same name, then its default.
	Map map[string]string
	// Resume lists the lines an earlier batch over the same dataset
	// completed: they are not run again, and their Aggregate values count
	// for the aggregate nodes. Only Line and Aggregate are read.
	Resume iter.Seq[LineResult]
	// MaxFailures stops the batch once that many lines have failed; lines in
	// flight are canceled and lines not reached are left for a resume. Zero
	// never stops.
	MaxFailures int
}

// LineResult is what one line of a batch produced.
type LineResult struct {
	// Line is the record's number in the dataset (see Record).
	Line   int    `json:"line"`
	Status Status `json:"status"` // Succeeded or Failed
	// Inputs are the flow inputs the line ran with, defaults applied; nil
	// when they could not be built.
	Inputs  json.RawMessage `json:"inputs,omitempty"`
	Outputs json.RawMessage `json:"outputs,omitempty"`
	Error   string          `json:"error,omitempty"`
	// Nodes are the line's nodes, aggregate nodes left out.
	Nodes    []NodeResult  `json:"nodes,omitempty"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration"`
	// Aggregate holds what a succeeded line gives the aggregate nodes,
	// {"node": {"input": value}}; nil when the flow has none. Keep it to
	// resume the batch later.
	Aggregate json.RawMessage `json:"aggregate,omitempty"`
}

// BatchSummary is the outcome of a batch: counts, latencies and the
// outputs of the aggregate nodes, its metrics.
type BatchSummary struct {
	RunID string
	Flow  string
	// Status is Completed when every line was read and run (some may have
	// failed), Failed when the batch stopped (the dataset could not be
	// read, MaxFailures, an aggregate node failed), Canceled when its
	// context was.
	Status Status
	Error  string
	// Succeeded and Failed count the lines this batch ran; Carried the lines
	// skipped because an earlier batch completed them.
	Succeeded, Failed, Carried int
	Start                      time.Time
	Duration                   time.Duration
	// Latency is over the lines this batch ran, succeeded or failed.
	Latency Latency
	// Nodes are the per-line nodes in flow order.
	Nodes []NodeStats
	// Aggregates maps each aggregate node that succeeded to its outputs.
	Aggregates json.RawMessage
	// AggregateNodes are the aggregate nodes' results, in flow order.
	AggregateNodes []NodeResult
}

// Lines returns the number of lines the batch ran.
func (s *BatchSummary) Lines() int { return s.Succeeded + s.Failed }

// Latency summarises durations: percentiles are within 2%, Max is exact.
type Latency struct {
	P50, P95, P99, Max time.Duration
}

// NodeStats is what one node did over the lines of a batch.
type NodeStats struct {
	Node string
	// Runs counts the lines where the node ran (succeeded or failed);
	// Canceled the lines where it was stopped or never started, because
	// another node failed or the line timed out.
	Runs, Failed, Bypassed, Canceled int
	// Latency is over the runs that succeeded or failed.
	Latency Latency
}

// Errors of a batch that stopped.
var (
	// ErrEmptyDataset is returned by Batch for a source with no line.
	ErrEmptyDataset = errors.New("dataset is empty")
	// ErrTooManyFailures is wrapped by the error of a batch stopped by
	// BatchOptions.MaxFailures.
	ErrTooManyFailures = errors.New("too many failed lines")
)

// Batch is a flow running over a dataset. Read its lines with Lines, then
// call Wait; or call Wait alone, which discards them.
type Batch struct {
	f     *Flow
	id    string
	opts  BatchOptions
	input []mapInput
	skip  lineset.Set
	lines chan LineResult
	done  chan struct{}
	span  trace.Span

	// lineNodes are the indexes of the nodes that run per line: those of
	// LineResult.Nodes and of nodes.
	lineNodes []int

	mu      sync.Mutex
	sum     BatchSummary
	err     error
	lat     hist.Hist
	nodes   []nodeHist
	agg     [][][]lineValue // [aggregate node][field] -> values
	ranging bool
	cancel  context.CancelCauseFunc
}

type nodeHist struct {
	runs, failed, bypassed, canceled int
	lat                              hist.Hist
}

type lineValue struct {
	line int
	v    []byte
}

// pulled is a record read from the source, or the error of its line.
type pulled struct {
	rec Record
	err error
}

// maxPeek bounds the unreadable lines held while looking for the first
// readable one, whose columns check the mapping.
const maxPeek = 1024

// Batch runs the flow once per record of src, up to opts.Concurrency at a
// time, and reports each line as it ends. Before any line runs it checks
// the mapping against the flow's inputs and the dataset's first record, and
// returns an error naming the problem; ErrEmptyDataset for a source with no
// record.
//
// Memory is bounded by the concurrency, not by the dataset: src is read as
// lines are run, and results wait for the reader of Lines. Lines that fail
// do not stop the batch unless MaxFailures says so. Canceling ctx stops
// it: lines in flight are abandoned, not reported, and can be resumed.
func (f *Flow) Batch(ctx context.Context, src Source, opts BatchOptions) (*Batch, error) {
	b := &Batch{
		f:    f,
		id:   cmp.Or(opts.RunID, newRunID()),
		opts: opts,
		done: make(chan struct{}),
	}
	for i, n := range f.nodes {
		if !n.aggregate {
			b.lineNodes = append(b.lineNodes, i)
		}
	}
	b.nodes = make([]nodeHist, len(b.lineNodes))
	if b.opts.Concurrency <= 0 {
		b.opts.Concurrency = 8
	}
	b.lines = make(chan LineResult, b.opts.Concurrency)
	var err error
	if b.input, err = f.compileMap(opts.Map); err != nil {
		return nil, err
	}
	b.agg = make([][][]lineValue, len(f.nodes))
	for i, n := range f.nodes {
		b.agg[i] = make([][]lineValue, len(n.aggFields))
	}
	if opts.Resume != nil {
		for lr := range opts.Resume {
			b.skip.Add(lr.Line)
			b.sum.Carried++
			if err := b.addAggregate(lr.Line, lr.Aggregate); err != nil {
				return nil, fmt.Errorf("resume: line %d: %w", lr.Line, err)
			}
		}
	}

	next, stop := iter.Pull2(src)
	var head []pulled
	for len(head) < maxPeek {
		rec, err, ok := next()
		if !ok {
			break
		}
		var le *LineError
		if err != nil && !errors.As(err, &le) {
			stop()
			return nil, err
		}
		head = append(head, pulled{rec, err})
		if err == nil {
			if err := b.checkColumns(rec); err != nil {
				stop()
				return nil, err
			}
			break
		}
	}
	if len(head) == 0 {
		stop()
		return nil, ErrEmptyDataset
	}

	b.sum = BatchSummary{RunID: b.id, Flow: f.name, Start: time.Now(), Carried: b.sum.Carried}
	ctx, b.cancel = context.WithCancelCause(ctx)
	if t := f.e.tracer; t != nil {
		ctx, b.span = t.Start(ctx, "weir.batch", trace.WithAttributes(
			attribute.String("weir.flow", f.name),
			attribute.String("weir.batch.id", b.id),
		))
	}
	go b.run(ctx, head, next, stop)
	return b, nil
}

// ID returns the batch's run id.
func (b *Batch) ID() string { return b.id }

// Lines yields each line's result as it ends, in the order they end. It
// may be ranged over once. Breaking out early does not stop the batch (the
// rest are discarded); cancel the batch's context for that.
func (b *Batch) Lines() iter.Seq[LineResult] {
	return func(yield func(LineResult) bool) {
		b.mu.Lock()
		if b.ranging {
			b.mu.Unlock()
			panic("engine: Batch.Lines ranged over twice")
		}
		b.ranging = true
		b.mu.Unlock()
		for lr := range b.lines {
			if !yield(lr) {
				go drain(b.lines)
				return
			}
		}
	}
}

func drain(ch <-chan LineResult) {
	for range ch {
	}
}

// Wait waits for the batch to end and returns its summary. The error is
// nil when the batch completed, failed lines or not; otherwise it says why
// the batch stopped, and the summary still counts what was done. If Lines
// was not ranged over, Wait discards the lines.
func (b *Batch) Wait() (*BatchSummary, error) {
	b.mu.Lock()
	if !b.ranging {
		b.ranging = true
		go drain(b.lines)
	}
	b.mu.Unlock()
	<-b.done
	return &b.sum, b.err
}

// run feeds the lines to the workers, waits for them, then runs the
// aggregate nodes.
func (b *Batch) run(ctx context.Context, head []pulled, next func() (Record, error, bool), stop func()) {
	defer close(b.done)
	jobs := make(chan pulled)
	var wg sync.WaitGroup
	for range b.opts.Concurrency {
		wg.Go(func() {
			for p := range jobs {
				if lr, ok := b.line(ctx, p); ok {
					b.lines <- lr
				}
			}
		})
	}
	feedErr := b.feed(ctx, jobs, head, next)
	stop()
	close(jobs)
	wg.Wait()
	close(b.lines)

	b.mu.Lock()
	defer b.mu.Unlock()
	err := feedErr
	if err == nil {
		err = context.Cause(ctx)
	}
	if err == nil {
		err = b.aggregate(ctx)
	}
	b.finish(err)
}

// feed hands the records to the workers in order, skipping resumed lines,
// until the source ends, fails, or the batch is stopped.
func (b *Batch) feed(ctx context.Context, jobs chan<- pulled, head []pulled, next func() (Record, error, bool)) error {
	last := 0
	send := func(p pulled) error {
		line := p.rec.Line
		var le *LineError
		if errors.As(p.err, &le) {
			line = le.Line
		}
		if line <= last {
			return fmt.Errorf("read dataset: line %d comes after line %d: a source must number its lines in increasing order", line, last)
		}
		last = line
		if b.skip.Has(line) {
			return nil
		}
		select {
		case jobs <- p:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	for _, p := range head {
		if err := send(p); err != nil {
			return err
		}
	}
	for {
		rec, err, ok := next()
		if !ok {
			return nil
		}
		var le *LineError
		if err != nil && !errors.As(err, &le) {
			return err
		}
		if err := send(pulled{rec, err}); err != nil {
			return err
		}
	}
}

// line runs one record. It returns false for a line the batch abandoned
// because it was stopped.
func (b *Batch) line(ctx context.Context, p pulled) (LineResult, bool) {
	lr := LineResult{Line: p.rec.Line, Status: Failed, Start: time.Now()}
	var le *LineError
	if errors.As(p.err, &le) {
		lr.Line, lr.Error = le.Line, le.Err.Error()
		b.account(&lr, false)
		return lr, true
	}
	in, err := b.inputs(p.rec)
	if err != nil {
		lr.Error = err.Error()
		lr.Duration = time.Since(lr.Start)
		b.account(&lr, false)
		return lr, true
	}
	var attrs []attribute.KeyValue
	if b.span != nil {
		attrs = []attribute.KeyValue{
			attribute.String("weir.batch.id", b.id),
			attribute.Int("weir.batch.line", lr.Line),
		}
	}
	r, err := b.f.run(ctx, json.RawMessage(in), RunOptions{
		RunID:   b.id + "/" + strconv.Itoa(lr.Line),
		Timeout: b.opts.LineTimeout,
	}, attrs)
	if err != nil && ctx.Err() != nil {
		return lr, false
	}
	lr.Duration = r.res.Duration
	lr.Inputs = r.values.inputs
	lr.Nodes = r.res.Nodes
	var inErr *InputError
	if errors.As(err, &inErr) {
		lr.Nodes = nil // none started
	} else if b.hasAggregate() {
		lr.Nodes = make([]NodeResult, len(b.lineNodes))
		for k, i := range b.lineNodes {
			lr.Nodes[k] = r.res.Nodes[i]
		}
	}
	if err == nil {
		lr.Aggregate, err = b.lineAggregate(&r.values)
	}
	if err != nil {
		lr.Error = err.Error()
		lr.Aggregate = nil
	} else {
		lr.Status = Succeeded
		lr.Outputs = r.res.Outputs
	}
	b.account(&lr, true)
	if err == nil && lr.Aggregate != nil {
		b.mu.Lock()
		err = b.addAggregate(lr.Line, lr.Aggregate)
		b.mu.Unlock()
		if err != nil {
			panic("engine: a line's own aggregate values do not read back: " + err.Error())
		}
	}
	return lr, true
}

// account counts a line in the summary, its latency if it ran, and stops
// the batch once it has failed MaxFailures lines.
func (b *Batch) account(lr *LineResult, ran bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ran {
		b.lat.Add(lr.Duration)
	}
	if lr.Status == Succeeded {
		b.sum.Succeeded++
	} else {
		b.sum.Failed++
		if b.opts.MaxFailures > 0 && b.sum.Failed == b.opts.MaxFailures {
			b.cancel(fmt.Errorf("%w: stopped after %d", ErrTooManyFailures, b.sum.Failed))
		}
	}
	for i, nr := range lr.Nodes {
		h := &b.nodes[i]
		switch nr.Status {
		case Succeeded:
			h.runs++
		case Failed:
			h.runs++
			h.failed++
		case Bypassed:
			h.bypassed++
			continue
		default:
			h.canceled++
			continue
		}
		h.lat.Add(nr.Duration)
	}
}

// finish fills in the summary once the lines and aggregate nodes are done.
// b.mu is held.
func (b *Batch) finish(err error) {
	s := &b.sum
	s.Duration = time.Since(s.Start)
	s.Latency = latency(&b.lat)
	for k, i := range b.lineNodes {
		n := b.f.nodes[i]
		h := &b.nodes[k]
		s.Nodes = append(s.Nodes, NodeStats{Node: n.name, Runs: h.runs, Failed: h.failed, Bypassed: h.bypassed, Canceled: h.canceled, Latency: latency(&h.lat)})
	}
	s.Status = Completed
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		s.Status = Canceled
	default:
		s.Status = Failed
	}
	if err != nil {
		s.Error = err.Error()
		b.err = err
	}
	if b.span != nil {
		b.span.SetAttributes(
			attribute.String("weir.batch.status", string(s.Status)),
			attribute.Int("weir.batch.succeeded", s.Succeeded),
			attribute.Int("weir.batch.failed", s.Failed),
			attribute.Int("weir.batch.carried", s.Carried),
		)
		if err != nil {
			b.span.RecordError(err)
			b.span.SetStatus(codes.Error, err.Error())
		}
		b.span.End()
	}
	b.cancel(nil)
}

func latency(h *hist.Hist) Latency {
	return Latency{P50: h.Quantile(0.5), P95: h.Quantile(0.95), P99: h.Quantile(0.99), Max: h.Max()}
}

// mapInput is how one flow input is taken from a line.
type mapInput struct {
	name  string
	key   []byte // `"name":`
	col   []jsonscan.Step
	tmpl  *tmpl // from BatchOptions.Map; nil takes the column of the same name
	types []string
}

// compileMap checks a batch's mapping against the flow's inputs and
// compiles how each input is taken from a line.
func (f *Flow) compileMap(m map[string]string) ([]mapInput, error) {
	inputs := f.Inputs()
	names := make([]string, len(inputs))
	for i, in := range inputs {
		names[i] = in.Name
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(names, k) {
			return nil, fmt.Errorf("map %s=%s: the flow has no input %q (inputs: %s)%s", k, m[k], k, listOf(names), didYouMean(k, names))
		}
	}
	out := make([]mapInput, len(inputs))
	for i, in := range inputs {
		out[i] = mapInput{name: in.Name, key: fieldKey(in.Name), col: []jsonscan.Step{{Key: in.Name}}, types: in.Types}
		text, ok := m[in.Name]
		if !ok {
			continue
		}
		t, err := mapTmpl(text)
		if err != nil {
			return nil, fmt.Errorf("map %s=%s: %v", in.Name, text, err)
		}
		out[i].tmpl = t
	}
	return out, nil
}

// mapTmpl compiles the value of a mapping: text with ${data.col}
// references.
func mapTmpl(text string) (*tmpl, error) {
	parsed, err := ref.Parse(text)
	if err != nil {
		return nil, err
	}
	t := &tmpl{kind: tmplInterp}
	for _, p := range parsed.Parts {
		if p.Ref == nil {
			t.parts = append(t.parts, part{text: p.Text})
			continue
		}
		r := *p.Ref
		if r.Root != "data" || len(r.Steps) == 0 || r.Steps[0].IsIndex {
			return nil, fmt.Errorf("%s: a mapping takes a line's column, as in ${data.col}", refText(r))
		}
		t.parts = append(t.parts, part{sel: &selector{node: dataNode, steps: r.Steps, text: refText(r)}})
	}
	switch {
	case parsed.IsRef():
		return &tmpl{kind: tmplSel, sel: t.parts[0].sel}, nil
	case parsed.IsLiteral():
		return stringLit(text), nil
	}
	return t, nil
}

// checkColumns checks, on the dataset's first readable record, that every
// column the mapping names exists and that every required input has a
// source.
func (b *Batch) checkColumns(rec Record) error {
	cols := columns(rec.Data)
	required := b.f.inputs.Required()
	for _, in := range b.input {
		if in.tmpl == nil {
			if slices.Contains(required, in.name) && !slices.Contains(cols, in.name) {
				return fmt.Errorf("input %q is required, but the dataset has no column %q and no mapping gives it (columns: %s): map one with %s=${data.<col>}", in.name, in.name, listOf(cols), in.name)
			}
			continue
		}
		var err error
		in.tmpl.walk(func(s *selector) {
			if col := s.steps[0].Key; err == nil && !slices.Contains(cols, col) {
				err = fmt.Errorf("map %s=%s: the dataset has no column %q (columns: %s)%s", in.name, b.opts.Map[in.name], col, listOf(cols), didYouMean(col, cols))
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// columns lists the keys of a JSON object.
func columns(obj []byte) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return nil
	}
	cols := make([]string, 0, len(m))
	for k := range m {
		cols = append(cols, k)
	}
	return cols
}

// inputs builds a line's flow inputs from its columns: the mapping first,
// then the column of the same name; an input with neither is left out for
// its default.
func (b *Batch) inputs(rec Record) ([]byte, error) {
	rv := runValues{data: rec.Data}
	dst := make([]byte, 0, len(rec.Data)+16)
	dst = append(dst, '{')
	for _, in := range b.input {
		var v []byte
		if in.tmpl != nil {
			var err error
			if v, err = in.tmpl.append(nil, &rv); err != nil {
				return nil, fmt.Errorf("input %q: %v", in.name, err)
			}
		} else {
			var err error
			v, err = jsonscan.Select(rec.Data, in.col)
			if err != nil {
				continue
			}
		}
		if rec.Text {
			if v = fromText(v, in.types); v == nil {
				continue
			}
		}
		if len(dst) > 1 {
			dst = append(dst, ',')
		}
		dst = append(dst, in.key...)
		dst = append(dst, v...)
	}
	return append(dst, '}'), nil
}

// fromText converts a CSV cell (a JSON string) to the type an input wants
// when the input takes no string: "3" to 3, "true" to true. An empty cell
// for such an input is left out (nil), so its default applies. Text that
// does not parse stays a string, for the input check to report.
func fromText(v []byte, types []string) []byte {
	if len(v) == 0 || v[0] != '"' || len(types) == 0 || slices.Contains(types, "string") {
		return v
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return v
	}
	if s == "" {
		return nil
	}
	for _, t := range types {
		switch t {
		case "integer":
			if _, err := strconv.ParseInt(s, 10, 64); err == nil {
				return []byte(s)
			}
		case "number":
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return strconv.AppendFloat(nil, f, 'g', -1, 64)
			}
		case "boolean":
			if bv, err := strconv.ParseBool(s); err == nil {
				return strconv.AppendBool(nil, bv)
			}
		case "null":
			if s == "null" {
				return []byte("null")
			}
		}
	}
	return v
}

// hasAggregate reports whether the flow has aggregate nodes: those that
// are not line nodes.
func (b *Batch) hasAggregate() bool { return len(b.lineNodes) < len(b.f.nodes) }

// lineAggregate evaluates, on a succeeded line's values, the inputs of the
// aggregate nodes that take a list over the lines.
func (b *Batch) lineAggregate(rv *runValues) (json.RawMessage, error) {
	if !b.hasAggregate() {
		return nil, nil
	}
	dst := []byte{'{'}
	for _, n := range b.f.nodes {
		if !n.aggregate {
			continue
		}
		if len(dst) > 1 {
			dst = append(dst, ',')
		}
		dst = append(dst, fieldKey(n.name)...)
		dst = append(dst, '{')
		first := true
		for _, af := range n.aggFields {
			if !af.perLine {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, af.key...)
			var err error
			if dst, err = af.val.append(dst, rv); err != nil {
				return nil, fmt.Errorf("aggregate node %q: input %q: %w", n.name, af.name, err)
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

// addAggregate keeps a line's aggregate values for the aggregate nodes.
// b.mu is held, or the batch has not started.
func (b *Batch) addAggregate(line int, agg json.RawMessage) error {
	for i, n := range b.f.nodes {
		for j, af := range n.aggFields {
			if !af.perLine {
				continue
			}
			v, err := jsonscan.Select(agg, []jsonscan.Step{{Key: n.name}, {Key: af.name}})
			if err != nil {
				return fmt.Errorf("aggregate value of node %q input %q: %w", n.name, af.name, err)
			}
			b.agg[i][j] = append(b.agg[i][j], lineValue{line, v})
		}
	}
	return nil
}

// aggregate runs the aggregate nodes once, over the values of the lines
// that succeeded, in line order. b.mu is held.
func (b *Batch) aggregate(ctx context.Context) error {
	f := b.f
	if !b.hasAggregate() {
		return nil
	}
	ctx, cancel := context.WithTimeoutCause(ctx, f.timeout, f.timeoutCause)
	defer cancel()
	r := &run{
		f:      f,
		nodes:  make([]NodeResult, len(f.nodes)),
		values: runValues{outputs: make([][]byte, len(f.nodes))},
		res:    &Result{RunID: b.id + "/aggregate", Flow: f.name},
	}
	for i, n := range f.nodes {
		r.nodes[i] = NodeResult{Node: n.name, Tool: n.toolName, Plugin: n.plugin, Kind: n.kind, Status: Canceled}
	}
	// Aggregate nodes depend only on each other: run them in an order that
	// respects that, one at a time.
	ran := make([]bool, len(f.nodes))
	var failure error
	for progress := true; progress; {
		progress = false
		for i, n := range f.nodes {
			if !n.aggregate || ran[i] || slices.ContainsFunc(n.deps, func(d int) bool { return f.nodes[d].aggregate && !ran[d] }) {
				continue
			}
			ran[i], progress = true, true
			if failure != nil {
				continue
			}
			in, err := b.aggregateInputs(i, &r.values)
			if err == nil {
				r.nodes[i].Start = time.Now()
				var out []byte
				out, err = r.retry(ctx, n, in)
				r.nodes[i].Duration = time.Since(r.nodes[i].Start)
				r.values.outputs[i] = out
			} else {
				err = r.nodeError(n, 0, err)
			}
			failure = r.end(finished{i, r.values.outputs[i], err}, nil, func(error) {})
		}
	}
	out := []byte{'{'}
	for i, n := range f.nodes {
		if !n.aggregate {
			continue
		}
		b.sum.AggregateNodes = append(b.sum.AggregateNodes, r.nodes[i])
		if r.nodes[i].Status == Succeeded {
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(append(out, fieldKey(n.name)...), r.values.outputs[i]...)
		}
	}
	b.sum.Aggregates = append(out, '}')
	return failure
}

// aggregateInputs builds the inputs of aggregate node i: lists of the
// per-line values, sorted by line, and single values of other aggregate
// nodes.
func (b *Batch) aggregateInputs(i int, rv *runValues) ([]byte, error) {
	n := b.f.nodes[i]
	dst := []byte{'{'}
	for j, af := range n.aggFields {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, af.key...)
		if !af.perLine {
			var err error
			if dst, err = af.val.append(dst, rv); err != nil {
				return nil, fmt.Errorf("input %q: %w", af.name, err)
			}
			continue
		}
		vals := b.agg[i][j]
		slices.SortFunc(vals, func(a, b lineValue) int { return a.line - b.line })
		dst = append(dst, '[')
		for k, lv := range vals {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, lv.v...)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}
