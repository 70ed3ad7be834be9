// Package oipgrpc serves the gRPC form of the Open Inference Protocol v2
// (inference.GRPCInferenceService) over a Backend: the deployed flows as
// models, their tensors mapped by package tensor, as the REST routes of
// hosts/endpoint map them. It decides no run, limit or version itself:
// the Backend does, so that gRPC and REST go through one server core.
package oipgrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weirflow/weir/hosts/endpoint/internal/tensor"
	"github.com/weirflow/weir/internal/inferencepb"
)

// Model is one version of a deployed flow, as a model.
type Model struct {
	Name, Version string
	// Versions are all the model's versions, oldest first.
	Versions []string
	Tensors  *tensor.Model
}

// ErrNotFound is wrapped by a Backend's error for a model or version that
// is not deployed: the call answers NOT_FOUND with its text.
var ErrNotFound = errors.New("not found")

// NotFound returns an error that answers NOT_FOUND with msg alone.
func NotFound(msg string) error { return notFound(msg) }

type notFound string

func (e notFound) Error() string      { return string(e) }
func (notFound) Is(target error) bool { return target == ErrNotFound }

// Backend is what the service serves. Its methods are called from many
// goroutines at once.
type Backend interface {
	// Ready reports whether the server takes inference requests.
	Ready() bool
	// Model returns the model called name at version; without a version,
	// the newest, or, when infer, the one the server's traffic split
	// picks.
	Model(name, version string, infer bool) (*Model, error)
	// Infer runs m once per row, each an inputs object, and returns each
	// row's outputs object, as id names the request. An error with a
	// gRPC status (status.Error) answers with it; any other is UNKNOWN.
	Infer(ctx context.Context, m *Model, id string, rows [][]byte) ([][]byte, error)
}

// Service is inference.GRPCInferenceService over a Backend. It is safe
// for concurrent use.
type Service struct {
	inferencepb.UnimplementedGRPCInferenceServiceServer
	backend       Backend
	name, version string
}

// New returns the service of backend; name and version are the server's,
// as ServerMetadata answers them.
func New(backend Backend, name, version string) *Service {
	return &Service{backend: backend, name: name, version: version}
}

// Register registers the service on gs.
func (s *Service) Register(gs *grpc.Server) {
	inferencepb.RegisterGRPCInferenceServiceServer(gs, s)
}

func (s *Service) ServerLive(context.Context, *inferencepb.ServerLiveRequest) (*inferencepb.ServerLiveResponse, error) {
	return &inferencepb.ServerLiveResponse{Live: true}, nil
}

func (s *Service) ServerReady(context.Context, *inferencepb.ServerReadyRequest) (*inferencepb.ServerReadyResponse, error) {
	return &inferencepb.ServerReadyResponse{Ready: s.backend.Ready()}, nil
}

func (s *Service) ServerMetadata(context.Context, *inferencepb.ServerMetadataRequest) (*inferencepb.ServerMetadataResponse, error) {
	return &inferencepb.ServerMetadataResponse{Name: s.name, Version: s.version, Extensions: []string{tensor.BinaryExtension}}, nil
}

func (s *Service) ModelReady(_ context.Context, req *inferencepb.ModelReadyRequest) (*inferencepb.ModelReadyResponse, error) {
	if _, err := s.model(req.GetName(), req.GetVersion(), false); err != nil {
		return nil, err
	}
	return &inferencepb.ModelReadyResponse{Ready: s.backend.Ready()}, nil
}

func (s *Service) ModelMetadata(_ context.Context, req *inferencepb.ModelMetadataRequest) (*inferencepb.ModelMetadataResponse, error) {
	m, err := s.model(req.GetName(), req.GetVersion(), false)
	if err != nil {
		return nil, err
	}
	return &inferencepb.ModelMetadataResponse{
		Name:     m.Name,
		Versions: m.Versions,
		Platform: tensor.Platform,
		Inputs:   metadata(m.Tensors.Inputs),
		Outputs:  metadata(m.Tensors.Outputs),
	}, nil
}

