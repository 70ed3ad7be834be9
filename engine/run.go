package engine

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/engine/internal/jsoncheck"
	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/internal/jsonschema"
	"github.com/weirflow/weir/internal/schemas"
	"github.com/weirflow/weir/plugins"
)

// RunOptions adjust one run. The zero value is a plain run.
type RunOptions struct {
	// RunID names the run in results and traces; a random one when empty.
	RunID string
	// Timeout overrides the flow's run deadline when positive.
	Timeout time.Duration
	// OnNode, when set, is called as each node ends (succeeded, failed,
	// bypassed or canceled), one call at a time, in the order they end, on
	// the goroutine that ran the node, which may not be Run's. The nodes
	// it unblocks start once it returns.
	OnNode func(NodeResult)
	// NoCache makes the run, and its sub-flows, neither read nor write the
	// engine's Cache.
	NoCache bool
	// NodeValues says whether the Result's nodes carry their inputs and
	// outputs: all, or only when the run failed.
	NodeValues NodeValues
	// Stream, when set, streams the flow's StreamOutput, if it has one:
	// Stream is called with each chunk of its text as the node's tool
	// makes it, from the goroutine that runs the node, one call at a time.
	// The chunks add up to the output, which the Result holds whole too.
	Stream func(output, chunk string)
	// StreamHead, when set with Stream, is called once before the first
	// chunk with a JSON object of the flow's other outputs, as soon as the
	// nodes they use have ended: a client reads them before the text
	// streams. Chunks made before then wait for it. A run that fails
	// before those nodes end does not call it.
	StreamHead func(outputs []byte)
}

// Run runs the flow once on inputs: a map or struct that encodes to a JSON
// object, or the JSON object itself as []byte or json.RawMessage, which the
// run reads as it goes and so must not change until Run returns.
//
// The Result is always returned, with every node's status, even when the
// error is not nil. The error is an *InputError for inputs that break the
// flow's types, a *NodeError naming the node that failed, or wraps
// ErrRunTimeout or the context's error.
func (f *Flow) Run(ctx context.Context, inputs any) (*Result, error) {
	return f.RunWith(ctx, inputs, RunOptions{})
}

// RunWith is Run with options.
//
// What the run returns is redacted: a secret's value in the outputs or an
// error reads "***" (see Redactor).
func (f *Flow) RunWith(ctx context.Context, inputs any, opts RunOptions) (*Result, error) {
	r, err := f.run(ctx, inputs, opts, nil)
	r.keepValues(err != nil)
	f.e.redactor.result(r.res)
	return r.res, f.e.redactor.Error(err)
}

// run runs the flow and returns its state, values included; attrs are added
// to the run's span.
func (f *Flow) run(ctx context.Context, inputs any, opts RunOptions, attrs []attribute.KeyValue) (*run, error) {
	r := &run{
		f:      f,
		opts:   opts,
		nodes:  make([]NodeResult, len(f.nodes)),
		values: runValues{outputs: make([][]byte, len(f.nodes))},
		res:    &Result{RunID: opts.RunID, Flow: f.name, Start: time.Now()},
	}
	if r.res.RunID == "" {
		r.res.RunID = newRunID()
	}
	for i, n := range f.nodes {
		r.nodes[i] = NodeResult{Node: n.name, Tool: n.toolName, Plugin: n.plugin, Kind: n.kind, Status: Canceled}
	}
	if opts.NodeValues != NoNodeValues {
		r.nodeInputs = make([][]byte, len(f.nodes))
		r.nodeLogs = make([]nodeLog, len(f.nodes))
	}
	timeout := f.timeout
	if opts.Timeout > 0 {
		timeout = opts.Timeout
	}
	cause := f.timeoutCause
	if timeout != f.timeout {
		cause = runTimeout(timeout)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, cause)
	defer cancel()
	ctx = r.useCache(ctx)

	var span trace.Span
	if t := f.e.tracer; t != nil {
		ctx, span = t.Start(ctx, "run "+f.name, trace.WithAttributes(
			attrFlowName.String(f.name),
			attrRunID.String(r.res.RunID),
		), trace.WithAttributes(attrs...))
	}
	err := r.start(ctx, inputs)
	r.res.Nodes = r.nodes
	r.res.Duration = time.Since(r.res.Start)
	r.res.Status = Succeeded
	if err != nil {
		r.res.Status = Failed
		if errors.Is(err, context.Canceled) {
			r.res.Status = Canceled
		}
	}
	if span != nil {
		if sc := span.SpanContext(); sc.HasTraceID() {
			r.res.TraceID = sc.TraceID().String()
		}
		span.SetAttributes(attrRunStatus.String(string(r.res.Status)))
		endSpan(span, err)
	}
	return r, err
}

