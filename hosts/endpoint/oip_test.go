package endpoint_test

import (
	"encoding/binary"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
)

// calcFlow is the model of these tests.
func calcFlow(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/calc.cue")
	require.NoError(t, err)
	return string(b)
}

// lines returns the lines of text that start with one of prefixes.
func lines(text string, prefixes ...string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// oipError is the body of an error answer of the Open Inference Protocol.
func oipError(message string) string {
	return `{"error":` + quote(message) + "}\n"
}

func TestOIPHealthAndMetadata(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	got := do(t, "GET", fx.url+"/v2/health/ready", "")
	assert.Equal(t, answer{http.StatusServiceUnavailable, got.header, `{"ready":false}` + "\n"}, got, "no flow is deployed")

	fx.deploy(t, "1", calcFlow(t))
	fx.deploy(t, "2", calcFlow(t))
	fx.deploy(t, "1", helloFlow)
	tests := []struct {
		path, body string
	}{
		{"/v2/health/live", `{"live":true}`},
		{"/v2/health/ready", `{"ready":true}`},
		{"/v2", `{"name":"weir","version":"` + engine.Version() + `","extensions":["binary_tensor_data"]}`},
		{"/v2/models/calc", `{"name":"calc","versions":["1","2"],"platform":"weir",` +
			`"inputs":[{"name":"values","datatype":"FP64","shape":[-1,-1]},{"name":"times","datatype":"INT64","shape":[-1]},` +
			`{"name":"label","datatype":"BYTES","shape":[-1]},{"name":"meta","datatype":"BYTES","shape":[-1],"parameters":{"content_type":"json"}}],` +
			`"outputs":[{"name":"count","datatype":"INT64","shape":[-1]},{"name":"sum","datatype":"FP64","shape":[-1]},` +
			`{"name":"text","datatype":"BYTES","shape":[-1]},{"name":"echo","datatype":"BYTES","shape":[-1],"parameters":{"content_type":"json"}},` +
			`{"name":"times","datatype":"INT64","shape":[-1]}]}`},
		{"/v2/models/hello/versions/1", `{"name":"hello","versions":["1"],"platform":"weir",` +
			`"inputs":[{"name":"name","datatype":"BYTES","shape":[-1]}],"outputs":[{"name":"message","datatype":"BYTES","shape":[-1]}]}`},
		{"/v2/models/calc/ready", `{"name":"calc","ready":true}`},
		{"/v2/models/calc/versions/2/ready", `{"name":"calc","ready":true}`},
	}
	for _, tc := range tests {
		got := do(t, "GET", fx.url+tc.path, "")
		assert.Equal(t, http.StatusOK, got.status, tc.path)
		assert.Equal(t, "application/json", got.header.Get("Content-Type"), tc.path)
		assert.Equal(t, tc.body+"\n", got.body, tc.path)
	}
}

func TestOIPInfer(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "1", calcFlow(t))
	fx.deploy(t, "2", helloFlow)
	infer := fx.url + "/v2/models/calc/infer"

	got := do(t, "POST", infer, `{"id": "req-1", "inputs": [
		{"name": "values", "shape": [3, 2], "datatype": "FP32", "data": [[1, 2], [3, 4.5], [-1, 1]]},
		{"name": "times", "shape": [3, 1], "datatype": "INT32", "data": [1, 2, 3]},
		{"name": "meta", "shape": [3], "datatype": "BYTES", "data": ["{\"k\": 1}", "{}", "{\"k\": [true]}"]}
	]}`)
	assert.Equal(t, http.StatusOK, got.status, got.body)
	assert.Equal(t, `{"model_name":"calc","model_version":"1","id":"req-1","outputs":[`+
		`{"name":"count","shape":[3],"datatype":"INT64","data":[2,2,2]},`+
		`{"name":"sum","shape":[3],"datatype":"FP64","data":[3,7.5,0]},`+
		`{"name":"text","shape":[3],"datatype":"BYTES","data":["sum of 2 values","sum of 2 values","sum of 2 values"]},`+
		`{"name":"echo","shape":[3],"datatype":"BYTES","parameters":{"content_type":"json"},"data":["{\"meta\":{\"k\":1},\"times\":1}","{\"meta\":{},\"times\":2}","{\"meta\":{\"k\":[true]},\"times\":3}"]},`+
		`{"name":"times","shape":[3],"datatype":"INT64","data":[1,2,3]}]}`+"\n", got.body)
	assert.Equal(t, "1", got.header.Get("Weir-Version"))
	assert.Equal(t, "req-1", got.header.Get("X-Request-Id"))
	assert.Empty(t, got.header.Get("Weir-Run-Id"), "a batch's runs are req-1/0, req-1/1 and req-1/2")

	// The outputs asked for, in their order; a version named; one row.
	got = do(t, "POST", fx.url+"/v2/models/calc/versions/1/infer", `{"inputs": [
		{"name": "values", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]},
		{"name": "label", "shape": [1], "datatype": "BYTES", "data": ["total"]},
		{"name": "meta", "shape": [1], "datatype": "BYTES", "data": ["{}"]}
	], "outputs": [{"name": "text"}, {"name": "sum"}]}`, "X-Request-Id: from-header")
	assert.Equal(t, http.StatusOK, got.status, got.body)
	assert.Equal(t, `{"model_name":"calc","model_version":"1","id":"from-header","outputs":[`+
		`{"name":"text","shape":[1],"datatype":"BYTES","data":["total of 3 values"]},`+
		`{"name":"sum","shape":[1],"datatype":"FP64","data":[6]}]}`+"\n", got.body)
	assert.Equal(t, "from-header", got.header.Get("Weir-Run-Id"))

	// Without an id, the answer has one of its own.
	got = do(t, "POST", fx.url+"/v2/models/hello/infer", `{"inputs": [{"name": "name", "shape": [2], "datatype": "BYTES", "data": ["Ada", "Grace"]}]}`)
	assert.Equal(t, http.StatusOK, got.status, got.body)
	assert.Regexp(t, `^\{"model_name":"hello","model_version":"2","id":"[0-9a-f]{16}","outputs":\[`+
		`\{"name":"message","shape":\[2\],"datatype":"BYTES","data":\["Hello, Ada!","Hello, Grace!"\]\}\]\}`+"\n$", got.body)

	// Each row is a run, counted in the metrics.
	metrics := do(t, "GET", fx.url+"/metrics", "")
	assert.Equal(t, []string{
		`weir_http_request_duration_seconds_count{code="200",method="POST",route="/v2/models/{model}/infer"} 2`,
		`weir_http_request_duration_seconds_count{code="200",method="POST",route="/v2/models/{model}/versions/{version}/infer"} 1`,
		`weir_runs_total{flow="calc",protocol="oip_rest",status="succeeded",version="1"} 4`,
		`weir_runs_total{flow="hello",protocol="oip_rest",status="succeeded",version="2"} 2`,
	}, lines(metrics.body, "weir_http_request_duration_seconds_count{", "weir_runs_total{"))
}

