package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/engine/internal/hist"
	"github.com/weirflow/weir/engine/internal/lineset"
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
	// Run gives a mapping's ${run.outputs.x} and ${run.inputs.x}, the
	// outputs and inputs of the same line in an earlier run (prompt flow's
	// --run): called with a line's number, on the lines of a mapping that
	// reads them, it returns the JSON object {"outputs": {...}, "inputs":
	// {...}} of that line. An error fails the line alone, as BadInput, with
	// its text. A mapping that reads ${run...} without Run is an error of
	// Batch. Run is called from up to Concurrency goroutines at once.
	Run func(line int) (json.RawMessage, error)
	// Resume lists the lines an earlier batch over the same dataset
	// completed: they are not run again, and their Aggregate values count
	// for the aggregate nodes. Only Line and Aggregate are read.
	Resume iter.Seq[LineResult]
	// MaxFailures stops the batch once that many lines have failed; lines in
	// flight are canceled and lines not reached are left for a resume. Zero
	// never stops.
	MaxFailures int
	// NoCache makes the lines neither read nor write the engine's Cache.
	NoCache bool
	// NodeValues says which lines' nodes carry their inputs and outputs:
	// all, or those of the lines that failed. Lines run through Remote
	// carry what the worker sends.
	NodeValues NodeValues
	// Remote, when set, runs each line somewhere else in place of this
	// engine: on a work pool's workers, which call Flow.RunLine. The batch
	// reads and maps each line as usual (a line that cannot be read or
	// mapped fails here, as BadInput), calls Remote with the line's number
	// and its mapped inputs, a JSON object, and takes the LineResult it
	// returns as its own: counts, latencies, node stats, Lines, and the
	// values of the aggregate nodes, which still run here, over all lines,
	// at the end. A result this engine cannot take (for another line, with
	// other nodes, values that do not read back) fails its line with the
	// reason; see the package doc.
	//
	// Remote is called from up to Concurrency goroutines at once, and the
	// batch owns the LineResult it returns. It returns an error when it
	// abandoned the line because ctx ended: the line is then not reported,
	// as a canceled line that ran here, and a resume runs it. An error
	// while ctx is live fails the line with it.
	Remote func(ctx context.Context, line int, inputs json.RawMessage) (LineResult, error)
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
	// Metrics is prompt flow's metrics.json (SPEC §2.7): one flat object,
	// the union of the "metrics" objects of the aggregate nodes' outputs
	// (where a Python tool's log_metric calls land), nodes in flow order,
	// the last write of a key winning. Nil when no aggregate node has one.
	Metrics json.RawMessage
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
	// Cached counts the runs that succeeded with outputs from the node
	// result cache, without calling the tool.
	Cached int
	// Latency is over the runs that succeeded or failed.
	Latency Latency
	// InputTokens and OutputTokens add up the usage the node's tool
	// reported over the lines (see NodeResult.Usage).
	InputTokens, OutputTokens int64
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
	f    *Flow
	id   string
	opts BatchOptions
	// lineOpts are the options of each line's run.
	lineOpts LineOptions
	input    []mapInput
	readsRun bool // the mapping reads ${run...}
	skip     lineset.Set
	lines    chan LineResult
	done     chan struct{}
	span     trace.Span

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
	cached                           int
	lat                              hist.Hist
	in, out                          int64 // tokens
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
	b.lineOpts = LineOptions{BatchID: b.id, Timeout: opts.LineTimeout, NoCache: opts.NoCache, NodeValues: opts.NodeValues}
	b.nodes = make([]nodeHist, len(f.lineNodes))
	if b.opts.Concurrency <= 0 {
		b.opts.Concurrency = 8
	}
	b.lines = make(chan LineResult, b.opts.Concurrency)
	var err error
	if b.input, err = f.compileMap(opts.Map, opts.Run != nil); err != nil {
		return nil, err
	}
	for _, in := range b.input {
		if in.tmpl != nil {
			in.tmpl.walk(func(s *selector) { b.readsRun = b.readsRun || s.node == runNode })
		}
	}
	b.agg = make([][][]lineValue, len(f.nodes))
	for i, n := range f.nodes {
		b.agg[i] = make([][]lineValue, len(n.aggFields))
	}
	if err := b.carry(opts.Resume); err != nil {
		return nil, err
	}
	next, stop := iter.Pull2(src)
	head, err := b.peek(next)
	if err != nil {
		stop()
		return nil, err
	}

	b.sum = BatchSummary{RunID: b.id, Flow: f.name, Start: time.Now(), Carried: b.sum.Carried}
	ctx, b.cancel = context.WithCancelCause(ctx)
	if t := f.e.tracer; t != nil {
		ctx, b.span = t.Start(ctx, "batch "+f.name, trace.WithAttributes(
			attrFlowName.String(f.name),
			attrBatchID.String(b.id),
		))
	}
	go b.run(ctx, head, next, stop)
	return b, nil
}

// carry counts the lines an earlier batch completed and keeps their
// aggregate values; the batch skips them.
func (b *Batch) carry(done iter.Seq[LineResult]) error {
	if done == nil {
		return nil
	}
	for lr := range done {
		b.skip.Add(lr.Line)
		b.sum.Carried++
		if err := b.addAggregate(lr.Line, lr.Aggregate); err != nil {
			return fmt.Errorf("resume: line %d: %w", lr.Line, err)
		}
	}
	return nil
}

// peek reads the source up to its first readable record, which checks the
// mapping's columns, and returns what it read, to run first. A source with
// no record is ErrEmptyDataset.
func (b *Batch) peek(next func() (Record, error, bool)) ([]pulled, error) {
	var head []pulled
	for len(head) < maxPeek {
		rec, err, ok := next()
		if !ok {
			break
		}
		var le *LineError
		if err != nil && !errors.As(err, &le) {
			return nil, err
		}
		head = append(head, pulled{rec, err})
		if err == nil {
			if err := b.checkColumns(rec); err != nil {
				return nil, err
			}
			break
		}
	}
	if len(head) == 0 {
		return nil, ErrEmptyDataset
	}
	return head, nil
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

// finish fills in the summary once the lines and aggregate nodes are done.
// b.mu is held.
func (b *Batch) finish(err error) {
	s := &b.sum
	s.Duration = time.Since(s.Start)
	s.Latency = latency(&b.lat)
	for k, i := range b.f.lineNodes {
		s.Nodes = append(s.Nodes, b.nodes[k].stats(b.f.nodes[i].name))
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
		err = b.f.e.redactor.Error(err)
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
		endSpan(b.span, err)
	}
	b.cancel(nil)
}

func latency(h *hist.Hist) Latency {
	return Latency{P50: h.Quantile(0.5), P95: h.Quantile(0.95), P99: h.Quantile(0.99), Max: h.Max()}
}
