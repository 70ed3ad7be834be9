package endpoint_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/internal/inferencepb"
)

// grpcInference is an Open Inference Protocol client of fx over gRPC.
func (fx *fixture) grpcInference(t *testing.T) (inferencepb.GRPCInferenceServiceClient, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return inferencepb.NewGRPCInferenceServiceClient(fx.grpcServe(t)), ctx
}

func int64s(v ...int64) *inferencepb.InferTensorContents {
	return &inferencepb.InferTensorContents{Int64Contents: v}
}

// TestOIPGRPC: weir serve's gRPC port answers the Open Inference
// Protocol from the same core as REST: the traffic split's version, a
// batch of rows, the run metrics under protocol oip_grpc.
func TestOIPGRPC(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "1", calcFlow(t))
	c, ctx := fx.grpcInference(t)

	ready, err := c.ModelReady(ctx, &inferencepb.ModelReadyRequest{Name: "calc"})
	require.NoError(t, err)
	assert.True(t, ready.Ready)
	resp, err := c.ModelInfer(ctx, &inferencepb.ModelInferRequest{ModelName: "calc", Id: "req-1",
		Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
			{Name: "values", Datatype: "FP64", Shape: []int64{2, 2}, Contents: &inferencepb.InferTensorContents{Fp64Contents: []float64{1, 2, 3, 4.5}}},
			{Name: "times", Datatype: "INT64", Shape: []int64{2}, Contents: int64s(1, 2)},
			{Name: "meta", Datatype: "BYTES", Shape: []int64{2}, Contents: &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("{}"), []byte(`{"k":1}`)}}},
		},
		Outputs: []*inferencepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "sum"}, {Name: "times"}},
	})
	require.NoError(t, err)
	assert.Equal(t, "calc", resp.ModelName)
	assert.Equal(t, "1", resp.ModelVersion)
	assert.Equal(t, "req-1", resp.Id)
	require.Len(t, resp.Outputs, 2)
	assert.Equal(t, "sum", resp.Outputs[0].Name)
	assert.Equal(t, []float64{3, 7.5}, resp.Outputs[0].Contents.Fp64Contents)
	assert.Equal(t, []int64{1, 2}, resp.Outputs[1].Contents.Int64Contents)

	metrics := do(t, "GET", fx.url+"/metrics", "").body
	assert.Contains(t, metrics, `weir_runs_total{flow="calc",protocol="oip_grpc",status="succeeded",version="1"} 2`+"\n")
	assert.Contains(t, metrics, `weir_grpc_request_duration_seconds_count{code="OK",method="/inference.GRPCInferenceService/ModelInfer"} 1`+"\n")
}

// TestOIPGRPCErrors: each failure in the protocol's gRPC codes, with the
// message REST answers.
func TestOIPGRPCErrors(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{RequestTimeout: 200 * time.Millisecond}, engine.Options{})
	fx.deploy(t, "1", calcFlow(t))
	fx.deploy(t, "1", sleepyFlow)
	c, ctx := fx.grpcInference(t)
	values := func(dt string, shape ...int64) *inferencepb.ModelInferRequest_InferInputTensor {
		return &inferencepb.ModelInferRequest_InferInputTensor{Name: "values", Datatype: dt, Shape: shape, Contents: &inferencepb.InferTensorContents{Fp64Contents: []float64{1}}}
	}
	tests := []struct {
		name    string
		req     *inferencepb.ModelInferRequest
		code    codes.Code
		message string
	}{
		{"unknown model", &inferencepb.ModelInferRequest{ModelName: "calk"}, codes.NotFound, `flow "calk" is not deployed (deployed: calc, sleepy)`},
		{"unknown version", &inferencepb.ModelInferRequest{ModelName: "calc", ModelVersion: "9"}, codes.NotFound, `flow "calc" has no version "9" (versions: 1)`},
		{"wrong shape", &inferencepb.ModelInferRequest{ModelName: "calc", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{values("FP64", 1)}},
			codes.InvalidArgument, `input "values": shape [1] does not fit the input's [-1, -1]`},
		{"a bad id", &inferencepb.ModelInferRequest{ModelName: "calc", Id: "a b", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{values("FP64", 1, 1),
			{Name: "meta", Datatype: "BYTES", Shape: []int64{1}, Contents: &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("{}")}}}}},
			codes.InvalidArgument, "id: want 1 to 128 visible ASCII characters"},
		{"the deadline", &inferencepb.ModelInferRequest{ModelName: "sleepy"}, codes.DeadlineExceeded,
			`run timed out after 200ms while node "nap" (tool builtin.sleep) was running`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ModelInfer(ctx, tc.req)
			assert.Equal(t, tc.code, status.Code(err), err)
			assert.Equal(t, tc.message, status.Convert(err).Message())
		})
	}
}

// TestOIPGRPCMaxConcurrent: an inference over gRPC takes a slot that HTTP
// counts, and is refused RESOURCE_EXHAUSTED when none is free.
func TestOIPGRPCMaxConcurrent(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{MaxConcurrent: 1}, engine.Options{})
	fx.deploy(t, "1", heldFlow)
	c, ctx := fx.grpcInference(t)
	one := &inferencepb.ModelInferRequest{ModelName: "held", Inputs: []*inferencepb.ModelInferRequest_InferInputTensor{
		{Name: "n", Datatype: "INT64", Shape: []int64{1}, Contents: int64s(1)},
	}}
	held := make(chan error, 1)
	go func() {
		_, err := c.ModelInfer(ctx, one)
		held <- err
	}()
	<-fx.entered
	_, err := c.ModelInfer(ctx, one)
	assert.Equal(t, codes.ResourceExhausted, status.Code(err))
	assert.Equal(t, "too many runs in flight: the limit is 1", status.Convert(err).Message())
	assert.Equal(t, http.StatusTooManyRequests, do(t, "POST", fx.url+"/v2/models/held/infer", `{"inputs": [{"name": "n", "shape": [1], "datatype": "INT64", "data": [1]}]}`).status)
	close(fx.release)
	require.NoError(t, <-held)
}
