package endpoint

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint/internal/oipgrpc"
)

// oipBackend serves the Open Inference Protocol's gRPC form from the
// server core, as the REST routes of oip.go do: the same models, the
// same traffic split, a slot of MaxConcurrent per request and the free
// ones for its rows, RequestTimeout, and the run's errors in gRPC's codes.
type oipBackend struct{ s *Server }

func (b oipBackend) Ready() bool { return b.s.Ready() }

// Model returns flow name at version; without one, the newest, or, for an
// inference, the one the traffic split picks.
func (b oipBackend) Model(name, vname string, infer bool) (*oipgrpc.Model, error) {
	t := b.s.table.Load()
	rt := t.flows[name]
	if rt == nil {
		return nil, oipgrpc.NotFound(flowNotFound(t, name))
	}
	v, err := modelVersion(rt, vname, infer)
	if err != nil {
		return nil, oipgrpc.NotFound(err.Error())
	}
	versions := make([]string, len(rt.versions))
	for i, o := range rt.versions {
		versions[i] = o.name
	}
	return &oipgrpc.Model{Name: rt.name, Version: v.name, Versions: versions, Tensors: v.oip}, nil
}

// Infer runs the rows on the version Model returned, if it is still
// deployed, on a slot of MaxConcurrent and up to maxBatchWorkers-1 free
// ones, as the REST route does.
func (b oipBackend) Infer(ctx context.Context, m *oipgrpc.Model, id string, rows [][]byte) ([][]byte, error) {
	s := b.s
	rt := s.table.Load().flows[m.Name]
	var v *version
	if rt != nil {
		v = rt.version(m.Version)
	}
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "flow %q has no version %q: it was deleted during the call", m.Name, m.Version)
	}
	if id == "" {
		var b [8]byte
		_, _ = crand.Read(b[:])
		id = hex.EncodeToString(b[:])
	} else if !validRunID(id) {
		return nil, status.Error(codes.InvalidArgument, "id: "+runIDRule)
	}
	if !s.startRun() {
		return nil, status.Errorf(codes.ResourceExhausted, "too many runs in flight: the limit is %d", s.opts.MaxConcurrent)
	}
	defer s.endRun()
	tagSpan(ctx, v)
	outputs, failed := s.runRows(ctx, protocolOIPGRPC, v, rows, id)
	if failed == nil {
		return outputs, nil
	}
	if ctx.Err() != nil { // the client's deadline or cancel, not RequestTimeout
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	httpStatus, _, msg := failed.answer(rt.name, v, len(rows), s)
	return nil, status.Error(grpcCode(httpStatus), msg)
}

// oipService is the Open Inference Protocol's gRPC service of s.
func (s *Server) oipService() *oipgrpc.Service {
	return oipgrpc.New(oipBackend{s}, "weir", engine.Version())
}