// keepValues puts each node's inputs and outputs, redacted, in its
// NodeResult, and the run's inputs in its Result, when the run's options
// ask for them, failed saying whether the run failed. Call it once the
// run is over.
func (r *run) keepValues(failed bool) {
	if r.nodeInputs == nil || r.opts.NodeValues == FailedNodeValues && !failed {
		return
	}
	red := r.f.e.redactor
	r.res.Inputs = red.Bytes(r.values.inputs)
	for i := range r.nodes {
		r.nodes[i].Inputs = red.Bytes(r.nodeInputs[i])
		r.nodes[i].Outputs = red.Bytes(r.values.outputs[i])
		r.nodes[i].Logs = r.nodeLogs[i].result(red)
	}
}

func newRunID() string {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// run is the state of one run of a flow.
type run struct {
	f      *Flow
	opts   RunOptions
	nodes  []NodeResult
	values runValues
	// nodeInputs are the nodes' inputs, by node, while the run keeps them
	// (RunOptions.NodeValues); nil otherwise.
	nodeInputs [][]byte
	// nodeLogs gather the lines the nodes' tools log, alike.
	nodeLogs []nodeLog
	res      *Result
	mu       sync.Mutex // guards res.Subflows
	sched    sched
	cache    Cache // nil when the run does not cache
	// streamed is set when an attempt of the streaming node failed after
	// it sent chunks: it is not retried.
	streamed bool
	head     *streamHead // nil unless RunOptions.StreamHead is set
}

// finished is a node's outcome.
type finished struct {
	index int
	out   []byte
	err   error
}

func (r *run) start(ctx context.Context, inputs any) error {
	in, err := r.f.checkInputs(inputs)
	if err != nil {
		return err
	}
	r.values.inputs = in
	r.startHead()
	if err := r.schedule(ctx); err != nil {
		return err
	}
	out, err := r.f.outputs.append(make([]byte, 0, r.f.outputs.size(&r.values)), &r.values)
	if err != nil {
		return fmt.Errorf("flow %q: outputs: %w", r.f.name, err)
	}
	r.res.Outputs = out
	return nil
}

// checkInputs validates the inputs against the flow's types, applies the
// defaults, and returns them encoded.
func (f *Flow) checkInputs(inputs any) ([]byte, error) {
	var raw []byte
	switch v := inputs.(type) {
	case nil:
		raw = []byte("{}")
	case []byte:
		raw = v
	case json.RawMessage:
		raw = v
	default:
		var err error
		if raw, err = jsonscan.Marshal(v); err != nil {
			return nil, &InputError{Flow: f.name, Err: err}
		}
	}
	out, err := f.inputs.Check(raw)
	if errors.Is(err, jsonschema.ErrNotObject) {
		err = errors.New("inputs must be a JSON object")
	}
	if err != nil {
		return nil, &InputError{Flow: f.name, Err: err}
	}
	return out, nil
}

// sched is a run's scheduling state, shared by the goroutines that run its
// nodes, under mu.
type sched struct {
	mu       sync.Mutex
	pending  []int // per node, how many of the nodes it uses have not ended
	ready    []int
	inflight int
	left     int
	failure  error
	cancel   context.CancelCauseFunc
	// over gets a value when the run is over, from the goroutine that ended
	// it, unless that is Run's own.
	over chan struct{}
}

// schedule runs the nodes: each starts as soon as every node it references
// has finished, at most concurrency at a time. The first node to fail
// cancels the others. No goroutine schedules: the one that ends a node
// starts the nodes it unblocked on workers and runs one of them itself, so
// a chain runs on one goroutine, and the nodes of a fan-out hand nothing
// back to a scheduler.
func (r *run) schedule(ctx context.Context) error {
	f := r.f
	s := &r.sched
	s.pending = make([]int, len(f.nodes))
	s.ready = make([]int, 0, len(f.nodes))
	for i, n := range f.nodes {
		s.pending[i] = len(n.deps)
		if s.pending[i] == 0 {
			s.ready = append(s.ready, i)
		}
	}
	s.left = len(f.nodes)
	ctx, s.cancel = context.WithCancelCause(ctx)
	defer s.cancel(nil)
	s.mu.Lock()
	i, over := r.next(ctx)
	s.mu.Unlock()
	if i >= 0 {
		over = r.runFrom(ctx, i)
	}
	if !over {
		<-s.over
	}
	if s.failure != nil {
		return s.failure
	}
	if err := context.Cause(ctx); err != nil && s.left > 0 {
		return err
	}
	return nil
}

// runFrom runs node i, then each node that ending the last one handed to
// this goroutine. It reports whether it ended the run.
func (r *run) runFrom(ctx context.Context, i int) (over bool) {
	s := &r.sched
	for i >= 0 {
		out, err := r.exec(ctx, i)
		s.mu.Lock()
		s.inflight--
		s.failure = r.end(finished{i, out, err}, s.failure, s.cancel)
		r.release(i)
		i, over = r.next(ctx)
		s.mu.Unlock()
	}
	return over
}

// next starts ready nodes, up to the concurrency, on workers, but for the
// one it returns, -1 if none, for the calling goroutine to run. over
// reports that the run is over: nothing runs, and nothing can start. The
// caller holds s.mu.
func (r *run) next(ctx context.Context) (keep int, over bool) {
	s := &r.sched
	keep = -1
	for s.failure == nil && len(s.ready) > 0 && s.inflight < r.f.concurrency {
		i := s.ready[len(s.ready)-1]
		s.ready = s.ready[:len(s.ready)-1]
		if r.bypass(ctx, i) {
			r.release(i)
			continue
		}
		s.inflight++
		if keep < 0 {
			keep = i
			continue
		}
		if s.over == nil {
			s.over = make(chan struct{}, 1)
		}
		r.f.e.workers.start(task{r: r, ctx: ctx, i: i})
	}
	return keep, keep < 0 && s.inflight == 0
}

// release marks node i as ended and queues the nodes it unblocked. The
// caller holds s.mu.
func (r *run) release(i int) {
	s := &r.sched
	s.left--
	if r.opts.OnNode != nil {
		r.opts.OnNode(r.nodes[i])
	}
	r.headEnded(i)
	for _, d := range r.f.nodes[i].dependents {
		if s.pending[d]--; s.pending[d] == 0 {
			s.ready = append(s.ready, d)
		}
	}
}

// end records a node's outcome and returns the run's failure: the first
// node error, or the cause of the run's cancellation.
func (r *run) end(fin finished, failure error, cancel context.CancelCauseFunc) error {
	nr := &r.nodes[fin.index]
	switch {
	case fin.err == nil:
		nr.Status = Succeeded
		r.values.outputs[fin.index] = fin.out
		return failure
	case failure != nil:
		// Stopped because another node failed first.
		nr.Status = Canceled
		return failure
	}
	nr.Status, nr.Error = Failed, errorText(fin.err)
	var ne *NodeError
	if errors.As(fin.err, &ne) && ne.Node == nr.Node {
		// The row names the node already.
		nr.Error = errorText(ne.Err)
		if isCancel(ne.Err) {
			nr.Status = Canceled
		}
	}
	cancel(fin.err)
	return fin.err
}

func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, ErrRunTimeout)
}

