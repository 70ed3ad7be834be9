package endpoint

import (
	"context"
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

// Predict runs the default flow, a version picked by its traffic split,
// on the request's input tensors, through the server core as the other
// protocols do, and answers its output tensors.
func (h *Hydrosphere) Predict(ctx context.Context, req *pb.PredictRequest) (*pb.PredictResponse, error) {
	t := h.s.table.Load()
	if len(t.order) == 0 {
		return nil, status.Error(codes.NotFound, "no flow is deployed")
	}
	v := t.flows[t.order[0]].pick()
	c := h.contract(v.flow)
	in, err := c.inputsJSON(req.Inputs)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	v, res, err := h.s.invoke(ctx, call{Protocol: protocolHydrosphere, Flow: t.order[0], Version: v.name, Inputs: in})
	if err != nil {
		return nil, h.s.grpcStatus(ctx, v, res, err)
	}
	out, err := c.outputTensors(res.Outputs)
	if err != nil {
		h.s.log.Error("answer did not encode", "flow", res.Flow, "run_id", res.RunID, "error", err)
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &pb.PredictResponse{Outputs: out}, nil
}

var _ pb.PredictionServiceServer = (*Hydrosphere)(nil)