// TestOIPInferBinary speaks the binary tensor data extension, as Triton's
// HTTP client does by default: inputs as binary data after the JSON, and
// the outputs asked for as binary data after the answer's.
func TestOIPInferBinary(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "1", calcFlow(t))
	infer := fx.url + "/v2/models/calc/infer"

	header := `{"inputs": [
		{"name": "values", "shape": [2, 2], "datatype": "FP32", "parameters": {"binary_data_size": 16}},
		{"name": "meta", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 17}}
	], "outputs": [{"name": "sum", "parameters": {"binary_data": true}}, {"name": "text"}, {"name": "echo", "parameters": {"binary_data": true}}]}`
	var body []byte
	body = append(body, header...)
	for _, f := range []float32{1, 2, 3, 4.5} {
		body = binary.LittleEndian.AppendUint32(body, math.Float32bits(f))
	}
	for _, m := range []string{`{"k":1}`, `{}`} {
		body = binary.LittleEndian.AppendUint32(body, uint32(len(m)))
		body = append(body, m...)
	}
	got := do(t, "POST", infer, string(body), "Content-Type: application/octet-stream", "Inference-Header-Content-Length: "+strconv.Itoa(len(header)))
	require.Equal(t, http.StatusOK, got.status, got.body)
	assert.Equal(t, "application/octet-stream", got.header.Get("Content-Type"))
	n, err := strconv.Atoi(got.header.Get("Inference-Header-Content-Length"))
	require.NoError(t, err)
	require.LessOrEqual(t, n, len(got.body))
	assert.Regexp(t, `^\{"model_name":"calc","model_version":"1","id":"[0-9a-f]{16}","outputs":\[`+
		`\{"name":"sum","shape":\[2\],"datatype":"FP64","parameters":\{"binary_data_size":16\}\},`+
		`\{"name":"text","shape":\[2\],"datatype":"BYTES","data":\["sum of 2 values","sum of 2 values"\]\},`+
		`\{"name":"echo","shape":\[2\],"datatype":"BYTES","parameters":\{"binary_data_size":55,"content_type":"json"\}\}\]\}$`, got.body[:n])
	var want []byte
	for _, f := range []float64{3, 7.5} {
		want = binary.LittleEndian.AppendUint64(want, math.Float64bits(f))
	}
	for _, e := range []string{`{"meta":{"k":1},"times":1}`, `{"meta":{},"times":1}`} {
		want = binary.LittleEndian.AppendUint32(want, uint32(len(e)))
		want = append(want, e...)
	}
	assert.Equal(t, want, []byte(got.body[n:]))

	got = do(t, "POST", infer, string(body), "Inference-Header-Content-Length: many")
	assert.Equal(t, answer{http.StatusBadRequest, got.header, oipError(`Inference-Header-Content-Length "many": want a whole number of bytes`)}, got)
	got = do(t, "POST", infer, header)
	assert.Equal(t, answer{http.StatusBadRequest, got.header, oipError(`input "values": binary_data_size needs the Inference-Header-Content-Length header to find the binary data`)}, got)
}

