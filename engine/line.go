package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/weirflow/weir/engine/internal/hist"
	"go.opentelemetry.io/otel/attribute"
)

// LineResult is what one line of a batch produced.
type LineResult struct {
	// Line is the record's number in the dataset (see Record).
	Line   int    `json:"line"`
	Status Status `json:"status"` // Succeeded or Failed
	// Inputs are the flow inputs the line ran with, defaults applied; nil
	// when they could not be built.
	Inputs  json.RawMessage `json:"inputs,omitempty"`
	Outputs json.RawMessage `json:"outputs,omitempty"`
	// Err is why the line failed, a *LineError; nil when it succeeded. It
	// encodes to JSON as its text.
	Err error `json:"error,omitempty"`
	// Nodes are the line's nodes, aggregate nodes left out.
	Nodes    []NodeResult  `json:"nodes,omitempty"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration"`
	// TraceID is the trace of the line's run, in hex, when the engine
	// traces: the batch's trace.
	TraceID string `json:"trace_id,omitempty"`
	// Aggregate holds what a succeeded line gives the aggregate nodes,
	// {"node": {"input": value}}; nil when the flow has none. Keep it to
	// resume the batch later.
	Aggregate json.RawMessage `json:"aggregate,omitempty"`
}

// line runs one record, here or through BatchOptions.Remote. It returns
// false for a line the batch abandoned because it was stopped.
func (b *Batch) line(ctx context.Context, p pulled) (LineResult, bool) {
	lr := LineResult{Line: p.rec.Line, Status: Failed, Start: time.Now()}
	var le *LineError
	if errors.As(p.err, &le) {
		lr.Line, lr.Err = le.Line, &LineError{Line: le.Line, Kind: BadInput, Err: le.Err}
		b.account(&lr, false)
		return lr, true
	}
	in, err := b.inputs(p.rec)
	if err != nil {
		lr.Err = &LineError{Line: lr.Line, Kind: BadInput, Err: err}
		lr.Duration = time.Since(lr.Start)
		b.account(&lr, false)
		return lr, true
	}
	var ok bool
	if b.opts.Remote != nil {
		lr, ok = b.remote(ctx, lr.Line, in, lr.Start)
	} else {
		lr, ok = b.f.runLine(ctx, lr.Line, in, b.lineOpts, lr.Start)
	}
	if !ok {
		return lr, false
	}
	b.account(&lr, true)
	// Kept for a resume, so written to records: redacted once used.
	lr.Aggregate = b.f.e.redactor.Bytes(lr.Aggregate)
	return lr, true
}

// runLine runs a line's inputs here. What it returns is redacted but for
// Aggregate, which a batch uses as it is before it redacts it. It returns
// false when ctx ended before the line did.
func (f *Flow) runLine(ctx context.Context, line int, in json.RawMessage, opts LineOptions, start time.Time) (LineResult, bool) {
	lr := LineResult{Line: line, Status: Failed, Start: start}
	var attrs []attribute.KeyValue
	if f.e.tracer != nil {
		attrs = []attribute.KeyValue{
			attrBatchID.String(opts.BatchID),
			attrBatchLine.Int(line),
		}
	}
	r, err := f.run(ctx, in, RunOptions{
		RunID:      opts.BatchID + "/" + strconv.Itoa(line),
		Timeout:    opts.Timeout,
		NoCache:    opts.NoCache,
		NodeValues: opts.NodeValues,
	}, attrs)
	if err != nil && ctx.Err() != nil {
		return lr, false
	}
	lr.TraceID = r.res.TraceID
	lr.Duration = r.res.Duration
	lr.Inputs = r.values.inputs
	var inErr *InputError
	started := !errors.As(err, &inErr)
	if err == nil {
		lr.Aggregate, err = f.lineAggregate(&r.values)
	}
	r.keepValues(err != nil)
	lr.Nodes = r.res.Nodes
	if !started {
		lr.Nodes = nil // none started
	} else if f.hasAggregate() {
		lr.Nodes = make([]NodeResult, len(f.lineNodes))
		for k, i := range f.lineNodes {
			lr.Nodes[k] = r.res.Nodes[i]
		}
	}
	red := f.e.redactor
	lr.Inputs = red.Bytes(lr.Inputs)
	if err != nil {
		lr.Err = failure(lr.Line, red.Error(err))
		lr.Aggregate = nil
	} else {
		lr.Status = Succeeded
		lr.Outputs = red.Bytes(r.res.Outputs)
	}
	return lr, true
}

// account counts a line in the summary, its latency if it ran, keeps its
// aggregate values, and stops the batch once it has failed MaxFailures
// lines.
func (b *Batch) account(lr *LineResult, ran bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if lr.Aggregate != nil {
		if err := b.addAggregate(lr.Line, lr.Aggregate); err != nil {
			panic("engine: a line's own aggregate values do not read back: " + err.Error())
		}
	}
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
		b.nodes[i].add(nr)
	}
}

// add counts what a node did in one line.
func (h *nodeHist) add(nr NodeResult) {
	if nr.Usage != nil {
		h.in += nr.Usage.InputTokens
		h.out += nr.Usage.OutputTokens
	}
	switch nr.Status {
	case Succeeded:
		h.runs++
		if nr.Cached {
			h.cached++
		}
	case Failed:
		h.runs++
		h.failed++
	case Bypassed:
		h.bypassed++
		return
	default:
		h.canceled++
		return
	}
	h.lat.Add(nr.Duration)
}

// stats returns what node name did over the lines counted.
func (h *nodeHist) stats(name string) NodeStats {
	return NodeStats{Node: name, Runs: h.runs, Failed: h.failed, Bypassed: h.bypassed, Canceled: h.canceled, Cached: h.cached,
		Latency: latency(&h.lat), InputTokens: h.in, OutputTokens: h.out}
}

// Tally adds up lines into the counts, latency and node statistics of a
// BatchSummary, as a batch does: for lines that ran one at a time, outside
// any batch (Result.Line), kept together as the lines of one run record.
// Lines are matched to nodes by their names. The zero value is ready to
// use; a Tally is not safe for concurrent use.
type Tally struct {
	succeeded, failed int
	lat               hist.Hist
	names             []string
	nodes             []nodeHist
}

// Add counts line lr.
func (t *Tally) Add(lr LineResult) {
	if lr.Status == Succeeded {
		t.succeeded++
	} else {
		t.failed++
	}
	t.lat.Add(lr.Duration)
	for _, nr := range lr.Nodes {
		i := slices.Index(t.names, nr.Node)
		if i < 0 {
			i = len(t.names)
			t.names = append(t.names, nr.Node)
			t.nodes = append(t.nodes, nodeHist{})
		}
		t.nodes[i].add(nr)
	}
}

// Summary returns a summary with the counts, latency and node statistics
// of the lines added, nodes in the order they first appeared; the rest is
// the caller's to fill.
func (t *Tally) Summary() BatchSummary {
	s := BatchSummary{Succeeded: t.succeeded, Failed: t.failed, Latency: latency(&t.lat)}
	for i := range t.nodes {
		s.Nodes = append(s.Nodes, t.nodes[i].stats(t.names[i]))
	}
	return s
}