func metadata(specs []tensor.Spec) []*inferencepb.ModelMetadataResponse_TensorMetadata {
	out := make([]*inferencepb.ModelMetadataResponse_TensorMetadata, len(specs))
	for i, s := range specs {
		out[i] = &inferencepb.ModelMetadataResponse_TensorMetadata{Name: s.Name, Datatype: s.Datatype, Shape: s.Shape, Parameters: parameters(s.Parameters)}
	}
	return out
}

// ModelInfer maps the request's tensors to rows, has the Backend run them
// and maps their outputs back: INVALID_ARGUMENT for tensors that do not
// fit the model, naming the input or output, as the REST routes word it.
func (s *Service) ModelInfer(ctx context.Context, req *inferencepb.ModelInferRequest) (*inferencepb.ModelInferResponse, error) {
	m, err := s.model(req.GetModelName(), req.GetModelVersion(), true)
	if err != nil {
		return nil, err
	}
	inputs, err := decodeInputs(req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	asked := make([]tensor.RequestOutput, len(req.GetOutputs()))
	for i, o := range req.GetOutputs() {
		asked[i] = tensor.RequestOutput{Name: o.GetName()}
	}
	specs, err := m.Tensors.Select(asked)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	rows, err := m.Tensors.Rows(inputs)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	outputs, err := s.backend.Infer(ctx, m, req.GetId(), rows)
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		return nil, status.Error(codes.Unknown, err.Error())
	}
	tensors, err := tensor.Stack(specs, outputs)
	if err != nil {
		return nil, status.Error(codes.Internal, "encode the answer: "+err.Error())
	}
	// A client that sends raw contents reads raw ones: Triton's answers
	// carry only those, and its client reads numbers from nothing else.
	raw := len(req.GetRawInputContents()) > 0
	resp := &inferencepb.ModelInferResponse{ModelName: m.Name, ModelVersion: m.Version, Id: req.GetId(), Outputs: make([]*inferencepb.ModelInferResponse_InferOutputTensor, len(tensors))}
	for i, t := range tensors {
		out := &inferencepb.ModelInferResponse_InferOutputTensor{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape, Parameters: parameters(t.Parameters)}
		if raw {
			resp.RawOutputContents = append(resp.RawOutputContents, tensor.AppendRaw(nil, t))
		} else {
			out.Contents = contents(t)
		}
		resp.Outputs[i] = out
	}
	return resp, nil
}

// model finds a model, or returns NOT_FOUND.
func (s *Service) model(name, version string, infer bool) (*Model, error) {
	m, err := s.backend.Model(name, version, infer)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, status.Error(codes.NotFound, err.Error())
	case err != nil:
		return nil, status.Error(codes.Unknown, err.Error())
	}
	return m, nil
}

// parameters are a tensor's parameters as the protocol's messages: weir
// sets only strings.
func parameters(p map[string]any) map[string]*inferencepb.InferParameter {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string]*inferencepb.InferParameter, len(p))
	for k, v := range p {
		out[k] = &inferencepb.InferParameter{ParameterChoice: &inferencepb.InferParameter_StringParam{StringParam: fmt.Sprint(v)}}
	}
	return out
}

// contents are an output tensor's elements in the list of its datatype:
// the four the mapping makes.
func contents(t tensor.Tensor) *inferencepb.InferTensorContents {
	c := &inferencepb.InferTensorContents{}
	for _, e := range t.Data {
		switch x := e.(type) {
		case bool:
			c.BoolContents = append(c.BoolContents, x)
		case string:
			c.BytesContents = append(c.BytesContents, []byte(x))
		case json.Number:
			if t.Datatype == tensor.Int64 {
				n, _ := x.Int64() // Stack checked it
				c.Int64Contents = append(c.Int64Contents, n)
			} else {
				f, _ := x.Float64()
				c.Fp64Contents = append(c.Fp64Contents, f)
			}
		}
	}
	return c
}

