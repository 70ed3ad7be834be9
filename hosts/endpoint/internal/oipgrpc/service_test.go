package oipgrpc_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint/internal/oipgrpc"
	"github.com/weirflow/weir/hosts/endpoint/internal/tensor"
	"github.com/weirflow/weir/internal/inferencepb"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
)

// backend serves hosts/endpoint's calc flow as version "1", running each
// row on a real engine, one after another.
type backend struct {
	flow  *engine.Flow
	model *oipgrpc.Model
	ready bool
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	e, err := engine.New(engine.Options{Providers: []plugins.Provider{builtin.NewProvider()}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	f, err := e.Load(context.Background(), "../../testdata/calc.cue")
	require.NoError(t, err)
	return &backend{flow: f, ready: true, model: &oipgrpc.Model{Name: "calc", Version: "1", Versions: []string{"1"}, Tensors: tensor.ForFlow(f)}}
}

func (b *backend) Ready() bool { return b.ready }

func (b *backend) Model(name, version string, _ bool) (*oipgrpc.Model, error) {
	switch {
	case name != "calc":
		return nil, fmt.Errorf("flow %q is not deployed (deployed: calc): %w", name, oipgrpc.ErrNotFound)
	case version != "" && version != "1":
		return nil, fmt.Errorf("flow %q has no version %q (versions: 1): %w", name, version, oipgrpc.ErrNotFound)
	}
	return b.model, nil
}

func (b *backend) Infer(ctx context.Context, _ *oipgrpc.Model, _ string, rows [][]byte) ([][]byte, error) {
	out := make([][]byte, len(rows))
	for i, row := range rows {
		res, err := b.flow.Run(ctx, row)
		var inErr *engine.InputError
		if errors.As(err, &inErr) {
			return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("row %d: %v", i, err))
		}
		if err != nil {
			return nil, err
		}
		out[i] = res.Outputs
	}
	return out, nil
}

// serve serves the service of b on a loopback port, with opts, and
// returns its address.
func serve(t *testing.T, b oipgrpc.Backend, opts ...grpc.ServerOption) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer(opts...)
	oipgrpc.New(b, "weir", "test").Register(gs)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

// dial serves the service of b as serve does and returns a client.
func dial(t *testing.T, b oipgrpc.Backend, opts ...grpc.ServerOption) inferencepb.GRPCInferenceServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(serve(t, b, opts...), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return inferencepb.NewGRPCInferenceServiceClient(conn)
}

// text is a message in protojson, for comparing whole answers.
func text(t *testing.T, m proto.Message) string {
	t.Helper()
	b, err := protojson.MarshalOptions{Multiline: false}.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

func TestHealthAndMetadata(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	c := dial(t, b)
	ctx := context.Background()
	live, err := c.ServerLive(ctx, &inferencepb.ServerLiveRequest{})
	require.NoError(t, err)
	assert.True(t, live.GetLive())
	ready, err := c.ServerReady(ctx, &inferencepb.ServerReadyRequest{})
	require.NoError(t, err)
	assert.True(t, ready.GetReady())
	meta, err := c.ServerMetadata(ctx, &inferencepb.ServerMetadataRequest{})
	require.NoError(t, err)
	assert.Equal(t, "weir", meta.GetName())
	assert.Equal(t, "test", meta.GetVersion())
	model, err := c.ModelReady(ctx, &inferencepb.ModelReadyRequest{Name: "calc", Version: "1"})
	require.NoError(t, err)
	assert.True(t, model.GetReady())

	got, err := c.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{Name: "calc"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"name": "calc", "versions": ["1"], "platform": "weir",
		"inputs": [
			{"name": "values", "datatype": "FP64", "shape": ["-1", "-1"]},
			{"name": "times", "datatype": "INT64", "shape": ["-1"]},
			{"name": "label", "datatype": "BYTES", "shape": ["-1"]},
			{"name": "meta", "datatype": "BYTES", "shape": ["-1"], "parameters": {"content_type": {"stringParam": "json"}}}
		],
		"outputs": [
			{"name": "count", "datatype": "INT64", "shape": ["-1"]},
			{"name": "sum", "datatype": "FP64", "shape": ["-1"]},
			{"name": "text", "datatype": "BYTES", "shape": ["-1"]},
			{"name": "echo", "datatype": "BYTES", "shape": ["-1"], "parameters": {"content_type": {"stringParam": "json"}}},
			{"name": "times", "datatype": "INT64", "shape": ["-1"]}
		]}`, text(t, got))
}

func TestModelInfer(t *testing.T) {
	t.Parallel()
	c := dial(t, newBackend(t))
	req := &inferencepb.ModelInferRequest{
		ModelName: "calc",
		Id:        "r1",
		Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			{Name: "values", Datatype: "FP32", Shape: []int64{3, 2}, Contents: &inferencepb.InferTensorContents{Fp32Contents: []float32{1, 2, 3, 4.5, 0.1, 0.2}}},
			{Name: "times", Datatype: "INT32", Shape: []int64{3}, Contents: &inferencepb.InferTensorContents{IntContents: []int32{1, 2, 3}}},
			{Name: "meta", Datatype: "BYTES", Shape: []int64{3}, Contents: &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte(`{"k": 1}`), []byte(`{}`), []byte(`{}`)}}},
		},
		Outputs: []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "sum"}, {Name: "count"}, {Name: "echo"}, {Name: "text"}},
	}
	got, err := c.ModelInfer(context.Background(), req)
	require.NoError(t, err)
	want := `{"modelName": "calc", "modelVersion": "1", "id": "r1", "outputs": [
		{"name": "sum", "datatype": "FP64", "shape": ["3"], "contents": {"fp64Contents": [3, 7.5, 0.30000000000000004]}},
		{"name": "count", "datatype": "INT64", "shape": ["3"], "contents": {"int64Contents": ["2", "2", "2"]}},
		{"name": "echo", "datatype": "BYTES", "shape": ["3"], "parameters": {"content_type": {"stringParam": "json"}},
			"contents": {"bytesContents": ["eyJtZXRhIjp7ImsiOjF9LCJ0aW1lcyI6MX0=", "eyJtZXRhIjp7fSwidGltZXMiOjJ9", "eyJtZXRhIjp7fSwidGltZXMiOjN9"]}},
		{"name": "text", "datatype": "BYTES", "shape": ["3"], "contents": {"bytesContents": ["c3VtIG9mIDIgdmFsdWVz", "c3VtIG9mIDIgdmFsdWVz", "c3VtIG9mIDIgdmFsdWVz"]}}
	]}`
	assert.JSONEq(t, want, text(t, got))
	assert.Equal(t, `{"meta":{"k":1},"times":1}`, string(got.GetOutputs()[2].GetContents().GetBytesContents()[0]))

	// The same as raw contents, as Triton's clients send them.
	le := func(vals ...any) []byte {
		var b []byte
		for _, v := range vals {
			b, _ = binary.Append(b, binary.LittleEndian, v)
		}
		return b
	}
	strs := func(ss ...string) []byte {
		var b []byte
		for _, s := range ss {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
			b = append(b, s...)
		}
		return b
	}
	for _, in := range req.Inputs {
		in.Contents = nil
	}
	req.RawInputContents = [][]byte{
		le(float32(1), float32(2), float32(3), float32(4.5), float32(0.1), float32(0.2)),
		le(int32(1), int32(2), int32(3)),
		strs(`{"k": 1}`, `{}`, `{}`),
	}
	got, err = c.ModelInfer(context.Background(), req)
	require.NoError(t, err)
	// and answered as raw contents, which Triton's clients read.
	rawWant := `{"modelName": "calc", "modelVersion": "1", "id": "r1", "outputs": [
		{"name": "sum", "datatype": "FP64", "shape": ["3"]},
		{"name": "count", "datatype": "INT64", "shape": ["3"]},
		{"name": "echo", "datatype": "BYTES", "shape": ["3"], "parameters": {"content_type": {"stringParam": "json"}}},
		{"name": "text", "datatype": "BYTES", "shape": ["3"]}
	]}`
	raw := got.GetRawOutputContents()
	got.RawOutputContents = nil
	assert.JSONEq(t, rawWant, text(t, got))
	assert.Equal(t, [][]byte{
		le(3.0, 7.5, 0.30000000000000004),
		le(int64(2), int64(2), int64(2)),
		strs(`{"meta":{"k":1},"times":1}`, `{"meta":{},"times":2}`, `{"meta":{},"times":3}`),
		strs("sum of 2 values", "sum of 2 values", "sum of 2 values"),
	}, raw)
}

func TestModelInferErrors(t *testing.T) {
	t.Parallel()
	c := dial(t, newBackend(t))
	values := func(dt string, shape []int64, contents *inferencepb.InferTensorContents) *inferencepb.ModelInferRequest {
		return &inferencepb.ModelInferRequest{ModelName: "calc", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			{Name: "values", Datatype: dt, Shape: shape, Contents: contents},
			{Name: "meta", Datatype: "BYTES", Shape: []int64{1}, Contents: &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("{}")}}},
		}}
	}
	fp64 := func(f ...float64) *inferencepb.InferTensorContents {
		return &inferencepb.InferTensorContents{Fp64Contents: f}
	}
	raw := values("FP32", []int64{1, 1}, nil)
	raw.Inputs[1].Contents = nil
	raw.RawInputContents = [][]byte{{1, 2, 3}, {2, 0, 0, 0, '{', '}'}}
	both := values("FP64", []int64{1, 1}, fp64(1))
	both.RawInputContents = [][]byte{{0, 0, 0, 0, 0, 0, 0, 0}, {2, 0, 0, 0, '{', '}'}}
	short := values("FP64", []int64{1, 1}, nil)
	short.RawInputContents = [][]byte{{0, 0, 0, 0, 0, 0, 0, 0}}
	notText := values("FP64", []int64{1, 1}, fp64(1))
	notText.Inputs[1].Contents.BytesContents = [][]byte{{0xff}}
	badMeta := values("FP64", []int64{1, 1}, fp64(1))
	badMeta.Inputs[1].Contents.BytesContents = [][]byte{[]byte("[]")}
	tests := []struct {
		name string
		req  *inferencepb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{"unknown model", &inferencepb.ModelInferRequest{ModelName: "calk"}, codes.NotFound, `flow "calk" is not deployed (deployed: calc): not found`},
		{"unknown version", &inferencepb.ModelInferRequest{ModelName: "calc", ModelVersion: "9"}, codes.NotFound, `flow "calc" has no version "9" (versions: 1): not found`},
		{"wrong datatype", values("BOOL", []int64{1, 1}, &inferencepb.InferTensorContents{BoolContents: []bool{true}}), codes.InvalidArgument, `input "values": datatype BOOL is not FP64`},
		{"wrong shape", values("FP64", []int64{2}, fp64(1, 2)), codes.InvalidArgument, `input "values": shape [2] does not fit the input's [-1, -1]`},
		{"wrong count", values("FP64", []int64{1, 3}, fp64(1, 2)), codes.InvalidArgument, `input "values": shape [1, 3] holds 3 elements but data has 2`},
		{"contents of another datatype", values("FP64", []int64{1, 1}, &inferencepb.InferTensorContents{Fp32Contents: []float32{1}}), codes.InvalidArgument, `input "values": datatype FP64 takes its elements in contents.fp64_contents, not contents.fp32_contents`},
		{"no contents", values("FP64", []int64{1, 1}, nil), codes.InvalidArgument, `input "values": shape [1, 1] holds 1 element but data has 0`},
		{"NaN", values("FP64", []int64{1, 1}, fp64(math.NaN())), codes.InvalidArgument, `input "values": element 0 is NaN: JSON has no NaN or infinities`},
		{"FP16 contents", values("FP16", []int64{1, 1}, nil), codes.InvalidArgument, `input "values": FP16 elements come only in raw_input_contents`},
		{"raw of a partial element", raw, codes.InvalidArgument, `input "values": raw contents of 3 bytes are not a whole number of FP32 elements of 4 bytes`},
		{"raw and contents", both, codes.InvalidArgument, `input "values": contents and raw_input_contents both hold elements: send one`},
		{"raw for some inputs", short, codes.InvalidArgument, "raw_input_contents holds 1 tensors, but the request has 2 inputs"},
		{"not UTF-8", notText, codes.InvalidArgument, `input "meta": element 0 is not UTF-8 text`},
		{"unknown output", &inferencepb.ModelInferRequest{ModelName: "calc", Outputs: []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "mean"}}}, codes.InvalidArgument,
			`output "mean": the model has no such output (its outputs: count, sum, text, echo, times)`},
		{"the backend's error", badMeta, codes.InvalidArgument, `row 0: flow "calc": invalid inputs: meta: must be an object, got array`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ModelInfer(context.Background(), tc.req)
			st, _ := status.FromError(err)
			assert.Equal(t, tc.code, st.Code())
			assert.Equal(t, tc.msg, st.Message())
		})
	}
}

// TestOversized: a server's receive limit holds for the service's calls.
func TestOversized(t *testing.T) {
	t.Parallel()
	c := dial(t, newBackend(t), grpc.MaxRecvMsgSize(1024))
	_, err := c.ModelInfer(context.Background(), &inferencepb.ModelInferRequest{ModelName: "calc", Id: string(make([]byte, 2048))})
	st, _ := status.FromError(err)
	assert.Equal(t, codes.ResourceExhausted, st.Code())
	assert.Equal(t, "grpc: received message larger than max (2057 vs. 1024)", st.Message())
}

func TestNotReady(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	b.ready = false
	c := dial(t, b)
	ready, err := c.ServerReady(context.Background(), &inferencepb.ServerReadyRequest{})
	require.NoError(t, err)
	assert.False(t, ready.GetReady())
	model, err := c.ModelReady(context.Background(), &inferencepb.ModelReadyRequest{Name: "calc"})
	require.NoError(t, err)
	assert.False(t, model.GetReady())
	_, err = c.ModelMetadata(context.Background(), &inferencepb.ModelMetadataRequest{Name: "calk"})
	assert.Equal(t, codes.NotFound, status.Code(err))
}
