package endpoint_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/internal/mockllm"
	"github.com/weirflow/weir/plugins"
)

type failIn struct {
	How string `json:"how"`
}

// TestScoreErrors answers each failure of /score with prompt flow's body
// and status: 400 UserError for what the request or the flow's tools got
// wrong, 500 SystemError for what the host could not do, and weir's other
// statuses as they are, UserError for a 4xx and SystemError for a 5xx.
func TestScoreErrors(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{MaxBodyBytes: 64}, engine.Options{})
	require.NoError(t, fx.e.Register("f", plugins.Func("fail", "Fails as told.", func(_ context.Context, in failIn) (gateOut, error) {
		switch in.How {
		case "limit":
			return gateOut{}, plugins.Errorf(plugins.Limit, "limits.memory (64 MiB) exceeded")
		case "time":
			return gateOut{}, plugins.Errorf(plugins.Timeout, "limits.timeout (1s) exceeded: the guest was stopped")
		case "exit":
			return gateOut{}, plugins.Exited(plugins.Errorf(plugins.Retryable, "the Python process exited (signal: killed) during the call"))
		case "contract":
			return gateOut{}, plugins.Errorf(plugins.InvalidInput, "llm: input \"model\" is missing")
		}
		return gateOut{}, errors.New("ValueError: bad value")
	})))
	fx.deploy(t, "v1", `name: "typed"
inputs: {
	n: int
	s: string
	how: string | *"ok"
}
nodes: {
	check: {tool: "f.fail", inputs: how: "${inputs.how}"}
}
outputs: v: "${check.output.v}"
`)
	node := func(msg string) string { return `node "check" (tool f.fail, plugin f): ` + msg }
	for _, tc := range []struct {
		name, body     string
		headers        []string
		status         int
		outer, code, m string
	}{
		{"malformed JSON", `{"n": 1`, nil, 400, "UserError", "invalid_json",
			"decode body: unexpected end of JSON input, at byte 7"},
		{"text for two inputs", `hello`, nil, 400, "UserError", "invalid_json",
			"decode body: invalid character 'h' looking for beginning of value, at byte 1"},
		{"wrong type", `{"n": 1.5, "s": "x"}`, nil, 400, "UserError", "invalid_input",
			`flow "typed": invalid inputs: n: must be an integer, got 1.5`},
		{"missing input", `{"n": 1}`, nil, 400, "UserError", "invalid_input",
			`flow "typed": invalid inputs: s: is required`},
		{"a tool's exception", `{"n": 1, "s": "x", "how": "raise"}`, nil, 400, "UserError", "node_failed",
			node("ValueError: bad value")},
		{"a tool's contract", `{"n": 1, "s": "x", "how": "contract"}`, nil, 400, "UserError", "node_failed",
			node(`llm: input "model" is missing`)},
		{"a sandbox limit", `{"n": 1, "s": "x", "how": "limit"}`, nil, 500, "SystemError", "node_failed",
			node("limits.memory (64 MiB) exceeded")},
		{"a time limit", `{"n": 1, "s": "x", "how": "time"}`, nil, 500, "SystemError", "node_failed",
			node("limits.timeout (1s) exceeded: the guest was stopped")},
		{"a process that exited", `{"n": 1, "s": "x", "how": "exit"}`, nil, 500, "SystemError", "node_failed",
			node("the Python process exited (signal: killed) during the call")},
		{"too large", `{"n": 1, "s": "` + strings.Repeat("x", 64) + `"}`, nil, 413, "UserError", "too_large",
			"read body: larger than the limit of 64 bytes"},
		{"not acceptable", `{"n": 1, "s": "x"}`, []string{"Accept: text/html"}, 406, "UserError", "not_acceptable",
			`cannot answer Accept "text/html": /score answers application/json, or text/event-stream for a flow that streams`},
		{"request id too long", `{"n": 1, "s": "x"}`, []string{"X-Request-Id: " + strings.Repeat("x", 129)}, 400, "UserError", "bad_request",
			"header X-Request-Id: want 1 to 128 visible ASCII characters"},
		{"client request id not ASCII", `{"n": 1, "s": "x"}`, []string{"X-Ms-Client-Request-Id: é"}, 400, "UserError", "bad_request",
			"header X-Ms-Client-Request-Id: want 1 to 128 visible ASCII characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := do(t, "POST", fx.url+"/score", tc.body, tc.headers...)
			assert.Equal(t, tc.status, got.status)
			assert.Equal(t, scoreError(tc.outer, tc.code, tc.m), got.body)
			assert.Equal(t, "application/json", got.header.Get("Content-Type"))
		})
	}
	t.Run("wrong method", func(t *testing.T) {
		t.Parallel()
		got := do(t, "GET", fx.url+"/score", "")
		assert.Equal(t, answer{405, nil, scoreError("UserError", "method_not_allowed", "GET /score: allowed: POST")}, strip(got))
	})
	t.Run("weir's own routes keep their bodies", func(t *testing.T) {
		t.Parallel()
		got := do(t, "POST", fx.url+"/v1/flows/typed/runs", `{"inputs": {"n": 1, "s": "x", "how": "limit"}}`)
		assert.Equal(t, answer{502, nil, errorBody("node_failed", node("limits.memory (64 MiB) exceeded"))}, strip(got))
	})
}

