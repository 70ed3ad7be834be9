package oipgrpc_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// debianPython is the interpreter with Debian's python3-grpcio and
// python3-grpc-tools.
const debianPython = "/usr/bin/python3"

// TestPythonClient calls the service from Python's grpcio, with stubs
// generated from weir's .proto at test time, as a KServe user's client
// would: metadata, a batch of 2 with typed contents, the same with raw
// contents as Triton's client sends them, and an error.
func TestPythonClient(t *testing.T) {
	t.Parallel()
	if out, err := exec.Command(debianPython, "-c", "import grpc, grpc_tools.protoc").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("%s cannot import grpc and grpc_tools (apt-get install python3-grpcio python3-grpc-tools): %v: %s", debianPython, err, out)
		if os.Getenv("WEIR_REQUIRE_TOOLS") != "" {
			t.Fatal(msg)
		}
		t.Skip("SKIP LOUDLY: " + msg)
	}
	stubs := t.TempDir()
	gen := exec.Command(debianPython, "-m", "grpc_tools.protoc", "-I", "../../../../proto",
		"--python_out", stubs, "--grpc_python_out", stubs, "inference/v1/grpc_predict_v2.proto")
	out, err := gen.CombinedOutput()
	require.NoError(t, err, "%s", out)

	addr := serve(t, newBackend(t))
	script := filepath.Join(t.TempDir(), "client.py")
	require.NoError(t, os.WriteFile(script, []byte(grpcioClient), 0o644))
	cmd := exec.Command(debianPython, script, addr)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+stubs)
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, strings.Join([]string{
		"calc weir ['values', 'times', 'label', 'meta'] ['FP64', 'INT64', 'BYTES', 'BYTES'] json",
		"r1 [2] [6.0, 0.5] [2, 2] ['total of 2 values', 'total of 2 values']",
		"r2 [[2], [2]] 0 [6.0, 0.5] [2, 2]",
		`INVALID_ARGUMENT input "values": datatype BOOL is not FP64`,
		"",
	}, "\n"), string(out))
}

const grpcioClient = `
import struct
import sys
import grpc
from inference.v1 import grpc_predict_v2_pb2 as pb, grpc_predict_v2_pb2_grpc as rpc

stub = rpc.GRPCInferenceServiceStub(grpc.insecure_channel(sys.argv[1]))
meta = stub.ModelMetadata(pb.ModelMetadataRequest(name="calc"))
print(meta.name, meta.platform, [i.name for i in meta.inputs], [i.datatype for i in meta.inputs],
      meta.inputs[3].parameters["content_type"].string_param)

def tensor(name, datatype, shape, **contents):
    return pb.ModelInferRequest.InferInputTensor(name=name, datatype=datatype, shape=shape,
                                                 contents=pb.InferTensorContents(**contents))

answer = stub.ModelInfer(pb.ModelInferRequest(model_name="calc", id="r1", inputs=[
    tensor("values", "FP64", [2, 2], fp64_contents=[1, 5, 0.25, 0.25]),
    tensor("times", "INT64", [2], int64_contents=[3, 4]),
    tensor("label", "BYTES", [2], bytes_contents=[b"total", b"total"]),
    tensor("meta", "BYTES", [2], bytes_contents=[b"{}", b"{}"]),
], outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name="sum"), pb.ModelInferRequest.InferRequestedOutputTensor(name="count"),
            pb.ModelInferRequest.InferRequestedOutputTensor(name="text")]))
out = {o.name: o for o in answer.outputs}
print(answer.id, list(out["sum"].shape), list(out["sum"].contents.fp64_contents), list(out["count"].contents.int64_contents),
      [b.decode() for b in out["text"].contents.bytes_contents])

# Raw contents in and out, as Triton's gRPC client sends and reads them.
def raw_tensor(name, datatype, shape):
    return pb.ModelInferRequest.InferInputTensor(name=name, datatype=datatype, shape=shape)
answer = stub.ModelInfer(pb.ModelInferRequest(model_name="calc", id="r2", inputs=[
    raw_tensor("values", "FP32", [2, 2]), raw_tensor("times", "INT32", [2]), raw_tensor("meta", "BYTES", [2]),
], raw_input_contents=[
    struct.pack("<4f", 1, 5, 0.25, 0.25), struct.pack("<2i", 3, 4),
    b"".join(struct.pack("<I", 2) + b"{}" for _ in range(2)),
], outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name="sum"), pb.ModelInferRequest.InferRequestedOutputTensor(name="count")]))
print(answer.id, [list(o.shape) for o in answer.outputs], len(answer.outputs[0].contents.fp64_contents),
      list(struct.unpack("<2d", answer.raw_output_contents[0])), list(struct.unpack("<2q", answer.raw_output_contents[1])))
try:
    stub.ModelInfer(pb.ModelInferRequest(model_name="calc", inputs=[tensor("values", "BOOL", [1, 1], bool_contents=[True])]))
except grpc.RpcError as err:
    print(err.code().name, err.details())
`