func TestOIPErrors(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{MaxBodyBytes: 1024}, engine.Options{})
	fx.deploy(t, "1", calcFlow(t))
	fx.deploy(t, "1", `name: "fails"
inputs: n: int
nodes: {
	half: {tool: "builtin.json", inputs: value: "${inputs.n}"}
	fail: {tool: "builtin.stats", inputs: values: ["${half.output.value}", "x"]}
}
outputs: v: "${fail.output.sum}"
`)
	infer := fx.url + "/v2/models/calc/infer"
	values := func(shape, datatype, data string) string {
		return `{"inputs": [{"name": "values", "shape": ` + shape + `, "datatype": "` + datatype + `", "data": ` + data + `}]}`
	}
	tests := []struct {
		name, method, url, body string
		status                  int
		message                 string
	}{
		{"unknown model", "POST", fx.url + "/v2/models/calk/infer", values("[1, 1]", "FP64", "[1]"), 404,
			`flow "calk" is not deployed (deployed: calc, fails)`},
		{"unknown version", "POST", fx.url + "/v2/models/calc/versions/9/infer", values("[1, 1]", "FP64", "[1]"), 404,
			`flow "calc" has no version "9" (versions: 1)`},
		{"unknown model's metadata", "GET", fx.url + "/v2/models/calk", "", 404, `flow "calk" is not deployed (deployed: calc, fails)`},
		{"unknown version's metadata", "GET", fx.url + "/v2/models/calc/versions/9", "", 404, `flow "calc" has no version "9" (versions: 1)`},
		{"unknown version's readiness", "GET", fx.url + "/v2/models/calc/versions/9/ready", "", 404, `flow "calc" has no version "9" (versions: 1)`},
		{"not JSON", "POST", infer, `{"inputs": [`, 400, "decode body: unexpected EOF"},
		{"no inputs", "POST", infer, `{"id": "1"}`, 400, `decode body: no "inputs": want {"inputs": [{"name", "shape", "datatype", "data"}, ...]}`},
		{"wrong datatype", "POST", infer, values("[1, 1]", "BYTES", `["1"]`), 400, `input "values": datatype BYTES is not FP64`},
		{"wrong shape", "POST", infer, values("[2]", "FP64", "[1, 2]"), 400, `input "values": shape [2] does not fit the input's [-1, -1]`},
		{"wrong count", "POST", infer, values("[2, 2]", "FP64", "[1, 2, 3]"), 400, `input "values": shape [2, 2] holds 4 elements but data has 3`},
		{"wrong element", "POST", infer, values("[1, 2]", "FP64", `[1, "2"]`), 400, `input "values": element 1 is "2", not a number`},
		{"unknown input", "POST", infer, `{"inputs": [{"name": "value", "shape": [1], "datatype": "FP64", "data": [1]}]}`, 400,
			`input "value": the model has no such input (its inputs: values, times, label, meta)`},
		{"missing input", "POST", infer, `{"inputs": []}`, 400, `input "values" is missing: the model requires it`},
		{"unknown output", "POST", infer, `{"inputs": [], "outputs": [{"name": "mean"}]}`, 400,
			`output "mean": the model has no such output (its outputs: count, sum, text, echo, times)`},
		{"a bad id", "POST", infer, `{"id": "a b", "inputs": [{"name": "values", "shape": [1, 1], "datatype": "FP64", "data": [1]}]}`, 400,
			"id: want 1 to 128 visible ASCII characters"},
		{"invalid input of a row", "POST", infer, `{"inputs": [{"name": "values", "shape": [2, 1], "datatype": "FP64", "data": [1, 2]},` +
			`{"name": "meta", "shape": [2], "datatype": "BYTES", "data": ["{}", "[]"]}]}`, 400,
			`row 1: flow "calc": invalid inputs: meta: must be an object, got array`},
		{"a node's failure", "POST", fx.url + "/v2/models/fails/infer", `{"inputs": [{"name": "n", "shape": [1], "datatype": "INT64", "data": [1]}]}`, 502,
			`node "fail" (tool builtin.stats, plugin builtin): values[1]: want a number, a boolean or null, got "x"`},
		{"too large", "POST", infer, values("[1, 600]", "FP64", "["+strings.Repeat("1,", 599)+"1]"), 413, "read body: larger than the limit of 1024 bytes"},
		{"wrong method", "GET", infer, "", 405, "GET /v2/models/calc/infer: allowed: POST"},
		{"unknown route", "GET", fx.url + "/v2/repository/index", "", 404, "no route GET /v2/repository/index"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, tc.method, tc.url, tc.body)
			assert.Equal(t, tc.status, got.status)
			assert.Equal(t, oipError(tc.message), got.body)
		})
	}
}

