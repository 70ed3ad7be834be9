package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weirflow/weir/internal/inert"

	"github.com/weirflow/weir/plugins"
)

// Status is the state a node or a run ended in.
type Status string

const (
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	// Bypassed nodes did not run: their when condition was false or read
	// a bypassed node, or, for a node without when, every node it
	// references was bypassed. References to them yield null, but an input
	// that is one such reference is left out when the tool declares it
	// and does not require it.
	Bypassed Status = "bypassed"
	// Canceled nodes were stopped, or never started, because the run was
	// canceled, timed out or another node failed.
	Canceled Status = "canceled"
	// Completed batches read every line of their dataset and ran it; some
	// lines may have failed, which the batch's counts say.
	Completed Status = "completed"
	// Queued and Running are the states of a batch in a run record before
	// it ends.
	Queued  Status = "queued"
	Running Status = "running"
)

// Result is what a run produced.
type Result struct {
	RunID  string `json:"run_id"`
	Flow   string `json:"flow"`
	Status Status `json:"status"`
	// Inputs are the flow inputs the run got, defaults applied, redacted;
	// nil unless the run kept its nodes' values (RunOptions.NodeValues).
	// Like the nodes' values, they are for a run record and left out of
	// the JSON form, which servers answer with.
	Inputs   json.RawMessage `json:"-"`
	Outputs  json.RawMessage `json:"outputs,omitempty"`
	Nodes    []NodeResult    `json:"nodes"`
	Start    time.Time       `json:"start"`
	Duration time.Duration   `json:"duration"`
	// TraceID is the run's trace, in hex, when the engine traces; "" when
	// it does not.
	TraceID string `json:"trace_id,omitempty"`
	// Subflows are the runs of the sub-flow nodes that ran, by node (the
	// run of a node's last attempt); nil when none ran.
	Subflows map[string]*Result `json:"subflows,omitempty"`
}

// Line returns the run as line n of a batch would report it, err being
// what RunWith returned with res: for a run record that keeps runs made
// one at a time (weir run --record, the requests a server serves) as
// lines. Its Inputs are the Result's, and its Nodes all the flow's,
// aggregate nodes included (bypassed in a run), or none when the inputs
// broke the flow's types, as in a batch.
func (res *Result) Line(n int, err error) LineResult {
	lr := LineResult{Line: n, Status: Succeeded, Inputs: res.Inputs, Nodes: res.Nodes,
		Start: res.Start, Duration: res.Duration, TraceID: res.TraceID}
	var inErr *InputError
	if errors.As(err, &inErr) {
		lr.Nodes = nil // none started
	}
	if err != nil {
		lr.Status, lr.Err = Failed, failure(n, err)
	} else {
		lr.Outputs = res.Outputs
	}
	return lr
}

// NodeResult is what happened to one node of a run.
type NodeResult struct {
	Node     string        `json:"node"`
	Tool     string        `json:"tool"`
	Plugin   string        `json:"plugin"`
	Kind     string        `json:"kind"`
	Status   Status        `json:"status"`
	Attempts int           `json:"attempts"`
	Start    time.Time     `json:"start,omitzero"`
	Duration time.Duration `json:"duration"`
	Error    string        `json:"error,omitempty"`
	// Cached is set when the outputs came from the node result cache: the
	// tool was not called, and Attempts is 0.
	Cached bool `json:"cached,omitempty"`
	// Usage is what the node's tool reported its calls cost, over its
	// attempts (see plugins.ReportUsage): the tokens of an LLM call.
	Usage *plugins.Usage `json:"usage,omitempty"`
	// Inputs is the JSON object the node's tool got, and Outputs the one
	// it returned, both redacted; nil unless the run kept them (see
	// NodeValues), and for a node that did not get that far. They are for
	// a run record: the JSON form, which servers answer with, leaves them
	// out.
	Inputs  json.RawMessage `json:"-"`
	Outputs json.RawMessage `json:"-"`
	// Logs are the lines the node's tool logged, redacted, kept as its
	// values are, when the tool's plugin logs through CaptureNodeLogs.
	Logs []LogLine `json:"-"`
}

// NodeValues says which runs keep each node's inputs and outputs in their
// NodeResults, for a run record to show: the values of every node stay in
// memory until the run returns. The zero value keeps none.
type NodeValues uint8

const (
	NoNodeValues     NodeValues = iota
	FailedNodeValues            // runs, and lines of a batch, that failed
	AllNodeValues
)

// NodeError is the error of a run that failed because one of its nodes did.
// It names the node, its tool and the tool's plugin.
type NodeError struct {
	Node     string
	Tool     string
	Plugin   string
	Kind     string // the plugin kind: builtin, wasm, goplugin, native, flow
	Attempts int
	Err      error
}

func (e *NodeError) Error() string {
	attempts := ""
	if e.Attempts > 1 {
		attempts = fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return fmt.Sprintf("node %q (tool %s, plugin %s): %s%s", e.Node, e.Tool, e.Plugin, errorText(e.Err), attempts)
}

// maxErrorText bounds the message of a tool's error wherever the engine
// shows it, whatever the plugin kind.
const maxErrorText = 8 << 10

// errorText is an error's message as the engine shows it: bounded, and
// with the control characters a plugin put in it escaped (see inert).
func errorText(err error) string { return inert.Text(err.Error(), maxErrorText) }

func (e *NodeError) Unwrap() error { return e.Err }

// InputError is returned by Run when the inputs break the flow's input types.
type InputError struct {
	Flow string
	Err  error
}

func (e *InputError) Error() string { return fmt.Sprintf("flow %q: invalid inputs: %v", e.Flow, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// ErrRunTimeout is wrapped by the error of a run that hit its deadline.
var ErrRunTimeout = errors.New("run timed out")

func runTimeout(d time.Duration) error { return fmt.Errorf("%w after %s", ErrRunTimeout, d) }

// timeoutError is the error of an attempt that ran out of time.
func timeoutError(d time.Duration) error {
	return plugins.Errorf(plugins.Timeout, "timed out after %s", d)
}