// bypass decides whether node i is bypassed, and records it if so. The
// rule is prompt flow's activate (SPEC.md §2.6): a node with a when is
// decided by its condition alone, so it runs even when every node its
// inputs reference was bypassed; a node without one is bypassed when it
// references nodes and all of them were. Aggregate nodes do not run in a
// line.
func (r *run) bypass(ctx context.Context, i int) bool {
	n := r.f.nodes[i]
	var bypassed bool
	switch {
	case n.aggregate:
		bypassed = true
	case n.when != nil:
		bypassed = !r.holds(n.when)
	case len(n.deps) > 0:
		bypassed = true
		for _, d := range n.deps {
			if r.nodes[d].Status != Bypassed {
				bypassed = false
				break
			}
		}
	}
	if bypassed {
		r.nodes[i].Status = Bypassed
		r.nodes[i].Attempts = 0
		if t := r.f.e.tracer; t != nil {
			_, span := t.Start(ctx, "node "+n.name, trace.WithAttributes(r.nodeAttrs(n, 0)...))
			span.SetAttributes(attrNodeStatus.String(string(Bypassed)), attrNodeBypassed.Bool(true))
			span.End()
		}
	}
	return bypassed
}

// holds reports whether a node's condition is true in this run. A
// condition that reads a node that was bypassed is false, whatever is
// says, and so is one that cannot be read.
func (r *run) holds(c *condition) bool {
	if c.sel == nil {
		return c.holds
	}
	if c.sel.node >= 0 && r.nodes[c.sel.node].Status == Bypassed {
		return false
	}
	v, err := c.sel.value(&r.values)
	if err != nil {
		return false
	}
	got, err := jsonschema.Decode(v)
	return err == nil && reflect.DeepEqual(normalize(got), c.is)
}