// TestOIPTimeout: the request's deadline covers the whole batch, and the
// answer names the row and the node that was running.
func TestOIPTimeout(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{RequestTimeout: 50 * time.Millisecond}, engine.Options{})
	fx.deploy(t, "1", `name: "sleepy"
inputs: n: int
nodes: nap: {tool: "builtin.sleep", inputs: {duration: "1h", value: "${inputs.n}"}}
outputs: v: "${nap.output.value}"
`)
	got := do(t, "POST", fx.url+"/v2/models/sleepy/infer", `{"inputs": [{"name": "n", "shape": [1], "datatype": "INT64", "data": [1]}]}`)
	assert.Equal(t, http.StatusGatewayTimeout, got.status)
	assert.Equal(t, oipError(`run timed out after 50ms while node "nap" (tool builtin.sleep) was running`), got.body)
}

// heldFlow holds each row's run in the fixture's gate.
const heldFlow = `name: "held"
inputs: n: int
nodes: held: {tool: "t.gate", inputs: after: "${inputs.n}"}
outputs: v: "${held.output.v}"
`

// TestOIPBatchSlots: a batch runs its rows on its own slot of
// MaxConcurrent and the free ones, never more: with a limit of 3, a batch
// of 5 runs 3 rows at once, and a request that comes meanwhile gets 429.
func TestOIPBatchSlots(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{MaxConcurrent: 3}, engine.Options{})
	fx.deploy(t, "1", heldFlow)
	done := make(chan answer, 1)
	go func() {
		done <- do(t, "POST", fx.url+"/v2/models/held/infer", `{"inputs": [{"name": "n", "shape": [5], "datatype": "INT64", "data": [1, 2, 3, 4, 5]}]}`)
	}()
	for range 3 {
		<-fx.entered
	}
	metrics := do(t, "GET", fx.url+"/metrics", "")
	assert.Equal(t, []string{"weir_runs_in_flight 3"}, lines(metrics.body, "weir_runs_in_flight "))
	got := do(t, "POST", fx.url+"/v2/models/held/infer", `{"inputs": [{"name": "n", "shape": [1], "datatype": "INT64", "data": [1]}]}`)
	assert.Equal(t, http.StatusTooManyRequests, got.status)
	assert.Equal(t, "1", got.header.Get("Retry-After"))
	assert.Equal(t, oipError("too many runs in flight: the limit is 3"), got.body)
	close(fx.release)
	a := <-done
	assert.Equal(t, http.StatusOK, a.status, a.body)
	assert.Contains(t, a.body, `"outputs":[{"name":"v","shape":[5],"datatype":"BYTES","data":["released","released","released","released","released"]}]}`)
	assert.Len(t, fx.entered, 2, "the other two rows ran after the first three")
	metrics = do(t, "GET", fx.url+"/metrics", "")
	assert.Equal(t, []string{"weir_runs_in_flight 0"}, lines(metrics.body, "weir_runs_in_flight "), "the batch gave its slots back")
}

