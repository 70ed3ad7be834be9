package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// grpcurlVersion is the grpcurl the tests build when none is on PATH.
const grpcurlVersion = "v1.9.3"

var grpcurlBuilt struct {
	once sync.Once
	bin  string
	err  error
}

// grpcurlBinary returns grpcurl: the one on PATH, else one built from its
// Go module into a temporary folder, once per test binary. Without it the
// test skips loudly, or fails under WEIR_REQUIRE_TOOLS, as CI sets.
func grpcurlBinary(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("grpcurl"); err == nil {
		return bin
	}
	grpcurlBuilt.once.Do(func() {
		dir, err := os.MkdirTemp("", "weir-grpcurl-")
		if err != nil {
			grpcurlBuilt.err = err
			return
		}
		cmd := exec.Command("go", "install", "github.com/fullstorydev/grpcurl/cmd/grpcurl@"+grpcurlVersion)
		cmd.Dir = dir // outside weir's module: grpcurl's own go.mod decides
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			grpcurlBuilt.err = fmt.Errorf("go install grpcurl@%s: %v\n%s", grpcurlVersion, err, out)
			return
		}
		grpcurlBuilt.bin = filepath.Join(dir, "grpcurl")
	})
	if err := grpcurlBuilt.err; err != nil {
		if os.Getenv("WEIR_REQUIRE_TOOLS") != "" {
			t.Fatal(err)
		}
		t.Skipf("SKIP LOUDLY: no grpcurl: %v", err)
	}
	return grpcurlBuilt.bin
}

var grpcAt = regexp.MustCompile(`^gRPC at (127\.0\.0\.1:\d+) \(weir\.flow\.v1\.Flows, inference\.GRPCInferenceService, hydrosphere\.serving\.runtime\.PredictionService, health, reflection\)$`)

