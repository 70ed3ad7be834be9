package endpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/plugins"
)

func (s *Server) serveRuns(w *recorder, r *http.Request) {
	id, ok := requestID(w, r)
	if !ok {
		return
	}
	name := r.PathValue("flow")
	t := s.table.Load()
	rt := t.flows[name]
	if rt == nil {
		writeError(w, http.StatusNotFound, codeNotFound, flowNotFound(t, name))
		return
	}
	if !s.admit(w) {
		return
	}
	defer s.endRun()
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
	s.run(w, r, rt, inputs, m, id)
}

// serveScore runs the default flow on the body, a flat inputs object, and
// answers its outputs object alone: what a prompt flow or Azure ML online
// endpoint client sends and reads. Its errors are prompt flow's too.
func (s *Server) serveScore(w *recorder, r *http.Request) {
	id, ok := requestID(w, r)
	if !ok {
		return
	}
	t := s.table.Load()
	if len(t.order) == 0 {
		writeError(w, http.StatusNotFound, codeNotFound, "no flow is deployed")
		return
	}
	rt := t.flows[t.order[0]]
	if !s.admit(w) {
		return
	}
	defer s.endRun()
	body, ok := s.readBody(w, r, s.opts.MaxBodyBytes)
	if !ok {
		return
	}
	s.run(w, r, rt, body, modeScore, id)
}

// scoreInputs reads /score's body for a flow of inputs ins as prompt
// flow's server does (load_request_data, SPEC §6): a flow with no input
// ignores it, whatever it is; a body that is not JSON, empty included, is
// the text of a flow's one input, whatever its Content-Type; else the body
// is the inputs object, which the engine checks, and an empty one is {}.
func scoreInputs(ins []engine.Input, body []byte) ([]byte, error) {
	switch {
	case len(ins) == 0:
		return []byte("{}"), nil
	case json.Valid(body):
		return body, nil
	case len(ins) == 1:
		if !utf8.Valid(body) {
			return nil, fmt.Errorf("decode body: neither JSON nor UTF-8 text for input %q", ins[0].Name)
		}
		b := jsonscan.AppendString([]byte{'{'}, ins[0].Name)
		b = jsonscan.AppendString(append(b, ':'), string(body))
		return append(b, '}'), nil
	case len(bytes.TrimSpace(body)) == 0:
		return []byte("{}"), nil
	}
	return nil, errors.New(syntaxError(body))
}

// maxRequestID bounds the id a request names itself by.
const maxRequestID = 128

// requestID returns the id the request names itself by, as prompt flow's
// server reads it (SPEC §6.2): X-Request-Id, else X-Ms-Client-Request-Id;
// "" when it has neither. It becomes the run's id, which names the run in
// traces and in Weir-Run-Id, and the answer echoes it in X-Request-Id.
// An id that is not 1 to 128 visible ASCII characters is answered with a
// 400, and ok is false.
func requestID(w *recorder, r *http.Request) (id string, ok bool) {
	header := "X-Request-Id"
	id = r.Header.Get(header)
	if id == "" {
		header = "X-Ms-Client-Request-Id"
		id = r.Header.Get(header)
	}
	if id == "" {
		return "", true
	}
	if !validRunID(id) {
		writeError(w, http.StatusBadRequest, codeBadRequest, "header "+header+": "+runIDRule)
		return "", false
	}
	w.Header().Set("X-Request-Id", id)
	return id, true
}

func flowNotFound(t *table, name string) string {
	if len(t.order) == 0 {
		return fmt.Sprintf("flow %q is not deployed (no flow is)", name)
	}
	return fmt.Sprintf("flow %q is not deployed (deployed: %s)", name, strings.Join(slices.Sorted(slices.Values(t.order)), ", "))
}

// admit takes a slot of MaxConcurrent for a run request before its body is
// read, so that a client that sends its body slowly holds a slot too; past
// the limit it answers 429 without reading the body.
func (s *Server) admit(w *recorder) bool {
	if s.startRun() {
		return true
	}
	w.Header().Set("Retry-After", "1")
	// Else net/http would read the body before answering.
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusTooManyRequests, codeTooMany, "too many runs in flight: the limit is "+strconv.Itoa(s.opts.MaxConcurrent))
	return false
}

