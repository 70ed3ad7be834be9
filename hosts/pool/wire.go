package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/plugins"
)

// What travels between submitters and workers: JSON bodies, and headers
// for what routes or traces them.

// Headers of the pool's messages.
const (
	hdrJob  = "Weir-Job"
	hdrLine = "Weir-Line"
)

// work is one line to run: the body of a message of the work stream.
type work struct {
	Job    string `json:"job"`
	Line   int    `json:"line"`
	Bundle string `json:"bundle"` // the bundle's digest
	// Inputs are the line's mapped inputs, as the batch made them.
	Inputs  json.RawMessage `json:"inputs"`
	Timeout time.Duration   `json:"timeout,omitempty"`
	NoCache bool            `json:"no_cache,omitempty"`
	// NodeValues says which lines send back their nodes' values.
	NodeValues engine.NodeValues `json:"node_values,omitempty"`
}

// nodeValues are what a node of a line got, returned and logged, when the
// batch keeps them: engine.NodeResult leaves them out of its JSON.
type nodeValues struct {
	Inputs  json.RawMessage  `json:"inputs,omitempty"`
	Outputs json.RawMessage  `json:"outputs,omitempty"`
	Logs    []engine.LogLine `json:"logs,omitempty"`
}

// outcome is a line's result: the body of a message of the results
// stream, an engine.LineResult with its error as text and kind.
type outcome struct {
	Line      int                 `json:"line"`
	Status    engine.Status       `json:"status"`
	Inputs    json.RawMessage     `json:"inputs,omitempty"`
	Outputs   json.RawMessage     `json:"outputs,omitempty"`
	Error     string              `json:"error,omitempty"`
	Kind      engine.FailureKind  `json:"kind,omitzero"`
	Nodes     []engine.NodeResult `json:"nodes,omitempty"`
	Start     time.Time           `json:"start"`
	Duration  time.Duration       `json:"duration"`
	Aggregate json.RawMessage     `json:"aggregate,omitempty"`
	// Worker is the id of the worker that ran the line; empty for a line
	// that no worker finished (a dead letter).
	Worker string `json:"worker,omitempty"`
	// Values are the nodes' values, in the order of Nodes, when the line
	// kept them (work.NodeValues).
	Values []nodeValues `json:"values,omitempty"`
}

func newOutcome(lr engine.LineResult, worker string) outcome {
	o := outcome{
		Line: lr.Line, Status: lr.Status, Inputs: lr.Inputs, Outputs: lr.Outputs, Nodes: lr.Nodes,
		Start: lr.Start, Duration: lr.Duration, Aggregate: lr.Aggregate, Worker: worker,
	}
	o.Values = valuesOf(lr.Nodes)
	if lr.Err != nil {
		o.Error, o.Kind = lr.Err.Error(), engine.ToolFailed
		var le *engine.LineError
		if errors.As(lr.Err, &le) {
			o.Error, o.Kind = le.Err.Error(), le.Kind
		}
	}
	return o
}

func (o outcome) lineResult() engine.LineResult {
	lr := engine.LineResult{
		Line: o.Line, Status: o.Status, Inputs: o.Inputs, Outputs: o.Outputs, Nodes: o.Nodes,
		Start: o.Start, Duration: o.Duration, Aggregate: o.Aggregate,
	}
	// The engine checks what is kept (engine.Flow.Batch with a Remote).
	setValues(lr.Nodes, o.Values)
	if o.Status != engine.Succeeded {
		lr.Err = &engine.LineError{Line: o.Line, Kind: o.Kind, Err: errors.New(o.Error)}
	}
	return lr
}

// runRequest is a single run asked of the pool's workers.
type runRequest struct {
	Bundle  string          `json:"bundle"`
	Flow    string          `json:"flow,omitempty"` // the flow to run, by name; the bundle's entry flow when empty
	Inputs  json.RawMessage `json:"inputs"`
	RunID   string          `json:"run_id,omitempty"`
	Timeout time.Duration   `json:"timeout,omitempty"`
	NoCache bool            `json:"no_cache,omitempty"`
	// NodeValues says whether the reply carries the run's values.
	NodeValues engine.NodeValues `json:"node_values,omitempty"`
}

// runReply is a worker's answer to a runRequest.
type runReply struct {
	Result *engine.Result `json:"result,omitempty"`
	Error  *runError      `json:"error,omitempty"`
	Worker string         `json:"worker"`
	// Inputs and Values are the run's inputs and its nodes' values, in
	// the order of Result.Nodes, when the run kept them: engine.Result
	// leaves them out of its JSON.
	Inputs json.RawMessage `json:"inputs,omitempty"`
	Values []nodeValues    `json:"values,omitempty"`
}

// newRunReply is the reply of a run that returned res and err.
func newRunReply(res *engine.Result, err error, worker string) runReply {
	r := runReply{Result: res, Error: newRunError(err), Worker: worker}
	if res != nil && res.Inputs != nil {
		r.Inputs, r.Values = res.Inputs, valuesOf(res.Nodes)
	}
	return r
}

