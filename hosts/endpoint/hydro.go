package endpoint

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weirflow/weir/engine"
	pb "github.com/weirflow/weir/internal/hydropb"
)

// Hydrosphere serves Hydrosphere's model runtime API,
// hydrosphere.serving.runtime.PredictionService, over a Server: Predict
// runs the server's default flow, the one /score runs, with the same
// version pick, limits and run metrics. Its tensors map to the flow's
// inputs and outputs as hydrotensor.go says, and Signature gives the
// contract that mapping makes. Errors are gRPC statuses with the
// messages the HTTP API answers: INVALID_ARGUMENT for inputs that do not
// fit (naming the input), RESOURCE_EXHAUSTED past MaxConcurrent,
// DEADLINE_EXCEEDED naming the nodes that were running, UNKNOWN for a
// node that failed, NOT_FOUND when no flow is deployed, UNAVAILABLE when
// a Runner has nowhere to run. It is safe for concurrent use.
type Hydrosphere struct {
	pb.UnimplementedPredictionServiceServer
	s *Server
	// contracts caches the contract of each flow version served:
	// *engine.Flow -> *hydroContract.
	contracts sync.Map
}

// NewHydrosphere returns the Hydrosphere runtime API of s.
func NewHydrosphere(s *Server) *Hydrosphere { return &Hydrosphere{s: s} }

// Register registers the PredictionService on g. Call it before g serves.
func (h *Hydrosphere) Register(g *grpc.Server) { pb.RegisterPredictionServiceServer(g, h) }

// Signature returns Hydrosphere's model contract of f: its inputs and
// outputs as tensor fields.
func (h *Hydrosphere) Signature(f *engine.Flow) *pb.ModelSignature {
	return h.contract(f).signature()
}

func (h *Hydrosphere) contract(f *engine.Flow) *hydroContract {
	if c, ok := h.contracts.Load(f); ok {
		return c.(*hydroContract)
	}
	c, _ := h.contracts.LoadOrStore(f, newHydroContract(f))
	return c.(*hydroContract)
}

// Predict runs the default flow on the request's input tensors and
// answers its output tensors.
func (h *Hydrosphere) Predict(ctx context.Context, req *pb.PredictRequest) (*pb.PredictResponse, error) {
	var c *hydroContract
	res, err := h.s.runDefault(ctx, func(f *engine.Flow) ([]byte, error) {
		c = h.contract(f)
		in, err := c.inputsJSON(req.Inputs)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		return in, nil
	})
	if err != nil {
		return nil, err
	}
	out, err := c.outputTensors(res.Outputs)
	if err != nil {
		h.s.log.Error("answer did not encode", "flow", res.Flow, "run_id", res.RunID, "error", err)
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &pb.PredictResponse{Outputs: out}, nil
}

// runDefault runs a version of the default flow, picked by its traffic
// split, as /score runs it but without HTTP: it holds a slot of
// MaxConcurrent, bounds the run by RequestTimeout, and records the run's
// metrics. inputs makes the run's inputs object for the flow picked; its
// error is returned as it is. Other errors are gRPC statuses with the
// message the HTTP API answers. It is the one place where the gRPC
// services call the engine.
func (s *Server) runDefault(ctx context.Context, inputs func(*engine.Flow) ([]byte, error)) (*engine.Result, error) {
	t := s.table.Load()
	if len(t.order) == 0 {
		return nil, status.Error(codes.NotFound, "no flow is deployed")
	}
	rt := t.flows[t.order[0]]
	if !s.startRun() {
		return nil, status.Error(codes.ResourceExhausted, "too many runs in flight: the limit is "+strconv.Itoa(s.opts.MaxConcurrent))
	}
	defer s.endRun()
	v := rt.pick()
	in, err := inputs(v.flow)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, s.opts.RequestTimeout, s.timeoutCause)
	defer cancel()
	res, err := s.runFlow(runCtx, v.flow, in, engine.RunOptions{})
	s.metrics.observe(v, res)
	switch {
	case err == nil:
		return res, nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The client's deadline, which gRPC carries: its run timed out.
		return nil, status.Error(codes.DeadlineExceeded, timeoutMessage(res, err))
	case ctx.Err() != nil:
		return nil, status.Error(codes.Canceled, "the client canceled the request")
	}
	code, _, msg := s.runError(rt, v, res, err)
	return nil, status.Error(grpcCode(code), msg)
}

// grpcCode is the gRPC code of an HTTP status of the API.
func grpcCode(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case http.StatusBadGateway:
		// A node failed: weir works, a tool it called did not. UNKNOWN is
		// gRPC's code for an error raised in another address space; not
		// UNAVAILABLE, which clients retry by themselves.
		return codes.Unknown
	}
	return codes.Internal
}

var _ pb.PredictionServiceServer = (*Hydrosphere)(nil)
