package endpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/engine"
)

func (s *Server) serveRuns(w *recorder, r *http.Request) {
	name := r.PathValue("flow")
	t := s.table.Load()
	rt := t.flows[name]
	if rt == nil {
		writeError(w, http.StatusNotFound, codeNotFound, flowNotFound(t, name))
		return
	}
	body, ok := s.readBody(w, r, s.opts.MaxBodyBytes)
	if !ok {
		return
	}
	inputs, err := runInputs(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidJSON, err.Error())
		return
	}
	m := modeRun
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		m = modeStream
	}
	s.run(w, r, rt, inputs, m)
}

// serveScore runs the default flow on the body, a flat inputs object, and
// answers its outputs object alone: what a prompt flow or Azure ML online
// endpoint client sends and reads.
func (s *Server) serveScore(w *recorder, r *http.Request) {
	t := s.table.Load()
	if len(t.order) == 0 {
		writeError(w, http.StatusNotFound, codeNotFound, "no flow is deployed")
		return
	}
	rt := t.flows[t.order[0]]
	body, ok := s.readBody(w, r, s.opts.MaxBodyBytes)
	if !ok {
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	} else if !json.Valid(body) {
		writeError(w, http.StatusBadRequest, codeInvalidJSON, syntaxError(body))
		return
	}
	s.run(w, r, rt, body, modeScore)
}

func flowNotFound(t *table, name string) string {
	if len(t.order) == 0 {
		return fmt.Sprintf("flow %q is not deployed (no flow is)", name)
	}
	return fmt.Sprintf("flow %q is not deployed (deployed: %s)", name, strings.Join(slices.Sorted(slices.Values(t.order)), ", "))
}

// readBody reads the request's body, up to limit bytes, or answers 413 or
// 400 and returns false.
func (s *Server) readBody(w *recorder, r *http.Request, limit int64) ([]byte, bool) {
	tooLarge := func() ([]byte, bool) {
		writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, "read body: larger than the limit of "+strconv.FormatInt(limit, 10)+" bytes")
		return nil, false
	}
	if r.ContentLength > limit {
		return tooLarge()
	}
	size := r.ContentLength
	if size < 0 {
		size = 512
	}
	// One byte more than announced, so that reading to EOF needs no growth.
	body, err := readAll(http.MaxBytesReader(w.ResponseWriter, r.Body, limit), make([]byte, 0, size+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return tooLarge()
	case err != nil:
		writeError(w, http.StatusBadRequest, codeBadRequest, "read body: "+err.Error())
		return nil, false
	}
	return body, true
}

// readAll is io.ReadAll into buf.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// runRequest is the body of POST /v1/flows/{flow}/runs.
type runRequest struct {
	Inputs json.RawMessage `json:"inputs"`
}

// runInputs returns the inputs object of a run request's body, still
// encoded: the engine checks it against the flow's types.
func runInputs(body []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return []byte("{}"), nil
	case !json.Valid(trimmed):
		return nil, errors.New(syntaxError(body))
	case trimmed[0] != '{':
		return nil, errors.New(`decode body: want a JSON object such as {"inputs": {...}}`)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	var req runRequest
	if err := dec.Decode(&req); err != nil {
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return nil, fmt.Errorf(`decode body: unknown field %s: the inputs go under "inputs"`, field)
		}
		return nil, fmt.Errorf("decode body: %w", err)
	}
	if req.Inputs == nil {
		return []byte("{}"), nil
	}
	return req.Inputs, nil
}

// syntaxError says where body, which is not valid JSON, goes wrong.
func syntaxError(body []byte) string {
	var v any
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("decode body: %v, at byte %d", se, se.Offset)
	}
	return fmt.Sprintf("decode body: %v", err)
}

// mode is how a run is answered.
type mode int

const (
	modeRun    mode = iota // the run's body
	modeStream             // server-sent events
	modeScore              // the outputs object alone
)

// run runs a version of rt on inputs and answers as m says.
func (s *Server) run(w *recorder, r *http.Request, rt *route, inputs []byte, m mode) {
	if !s.startRun() {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, codeTooMany, "too many runs in flight: the limit is "+strconv.Itoa(s.opts.MaxConcurrent))
		return
	}
	defer s.endRun()
	v := rt.pick()
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
		span.SetAttributes(attribute.String("weir.flow", rt.name), attribute.String("weir.flow.version", v.name))
	}
	w.Header().Set("Weir-Version", v.name)
	ctx, cancel := context.WithTimeoutCause(r.Context(), s.opts.RequestTimeout, s.timeoutCause)
	defer cancel()
	var ev *events
	var opts engine.RunOptions
	if m == modeStream {
		ev = newEvents(w, v.nodes)
		opts.OnNode = ev.node
	}
	res, err := v.flow.RunWith(ctx, inputs, opts)
	v.observe(res)
	if ev != nil {
		ev.finish()
	}
	if err != nil && r.Context().Err() != nil {
		w.code = statusClientGone // nobody to answer
		return
	}
	switch {
	case ev != nil && ev.started && err != nil:
		_, code, msg := s.runError(rt, v, res, err)
		ev.write("error", encode(errorBody{errorDetail{code, msg}}))
	case err != nil:
		w.Header().Set("Weir-Run-Id", res.RunID)
		status, code, msg := s.runError(rt, v, res, err)
		writeError(w, status, code, msg)
	case ev != nil:
		ev.start()
		ev.write("result", encode(newRunBody(res, v.name)))
	case m == modeScore:
		w.Header().Set("Weir-Run-Id", res.RunID)
		writeRaw(w, http.StatusOK, res.Outputs)
	default:
		w.Header().Set("Weir-Run-Id", res.RunID)
		writeJSON(w, http.StatusOK, newRunBody(res, v.name))
	}
}

