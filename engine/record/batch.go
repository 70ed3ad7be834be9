package record

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weirflow/weir/engine"
)

// flushEvery is how often a recorded batch flushes its run: the files on
// disk and the counts in the index are at most that far behind.
const flushEvery = time.Second

// Batch is a batch of the engine running into a new run of the record,
// from StartBatch to Wait: what weir batch does, and what anything else
// that runs batches into a record (a server, a work pool) reuses.
//
// Wait must be called once; ID, Dir and Carried may be called at any time,
// from any goroutine.
type Batch struct {
	b       *engine.Batch
	run     *Run
	cancel  context.CancelFunc
	carried int
}

// StartBatch starts flow f over src, as engine.Flow.Batch does with opts,
// and a run of the record that keeps it, created with m (see Create). It
// fills in m.ID when empty (NewID), and m.Flow, m.FlowFiles, m.Map,
// m.Concurrency and m.LineTimeout from f and opts; opts.RunID is m.ID.
//
// When m.BaseRun names a run and opts.Run is nil, the mapping's
// ${run.outputs.x} and ${run.inputs.x} read that run's lines (BaseRun);
// an error reading it is returned as it is.
//
// When m.ResumedFrom names a run, the lines that run and the runs it
// resumes completed (Completed) are not run again: opts.Resume must be
// nil, StartBatch sets it, and the run's log says how many lines were
// carried over. Errors reading them are "resume: ...".
//
// Nodes' inputs and outputs are recorded as opts.NodeValues says; left
// zero, those of the lines that failed (engine.FailedNodeValues), so that
// the record shows why they did.
//
// A batch that cannot start leaves nothing behind: the run is created
// once the engine accepted the batch, and a batch whose run cannot be
// created is stopped. The engine's refusal is "batch DATA: ...", DATA
// being m.Data. Canceling ctx stops the batch: Wait then finishes the run
// as canceled, and a later batch may resume it.
func (s *Store) StartBatch(ctx context.Context, f *engine.Flow, src engine.Source, m Meta, opts engine.BatchOptions) (*Batch, error) {
	if m.ID == "" {
		m.ID = NewID(f.Name(), time.Now())
	}
	m.Flow, m.FlowFiles = f.Name(), f.Files()
	m.Map, m.Concurrency, m.LineTimeout = opts.Map, opts.Concurrency, opts.LineTimeout
	opts.RunID = m.ID
	if opts.NodeValues == engine.NoNodeValues {
		opts.NodeValues = engine.FailedNodeValues
	}
	if m.BaseRun != "" && opts.Run == nil {
		var err error
		if opts.Run, err = s.BaseRun(m.BaseRun); err != nil {
			return nil, err
		}
	}
	rb := &Batch{}
	if m.ResumedFrom != "" {
		if opts.Resume != nil {
			return nil, errors.New("start batch: both Meta.ResumedFrom and BatchOptions.Resume are set; set ResumedFrom alone")
		}
		done, err := s.Completed(m.ResumedFrom)
		if err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		// The engine ranges over them before Batch returns.
		opts.Resume = func(yield func(engine.LineResult) bool) {
			for lr := range done {
				rb.carried++
				if !yield(lr) {
					return
				}
			}
		}
	}
	ctx, rb.cancel = context.WithCancel(ctx)
	var err error
	if rb.b, err = f.Batch(ctx, src, opts); err != nil {
		rb.cancel()
		return nil, fmt.Errorf("batch %s: %w", m.Data, err)
	}
	if rb.run, err = s.Create(m); err != nil {
		rb.cancel()
		_, _ = rb.b.Wait()
		return nil, err
	}
	if m.ResumedFrom != "" {
		rb.run.Logf("resumes run %s: %d lines carried over", m.ResumedFrom, rb.carried)
	}
	return rb, nil
}

// ID returns the run's id.
func (b *Batch) ID() string { return b.run.ID() }

// Dir returns the run's folder.
func (b *Batch) Dir() string { return b.run.Dir() }

// Carried returns the number of lines carried over from the runs resumed.
func (b *Batch) Carried() int { return b.carried }

// Wait writes each line to the run as it ends, calling onLine (when not
// nil) with it first, flushes the run every second, and finishes it when
// the batch ends. It returns what engine.Batch.Wait returns: the summary,
// and the error that stopped the batch. A line the record cannot take
// stops the batch, which then fails with "write the run record: ...";
// a run that cannot be finished adds "finish the run record: ..." to the
// error. Either way the run is left resumable.
func (b *Batch) Wait(onLine func(engine.LineResult)) (*engine.BatchSummary, error) {
	defer b.cancel()
	var writeErr error
	lastFlush := time.Now()
	for lr := range b.b.Lines() {
		if onLine != nil {
			onLine(lr)
		}
		if writeErr != nil {
			continue
		}
		if writeErr = b.run.Write(lr); writeErr != nil {
			// The record cannot take more: stop, and keep what it has.
			b.run.Logf("write the record: %v", writeErr)
			b.cancel()
			continue
		}
		if time.Since(lastFlush) >= flushEvery {
			lastFlush = time.Now()
			if writeErr = b.run.Flush(); writeErr != nil {
				b.cancel()
			}
		}
	}
	sum, err := b.b.Wait()
	if writeErr != nil {
		err = fmt.Errorf("write the run record: %w", writeErr)
		sum.Status, sum.Error = engine.Failed, err.Error()
	}
	if ferr := b.run.Finish(sum, err); ferr != nil {
		err = errors.Join(err, fmt.Errorf("finish the run record: %w", ferr))
	}
	return sum, err
}
