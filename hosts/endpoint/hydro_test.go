package endpoint_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
	pb "github.com/weirflow/weir/internal/hydropb"
	"github.com/weirflow/weir/plugins"
)

// tensorsFlow has an input of each kind the mapping knows, and gives
// them back: typed outputs straight from the inputs, untyped ones
// through a node.
const tensorsFlow = `name: "tensors"
inputs: {
	name:  string & !=""
	count: int
	ratio: number | *0.5
	on:    bool
	xs: [...number]
	grid: [...[...int]]
	meta: {a: int}
}
nodes: echo: {
	tool: "builtin.json"
	inputs: value: {xs: "${inputs.xs}", grid: "${inputs.grid}", meta: "${inputs.meta}", names: ["${inputs.name}", "b"], nothing: null}
}
outputs: {
	name:    "${inputs.name}"
	count:   "${inputs.count}"
	ratio:   "${inputs.ratio}"
	on:      "${inputs.on}"
	xs:      "${echo.output.value.xs}"
	grid:    "${echo.output.value.grid}"
	meta:    "${echo.output.value.meta}"
	names:   "${echo.output.value.names}"
	nothing: "${echo.output.value.nothing}"
}
`

// hydroClient serves fx's server's gRPC API on a loopback port and
// returns a client of its Hydrosphere PredictionService.
func hydroClient(t testing.TB, fx *fixture) (pb.PredictionServiceClient, *endpoint.Hydrosphere) {
	t.Helper()
	return pb.NewPredictionServiceClient(fx.grpcServe(t)), endpoint.NewHydrosphere(fx.s)
}

func scalar(dtype pb.DataType) *pb.Tensor {
	return &pb.Tensor{Dtype: dtype, TensorShape: &pb.TensorShape{}}
}

func str(s string) *pb.Tensor {
	t := scalar(pb.DataType_DT_STRING)
	t.StringVal = [][]byte{[]byte(s)}
	return t
}

func i64(dims []int64, vs ...int64) *pb.Tensor {
	return &pb.Tensor{Dtype: pb.DataType_DT_INT64, TensorShape: &pb.TensorShape{Dims: dims}, Int64Val: vs}
}

func f64(dims []int64, vs ...float64) *pb.Tensor {
	return &pb.Tensor{Dtype: pb.DataType_DT_DOUBLE, TensorShape: &pb.TensorShape{Dims: dims}, DoubleVal: vs}
}

func boolean(v bool) *pb.Tensor {
	t := scalar(pb.DataType_DT_BOOL)
	t.BoolVal = []bool{v}
	return t
}

// tensorsInputs are inputs that fit tensorsFlow.
func tensorsInputs() map[string]*pb.Tensor {
	return map[string]*pb.Tensor{
		"name":  str("Ada"),
		"count": i64(nil, 3),
		"on":    boolean(true),
		"xs":    f64([]int64{3}, 1.5, 2, -3),
		"grid":  i64([]int64{2, 3}, 1, 2, 3, 4, 5, 6),
		"meta":  str(`{"a": 1}`),
	}
}

func TestHydroSignature(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	f := fx.deploy(t, "v1", tensorsFlow)
	_, h := hydroClient(t, fx)
	field := func(name string, dtype pb.DataType, dims ...int64) *pb.ModelField {
		return &pb.ModelField{Name: name, Shape: &pb.TensorShape{Dims: dims}, TypeOrSubfields: &pb.ModelField_Dtype{Dtype: dtype}}
	}
	want := &pb.ModelSignature{
		SignatureName: "predict",
		Inputs: []*pb.ModelField{
			field("name", pb.DataType_DT_STRING),
			field("count", pb.DataType_DT_INT64),
			field("ratio", pb.DataType_DT_DOUBLE),
			field("on", pb.DataType_DT_BOOL),
			field("xs", pb.DataType_DT_DOUBLE, -1),
			field("grid", pb.DataType_DT_INT64, -1, -1),
			field("meta", pb.DataType_DT_STRING),
		},
		Outputs: []*pb.ModelField{
			field("name", pb.DataType_DT_STRING),
			field("count", pb.DataType_DT_INT64),
			field("ratio", pb.DataType_DT_DOUBLE),
			field("on", pb.DataType_DT_BOOL),
			field("xs", pb.DataType_DT_ANY),
			field("grid", pb.DataType_DT_ANY),
			field("meta", pb.DataType_DT_ANY),
			field("names", pb.DataType_DT_ANY),
			field("nothing", pb.DataType_DT_ANY),
		},
	}
	got := h.Signature(f)
	assert.True(t, proto.Equal(want, got), "got %v", got)
}

