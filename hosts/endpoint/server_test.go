package endpoint_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
)

var discard = slog.New(slog.DiscardHandler)

func TestRun(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", helloFlow)

	got := do(t, "POST", fx.url+"/v1/flows/hello/runs", `{"inputs": {"name": "Ada"}}`)
	require.Equal(t, http.StatusOK, got.status, got.body)
	assert.Equal(t, "application/json", got.header.Get("Content-Type"))
	assert.Equal(t, "v1", got.header.Get("Weir-Version"))
	var body struct {
		RunID   string              `json:"run_id"`
		Flow    string              `json:"flow"`
		Version string              `json:"version"`
		Status  string              `json:"status"`
		Outputs map[string]any      `json:"outputs"`
		Nodes   []engine.NodeResult `json:"nodes"`
	}
	require.NoError(t, json.Unmarshal([]byte(got.body), &body))
	assert.Len(t, body.RunID, 16)
	assert.Equal(t, got.header.Get("Weir-Run-Id"), body.RunID)
	assert.Equal(t, "hello", body.Flow)
	assert.Equal(t, "v1", body.Version)
	assert.Equal(t, "succeeded", body.Status)
	assert.Equal(t, map[string]any{"message": "Hello, Ada!"}, body.Outputs)
	require.Len(t, body.Nodes, 1)
	assert.Equal(t, "greet", body.Nodes[0].Node)
	assert.Equal(t, "builtin.template", body.Nodes[0].Tool)
	assert.Equal(t, engine.Succeeded, body.Nodes[0].Status)
	assert.Equal(t, 1, body.Nodes[0].Attempts)
}

func TestScore(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	got := do(t, "POST", fx.url+"/score", `{"name": "Ada"}`)
	assert.Equal(t, answer{404, got.header, scoreError("UserError", "not_found", "no flow is deployed")}, got)

	fx.deploy(t, "v1", helloFlow)
	fx.deploy(t, "v1", typedFlow) // a second flow: hello stays the default
	got = do(t, "POST", fx.url+"/score", `{"name": "Ada"}`)
	assert.Equal(t, http.StatusOK, got.status)
	assert.Equal(t, `{"message":"Hello, Ada!"}`+"\n", got.body)
	assert.Equal(t, "v1", got.header.Get("Weir-Version"))
	assert.Len(t, got.header.Get("Weir-Run-Id"), 16)
}

// TestErrors checks the answers to requests that cannot run, to the letter.
func TestErrors(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{MaxBodyBytes: 64}, engine.Options{})
	fx.deploy(t, "v1", typedFlow)
	runs := fx.url + "/v1/flows/typed/runs"
	tests := []struct {
		name, method, url, body string
		status                  int
		code, message           string
	}{
		{"malformed JSON", "POST", runs, `{"inputs": {"n": 1,}}`, 400, "invalid_json",
			"decode body: invalid character '}' looking for beginning of object key string, at byte 20"},
		{"truncated JSON", "POST", runs, `{"inputs": {`, 400, "invalid_json",
			"decode body: unexpected end of JSON input, at byte 12"},
		{"not an object", "POST", runs, `[1, 2]`, 400, "invalid_json",
			`decode body: want a JSON object such as {"inputs": {...}}`},
		{"flat inputs", "POST", runs, `{"n": 1, "s": "x"}`, 400, "invalid_json",
			`decode body: unknown field "n": the inputs go under "inputs"`},
		{"inputs not an object", "POST", runs, `{"inputs": [1]}`, 400, "invalid_input",
			`flow "typed": invalid inputs: inputs must be a JSON object`},
		{"wrong type", "POST", runs, `{"inputs": {"n": "one", "s": "x"}}`, 400, "invalid_input",
			`flow "typed": invalid inputs: n: must be an integer, got string`},
		{"missing input", "POST", runs, `{"inputs": {"n": 1}}`, 400, "invalid_input",
			`flow "typed": invalid inputs: s: is required`},
		{"unknown flow", "POST", fx.url + "/v1/flows/typo/runs", `{}`, 404, "not_found",
			`flow "typo" is not deployed (deployed: typed)`},
		{"unknown route", "GET", fx.url + "/v9/nothing", ``, 404, "not_found",
			"no route GET /v9/nothing"},
		{"wrong method", "GET", runs, ``, 405, "method_not_allowed",
			"GET /v1/flows/typed/runs: allowed: POST"},
		{"too large", "POST", runs, `{"inputs": {"n": 1, "s": "` + strings.Repeat("x", 64) + `"}}`, 413, "too_large",
			"read body: larger than the limit of 64 bytes"},
		{"admin off", "GET", fx.url + "/v1/admin/deployments", ``, 404, "not_found",
			"the admin API is off"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := do(t, tc.method, tc.url, tc.body)
			assert.Equal(t, tc.status, got.status)
			assert.Equal(t, errorBody(tc.code, tc.message), got.body)
			assert.Equal(t, "application/json", got.header.Get("Content-Type"))
		})
	}

	t.Run("too large, no Content-Length", func(t *testing.T) {
		t.Parallel()
		r, w := io.Pipe()
		go func() {
			_, _ = w.Write([]byte(`{"inputs": {"s": "` + strings.Repeat("x", 100) + `"}}`))
			_ = w.Close()
		}()
		resp, err := http.Post(runs, "application/json", r)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		assert.Equal(t, errorBody("too_large", "read body: larger than the limit of 64 bytes"), string(b))
	})
}