// runError maps the error of a run to a status, a code and a message.
func (s *Server) runError(rt *route, v *version, res *engine.Result, err error) (int, string, string) {
	var inErr *engine.InputError
	var nodeErr *engine.NodeError
	switch {
	case errors.As(err, &inErr):
		return http.StatusBadRequest, codeInvalidInput, err.Error()
	case errors.Is(err, engine.ErrRunTimeout):
		msg := timeoutMessage(res, err)
		s.log.Debug("run timed out", "flow", rt.name, "version", v.name, "run_id", res.RunID, "error", msg)
		return http.StatusGatewayTimeout, codeTimeout, msg
	case errors.As(err, &nodeErr):
		s.log.Debug("run failed", "flow", rt.name, "version", v.name, "run_id", res.RunID, "error", err)
		return http.StatusBadGateway, codeNodeFailed, err.Error()
	}
	s.log.Warn("run failed", "flow", rt.name, "version", v.name, "run_id", res.RunID, "error", err)
	return http.StatusInternalServerError, codeRunFailed, err.Error()
}

// timeoutMessage says that the run timed out and which nodes were running
// then: those that had started and neither succeeded nor were bypassed.
func timeoutMessage(res *engine.Result, err error) string {
	msg := err.Error()
	var nodeErr *engine.NodeError
	if errors.As(err, &nodeErr) {
		msg = nodeErr.Err.Error() // the node is named below
	}
	var running []string
	for _, n := range res.Nodes {
		if !n.Start.IsZero() && (n.Status == engine.Failed || n.Status == engine.Canceled) {
			running = append(running, fmt.Sprintf("%q (tool %s)", n.Node, n.Tool))
		}
	}
	switch len(running) {
	case 0:
		return msg
	case 1:
		return msg + " while node " + running[0] + " was running"
	}
	return msg + " while nodes " + strings.Join(running[:len(running)-1], ", ") + " and " + running[len(running)-1] + " were running"
}

// runBody is the answer of a run.
type runBody struct {
	RunID   string              `json:"run_id"`
	Flow    string              `json:"flow"`
	Version string              `json:"version"`
	Status  engine.Status       `json:"status"`
	Outputs json.RawMessage     `json:"outputs"`
	Nodes   []engine.NodeResult `json:"nodes"`
}

func newRunBody(res *engine.Result, version string) runBody {
	return runBody{res.RunID, res.Flow, version, res.Status, res.Outputs, res.Nodes}
}

// events streams a run as server-sent events: "node" as each node ends,
// then "result" or "error". A goroutine of its own writes them, so that a
// slow client never holds up the run's scheduler.
type events struct {
	w     *recorder
	queue chan []byte
	done  chan struct{}
	// started is set by the writer goroutine, and read after done.
	started bool
	broken  bool
}

func newEvents(w *recorder, nodes int) *events {
	ev := &events{w: w, queue: make(chan []byte, nodes), done: make(chan struct{})}
	go ev.loop()
	return ev
}

// node queues a node's event. The engine calls it once per node at most,
// so the queue, as long as the flow has nodes, never blocks.
func (ev *events) node(n engine.NodeResult) {
	b, err := json.Marshal(n)
	if err != nil {
		return
	}
	select {
	case ev.queue <- b:
	default:
	}
}

func (ev *events) loop() {
	defer close(ev.done)
	for b := range ev.queue {
		ev.start()
		ev.write("node", b)
	}
}

// finish waits for the queued events to be written.
func (ev *events) finish() {
	close(ev.queue)
	<-ev.done
}

func (ev *events) start() {
	if ev.started {
		return
	}
	ev.started = true
	h := ev.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx would buffer the stream
	ev.w.WriteHeader(http.StatusOK)
}

// write sends one event, unless the connection broke already: the run's
// context then ends the run.
func (ev *events) write(event string, data []byte) {
	if ev.broken {
		return
	}
	b := make([]byte, 0, len("event: \ndata: \n\n")+len(event)+len(data))
	b = append(b, "event: "...)
	b = append(b, event...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	b = append(b, "\n\n"...)
	if _, err := ev.w.Write(b); err != nil {
		ev.broken = true
		return
	}
	if err := http.NewResponseController(ev.w).Flush(); err != nil {
		ev.broken = true
	}
}