func TestHydroPredict(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", tensorsFlow)
	client, _ := hydroClient(t, fx)
	resp, err := client.Predict(context.Background(), &pb.PredictRequest{Inputs: tensorsInputs()})
	require.NoError(t, err)
	names := &pb.Tensor{Dtype: pb.DataType_DT_STRING, TensorShape: &pb.TensorShape{Dims: []int64{2}}, StringVal: [][]byte{[]byte("Ada"), []byte("b")}}
	want := map[string]*pb.Tensor{
		"name":  str("Ada"),
		"count": i64([]int64{}, 3),
		"ratio": f64([]int64{}, 0.5), // the flow's default
		"on":    boolean(true),
		// Untyped outputs: lists of numbers are DT_DOUBLE with their
		// shape, objects JSON; the null output is left out.
		"xs":    f64([]int64{3}, 1.5, 2, -3),
		"grid":  f64([]int64{2, 3}, 1, 2, 3, 4, 5, 6),
		"meta":  str(`{"a":1}`),
		"names": names,
	}
	assert.Len(t, resp.Outputs, len(want))
	for name, w := range want {
		assert.True(t, proto.Equal(w, resp.Outputs[name]), "output %q: got %v", name, resp.Outputs[name])
	}
}

func TestHydroPredictErrors(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", tensorsFlow)
	client, _ := hydroClient(t, fx)
	tests := []struct {
		name   string
		change func(in map[string]*pb.Tensor)
		msg    string
	}{
		{"a missing input", func(in map[string]*pb.Tensor) { delete(in, "count") },
			`input "count" is missing: want DT_INT64, shape []`},
		{"an unknown input", func(in map[string]*pb.Tensor) { in["Name"] = str("x") },
			`unknown input "Name" (inputs: count, grid, meta, name, on, ratio, xs)`},
		{"a wrong dtype", func(in map[string]*pb.Tensor) { in["name"] = i64(nil, 1) },
			`input "name": dtype DT_INT64, want DT_STRING`},
		{"a double for an integer", func(in map[string]*pb.Tensor) { in["count"] = f64(nil, 1) },
			`input "count": dtype DT_DOUBLE, want DT_INT64`},
		{"a list for a scalar", func(in map[string]*pb.Tensor) { in["count"] = i64([]int64{1}, 1) },
			`input "count": shape [1], want []`},
		{"a scalar for a list", func(in map[string]*pb.Tensor) { in["xs"] = f64(nil, 1) },
			`input "xs": shape [], want [-1]`},
		{"a list of the wrong rank", func(in map[string]*pb.Tensor) { in["grid"] = i64([]int64{6}, 1, 2, 3, 4, 5, 6) },
			`input "grid": shape [6], want [-1, -1]`},
		{"too few values", func(in map[string]*pb.Tensor) { in["grid"] = i64([]int64{2, 3}, 1, 2, 3, 4, 5) },
			`input "grid": shape [2, 3] holds 6 values, got 5`},
		{"a scalar without its value", func(in map[string]*pb.Tensor) { in["on"] = scalar(pb.DataType_DT_BOOL) },
			`input "on": shape [] holds 1 value, got 0`},
		{"values in another dtype's list", func(in map[string]*pb.Tensor) {
			in["name"] = &pb.Tensor{Dtype: pb.DataType_DT_STRING, TensorShape: &pb.TensorShape{}, IntVal: []int32{1}}
		}, `input "name": dtype DT_STRING takes its values in string_val, not int_val`},
		{"a negative dimension", func(in map[string]*pb.Tensor) { in["xs"] = f64([]int64{-1}, 1) },
			`input "xs": shape [-1]: a dimension is negative`},
		{"a shape of many empty lists", func(in map[string]*pb.Tensor) { in["grid"] = i64([]int64{1 << 40, 0}) },
			`input "grid": shape [1099511627776, 0] is too large for the 0 values sent`},
		{"a shape of too many dimensions", func(in map[string]*pb.Tensor) {
			in["meta"] = i64([]int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 1)
		}, `input "meta": shape of 33 dimensions: at most 32`},
		{"a dtype weir does not read", func(in map[string]*pb.Tensor) { in["xs"].Dtype = pb.DataType_DT_HALF },
			`input "xs": dtype DT_HALF is not supported: weir takes DT_STRING, DT_BOOL, DT_INT64, DT_INT32, DT_DOUBLE and DT_FLOAT`},
		{"raw bytes", func(in map[string]*pb.Tensor) { in["xs"].BinaryVal = []byte{1} },
			`input "xs": binary_val is not read: send the values in the list of dtype DT_DOUBLE`},
		{"not a finite number", func(in map[string]*pb.Tensor) { in["xs"] = f64([]int64{1}, math.NaN()) },
			`input "xs": value NaN: want a finite number`},
		{"text that is not UTF-8", func(in map[string]*pb.Tensor) { in["name"].StringVal = [][]byte{{0xff}} },
			`input "name": DT_STRING value is not UTF-8 text`},
		{"an object that is not JSON", func(in map[string]*pb.Tensor) { in["meta"] = str("a: 1") },
			`input "meta": DT_STRING value is not JSON text, which an input of this type takes`},
		// What the engine checks, it words as for the HTTP API.
		{"a value the flow's type refuses", func(in map[string]*pb.Tensor) { in["name"] = str("") },
			`flow "tensors": invalid inputs: name: must not be ""`},
		{"an object of the wrong fields", func(in map[string]*pb.Tensor) { in["meta"] = str(`{"b": 1}`) },
			`flow "tensors": invalid inputs: meta.a: is required; meta.b: unknown field (allowed: a)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tensorsInputs()
			tc.change(in)
			_, err := client.Predict(context.Background(), &pb.PredictRequest{Inputs: in})
			assert.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
			assert.Equal(t, tc.msg, status.Convert(err).Message())
		})
	}
}

func TestHydroLimits(t *testing.T) {
	t.Parallel()
	t.Run("no flow", func(t *testing.T) {
		t.Parallel()
		client, _ := hydroClient(t, newFixture(t, endpoint.Options{}, engine.Options{}))
		_, err := client.Predict(context.Background(), &pb.PredictRequest{})
		assert.Equal(t, status.Error(codes.NotFound, "no flow is deployed").Error(), err.Error())
	})
	t.Run("too many runs", func(t *testing.T) {
		t.Parallel()
		fx := newFixture(t, endpoint.Options{MaxConcurrent: 1}, engine.Options{})
		fx.deploy(t, "v1", gatedFlow)
		client, _ := hydroClient(t, fx)
		first := make(chan error, 1)
		go func() {
			_, err := client.Predict(context.Background(), &pb.PredictRequest{})
			first <- err
		}()
		<-fx.entered
		_, err := client.Predict(context.Background(), &pb.PredictRequest{})
		assert.Equal(t, status.Error(codes.ResourceExhausted, "too many runs in flight: the limit is 1").Error(), err.Error())
		close(fx.release)
		require.NoError(t, <-first)
	})
	t.Run("the server's deadline", func(t *testing.T) {
		t.Parallel()
		fx := newFixture(t, endpoint.Options{RequestTimeout: 50 * time.Millisecond}, engine.Options{})
		fx.deploy(t, "v1", sleepyFlow)
		client, _ := hydroClient(t, fx)
		_, err := client.Predict(context.Background(), &pb.PredictRequest{})
		assert.Equal(t, status.Error(codes.DeadlineExceeded, `run timed out after 50ms while node "nap" (tool builtin.sleep) was running`).Error(), err.Error())
	})
	t.Run("a node that fails", func(t *testing.T) {
		t.Parallel()
		fx := newFixture(t, endpoint.Options{}, engine.Options{})
		require.NoError(t, fx.e.Register("bad", plugins.Func("fail", "Fails.", func(context.Context, struct{}) (struct{}, error) {
			return struct{}{}, errors.New("connection reset")
		})))
		fx.deploy(t, "v1", `name: "failing"
nodes: n: tool: "bad.fail"
outputs: v: "${n.output}"
`)
		client, _ := hydroClient(t, fx)
		_, err := client.Predict(context.Background(), &pb.PredictRequest{})
		assert.Equal(t, status.Error(codes.Unknown, `node "n" (tool bad.fail, plugin bad): connection reset`).Error(), err.Error())
	})
	t.Run("a client that goes away", func(t *testing.T) {
		t.Parallel()
		fx := newFixture(t, endpoint.Options{}, engine.Options{})
		fx.deploy(t, "v1", gatedFlow)
		client, _ := hydroClient(t, fx)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := client.Predict(ctx, &pb.PredictRequest{})
			done <- err
		}()
		<-fx.entered
		cancel() // the gate fails with its context; the client sees its cancel
		assert.Equal(t, codes.Canceled, status.Code(<-done))
		assert.ErrorIs(t, <-fx.canceled, context.Canceled)
	})
}

// BenchmarkHydroPredict: the builtin hello flow called by one client at a
// time, through Hydrosphere's Predict on loopback gRPC and through /score
// on loopback HTTP, on the same server: what the tensor mapping and gRPC
// cost beside weir's own route.
func BenchmarkHydroPredict(b *testing.B) {
	fx := newFixture(b, endpoint.Options{}, engine.Options{})
	fx.deploy(b, "v1", helloFlow)
	client, _ := hydroClient(b, fx)
	b.Run("predict", func(b *testing.B) {
		req := &pb.PredictRequest{Inputs: map[string]*pb.Tensor{"name": str("Ada")}}
		for b.Loop() {
			if _, err := client.Predict(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("score", func(b *testing.B) {
		for b.Loop() {
			resp, err := http.Post(fx.url+"/score", "application/json", strings.NewReader(`{"name":"Ada"}`))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatal(resp.Status)
			}
		}
	})
}