// TestScoreTimeout: the request's deadline is a 504 SystemError on /score.
func TestScoreTimeout(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{RequestTimeout: 50 * time.Millisecond}, engine.Options{})
	fx.deploy(t, "v1", sleepyFlow)
	got := do(t, "POST", fx.url+"/score", `{}`)
	assert.Equal(t, http.StatusGatewayTimeout, got.status)
	assert.Equal(t, scoreError("SystemError", "timeout", `run timed out after 50ms while node "nap" (tool builtin.sleep) was running`), got.body)
}

// TestScoreBodies reads bodies as prompt flow's load_request_data does:
// text for a flow's one input, nothing for a flow without inputs, and
// defaults for absent inputs.
func TestScoreBodies(t *testing.T) {
	t.Parallel()
	one := newFixture(t, endpoint.Options{}, engine.Options{})
	one.deploy(t, "v1", `name: "echo"
inputs: text: string | *"default"
nodes: echo: {tool: "builtin.json", inputs: value: "${inputs.text}"}
outputs: text: "${echo.output.value}"
`)
	none := newFixture(t, endpoint.Options{}, engine.Options{})
	none.deploy(t, "v1", `name: "fixed"
nodes: echo: {tool: "builtin.json", inputs: value: 7}
outputs: n: "${echo.output.value}"
`)
	for _, tc := range []struct {
		name, url, body, contentType string
		status                       int
		answer                       string
	}{
		{"text", one.url, "Capital of France?\n", "text/plain", 200, `{"text":"Capital of France?\n"}`},
		{"text sent as JSON", one.url, `{"text": `, "application/json", 200, `{"text":"{\"text\": "}`},
		{"JSON", one.url, `{"text": "hi"}`, "text/plain", 200, `{"text":"hi"}`},
		{"absent input takes its default", one.url, `{}`, "application/json", 200, `{"text":"default"}`},
		{"empty body is the empty text", one.url, ``, "", 200, `{"text":""}`},
		{"neither JSON nor text", one.url, "\xff\xfe", "text/plain", 400,
			strings.TrimSuffix(scoreError("UserError", "invalid_json", `decode body: neither JSON nor UTF-8 text for input "text"`), "\n")},
		{"no inputs, any body", none.url, `{"not json`, "application/json", 200, `{"n":7}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var headers []string
			if tc.contentType != "" {
				headers = append(headers, "Content-Type: "+tc.contentType)
			}
			got := do(t, "POST", tc.url+"/score", tc.body, headers...)
			assert.Equal(t, tc.status, got.status)
			assert.Equal(t, tc.answer+"\n", got.body)
		})
	}
}

// TestRequestID takes the request's id from X-Request-Id, else
// X-Ms-Client-Request-Id, as the run's id, and echoes it.
func TestRequestID(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	fx := newFixture(t, endpoint.Options{TracerProvider: tp}, engine.Options{TracerProvider: tp})
	fx.deploy(t, "v1", helloFlow)
	for _, tc := range []struct {
		name, path, body string
		headers          []string
		want             string
	}{
		{"request id", "/score", `{"name": "Ada"}`, []string{"X-Request-Id: req-1"}, "req-1"},
		{"client request id", "/score", `{"name": "Ada"}`, []string{"X-Ms-Client-Request-Id: client-2"}, "client-2"},
		{"both", "/score", `{"name": "Ada"}`, []string{"X-Request-Id: req-3", "X-Ms-Client-Request-Id: client-3"}, "req-3"},
		{"weir's route", "/v1/flows/hello/runs", `{"inputs": {"name": "Ada"}}`, []string{"X-Request-Id: req-4"}, "req-4"},
		{"an error", "/score", `{"name": ""}`, []string{"X-Request-Id: req-5"}, "req-5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, "POST", fx.url+tc.path, tc.body, tc.headers...)
			assert.Equal(t, tc.want, got.header.Get("X-Request-Id"))
			if got.status == http.StatusOK || got.status == http.StatusBadRequest {
				assert.Equal(t, tc.want, got.header.Get("Weir-Run-Id"), "the run's id")
			}
		})
	}
	var runs []string
	for _, s := range exp.GetSpans() {
		if s.Name == "run hello" {
			for _, kv := range s.Attributes {
				if kv.Key == "weir.run.id" {
					runs = append(runs, kv.Value.AsString())
				}
			}
		}
	}
	assert.ElementsMatch(t, []string{"req-1", "client-2", "req-3", "req-4", "req-5"}, runs, "the runs are traced under the request's id")

	got := do(t, "POST", fx.url+"/score", `{"name": "Ada"}`)
	assert.Len(t, got.header.Get("X-Request-Id"), 16, "without one, the run's own id")
	assert.Equal(t, got.header.Get("Weir-Run-Id"), got.header.Get("X-Request-Id"))
}

// TestHealthAndVersion answers prompt flow's probes.
func TestHealthAndVersion(t *testing.T) {
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	version := engine.Version()
	assert.Equal(t, answer{503, nil, `{"status":"Unhealthy","version":"` + version + `"}` + "\n"}, strip(do(t, "GET", fx.url+"/health", "")), "no flow yet")
	fx.deploy(t, "v1", helloFlow)
	assert.Equal(t, answer{200, nil, `{"status":"Healthy","version":"` + version + `"}` + "\n"}, strip(do(t, "GET", fx.url+"/health", "")))

	t.Setenv("BUILD_INFO", "")
	assert.Equal(t, answer{200, nil, `{"status":"Healthy","build_info":"","version":"` + version + `"}` + "\n"}, strip(do(t, "GET", fx.url+"/version", "")))
	t.Setenv("BUILD_INFO", `{"build_number": "20260412.3", "commit": "abc"}`)
	assert.Equal(t, answer{200, nil, `{"status":"Healthy","build_info":"{\"build_number\": \"20260412.3\", \"commit\": \"abc\"}","version":"20260412.3"}` + "\n"},
		strip(do(t, "GET", fx.url+"/version", "")))
	t.Setenv("BUILD_INFO", "built by hand")
	assert.Equal(t, answer{200, nil, `{"status":"Healthy","build_info":"built by hand","version":"` + version + `"}` + "\n"}, strip(do(t, "GET", fx.url+"/version", "")))

	require.NoError(t, fx.s.Close())
	assert.Equal(t, answer{503, nil, `{"status":"Unhealthy","version":"` + version + `"}` + "\n"}, strip(do(t, "GET", fx.url+"/health", "")), "draining")
}

// TestFeedback records the body on a span of its own, and never logs it.
func TestFeedback(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	var logs strings.Builder
	fx := newFixture(t, endpoint.Options{TracerProvider: tp, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}, engine.Options{})
	fx.deploy(t, "v1", helloFlow)

	const body = `{"rating": 5, "comment": "secret thoughts", "ok": true, "tags": ["a"]}`
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	got := do(t, "POST", fx.url+"/feedback", body, "traceparent: 00-"+traceID+"-00f067aa0ba902b7-01")
	assert.Equal(t, answer{200, nil, `{"status":"Feedback received."}` + "\n"}, strip(got))
	got = do(t, "POST", fx.url+"/feedback?flatten=true", body)
	assert.Equal(t, http.StatusOK, got.status)

	var spans []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "feedback" {
			spans = append(spans, s)
		}
	}
	require.Len(t, spans, 2)
	assert.Equal(t, traceID, spans[0].SpanContext.TraceID().String(), "in the caller's trace")
	require.Len(t, spans[0].Events, 1)
	assert.Equal(t, "feedback", spans[0].Events[0].Name)
	assert.Equal(t, map[string]any{"feedback": body}, attrs(spans[0].Events[0].Attributes))
	require.Len(t, spans[1].Events, 1)
	assert.Equal(t, map[string]any{"rating": int64(5), "comment": "secret thoughts", "ok": true, "tags": `["a"]`}, attrs(spans[1].Events[0].Attributes))
	assert.NotContains(t, logs.String(), "secret thoughts")
}

// TestSwagger lays out /swagger.json as prompt flow's server does, for
// the flows of its own tests (test_flow_serve.py::test_swagger and
// test_chat_swagger), field by field.
func TestSwagger(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "samples.json"), []byte(`[{"text": "Hello World!"}, {"text": "two"}]`), 0o644))
	plain := newFixture(t, endpoint.Options{}, engine.Options{})
	f, err := plain.e.Parse(context.Background(), filepath.Join(dir, "flow.cue"), []byte(`name: "basic-with-connection"
inputs: text: string
nodes: prompt: {tool: "builtin.template", inputs: {template: "{{.text}}", text: "${inputs.text}"}}
outputs: output_prompt: "${prompt.output.text}"
`))
	require.NoError(t, err)
	require.NoError(t, plain.s.Deploy(context.Background(), "v1", f))

	s := mockllm.Start(mockllm.Options{})
	t.Cleanup(s.Close)
	chat := newFixture(t, endpoint.Options{}, engine.Options{})
	chat.deploy(t, "v1", strings.Replace(askFlow(s, `answer: "${chat.output.text}"`), `inputs: question: string`,
		`inputs: {question: string | *"What is ChatGPT?", chat_history: [...{...}] | *[]}
chat: {input: "question", output: "answer", history: "chat_history"}`, 1))

	get := func(fx *fixture) map[string]any {
		got := do(t, "GET", fx.url+"/swagger.json", "")
		require.Equal(t, http.StatusOK, got.status, got.body)
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(got.body), &doc))
		return doc
	}
	doc := get(plain)
	assert.Equal(t, "3.0.0", doc["openapi"])
	assert.Equal(t, map[string]any{"title": "weir[basic-with-connection] API", "version": "1.0.0", "x-flow-name": "basic-with-connection"}, doc["info"])
	assert.Equal(t, map[string]any{"securitySchemes": map[string]any{"bearerAuth": map[string]any{"scheme": "bearer", "type": "http"}}}, doc["components"])
	assert.Equal(t, []any{map[string]any{"bearerAuth": []any{}}}, doc["security"])
	score := path(doc, "paths", "/score", "post")
	assert.Equal(t, "run flow basic-with-connection on the given inputs", score["summary"])
	assert.Equal(t, map[string]any{
		"description": "the flow's inputs",
		"required":    true,
		"content": map[string]any{"application/json": map[string]any{
			"example": map[string]any{"text": "Hello World!"},
			"schema": map[string]any{
				"properties": map[string]any{"text": map[string]any{"type": "string"}},
				"required":   []any{"text"},
				"type":       "object",
			},
		}},
	}, score["requestBody"])
	assert.Equal(t, map[string]any{
		"200": map[string]any{
			"content": map[string]any{"application/json": map[string]any{
				"schema": map[string]any{"properties": map[string]any{"output_prompt": map[string]any{"type": "string"}}, "type": "object"},
			}},
			"description": "successful operation",
		},
		"400":     map[string]any{"description": "Invalid input"},
		"default": map[string]any{"description": "unexpected error"},
	}, score["responses"])
	assert.Contains(t, path(doc, "paths"), "/feedback")

	doc = get(chat)
	assert.Equal(t, map[string]any{
		"title":          "weir[ask] API",
		"version":        "1.0.0",
		"x-flow-name":    "ask",
		"x-chat-history": "chat_history",
		"x-chat-input":   "question",
		"x-flow-type":    "chat",
		"x-chat-output":  "answer",
	}, doc["info"])
	body := path(doc, "paths", "/score", "post", "requestBody")
	assert.Equal(t, map[string]any{"application/json": map[string]any{
		"example": map[string]any{},
		"schema": map[string]any{
			"properties": map[string]any{
				"chat_history": map[string]any{"type": "array", "items": map[string]any{"type": "object", "additionalProperties": map[string]any{}}},
				"question":     map[string]any{"type": "string", "default": "What is ChatGPT?"},
			},
			"required": []any{"question", "chat_history"},
			"type":     "object",
		},
	}}, body["content"])
	assert.Equal(t, map[string]any{"properties": map[string]any{"answer": map[string]any{"type": "string"}}, "type": "object"},
		path(doc, "paths", "/score", "post", "responses", "200", "content", "application/json", "schema"))
}

// path walks doc down keys.
func path(doc map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		doc, _ = doc[k].(map[string]any)
	}
	return doc
}

// TestSwaggerNoFlow: there is no document before a flow is deployed.
func TestSwaggerNoFlow(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	got := do(t, "GET", fx.url+"/swagger.json", "")
	assert.Equal(t, answer{404, nil, errorBody("not_found", "no flow is deployed")}, strip(got))
}

// TestScoreModelRefused: a model's refusal (a 4xx) fails its node as the
// user's error, a 400 on /score, as prompt flow's llm tool does.
func TestScoreModelRefused(t *testing.T) {
	t.Parallel()
	s := mockllm.Start(mockllm.Options{Then: mockllm.Reply{Status: 400, Message: "This model's maximum context length is 8192 tokens.", Code: "context_length_exceeded"}})
	t.Cleanup(s.Close)
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", askFlow(s, `answer: "${chat.output.text}"`))
	got := do(t, "POST", fx.url+"/score", `{"question": "Hi?"}`)
	assert.Equal(t, http.StatusBadRequest, got.status)
	assert.Equal(t, scoreError("UserError", "node_failed", `node "chat" (tool openai.llm, plugin openai): llm: `+s.Host()+
		` answered 400 Bad Request: This model's maximum context length is 8192 tokens.`), got.body)
}