// TestOIPTraceparent: an inference continues the caller's trace, and each
// row's run is a child of the server's span, named by the request's id
// and its row.
func TestOIPTraceparent(t *testing.T) {
	t.Parallel()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	fx := newFixture(t, endpoint.Options{TracerProvider: tp}, engine.Options{TracerProvider: tp})
	fx.deploy(t, "v1", helloFlow)
	got := do(t, "POST", fx.url+"/v2/models/hello/infer", `{"id": "t-1", "inputs": [{"name": "name", "shape": [2], "datatype": "BYTES", "data": ["Ada", "Grace"]}]}`,
		"traceparent: 00-"+traceID+"-00f067aa0ba902b7-01")
	require.Equal(t, http.StatusOK, got.status, got.body)

	var server tracetest.SpanStub
	var runs []tracetest.SpanStub
	require.Eventually(t, func() bool {
		runs = runs[:0]
		for _, s := range exp.GetSpans() {
			switch s.Name {
			case "POST /v2/models/{model}/infer":
				server = s
			case "run hello":
				runs = append(runs, s)
			}
		}
		return server.SpanContext.IsValid() && len(runs) == 2
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, traceID, server.SpanContext.TraceID().String())
	assert.Equal(t, map[string]any{
		"http.request.method":       "POST",
		"http.route":                "/v2/models/{model}/infer",
		"url.path":                  "/v2/models/hello/infer",
		"http.response.status_code": int64(200),
		"weir.flow.name":            "hello",
		"weir.flow.version":         "v1",
		"weir.batch.rows":           int64(2),
	}, attrs(server.Attributes))
	var ids []string
	for _, run := range runs {
		assert.Equal(t, server.SpanContext.SpanID(), run.Parent.SpanID(), "the run span is the server span's child")
		ids = append(ids, attrs(run.Attributes)["weir.run.id"].(string))
	}
	slices.Sort(ids)
	assert.Equal(t, []string{"t-1/0", "t-1/1"}, ids)
}