// keepValues puts the values a reply carries into its Result: those that
// are JSON objects, for the values go to a run record as they are.
func (r *runReply) keepValues() {
	res := r.Result
	if res == nil || !validObject(r.Inputs) || r.Values != nil && len(r.Values) != len(res.Nodes) {
		return
	}
	for _, v := range r.Values {
		if v.Inputs != nil && !validObject(v.Inputs) || v.Outputs != nil && !validObject(v.Outputs) {
			return
		}
	}
	res.Inputs = r.Inputs
	setValues(res.Nodes, r.Values)
}

// valuesOf returns the values nodes kept, in their order, or nil when
// none kept any.
func valuesOf(nodes []engine.NodeResult) []nodeValues {
	var out []nodeValues
	for i, n := range nodes {
		if n.Inputs == nil && n.Outputs == nil && n.Logs == nil {
			continue
		}
		if out == nil {
			out = make([]nodeValues, len(nodes))
		}
		out[i] = nodeValues{n.Inputs, n.Outputs, n.Logs}
	}
	return out
}

// setValues puts values, as valuesOf made them, back into nodes; values
// that do not match the nodes are left out.
func setValues(nodes []engine.NodeResult, values []nodeValues) {
	if len(values) != len(nodes) {
		return
	}
	for i, v := range values {
		nodes[i].Inputs, nodes[i].Outputs, nodes[i].Logs = v.Inputs, v.Outputs, v.Logs
	}
}

// validObject reports whether b is a well-formed JSON object.
func validObject(b []byte) bool {
	return jsonscan.Type(b) == "object" && json.Valid(b)
}

// runError carries a run's error across, so that the caller gets back the
// engine's error types (and a server its status codes).
type runError struct {
	// Kind is "input", "node", "timeout", "canceled" or "other".
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// Flow and Err are an input error's; Node, Tool, Plugin, PluginKind,
	// Attempts and Err a node error's.
	Flow       string `json:"flow,omitempty"`
	Node       string `json:"node,omitempty"`
	Tool       string `json:"tool,omitempty"`
	Plugin     string `json:"plugin,omitempty"`
	PluginKind string `json:"plugin_kind,omitempty"`
	Attempts   int    `json:"attempts,omitempty"`
	Err        string `json:"err,omitempty"`
	// ErrKind and Exited are what a node's error said of itself
	// (plugins.KindOf, plugins.IsExited): a server answers by them.
	ErrKind plugins.Kind `json:"err_kind,omitempty"`
	Exited  bool         `json:"exited,omitempty"`
}

func newRunError(err error) *runError {
	if err == nil {
		return nil
	}
	re := &runError{Kind: "other", Message: err.Error()}
	var in *engine.InputError
	var ne *engine.NodeError
	switch {
	case errors.As(err, &in):
		re.Kind, re.Flow, re.Err = "input", in.Flow, in.Err.Error()
	case errors.Is(err, engine.ErrRunTimeout):
		re.Kind = "timeout"
	case errors.As(err, &ne):
		re.Kind, re.Node, re.Tool, re.Plugin, re.PluginKind, re.Attempts, re.Err = "node", ne.Node, ne.Tool, ne.Plugin, ne.Kind, ne.Attempts, ne.Err.Error()
		re.ErrKind, re.Exited = plugins.KindOf(ne.Err), plugins.IsExited(ne.Err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		re.Kind = "canceled"
	}
	return re
}

// textError is an error whose text crossed the wire.
type textError string

func (e textError) Error() string { return string(e) }

// err rebuilds the error: the engine's type for inputs, nodes and
// timeouts, with the worker's text.
func (re *runError) err() error {
	switch re.Kind {
	case "input":
		return &engine.InputError{Flow: re.Flow, Err: textError(re.Err)}
	case "node":
		err := plugins.WithKind(re.ErrKind, textError(re.Err))
		if re.Exited {
			err = plugins.Exited(err)
		}
		return &engine.NodeError{Node: re.Node, Tool: re.Tool, Plugin: re.Plugin, Kind: re.PluginKind, Attempts: re.Attempts, Err: err}
	case "timeout":
		return &wrapped{msg: re.Message, err: engine.ErrRunTimeout}
	case "canceled":
		return &wrapped{msg: re.Message, err: context.DeadlineExceeded}
	}
	return textError(re.Message)
}

// wrapped is an error with the worker's text that still matches the
// sentinel it wrapped there.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// traceContext is the W3C trace context format the pool's messages carry,
// as HTTP requests do.
var traceContext = propagation.TraceContext{}

// inject puts ctx's trace context into a message's headers.
func inject(ctx context.Context, h nats.Header) {
	traceContext.Inject(ctx, propagation.HeaderCarrier(http.Header(h)))
}

// extract returns ctx with the trace context of a message's headers.
func extract(ctx context.Context, h nats.Header) context.Context {
	return traceContext.Extract(ctx, propagation.HeaderCarrier(http.Header(h)))
}

// lineOf reads a work message's line number from its headers.
func lineOf(h nats.Header) (string, int, error) {
	line, err := strconv.Atoi(h.Get(hdrLine))
	if err != nil || line < 1 || !namePattern.MatchString(h.Get(hdrJob)) {
		return "", 0, fmt.Errorf("a work message without %s and %s headers", hdrJob, hdrLine)
	}
	return h.Get(hdrJob), line, nil
}