// readBody reads the request's body, up to limit bytes and within
// BodyTimeout, or answers 413, 408 or 400 and returns false.
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
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close") // the rest of the body may still come
		writeError(w, http.StatusRequestTimeout, codeBodyTimeout, "read body: not complete within the limit of "+s.opts.BodyTimeout.String())
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, codeBadRequest, "read body: "+err.Error())
		return nil, false
	}
	// The body is whole: the deadline that instrument set goes, or the
	// server's read in the background, which notices a client that goes
	// away, would fail at it and cancel the run.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
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
	modeRun         mode = iota // the run's body
	modeStream                  // server-sent events
	modeScore                   // the outputs object alone
	modeScoreStream             // /score's stream of the flow's StreamOutput
)

// run runs a version of rt on inputs, as the run id (random when empty),
// and answers as m says. The caller holds a slot (admit).
func (s *Server) run(w *recorder, r *http.Request, rt *route, inputs []byte, m mode, id string) {
	v := rt.pick()
	tagSpan(r.Context(), v)
	if m == modeScore {
		var err error
		if inputs, err = scoreInputs(v.inputs, inputs); err != nil {
			writeError(w, http.StatusBadRequest, codeInvalidJSON, err.Error())
			return
		}
		var ok bool
		if m, ok = scoreMode(w, r.Header.Get("Accept"), v); !ok {
			return
		}
	}
	w.Header().Set("Weir-Version", v.name)
	var ev *events
	opts := engine.RunOptions{RunID: id}
	switch m {
	case modeStream:
		ev = newEvents(w, v.nodes)
		// Also on a panic: then recoverPanic writes the error event, alone.
		defer ev.finish()
		opts.OnNode = ev.node
		if v.flow.StreamOutput() != "" {
			opts.Stream = ev.chunk
		}
	case modeScoreStream:
		ev = startEvents(w, "text/event-stream; charset=utf-8", 64)
		defer ev.finish()
		opts.Stream = ev.data
		if len(v.flow.Outputs()) > 1 {
			// The other outputs go first, as soon as the nodes they use
			// have ended; the engine holds the chunks until then.
			opts.StreamHead = func(others []byte) { ev.push("", others) }
		}
	}
	res, err := s.execute(r.Context(), protocolHTTP, v, inputs, opts)
	if ev != nil {
		ev.finish()
	}
	if err != nil && r.Context().Err() != nil {
		w.code = statusClientGone // nobody to answer
		return
	}
	s.answer(w, rt, v, ev, res, err, m)
}

// runFlow runs f here, or through Options.Runner, which gets the run's
// id, timeout, cache switch and node values only: what opts asks to stream is sent from
// the Result once the Runner returns, the nodes in the Result's order and
// the streamed output as one chunk.
func (s *Server) runFlow(ctx context.Context, f *engine.Flow, inputs []byte, opts engine.RunOptions) (res *engine.Result, err error) {
	if s.opts.OnRun != nil {
		opts.NodeValues = engine.AllNodeValues
		defer func() { s.opts.OnRun(f, res, err) }()
	}
	if s.opts.Runner == nil {
		return f.RunWith(ctx, inputs, opts)
	}
	res, err = s.opts.Runner(ctx, f, inputs, engine.RunOptions{RunID: opts.RunID, Timeout: opts.Timeout, NoCache: opts.NoCache, NodeValues: opts.NodeValues})
	if res == nil {
		// A Runner that failed before a run began, as a pool with no
		// worker: the answer still names a run and its nodes.
		res = &engine.Result{RunID: opts.RunID, Flow: f.Name(), Status: engine.Failed}
	}
	if err != nil && ctx.Err() != nil && errors.Is(context.Cause(ctx), engine.ErrRunTimeout) && !errors.Is(err, engine.ErrRunTimeout) {
		// The request's deadline, seen by the Runner as its context's
		// error: a 504, as a run here says it.
		err = context.Cause(ctx)
	}
	if opts.OnNode != nil {
		for _, n := range res.Nodes {
			opts.OnNode(n)
		}
	}
	if out := f.StreamOutput(); err == nil && opts.Stream != nil && out != "" {
		replayStream(res.Outputs, out, opts)
	}
	return res, err
}

// replayStream hands the output called out of a run's outputs to
// opts.Stream as one chunk, after the other outputs to opts.StreamHead.
func replayStream(outputs []byte, out string, opts engine.RunOptions) {
	var all map[string]json.RawMessage
	var text string
	if json.Unmarshal(outputs, &all) != nil || json.Unmarshal(all[out], &text) != nil {
		return // the answer fails on the outputs, as a run here would
	}
	if opts.StreamHead != nil {
		delete(all, out)
		head, err := json.Marshal(all)
		if err != nil {
			return
		}
		opts.StreamHead(head)
	}
	opts.Stream(out, text)
}

