package main

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeOpenInference: weir serve of the hello flow answers the Open
// Inference Protocol over REST, as KServe's clients call it: metadata, a
// batch of 3, a client's error; then the same from Python's urllib, and
// binary tensor data as Triton's HTTP client sends it.
func TestServeOpenInference(t *testing.T) {
	t.Parallel()
	_, root := weirBinary(t)
	s := startServe(t, root, nil, 1, "examples/hello/flow.cue")

	resp, err := http.Get(s.url + "/v2/models/hello")
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, helloMetadata+"\n", string(b))

	code, body := post(t, s.url+"/v2/models/hello/infer", "application/json", `{"id": "batch-1", "inputs": [
		{"name": "name", "shape": [3], "datatype": "BYTES", "data": ["Ada", "Grace", "Alan"]},
		{"name": "loud", "shape": [3], "datatype": "BOOL", "data": [false, true, false]}
	]}`)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, helloBatch+"\n", body)

	code, body = post(t, s.url+"/v2/models/hello/versions/v1/infer", "application/json", `{"inputs": [
		{"name": "name", "shape": [1], "datatype": "BYTES", "data": ["Ada"]},
		{"name": "loud", "shape": [1], "datatype": "INT64", "data": [1]}
	]}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, `{"error":"input \"loud\": datatype INT64 is not BOOL"}`+"\n", body)

	code, body = post(t, s.url+"/v2/models/hello/infer", "application/json", `{"inputs": [{"name": "name", "shape": [1], "datatype": "BYTES", "data": [""]}]}`)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, `{"error":"flow \"hello\": invalid inputs: name: must not be \"\""}`+"\n", body)

	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skipf("SKIP LOUDLY: no python3 on PATH to call weir serve as a Python client would: %v", err)
	}
	cmd := exec.Command(python, "-c", urllibClient, s.url)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, strings.Join([]string{
		`200 {'ready': True}`,
		`200 ` + helloMetadataPython,
		`200 ['Hello, Ada!', 'Hello, Grace!', 'Hello, Alan!'] ['null', '"HELLO, GRACE!"', 'null']`,
		`404 {'error': 'flow "hola" is not deployed (deployed: hello)'}`,
		`400 {'error': 'input "name": shape [2] holds 2 elements but data has 3'}`,
		`200 application/octet-stream [2] ['Hello, Ada!', 'Hello, Grace!']`,
		"",
	}, "\n"), string(out))
}

// helloMetadata is the metadata of examples/hello: shouted is JSON, since
// it is null when node shout is bypassed.
const helloMetadata = `{"name":"hello","versions":["v1"],"platform":"weir",` +
	`"inputs":[{"name":"name","datatype":"BYTES","shape":[-1]},{"name":"loud","datatype":"BOOL","shape":[-1]}],` +
	`"outputs":[{"name":"message","datatype":"BYTES","shape":[-1]},{"name":"shouted","datatype":"BYTES","shape":[-1],"parameters":{"content_type":"json"}}]}`

const helloMetadataPython = `{'name': 'hello', 'versions': ['v1'], 'platform': 'weir', ` +
	`'inputs': [{'name': 'name', 'datatype': 'BYTES', 'shape': [-1]}, {'name': 'loud', 'datatype': 'BOOL', 'shape': [-1]}], ` +
	`'outputs': [{'name': 'message', 'datatype': 'BYTES', 'shape': [-1]}, {'name': 'shouted', 'datatype': 'BYTES', 'shape': [-1], 'parameters': {'content_type': 'json'}}]}`

const helloBatch = `{"model_name":"hello","model_version":"v1","id":"batch-1","outputs":[` +
	`{"name":"message","shape":[3],"datatype":"BYTES","data":["Hello, Ada!","Hello, Grace!","Hello, Alan!"]},` +
	`{"name":"shouted","shape":[3],"datatype":"BYTES","parameters":{"content_type":"json"},"data":["null","\"HELLO, GRACE!\"","null"]}]}`

// urllibClient calls weir serve at argv[1] with nothing but Python's
// standard library, and prints each status and answer.
const urllibClient = `
import json, struct, sys, urllib.error, urllib.request

base = sys.argv[1]

def call(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)

print(*call("/v2/health/ready"))
print(*call("/v2/models/hello"))
status, answer = call("/v2/models/hello/infer", {"inputs": [
    {"name": "name", "shape": [3], "datatype": "BYTES", "data": ["Ada", "Grace", "Alan"]},
    {"name": "loud", "shape": [3], "datatype": "BOOL", "data": [False, True, False]},
]})
outputs = {o["name"]: o["data"] for o in answer["outputs"]}
print(status, outputs["message"], outputs["shouted"])
print(*call("/v2/models/hola/infer", {"inputs": []}))
print(*call("/v2/models/hello/infer", {"inputs": [{"name": "name", "shape": [2], "datatype": "BYTES", "data": ["a", "b", "c"]}]}))

# The binary tensor data extension, as Triton's HTTP client sends and reads it.
def pack_bytes(items):
    return b"".join(struct.pack("<I", len(x)) + x for x in items)

def unpack_bytes(raw):
    out = []
    while raw:
        (n,) = struct.unpack_from("<I", raw)
        out.append(raw[4:4 + n].decode())
        raw = raw[4 + n:]
    return out

names, louds = pack_bytes([b"Ada", b"Grace"]), struct.pack("<??", False, True)
header = json.dumps({"inputs": [
    {"name": "name", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": len(names)}},
    {"name": "loud", "shape": [2], "datatype": "BOOL", "parameters": {"binary_data_size": len(louds)}},
], "outputs": [{"name": "message", "parameters": {"binary_data": True}}]}).encode()
req = urllib.request.Request(base + "/v2/models/hello/infer", data=header + names + louds, headers={
    "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(header))})
with urllib.request.urlopen(req) as resp:
    n = int(resp.headers["Inference-Header-Content-Length"])
    body = resp.read()
answer = json.loads(body[:n])
message = answer["outputs"][0]
size = message["parameters"]["binary_data_size"]
print(resp.status, resp.headers["Content-Type"], message["shape"], unpack_bytes(body[n:n + size]))
`