// normalize makes JSON numbers comparable whatever their spelling (1, 1.0).
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

// exec runs node i with its retry policy and returns its outputs.
func (r *run) exec(ctx context.Context, i int) ([]byte, error) {
	n := r.f.nodes[i]
	nr := &r.nodes[i]
	nr.Start = time.Now()
	defer func() { nr.Duration = time.Since(nr.Start) }()
	in, err := n.inputs.append(make([]byte, 0, n.inputs.size(&r.values)), &r.values)
	if err != nil {
		nr.Attempts = 0
		return nil, r.nodeError(n, 0, fmt.Errorf("input: %w", err))
	}
	if r.nodeInputs != nil {
		r.nodeInputs[i] = in
		ctx = withNodeLog(ctx, &r.nodeLogs[i])
	}
	if n.kind == kindFlow {
		return r.subflow(ctx, n, in)
	}
	if n.cache != nil && r.cache != nil {
		out, err := r.cached(ctx, n, in)
		if nr.Cached {
			r.streamWhole(n, out)
		}
		return out, err
	}
	return r.retry(ctx, n, in)
}

// retry calls node n's tool on in until an attempt succeeds, the error is
// not one to retry, or the attempts run out.
func (r *run) retry(ctx context.Context, n *node, in []byte) ([]byte, error) {
	nr := &r.nodes[n.index]
	for attempt := 1; ; attempt++ {
		nr.Attempts = attempt
		out, err := r.attempt(ctx, n, attempt, in)
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, r.nodeError(n, attempt, context.Cause(ctx))
		}
		if attempt >= n.retry.Attempts || !plugins.CanRetry(err) || r.streamed {
			return nil, r.nodeError(n, attempt, err)
		}
		wait := time.NewTimer(backoff(n.retry, attempt, rand.Float64()))
		select {
		case <-wait.C:
		case <-ctx.Done():
			wait.Stop()
			return nil, r.nodeError(n, attempt, context.Cause(ctx))
		}
	}
}

func (r *run) nodeError(n *node, attempts int, err error) error {
	// Redacted here, before any message is cut to its bound.
	err = r.f.e.redactor.Error(err)
	return &NodeError{Node: n.name, Tool: n.toolName, Plugin: n.plugin, Kind: n.kind, Attempts: attempts, Err: err}
}

// backoff is the wait after failed attempt number attempt (1 is the first):
// Backoff doubled per attempt, capped at MaxBackoff, with "equal jitter" so
// that retries of many runs spread out yet never wait less than half.
func backoff(p schemas.Retry, attempt int, jitter float64) time.Duration {
	d := p.Backoff
	for k := 1; k < attempt && d < p.MaxBackoff; k++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	return d/2 + time.Duration(jitter*float64(d/2))
}

