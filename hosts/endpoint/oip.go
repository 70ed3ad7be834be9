package endpoint

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint/internal/tensor"
	"github.com/weirflow/weir/internal/jsonscan"
)

// The Open Inference Protocol v2 over REST (KServe's, as Triton and Seldon
// MLServer speak it): each deployed flow is a model of the same name, its
// versions the model's versions, its tensors mapped by package tensor.
// Inference goes through the run path of /v1 runs and /score: the
// request takes a slot of MaxConcurrent before its body is read, the
// body limit and deadline are the same, and so are the status codes of a
// run's failure; errors are the protocol's {"error": "message"}.

// maxBatchWorkers bounds the rows of one inference request that run at
// once: a large batch gets the speed of a few slots without taking them
// all from the other clients.
const maxBatchWorkers = 8

// oipErrors makes h answer errors as the Open Inference Protocol does.
func oipErrors(h handlerFunc) handlerFunc {
	return func(w *recorder, r *http.Request) {
		w.oip = true
		h(w, r)
	}
}

func (s *Server) serveOIPLive(w *recorder, _ *http.Request) {
	writeRaw(w, http.StatusOK, []byte(`{"live":true}`))
}

// serveOIPReady answers as /readyz decides, in the protocol's words.
func (s *Server) serveOIPReady(w *recorder, _ *http.Request) {
	if !s.Ready() {
		writeRaw(w, http.StatusServiceUnavailable, []byte(`{"ready":false}`))
		return
	}
	writeRaw(w, http.StatusOK, []byte(`{"ready":true}`))
}

// oipServerMetadata is the answer of GET /v2.
type oipServerMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

func (s *Server) serveOIPServer(w *recorder, _ *http.Request) {
	writeJSON(w, http.StatusOK, oipServerMetadata{"weir", engine.Version(), []string{tensor.BinaryExtension}})
}

// oipModel returns the route of the model a request names and the version
// its path names, or, without one, the newest when pick is false and one
// by the traffic split when it is true; else it answers 404.
func (s *Server) oipModel(w *recorder, r *http.Request, pick bool) (*route, *version, bool) {
	t := s.table.Load()
	rt := t.flows[r.PathValue("model")]
	if rt == nil {
		writeError(w, http.StatusNotFound, codeNotFound, flowNotFound(t, r.PathValue("model")))
		return nil, nil, false
	}
	v, err := modelVersion(rt, r.PathValue("version"), pick)
	if err != nil {
		writeFailure(w, err)
		return nil, nil, false
	}
	return rt, v, true
}

// modelVersion returns the version of rt a model call names: name, else
// the one the traffic split picks when pick, else the newest. An unknown
// name is a 404 *httpError.
func modelVersion(rt *route, name string, pick bool) (*version, error) {
	if name == "" && !pick {
		return rt.versions[len(rt.versions)-1], nil
	}
	return pickVersion(rt, name)
}

func (s *Server) serveOIPModel(w *recorder, r *http.Request) {
	rt, v, ok := s.oipModel(w, r, false)
	if !ok {
		return
	}
	versions := make([]string, len(rt.versions))
	for i, o := range rt.versions {
		versions[i] = o.name
	}
	writeJSON(w, http.StatusOK, v.oip.Metadata(rt.name, versions))
}

// serveOIPModelReady answers 200 for a model deployed on a server that
// is ready, else 503 (404 for a model that is not deployed).
func (s *Server) serveOIPModelReady(w *recorder, r *http.Request) {
	rt, _, ok := s.oipModel(w, r, false)
	if !ok {
		return
	}
	status := http.StatusOK
	if s.closed.Load() {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, struct {
		Name  string `json:"name"`
		Ready bool   `json:"ready"`
	}{rt.name, status == http.StatusOK})
}

// oipAnswer is the answer of an inference.
type oipAnswer struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	ID           string `json:"id"`
	Outputs      []any  `json:"outputs"` // tensor.Tensor, or without data when binary
}

// serveInfer runs a model on each row of the request's tensors and
// answers the outputs' tensors. A client error is a 400 naming the input
// or output; a run's failure answers as a run's does, its message led by
// the row when the batch has more than one.
func (s *Server) serveInfer(w *recorder, r *http.Request) {
	rt, v, ok := s.oipModel(w, r, true)
	if !ok || !s.admit(w) {
		return
	}
	defer s.endRun()
	body, ok := s.readBody(w, r, s.opts.MaxBodyBytes)
	if !ok {
		return
	}
	headerLen, ok := inferenceHeaderLength(w, r)
	if !ok {
		return
	}
	req, err := tensor.DecodeRequest(body, headerLen)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidJSON, err.Error())
		return
	}
	id, ok := oipRequestID(w, r, req.ID)
	if !ok {
		return
	}
	outs, err := v.oip.Select(req.Outputs)
	if err == nil {
		var rows [][]byte
		if rows, err = v.oip.Rows(req.Inputs); err == nil {
			s.infer(w, r, rt, v, id, req, outs, rows)
			return
		}
	}
	writeError(w, http.StatusBadRequest, codeInvalidInput, err.Error())
}