// TestNodeFailed: a tool that fails is the upstream of a gateway failing;
// on /score, it is the user's error, as in prompt flow.
func TestNodeFailed(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", `name: "broken"
nodes: bad: {tool: "builtin.sleep", inputs: duration: "soon"}
outputs: v: "${bad.output.value}"
`)
	const msg = `node "bad" (tool builtin.sleep, plugin builtin): input "duration": time: invalid duration "soon"`
	got := do(t, "POST", fx.url+"/v1/flows/broken/runs", `{}`)
	assert.Equal(t, http.StatusBadGateway, got.status)
	assert.Equal(t, errorBody("node_failed", msg), got.body)
	assert.Len(t, got.header.Get("Weir-Run-Id"), 16)
	got = do(t, "POST", fx.url+"/score", `{}`)
	assert.Equal(t, http.StatusBadRequest, got.status)
	assert.Equal(t, scoreError("UserError", "node_failed", msg), got.body)
}

// TestTimeout: the request's deadline ends the run, and the answer names
// the node that was running.
func TestTimeout(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{RequestTimeout: 50 * time.Millisecond}, engine.Options{})
	fx.deploy(t, "v1", sleepyFlow)
	got := do(t, "POST", fx.url+"/v1/flows/sleepy/runs", `{}`)
	assert.Equal(t, http.StatusGatewayTimeout, got.status)
	assert.Equal(t, errorBody("timeout", `run timed out after 50ms while node "nap" (tool builtin.sleep) was running`), got.body)

	fx.deploy(t, "v1", `name: "naps"
nodes: {
	a: {tool: "builtin.sleep", inputs: duration: "1h"}
	b: {tool: "builtin.sleep", inputs: duration: "1h"}
	c: {tool: "builtin.sleep", inputs: duration: "1h"}
	after: {tool: "builtin.json", inputs: value: ["${a.output}", "${b.output}", "${c.output}"]}
}
outputs: v: "${after.output.value}"
`)
	got = do(t, "POST", fx.url+"/v1/flows/naps/runs", `{}`)
	assert.Equal(t, http.StatusGatewayTimeout, got.status)
	assert.Equal(t, errorBody("timeout", `run timed out after 50ms while nodes "a" (tool builtin.sleep), "b" (tool builtin.sleep) `+
		`and "c" (tool builtin.sleep) were running`), got.body)
}

// TestTooManyRuns fills MaxConcurrent with runs held in a gate, then
// knocks: 429 until one leaves.
func TestTooManyRuns(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{MaxConcurrent: 2}, engine.Options{})
	fx.deploy(t, "v1", gatedFlow)
	done := make(chan answer, 2)
	for range 2 {
		go func() { done <- do(t, "POST", fx.url+"/score", `{}`) }()
	}
	<-fx.entered
	<-fx.entered
	got := do(t, "POST", fx.url+"/score", `{}`)
	assert.Equal(t, http.StatusTooManyRequests, got.status)
	assert.Equal(t, "1", got.header.Get("Retry-After"))
	assert.Equal(t, scoreError("UserError", "too_many_requests", "too many runs in flight: the limit is 2"), got.body)
	close(fx.release)
	for range 2 {
		a := <-done
		assert.Equal(t, http.StatusOK, a.status)
		assert.Equal(t, `{"v":"released"}`+"\n", a.body)
	}
	got = do(t, "POST", fx.url+"/score", `{}`)
	assert.Equal(t, http.StatusOK, got.status, "the slots are free again")
}

// sse reads server-sent events.
type sse struct{ r *bufio.Reader }

// next returns the next event's name and data.
func (s sse) next(t *testing.T) (string, string) {
	t.Helper()
	var event, data string
	for {
		line, err := s.r.ReadString('\n')
		require.NoError(t, err)
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			return event, data
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func stream(t *testing.T, ctx context.Context, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp
}

func TestStream(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", gatedFlow)
	resp := stream(t, context.Background(), fx.url+"/v1/flows/gated/runs", `{"inputs": {}}`)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := sse{bufio.NewReader(resp.Body)}

	// The first node's event arrives while the second is still held.
	event, data := events.next(t)
	assert.Equal(t, "node", event)
	var n engine.NodeResult
	require.NoError(t, json.Unmarshal([]byte(data), &n))
	assert.Equal(t, "first", n.Node)
	assert.Equal(t, engine.Succeeded, n.Status)
	<-fx.entered
	close(fx.release)

	event, data = events.next(t)
	assert.Equal(t, "node", event)
	require.NoError(t, json.Unmarshal([]byte(data), &n))
	assert.Equal(t, "held", n.Node)

	event, data = events.next(t)
	assert.Equal(t, "result", event)
	var res struct {
		Flow, Version, Status string
		Outputs               map[string]any
		Nodes                 []engine.NodeResult
	}
	require.NoError(t, json.Unmarshal([]byte(data), &res))
	assert.Equal(t, "gated", res.Flow)
	assert.Equal(t, "v1", res.Version)
	assert.Equal(t, "succeeded", res.Status)
	assert.Equal(t, map[string]any{"v": "released"}, res.Outputs)
	assert.Len(t, res.Nodes, 2)
	_, err := events.r.ReadByte()
	assert.Equal(t, io.EOF, err, "the stream ends after the result")
}

func TestStreamErrors(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{RequestTimeout: 50 * time.Millisecond}, engine.Options{})
	fx.deploy(t, "v1", sleepyFlow)
	fx.deploy(t, "v1", typedFlow)

	t.Run("before any node: a plain error", func(t *testing.T) {
		resp := stream(t, context.Background(), fx.url+"/v1/flows/typed/runs", `{"inputs": {"n": "x", "s": ""}}`)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Equal(t, errorBody("invalid_input", `flow "typed": invalid inputs: n: must be an integer, got string`), string(b))
	})
	t.Run("after a node: an error event", func(t *testing.T) {
		resp := stream(t, context.Background(), fx.url+"/v1/flows/sleepy/runs", `{}`)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		events := sse{bufio.NewReader(resp.Body)}
		event, _ := events.next(t)
		assert.Equal(t, "node", event) // quick
		event, _ = events.next(t)
		assert.Equal(t, "node", event) // nap, canceled
		event, data := events.next(t)
		assert.Equal(t, "error", event)
		assert.Equal(t, strings.TrimSuffix(errorBody("timeout", `run timed out after 50ms while node "nap" (tool builtin.sleep) was running`), "\n"), data)
	})
}

// TestStreamDisconnect: a client that goes away mid-stream cancels its
// run, and nothing is left running.
func TestStreamDisconnect(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", gatedFlow)
	ctx, cancel := context.WithCancel(context.Background())
	resp := stream(t, ctx, fx.url+"/v1/flows/gated/runs", `{}`)
	defer resp.Body.Close()
	event, _ := sse{bufio.NewReader(resp.Body)}.next(t)
	require.Equal(t, "node", event)
	<-fx.entered
	cancel()
	assert.ErrorIs(t, <-fx.canceled, context.Canceled, "the tool sees the run canceled")

	// The handler returns and counts the request as the client's doing.
	metric := `weir_http_request_duration_seconds_count{code="499",method="POST",route="/v1/flows/{flow}/runs"} 1`
	require.Eventually(t, func() bool {
		m := do(t, "GET", fx.url+"/metrics", "").body
		return strings.Contains(m, metric) && strings.Contains(m, "weir_runs_in_flight 0\n")
	}, 10*time.Second, 5*time.Millisecond)
	assert.Contains(t, do(t, "GET", fx.url+"/metrics", "").body, `weir_runs_total{flow="gated",protocol="http",status="canceled",version="v1"} 1`)
}

// TestClose: Close turns readiness off at once and returns once the runs in
// flight ended, which it lets finish.
func TestClose(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{InsecureAdmin: true}, engine.Options{})
	assert.Equal(t, answer{503, nil, errorBody("unavailable", "no flow is deployed")}, strip(do(t, "GET", fx.url+"/readyz", "")))
	assert.False(t, fx.s.Ready())
	fx.deploy(t, "v1", gatedFlow)
	assert.Equal(t, answer{200, nil, `{"flows":["gated"],"status":"ready"}` + "\n"}, strip(do(t, "GET", fx.url+"/readyz", "")))
	assert.True(t, fx.s.Ready())

	done := make(chan answer, 1)
	go func() { done <- do(t, "POST", fx.url+"/score", `{}`) }()
	<-fx.entered
	closed := make(chan error, 1)
	go func() { closed <- fx.s.Close() }()
	require.Eventually(t, func() bool { return !fx.s.Ready() }, 10*time.Second, time.Millisecond)
	assert.Equal(t, answer{503, nil, errorBody("unavailable", "draining: the server is shutting down")}, strip(do(t, "GET", fx.url+"/readyz", "")))
	assert.Equal(t, answer{200, nil, `{"status":"ok"}` + "\n"}, strip(do(t, "GET", fx.url+"/healthz", "")))
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with a run in flight", err)
	default:
	}
	close(fx.release)
	assert.Equal(t, http.StatusOK, (<-done).status, "the run in flight finishes")
	require.NoError(t, <-closed)
	require.ErrorIs(t, fx.s.Deploy(context.Background(), "v2", fx.deploy0(t, gatedFlow)), endpoint.ErrClosed)
	_, err := (&endpoint.Client{URL: fx.url}).Upload(context.Background(), []byte("x"), "")
	assert.EqualError(t, err, "upload bundle: deploy bundle: server is closed: it is shutting down (HTTP 503, unavailable)")
}

// strip drops the headers of an answer, for comparing the rest.
func strip(a answer) answer {
	a.header = nil
	return a
}

// deploy0 loads a flow without deploying it.
func (fx *fixture) deploy0(t *testing.T, src string) *engine.Flow {
	t.Helper()
	f, err := fx.e.Parse(context.Background(), "flow.cue", []byte(src))
	require.NoError(t, err)
	return f
}

func TestNew(t *testing.T) {
	t.Parallel()
	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	defer e.Close()
	for _, tc := range []struct {
		opts endpoint.Options
		err  string
	}{
		{endpoint.Options{}, "new endpoint server: Options.Engine is required"},
		{endpoint.Options{Engine: e, MaxConcurrent: -1}, "new endpoint server: a limit in Options is negative"},
		{endpoint.Options{Engine: e, AdminToken: "x", InsecureAdmin: true}, "new endpoint server: AdminToken and InsecureAdmin are both set: pick one"},
	} {
		_, err := endpoint.New(tc.opts)
		assert.EqualError(t, err, tc.err)
	}
}

func TestDeployErrors(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	f := fx.deploy(t, "v1", helloFlow)
	err := fx.s.Deploy(context.Background(), "v1", f)
	assert.EqualError(t, err, `deploy flow "hello" version "v1": version exists: delete it first, or pick another version`)
	assert.ErrorIs(t, err, endpoint.ErrVersionExists)
	assert.EqualError(t, fx.s.Deploy(context.Background(), "v 2", f),
		`deploy flow "hello": version "v 2": use letters, digits, '.', '_' and '-', at most 63, starting with a letter or digit`)
	assert.EqualError(t, fx.s.Deploy(context.Background(), "v2", nil), "deploy: the flow is nil")
}

func TestOpenAPI(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", helloFlow)
	fx.deploy(t, "v1", `name: "ranges"
inputs: {
	n: int & >0 & <10
	k: "a" | "b"
	any: _
	opt?: number | null
}
nodes: echo: {tool: "builtin.json", inputs: value: "${inputs.n}"}
outputs: n: "${echo.output.value}"
`)
	got := do(t, "GET", fx.url+"/openapi.json", "")
	require.Equal(t, http.StatusOK, got.status)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(got.body), &doc))
	assert.Equal(t, "3.0.3", doc["openapi"])
	paths := doc["paths"].(map[string]any)
	assert.ElementsMatch(t, []string{"/score", "/v1/flows/hello/runs", "/v1/flows/ranges/runs"}, keys(paths))

	schema := func(path, contentPath string) string {
		op := paths[path].(map[string]any)["post"].(map[string]any)
		var v any = op
		for _, k := range strings.Split(contentPath, ".") {
			v = v.(map[string]any)[k]
		}
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return string(b)
	}
	hello := `{"additionalProperties":false,"properties":{"name":{"not":{"enum":[""]},"type":"string"}},"required":["name"],"type":"object"}`
	assert.Equal(t, hello, schema("/score", "requestBody.content.application/json.schema"))
	assert.Equal(t, `{"additionalProperties":false,"properties":{"message":{}},"required":["message"],"type":"object"}`,
		schema("/score", "responses.200.content.application/json.schema"))
	assert.Equal(t, `{"additionalProperties":false,"properties":{"inputs":`+hello+`},"required":["inputs"],"type":"object"}`,
		schema("/v1/flows/hello/runs", "requestBody.content.application/json.schema"))
	assert.Equal(t, `{"additionalProperties":false,"properties":{"inputs":{"additionalProperties":false,"properties":{`+
		`"any":{},`+
		`"k":{"enum":["a","b"]},`+
		`"n":{"exclusiveMaximum":true,"exclusiveMinimum":true,"maximum":10,"minimum":0,"type":"integer"},`+
		`"opt":{"nullable":true,"type":"number"}},`+
		`"required":["n","k","any"],"type":"object"}},"required":["inputs"],"type":"object"}`,
		schema("/v1/flows/ranges/runs", "requestBody.content.application/json.schema"))
	assert.Equal(t, "Greets someone.\n\nThe answer is the outputs object alone, as a prompt flow or Azure ML online endpoint gives it.",
		paths["/score"].(map[string]any)["post"].(map[string]any)["description"])
	assert.Equal(t, `{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/PromptflowError"}}},`+
		`"description":"UserError: malformed JSON, inputs that break the flow's types, or a node whose tool failed."}`,
		schema("/score", "responses.400"), "/score's errors are prompt flow's")
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func ExampleServer() {
	e, err := weir.New(engine.Options{})
	if err != nil {
		panic(err)
	}
	defer e.Close()
	f, err := e.Parse(context.Background(), "hello.cue", []byte(helloFlow))
	if err != nil {
		panic(err)
	}
	s, err := endpoint.New(endpoint.Options{Engine: e, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	if err := s.Deploy(context.Background(), "v1", f); err != nil {
		panic(err)
	}
	hs := &http.Server{Addr: "127.0.0.1:0", Handler: s.Handler()}
	_ = hs // hs.ListenAndServe(), then on SIGTERM: s.Close() and hs.Shutdown(ctx) together.
	fmt.Println(s.Ready())
	// Output: true
}