// answer answers a run of version v of rt that ended with res and err: an
// error body, or, once a stream has begun, an error event; else the
// answer of mode m, encoded into a buffer first. ev, for a stream, is
// finished.
func (s *Server) answer(w *recorder, rt *route, v *version, ev *events, res *engine.Result, err error, m mode) {
	var status int
	var body []byte
	if err != nil {
		var code, msg string
		status, code, msg = s.runError(rt.name, v, res, err)
		if w.promptflow && code == codeNodeFailed {
			status = scoreNodeStatus(err)
		}
		body = w.errorJSON(status, code, msg)
	} else {
		status, body = s.success(w, rt, v, res, m)
	}
	switch {
	case ev != nil && ev.started && status != http.StatusOK:
		ev.write("error", body)
	case ev != nil && status == http.StatusOK:
		ev.start()
		if m == modeStream {
			ev.write("result", body)
		}
	default:
		if res.RunID != "" {
			w.Header().Set("Weir-Run-Id", res.RunID)
			w.Header().Set("X-Request-Id", res.RunID)
		}
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		writeRaw(w, status, body)
	}
}

// success encodes the answer of a run that succeeded, into a buffer: when
// that fails, the answer is a 500 instead.
func (s *Server) success(w *recorder, rt *route, v *version, res *engine.Result, m mode) (int, []byte) {
	// Checked even though the engine checks what tools return: a client
	// must never read a 200 that is not JSON, nor a panic cut its answer.
	err := checkJSON(res.Outputs)
	body := res.Outputs // for /score, the answer (its stream sent it already)
	if err == nil && (m == modeRun || m == modeStream) {
		body, err = jsonscan.Marshal(newRunBody(res, v.name))
	}
	if err == nil {
		return http.StatusOK, body
	}
	msg := encodeFailure(err)
	s.log.Error("answer did not encode", "flow", rt.name, "version", v.name, "run_id", res.RunID, "error", msg)
	return http.StatusInternalServerError, w.errorJSON(http.StatusInternalServerError, codeInternal, msg)
}

// runError maps the error of a run to a status, a code and a message.
func (s *Server) runError(flow string, v *version, res *engine.Result, err error) (int, string, string) {
	var inErr *engine.InputError
	var nodeErr *engine.NodeError
	var unavailable *UnavailableError
	switch {
	case errors.As(err, &unavailable):
		s.log.Warn("run failed", "flow", flow, "version", v.name, "error", err)
		return http.StatusServiceUnavailable, codeUnavailable, err.Error()
	case errors.As(err, &inErr):
		return http.StatusBadRequest, codeInvalidInput, err.Error()
	case errors.Is(err, engine.ErrRunTimeout):
		msg := timeoutMessage(res, err)
		s.log.Debug("run timed out", "flow", flow, "version", v.name, "run_id", res.RunID, "error", msg)
		return http.StatusGatewayTimeout, codeTimeout, msg
	case errors.As(err, &nodeErr):
		s.log.Debug("run failed", "flow", flow, "version", v.name, "run_id", res.RunID, "error", err)
		return http.StatusBadGateway, codeNodeFailed, err.Error()
	}
	s.log.Warn("run failed", "flow", flow, "version", v.name, "run_id", res.RunID, "error", err)
	return http.StatusInternalServerError, codeRunFailed, err.Error()
}

// scoreNodeStatus is the status of a node's failure on /score, where
// prompt flow's clients read a 400 as the user's error and a 500 as the
// system's. A tool that reported a failure is the user's, as a tool's
// exception is in prompt flow (ToolExecutionError is a UserError): the
// tool's code raised, its inputs broke its contract, or the service it
// called refused (a model's 4xx, or its 429 or 5xx once the node's
// retries are spent). A call that the host could not carry out is the
// system's: a sandbox limit hit (memory, output size, a time limit of the
// plugin or the node), or the plugin's process that exited under it or
// never started.
func scoreNodeStatus(err error) int {
	switch k := plugins.KindOf(err); {
	case k == plugins.Limit, k == plugins.Timeout, plugins.IsExited(err):
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
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
