package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weirflow/weir/internal/inert"
)

// LineOptions adjust Flow.RunLine. The zero value runs the line under the
// flow's own run deadline.
type LineOptions struct {
	// BatchID is the id of the batch the line belongs to: the run is named
	// BatchID/line, as in a batch, and its span says weir.batch.id. A random
	// one when empty.
	BatchID string
	// Timeout bounds the line's run when positive, as
	// BatchOptions.LineTimeout does; otherwise the flow's run deadline
	// applies.
	Timeout time.Duration
	// NoCache makes the line neither read nor write the engine's Cache.
	NoCache bool
	// NodeValues says whether the line's nodes carry their inputs and
	// outputs: all, or only when the line failed.
	NodeValues NodeValues
}

// RunLine runs inputs as line `line` of a batch of this engine would run
// them, and returns the LineResult that batch would report: inputs are the
// line's mapped inputs, a JSON object that must not change until RunLine
// returns. The result is redacted; its Nodes are the per-line nodes
// (aggregate nodes left out, none when the inputs broke the flow's types);
// Aggregate holds the values the line gives the aggregate nodes; Err is a
// *LineError whose Kind says what failed. It is what a worker of a work
// pool sends back for BatchOptions.Remote.
//
// The error is not nil only when ctx ended before the line did: there is
// nothing to report, and the line should run again. It wraps the cause of
// ctx. A line that runs out of its own time (opts.Timeout, the flow's
// deadline) is a result, Failed, of Kind TimedOut.
//
// The run's span is a child of the span in ctx, with weir.batch.id and
// weir.batch.line: a worker puts there the span of the batch that sent the
// line. RunLine is safe for concurrent use.
func (f *Flow) RunLine(ctx context.Context, line int, inputs json.RawMessage, opts LineOptions) (LineResult, error) {
	if opts.BatchID == "" {
		opts.BatchID = newRunID()
	}
	lr, ok := f.runLine(ctx, line, inputs, opts, time.Now())
	if !ok {
		return LineResult{}, fmt.Errorf("run line %d: %w", line, context.Cause(ctx))
	}
	// It leaves this engine: redacted, as a batch's records are.
	lr.Aggregate = f.e.redactor.Bytes(lr.Aggregate)
	return lr, nil
}

// remote runs a line through BatchOptions.Remote. What comes back crossed
// a process boundary, maybe from another version of weir or of the flow: a
// result this engine cannot take fails the line with the reason, never
// panics. It returns false for a line Remote abandoned.
func (b *Batch) remote(ctx context.Context, line int, in []byte, start time.Time) (LineResult, bool) {
	lr, err := b.opts.Remote(ctx, line, in)
	if err != nil {
		if ctx.Err() != nil {
			return LineResult{}, false
		}
		lr = LineResult{Line: line, Status: Failed, Err: err, Duration: time.Since(start)}
	}
	if lr.Start.IsZero() {
		lr.Start = start
	}
	if err := b.take(line, &lr); err != nil {
		return LineResult{
			Line:     line,
			Status:   Failed,
			Err:      &LineError{Line: line, Kind: ToolFailed, Err: b.f.e.redactor.Error(inertError(err))},
			Start:    lr.Start,
			Duration: lr.Duration,
		}, true
	}
	return lr, true
}

