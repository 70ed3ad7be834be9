package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// grpcPython returns a python3 that imports grpc and grpc_tools
// (Debian's python3-grpcio and python3-grpc-tools, as CI installs them).
func grpcPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(py); err == nil && exec.Command(path, "-c", "import grpc, grpc_tools").Run() == nil {
			return path
		}
	}
	const need = "needs a python3 that imports grpc and grpc_tools (apt-get install python3-grpcio python3-grpc-tools)"
	if os.Getenv("WEIR_REQUIRE_TOOLS") != "" {
		t.Fatal(need)
	}
	t.Skip("SKIP LOUDLY: " + need)
	return ""
}

// hydroClientPy calls Predict as a Hydrosphere client would, with stubs
// generated from weir's .proto files: the hello flow's inputs, then an
// input of the wrong dtype.
const hydroClientPy = `
import sys, grpc
from hydrosphere.serving.runtime import api_pb2, api_pb2_grpc
from hydrosphere.serving.contract import tensor_pb2, types_pb2

stub = api_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(sys.argv[1]))
name = tensor_pb2.Tensor(dtype=types_pb2.DT_STRING, string_val=[b"Ada"])
loud = tensor_pb2.Tensor(dtype=types_pb2.DT_BOOL, tensor_shape=tensor_pb2.TensorShape(), bool_val=[True])
for inputs in ({"name": name}, {"name": name, "loud": loud}):
    resp = stub.Predict(api_pb2.PredictRequest(inputs=inputs), timeout=60)
    for k in sorted(resp.outputs):
        t = resp.outputs[k]
        print(k, types_pb2.DataType.Name(t.dtype), list(t.tensor_shape.dims), [v.decode() for v in t.string_val])
try:
    stub.Predict(api_pb2.PredictRequest(inputs={"name": tensor_pb2.Tensor(dtype=types_pb2.DT_INT64, int64_val=[7])}), timeout=60)
except grpc.RpcError as e:
    print(e.code().name, e.details())
`

// TestServeHydrosphereUsage: an APP_PORT weir serve cannot listen on
// stops it before it loads a flow. Not parallel: it sets APP_PORT.
func TestServeHydrosphereUsage(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	_, port, _ := net.SplitHostPort(taken.Addr().String())
	for _, tc := range []struct{ port, stderr string }{
		{"http", `weir: APP_PORT "http": want a port number, or 0 for a free one` + "\n"},
		{"65536", `weir: APP_PORT "65536": want a port number, or 0 for a free one` + "\n"},
		{port, "weir: serve APP_PORT: listen tcp " + taken.Addr().String() + ": bind: address already in use: another program listens there; pick another port\n"},
	} {
		t.Setenv("APP_PORT", tc.port)
		// The flow is not there: APP_PORT fails first.
		got := weir(t, "", "serve", "--addr", "127.0.0.1:0", "nowhere.cue")
		assert.Equal(t, result{1, "", tc.stderr}, got, tc.port)
	}
}

var hydroListening = regexp.MustCompile(` at (127\.0\.0\.1:\d+) \(APP_PORT\)`)

// TestServeHydrosphere stands weir serve where a Hydrosphere runtime image
// stood: APP_PORT set, Python's grpcio calls Predict on the hello flow,
// and gRPC health says it serves until weir drains.
func TestServeHydrosphere(t *testing.T) {
	t.Parallel()
	_, root := weirBinary(t)
	py := grpcPython(t)
	stubs := t.TempDir()
	protos := []string{"-I", filepath.Join(root, "proto"), "--python_out", stubs, "--grpc_python_out", stubs}
	for _, f := range []string{"contract/types.proto", "contract/tensor.proto", "runtime/api.proto"} {
		protos = append(protos, filepath.Join(root, "proto/hydrosphere/serving", f))
	}
	out, err := exec.Command(py, append([]string{"-m", "grpc_tools.protoc"}, protos...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)

	// Port 0: a free one, which the start line names.
	s := startServe(t, root, []string{"APP_PORT=0"}, 2, "examples/hello/flow.cue")
	m := hydroListening.FindStringSubmatch(s.start[1])
	require.NotNil(t, m, "%q", s.start)
	addr := m[1]
	assert.Equal(t, "serving the default flow to Hydrosphere clients at "+addr+
		" (APP_PORT): gRPC hydrosphere.serving.runtime.PredictionService/Predict, and the rest of the gRPC API", s.start[1])

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	for _, service := range []string{"", "hydrosphere.serving.runtime.PredictionService"} {
		resp, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
		require.NoError(t, err)
		assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.Status, service)
	}

	client := exec.Command(py, "-c", hydroClientPy, addr)
	client.Env = append(os.Environ(), "PYTHONPATH="+stubs)
	out, err = client.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, `message DT_STRING [] ['Hello, Ada!']
message DT_STRING [] ['Hello, Ada!']
shouted DT_STRING [] ['HELLO, ADA!']
INVALID_ARGUMENT input "name": dtype DT_INT64, want DT_STRING
`, string(out))

	code, rest := s.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, code, "%q", rest)
}