// infer runs the rows of an inference request, as id, and answers it.
func (s *Server) infer(w *recorder, r *http.Request, rt *route, v *version, id string, req *tensor.Request, outs []*tensor.Spec, rows [][]byte) {
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
		span.SetAttributes(attribute.String("weir.flow.name", rt.name), attribute.String("weir.flow.version", v.name), attribute.Int("weir.batch.rows", len(rows)))
	}
	w.Header().Set("Weir-Version", v.name)
	outputs, failed := s.runRows(r.Context(), protocolOIPREST, v, rows, id)
	if failed != nil {
		if r.Context().Err() != nil {
			w.code = statusClientGone // nobody to answer
			return
		}
		status, code, msg := failed.answer(rt.name, v, len(rows), s)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, status, code, msg)
		return
	}
	if len(rows) == 1 {
		w.Header().Set("Weir-Run-Id", id)
	}
	tensors, err := tensor.Stack(outs, outputs)
	if err != nil {
		msg := "encode the answer: " + err.Error()
		s.log.Error("answer did not encode", "flow", rt.name, "version", v.name, "run_id", id, "error", msg)
		writeError(w, http.StatusInternalServerError, codeInternal, msg)
		return
	}
	answers, binary := req.Answer(tensors)
	answer := oipAnswer{rt.name, v.name, id, answers}
	if binary == nil {
		writeJSON(w, http.StatusOK, answer)
		return
	}
	header, err := jsonscan.Marshal(answer)
	if err != nil {
		writeError(w, http.StatusInternalServerError, codeInternal, encodeFailure(err))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(inferenceHeaderLengthKey, strconv.Itoa(len(header)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(header)
	_, _ = w.Write(binary)
}

// inferenceHeaderLengthKey is the header of the binary tensor data
// extension that gives the length of a body's JSON, which binary data
// follows.
const inferenceHeaderLengthKey = "Inference-Header-Content-Length"

// inferenceHeaderLength returns the request's Inference-Header-Content-Length,
// or tensor.NoBinary without one; else it answers 400.
func inferenceHeaderLength(w *recorder, r *http.Request) (int, bool) {
	v := r.Header.Get(inferenceHeaderLengthKey)
	if v == "" {
		return tensor.NoBinary, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("%s %q: want a whole number of bytes", inferenceHeaderLengthKey, v))
		return 0, false
	}
	return n, true
}

// oipRequestID returns the id of an inference: the request's "id", else
// its X-Request-Id as /score reads it, else a random one. It names the
// run of a batch of one, and the runs of a larger batch as id/0, id/1...
func oipRequestID(w *recorder, r *http.Request, id string) (string, bool) {
	if id == "" {
		var ok bool
		if id, ok = requestID(w, r); !ok || id != "" {
			return id, ok
		}
		var b [8]byte
		_, _ = crand.Read(b[:])
		return hex.EncodeToString(b[:]), true
	}
	if !validRunID(id) {
		writeError(w, http.StatusBadRequest, codeBadRequest, "id: "+runIDRule)
		return "", false
	}
	w.Header().Set("X-Request-Id", id)
	return id, true
}

// rowFailure is the first row of a batch that failed.
type rowFailure struct {
	row int
	res *engine.Result
	err error
}

// answer is the status, code and message of a batch of n rows that
// failed with f: the run's, led by the row when there is more than one.
func (f *rowFailure) answer(flow string, v *version, n int, s *Server) (int, string, string) {
	status, code, msg := s.runError(flow, v, f.res, f.err)
	if n > 1 {
		msg = "row " + strconv.Itoa(f.row) + ": " + msg
	}
	return status, code, msg
}

// runRows runs v's flow once per row under RequestTimeout, recorded in
// the metrics under protocol, and returns the rows' outputs, or the first
// row that failed, whose error cancels the rows still running.
// The rows run on the request's own slot of MaxConcurrent and on as many
// more as are free when the batch starts, up to maxBatchWorkers, so that
// a batch never takes a slot another request waits for, nor holds more
// than it started with.
func (s *Server) runRows(ctx context.Context, protocol string, v *version, rows [][]byte, id string) ([][]byte, *rowFailure) {
	workers := 1
	for workers < min(len(rows), maxBatchWorkers) && s.startRun() {
		workers++
	}
	defer func() {
		for range workers - 1 {
			s.endRun()
		}
	}()
	ctx, stopTimer := context.WithTimeoutCause(ctx, s.opts.RequestTimeout, s.timeoutCause)
	defer stopTimer()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	outputs := make([][]byte, len(rows))
	var (
		next   atomic.Int64
		stop   atomic.Bool // a row failed: start no more
		mu     sync.Mutex
		failed *rowFailure
		wg     sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(rows) || stop.Load() {
					return
				}
				runID := id
				if len(rows) > 1 {
					runID += "/" + strconv.Itoa(i)
				}
				res, err := s.runFlow(ctx, v.flow, rows[i], engine.RunOptions{RunID: runID})
				s.metrics.observe(protocol, v, res)
				if err != nil {
					mu.Lock()
					if failed == nil {
						failed = &rowFailure{i, res, err}
						stop.Store(true)
						cancel()
					}
					mu.Unlock()
					return
				}
				outputs[i] = res.Outputs
			}
		})
	}
	wg.Wait()
	return outputs, failed
}