// take checks a result Remote returned for line and makes it this
// engine's: its error a *LineError, its values redacted but for Aggregate,
// which the batch keeps before it redacts it. It returns why a result
// cannot be taken.
func (b *Batch) take(line int, lr *LineResult) error {
	f := b.f
	switch {
	case lr.Line != line:
		return fmt.Errorf("the worker's result is for line %d", lr.Line)
	case lr.Status != Succeeded && lr.Status != Failed:
		return fmt.Errorf("the worker's result has status %q: a line ends %s or %s", lr.Status, Succeeded, Failed)
	case lr.Status == Succeeded && lr.Err != nil:
		return fmt.Errorf("the worker's result succeeded with an error: %w", lr.Err)
	}
	var le *LineError
	if lr.Status == Failed {
		var ok bool
		if le, ok = lr.Err.(*LineError); !ok {
			le = &LineError{Kind: ToolFailed, Err: lr.Err}
		}
		if le == nil || le.Err == nil {
			return errors.New("the worker's result failed without an error")
		}
	}

	// Nodes are counted per index of the flow's per-line nodes.
	if n := len(lr.Nodes); n != len(f.lineNodes) && (n > 0 || lr.Status == Succeeded) {
		return fmt.Errorf("the worker's result has %d %s, the flow has %d per-line %s"+another,
			n, noun(n, "node"), len(f.lineNodes), noun(len(f.lineNodes), "node"))
	}
	for k, nr := range lr.Nodes {
		if want := f.nodes[f.lineNodes[k]].name; nr.Node != want {
			return fmt.Errorf("the worker's result has node %q where the flow has node %q"+another, nr.Node, want)
		}
	}

	// Values go to the run record as they are: they must be JSON.
	if lr.Inputs != nil && !validObject(lr.Inputs) {
		return errors.New("the worker's result has inputs that are not a JSON object")
	}
	if lr.Status == Succeeded {
		if !validObject(lr.Outputs) {
			return errors.New("the worker's result has outputs that are not a JSON object")
		}
		if !f.hasAggregate() {
			lr.Aggregate = nil
		} else {
			switch {
			case lr.Aggregate == nil:
				return errors.New("the worker's result has no aggregate values, the flow has aggregate nodes" + another)
			case !validObject(lr.Aggregate):
				return errors.New("the worker's result has aggregate values that are not a JSON object")
			}
			if err := f.eachAggValue(lr.Aggregate, func(int, int, []byte) {}); err != nil {
				return fmt.Errorf("the worker's result has aggregate values that do not read back: %w", err)
			}
		}
	} else {
		lr.Outputs, lr.Aggregate = nil, nil
	}

	red := f.e.redactor
	if le != nil {
		kind := le.Kind
		if int(kind) >= len(failureNames) {
			kind = UnknownFailure
		}
		lr.Err = &LineError{Line: line, Kind: kind, Err: red.Error(inertError(le.Err))}
	}
	lr.Inputs = red.Bytes(lr.Inputs)
	lr.Outputs = red.Bytes(lr.Outputs)
	for k := range lr.Nodes {
		// Named as this flow names them: a result may leave them out.
		nr, n := &lr.Nodes[k], f.nodes[f.lineNodes[k]]
		nr.Tool, nr.Plugin, nr.Kind = n.toolName, n.plugin, n.kind
		nr.Error = red.String(inert.Text(nr.Error, maxRemoteText))
		if nr.Inputs != nil && !validObject(nr.Inputs) || nr.Outputs != nil && !validObject(nr.Outputs) {
			return fmt.Errorf("the worker's result has values of node %q that are not JSON objects", nr.Node)
		}
		nr.Inputs, nr.Outputs = red.Bytes(nr.Inputs), red.Bytes(nr.Outputs)
		nr.Logs = remoteLogs(nr.Logs, red)
	}
	return nil
}

// remoteLogs bounds the log lines of a node a result from elsewhere
// brings, as this engine bounds its own, and makes their texts inert and
// redacted.
func remoteLogs(logs []LogLine, red *Redactor) []LogLine {
	if len(logs) > maxNodeLogLines+1 { // the last one counts those left out
		logs = logs[:maxNodeLogLines+1]
	}
	for i := range logs {
		l := &logs[i]
		l.Level = inert.Text(l.Level, 16)
		l.Message = red.String(inert.Text(l.Message, maxLogMessage))
		attrs := l.Attrs
		l.Attrs = nil
		if len(attrs) > maxLogAttrs {
			continue
		}
		for k, v := range attrs {
			if l.Attrs == nil {
				l.Attrs = make(map[string]string, len(attrs))
			}
			l.Attrs[inert.Text(k, maxLogMessage)] = red.String(inert.Text(v, maxLogMessage))
		}
	}
	return logs
}

// maxRemoteText bounds the error texts of a result from elsewhere. It is
// above what this engine's own can reach (maxErrorText of a tool's message,
// whose escapes take up to six bytes a character, with the nodes that name
// it), so that a well-formed result's texts pass as they are.
const maxRemoteText = 8 * maxErrorText

// inertError returns err, or when its message holds control characters or
// is too long, an error that wraps it with the message made inert (see
// errorText).
func inertError(err error) error {
	msg := err.Error()
	if text := inert.Text(msg, maxRemoteText); text != msg {
		return &redactedError{msg: text, err: err}
	}
	return err
}

// another ends the errors of a result that does not fit the flow.
const another = ": is the worker running another version of the flow?"

// validObject reports whether b is a well-formed JSON object.
func validObject(b []byte) bool { return isObject(b) && json.Valid(b) }

func noun(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}