// TestServeGRPC is the README's grpcurl against weir serve --grpc-addr:
// list and describe through reflection, a Run, the Open Inference
// Protocol's ModelInfer and Hydrosphere's Predict on the same port,
// health, an error, then a clean stop on SIGTERM.
func TestServeGRPC(t *testing.T) {
	t.Parallel()
	_, root := weirBinary(t)
	grpcurl := grpcurlBinary(t)
	s := startServe(t, root, nil, 2, "--grpc-addr", "127.0.0.1:0", "examples/hello/flow.cue")
	require.Len(t, s.start, 2)
	assert.Equal(t, `serving flow "hello" at `+s.url+` (POST /score, /v1/flows/hello/runs)`, s.start[0])
	m := grpcAt.FindStringSubmatch(s.start[1])
	require.NotNil(t, m, "start line %q", s.start[1])
	addr := m[1]

	call := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(grpcurl, append([]string{"-plaintext"}, args...)...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			require.NoError(t, err)
		}
		return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
	}

	out, _, code := call(addr, "list")
	assert.Equal(t, 0, code)
	assert.Equal(t, "grpc.health.v1.Health\ngrpc.reflection.v1.ServerReflection\ngrpc.reflection.v1alpha.ServerReflection\n"+
		"hydrosphere.serving.runtime.PredictionService\ninference.GRPCInferenceService\nweir.flow.v1.Flows\n", out)

	out, _, code = call(addr, "describe", "weir.flow.v1.Flows")
	assert.Equal(t, 0, code)
	assert.Equal(t, `weir.flow.v1.Flows is a service:
service Flows {
  rpc Describe ( .weir.flow.v1.DescribeRequest ) returns ( .weir.flow.v1.DescribeResponse );
  rpc Run ( .weir.flow.v1.RunRequest ) returns ( .weir.flow.v1.RunResponse );
  rpc RunStream ( .weir.flow.v1.RunRequest ) returns ( stream .weir.flow.v1.RunEvent );
}
`, out)

	out, stderr, code := call("-d", `{"flow":"hello","inputs":{"name":"Ada"}}`, addr, "weir.flow.v1.Flows/Run")
	require.Equal(t, 0, code, stderr)
	var run struct {
		RunID       string         `json:"runId"`
		Flow        string         `json:"flow"`
		Version     string         `json:"version"`
		Status      string         `json:"status"`
		Outputs     map[string]any `json:"outputs"`
		OutputsJSON string         `json:"outputsJson"`
		Nodes       []struct {
			Node, Tool, Status string
		} `json:"nodes"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &run), out)
	assert.NotEmpty(t, run.RunID)
	assert.Equal(t, []string{"hello", "v1", "succeeded"}, []string{run.Flow, run.Version, run.Status})
	assert.Equal(t, map[string]any{"message": "Hello, Ada!", "shouted": nil}, run.Outputs)
	assert.Equal(t, `{"message":"Hello, Ada!","shouted":null}`, run.OutputsJSON)
	require.Len(t, run.Nodes, 2)
	assert.Equal(t, []string{"greet", "text.greet", "succeeded", "shout", "text.upper", "bypassed"},
		[]string{run.Nodes[0].Node, run.Nodes[0].Tool, run.Nodes[0].Status, run.Nodes[1].Node, run.Nodes[1].Tool, run.Nodes[1].Status})

	out, stderr, code = call("-d", `{"model_name": "hello", "id": "r1", "inputs": [
		{"name": "name", "datatype": "BYTES", "shape": [2], "contents": {"bytes_contents": ["QWRh", "R3JhY2U="]}},
		{"name": "loud", "datatype": "BOOL", "shape": [2], "contents": {"bool_contents": [false, true]}}]}`,
		addr, "inference.GRPCInferenceService/ModelInfer")
	require.Equal(t, 0, code, stderr)
	assert.JSONEq(t, `{"modelName": "hello", "modelVersion": "v1", "id": "r1", "outputs": [
		{"name": "message", "datatype": "BYTES", "shape": ["2"], "contents": {"bytesContents": ["SGVsbG8sIEFkYSE=", "SGVsbG8sIEdyYWNlIQ=="]}},
		{"name": "shouted", "datatype": "BYTES", "shape": ["2"], "parameters": {"content_type": {"stringParam": "json"}},
		 "contents": {"bytesContents": ["bnVsbA==", "IkhFTExPLCBHUkFDRSEi"]}}]}`, out)

	out, stderr, code = call("-d", `{"inputs": {"name": {"dtype": "DT_STRING", "string_val": ["QWRh"]}}}`,
		addr, "hydrosphere.serving.runtime.PredictionService/Predict")
	require.Equal(t, 0, code, stderr)
	// shouted is null, its node bypassed: a Hydrosphere answer leaves it out.
	assert.JSONEq(t, `{"outputs": {"message": {"dtype": "DT_STRING", "tensorShape": {}, "stringVal": ["SGVsbG8sIEFkYSE="]}}}`, out)

	out, _, code = call(addr, "grpc.health.v1.Health/Check")
	assert.Equal(t, 0, code)
	assert.JSONEq(t, `{"status": "SERVING"}`, out)

	// grpcurl exits 64 + the status code.
	_, stderr, code = call("-d", `{"flow":"hello","inputs":{"name":""}}`, addr, "weir.flow.v1.Flows/Run")
	assert.Equal(t, 64+3, code)
	assert.Equal(t, "ERROR:\n  Code: InvalidArgument\n  Message: flow \"hello\": invalid inputs: name: must not be \"\"\n", stderr)

	code, rest := s.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, code)
	assert.Equal(t, []string{"draining: no new requests; those in flight have 30s to finish"}, rest)
}

// TestServeGRPCAddr: --grpc-addr is checked as --addr is.
func TestServeGRPCAddr(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--grpc-addr", "9090", "examples/hello/flow.cue")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 2, exit.ExitCode())
	assert.True(t, strings.HasPrefix(string(out), "weir: --grpc-addr 9090: did you mean :9090 (every interface) or 127.0.0.1:9090 (this machine only)?\n"), string(out))
}

// TestServeGRPCSamePort: --grpc answers gRPC on the HTTP port, and HTTP
// still answers there.
func TestServeGRPCSamePort(t *testing.T) {
	t.Parallel()
	_, root := weirBinary(t)
	grpcurl := grpcurlBinary(t)
	s := startServe(t, root, nil, 2, "--grpc", "examples/hello/flow.cue")
	addr := strings.TrimPrefix(s.url, "http://")
	assert.Equal(t, "gRPC at "+addr+" too, beside HTTP (h2c)", s.start[1])

	cmd := exec.Command(grpcurl, "-plaintext", "-d", `{"inputs":{"name":"Ada"}}`, addr, "weir.flow.v1.Flows/Run")
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.Contains(t, string(out), `"message": "Hello, Ada!"`)
	out, err = exec.Command(grpcurl, "-plaintext", addr, "grpc.health.v1.Health/Check").Output()
	require.NoError(t, err)
	assert.JSONEq(t, `{"status": "SERVING"}`, string(out))

	resp, err := http.Post(s.url+"/score", "application/json", strings.NewReader(`{"name": "Bo"}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"message": "Hello, Bo!", "shouted": null}`, string(body))

	code, _ := s.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, code)
}