// decodeInputs returns the request's input tensors with their elements
// as package tensor takes them: bool, json.Number or string, from
// contents or from raw_input_contents.
func decodeInputs(req *inferencepb.ModelInferRequest) ([]tensor.Tensor, error) {
	raw := req.GetRawInputContents()
	if len(raw) > 0 && len(raw) != len(req.GetInputs()) {
		return nil, fmt.Errorf("raw_input_contents holds %d tensors, but the request has %d inputs", len(raw), len(req.GetInputs()))
	}
	out := make([]tensor.Tensor, len(req.GetInputs()))
	for i, in := range req.GetInputs() {
		t := tensor.Tensor{Name: in.GetName(), Shape: in.GetShape(), Datatype: in.GetDatatype()}
		var err error
		if len(raw) > 0 {
			if in.GetContents() != nil {
				return nil, fmt.Errorf("input %q: contents and raw_input_contents both hold elements: send one", in.GetName())
			}
			t.Data, err = tensor.DecodeRaw(in.GetDatatype(), raw[i])
		} else {
			t.Data, err = elements(in.GetDatatype(), in.GetContents())
		}
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", in.GetName(), err)
		}
		out[i] = t
	}
	return out, nil
}

// contentsFields name the list of InferTensorContents each datatype's
// elements go in.
var contentsFields = map[string]string{
	"BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents", "INT32": "int_contents",
	"INT64": "int64_contents", "UINT8": "uint_contents", "UINT16": "uint_contents", "UINT32": "uint_contents",
	"UINT64": "uint64_contents", "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents",
}

// misplaced returns an error naming a list of c other than dt's that
// holds elements, which would otherwise read as a tensor of none.
func misplaced(dt string, c *inferencepb.InferTensorContents) error {
	lists := []struct {
		field string
		n     int
	}{
		{"bool_contents", len(c.GetBoolContents())}, {"int_contents", len(c.GetIntContents())},
		{"int64_contents", len(c.GetInt64Contents())}, {"uint_contents", len(c.GetUintContents())},
		{"uint64_contents", len(c.GetUint64Contents())}, {"fp32_contents", len(c.GetFp32Contents())},
		{"fp64_contents", len(c.GetFp64Contents())}, {"bytes_contents", len(c.GetBytesContents())},
	}
	want := contentsFields[dt]
	for _, l := range lists {
		if l.n > 0 && l.field != want {
			return fmt.Errorf("datatype %s takes its elements in contents.%s, not contents.%s", dt, want, l.field)
		}
	}
	return nil
}

// elements reads the list of contents that dt's elements go in.
func elements(dt string, c *inferencepb.InferTensorContents) ([]any, error) {
	if _, known := contentsFields[dt]; known {
		if err := misplaced(dt, c); err != nil {
			return nil, err
		}
	}
	var out []any
	switch dt {
	case "BOOL":
		out = each(c.GetBoolContents(), func(b bool) any { return b })
	case "INT8", "INT16", "INT32":
		out = each(c.GetIntContents(), func(n int32) any { return json.Number(strconv.FormatInt(int64(n), 10)) })
	case "INT64":
		out = each(c.GetInt64Contents(), func(n int64) any { return json.Number(strconv.FormatInt(n, 10)) })
	case "UINT8", "UINT16", "UINT32":
		out = each(c.GetUintContents(), func(n uint32) any { return json.Number(strconv.FormatUint(uint64(n), 10)) })
	case "UINT64":
		out = each(c.GetUint64Contents(), func(n uint64) any { return json.Number(strconv.FormatUint(n, 10)) })
	case "FP32":
		return floats(c.GetFp32Contents(), func(f float32) float64 { return float64(f) }, 32)
	case "FP64":
		return floats(c.GetFp64Contents(), func(f float64) float64 { return f }, 64)
	case "BYTES":
		return tensor.Texts(c.GetBytesContents())
	case "FP16":
		return nil, errors.New("FP16 elements come only in raw_input_contents")
	default:
		return []any{}, nil // package tensor names the datatype
	}
	return out, nil
}

func each[T any](list []T, f func(T) any) []any {
	out := make([]any, len(list))
	for i, x := range list {
		out[i] = f(x)
	}
	return out
}

// floats writes floating-point elements as the shortest decimal that
// reads back as the same float of bits bits.
func floats[T any](list []T, f func(T) float64, bits int) ([]any, error) {
	out := make([]any, len(list))
	for i, x := range list {
		v := f(x)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("element %d is %v: JSON has no NaN or infinities", i, v)
		}
		out[i] = json.Number(strconv.FormatFloat(v, 'g', -1, bits))
	}
	return out, nil
}

var _ inferencepb.GRPCInferenceServiceServer = (*Service)(nil)