// attempt makes one call of the node's tool under the node's timeout.
func (r *run) attempt(ctx context.Context, n *node, attempt int, in []byte) (out []byte, err error) {
	if n.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.timeout)
		defer cancel()
	}
	var span trace.Span
	if t := r.f.e.tracer; t != nil {
		ctx, span = t.Start(ctx, "node "+n.name, trace.WithAttributes(r.nodeAttrs(n, attempt)...))
		defer func() {
			status := Succeeded
			if err != nil {
				status = Failed
			}
			span.SetAttributes(
				attrNodeStatus.String(string(status)),
				attrNodeBypassed.Bool(false),
				attrNodeBytesIn.Int(len(in)),
				attrNodeBytesOut.Int(len(out)),
			)
			if n.cache != nil && r.cache != nil {
				span.SetAttributes(attrNodeCacheHit.Bool(false))
			}
			endSpan(span, err)
		}()
	}
	ctx, usage := withUsage(ctx, n)
	ctx, chunks := r.withStream(ctx, n)
	if n.kind == kindNative {
		out, err = guarded(ctx, n.tool, in)
	} else {
		out, err = invoke(ctx, n.tool, in)
	}
	r.endUsage(n, usage, span)
	r.endStream(chunks, out, err)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded && context.Cause(ctx) == context.DeadlineExceeded {
			// This attempt's own timeout, not the run's.
			return nil, timeoutError(n.timeout)
		}
		return nil, err
	}
	if err := checkOutput(out); err != nil {
		return nil, err
	}
	return out, nil
}

// Bounds on a tool's output, whatever its plugin kind.
const (
	maxOutputDepth = 1000
	maxOutputSize  = 64 << 20
)

// checkOutput makes sure that a tool's output is one JSON object the
// engine, the run record and the server can pass on as it is. Nothing
// after this point checks it again.
func checkOutput(out []byte) error {
	if len(out) > maxOutputSize {
		return fmt.Errorf("invalid output: %d bytes, over the engine's limit of %d MiB", len(out), maxOutputSize>>20)
	}
	if err := jsoncheck.Object(out, maxOutputDepth); err != nil {
		return fmt.Errorf("invalid output: %w", err)
	}
	return nil
}

func (r *run) nodeAttrs(n *node, attempt int) []attribute.KeyValue {
	return []attribute.KeyValue{
		attrRunID.String(r.res.RunID),
		attrNodeName.String(n.name),
		attrToolName.String(n.toolName),
		attrPluginName.String(n.plugin),
		attrPluginKind.String(n.kind),
		attrNodeAttempt.Int(attempt),
	}
}

// invoke calls a tool that honours its context (builtin, Wasm, go-plugin,
// sub-flow), turning a panic into an error.
func invoke(ctx context.Context, t plugins.Tool, in []byte) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicError(p)
		}
	}()
	return t.Invoke(ctx, in)
}

// guarded calls a Go function a program registered in a goroutine of its
// own, so that one which ignores its context cannot hold the run past its
// deadline. Such a function keeps its goroutine until it returns; its result
// is dropped.
func guarded(ctx context.Context, t plugins.Tool, in []byte) ([]byte, error) {
	type result struct {
		out []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		out, err := invoke(ctx, t, in)
		ch <- result{out, err}
	}()
	select {
	case res := <-ch:
		return res.out, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func panicError(p any) error {
	return fmt.Errorf("tool panicked: %v (at %s)", p, firstFrames(debug.Stack()))
}

func isObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '{'
	}
	return false
}

func preview(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%q...", b[:40])
	}
	return fmt.Sprintf("%q", b)
}

// firstFrames keeps the panic's own frame from a goroutine stack: the
// function and file:line just below runtime's panic, enough to find the bug.
func firstFrames(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") && i+3 < len(lines) {
			return strings.TrimSpace(lines[i+2]) + " " + strings.TrimSpace(lines[i+3])
		}
	}
	return ""
}
