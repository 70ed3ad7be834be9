package endpoint

import (
	"context"
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/weirflow/weir/engine"
	pb "github.com/weirflow/weir/internal/hydropb"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
)

// FuzzHydroInputs: whatever the bytes of a PredictRequest, the inputs
// object made of its tensors is an error or JSON, never a panic, and never
// larger than a bound of the message: a shape cannot make lists its values
// do not pay for.
func FuzzHydroInputs(f *testing.F) {
	e, err := engine.New(engine.Options{Providers: []plugins.Provider{builtin.NewProvider()}})
	if err != nil {
		f.Fatal(err)
	}
	defer e.Close()
	flow, err := e.Parse(context.Background(), "flow.cue", []byte(`name: "f"
inputs: {s: string, n: int, x: number, b: bool, xs: [...[...number]], o: {a?: int}, any: _}
nodes: echo: {tool: "builtin.json", inputs: value: "${inputs.s}"}
outputs: v: "${echo.output.value}"
`))
	if err != nil {
		f.Fatal(err)
	}
	c := newHydroContract(flow)
	seeds := []*pb.PredictRequest{
		{Inputs: map[string]*pb.Tensor{
			"s":  {Dtype: pb.DataType_DT_STRING, StringVal: [][]byte{[]byte("a")}},
			"n":  {Dtype: pb.DataType_DT_INT32, IntVal: []int32{1}},
			"xs": {Dtype: pb.DataType_DT_FLOAT, TensorShape: &pb.TensorShape{Dims: []int64{2, 1}}, FloatVal: []float32{1, 2}},
			"o":  {Dtype: pb.DataType_DT_STRING, StringVal: [][]byte{[]byte(`{"a": 1}`)}},
		}},
		{Inputs: map[string]*pb.Tensor{"any": {Dtype: pb.DataType_DT_BOOL, TensorShape: &pb.TensorShape{Dims: []int64{1 << 40, 0}}}}},
		{Inputs: map[string]*pb.Tensor{"any": {Dtype: pb.DataType_DT_INT64, TensorShape: &pb.TensorShape{Dims: []int64{1 << 32, 1 << 32}}}}},
	}
	for _, req := range seeds {
		b, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var req pb.PredictRequest
		if proto.Unmarshal(msg, &req) != nil {
			return
		}
		in, err := c.inputsJSON(req.Inputs)
		if err != nil {
			return
		}
		if !json.Valid(in) {
			t.Fatalf("inputs %q are not JSON", in)
		}
		// "[]," per empty list, and JSON's escapes of bytes: bounded.
		if len(in) > 16*len(msg)+4*maxEmptyLists+64 {
			t.Fatalf("a message of %d bytes made inputs of %d", len(msg), len(in))
		}
	})
}
