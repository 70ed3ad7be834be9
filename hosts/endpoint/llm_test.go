package endpoint_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/internal/mockllm"
	"github.com/weirflow/weir/plugins"
)

// askFlow asks the mock s the question; outputs is the flow's outputs.
// Node count is there for other outputs to use.
func askFlow(s *mockllm.Server, outputs string) string {
	return fmt.Sprintf(`name: "ask"
inputs: question: string
plugins: openai: {builtin: true, config: {api_base: %q, api_key: %q}, grants: hosts: [%q]}
nodes: chat: {tool: "openai.llm", inputs: {model: "gpt-4o", messages: [{role: "user", content: "${inputs.question}"}]}}
nodes: count: {tool: "builtin.json", inputs: value: 3}
outputs: {%s}
`, s.URL+"/v1", mockllm.DefaultKey, s.Host(), outputs)
}

// askFixture deploys askFlow with outputs, against a mock that opts
// configure.
func askFixture(t *testing.T, opts mockllm.Options, outputs string) *fixture {
	t.Helper()
	s := mockllm.Start(opts)
	t.Cleanup(s.Close)
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", askFlow(s, outputs))
	return fx
}

// post sends body with an Accept header, under a deadline that ends a
// test whose stream never comes.
func post(t *testing.T, url, accept, body string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestScoreStream reads the model's answer from /score chunk by chunk as
// it comes: the mock holds its last chunk until the test has read the
// first, which could not happen if weir waited for the whole answer.
func TestScoreStream(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	fx := askFixture(t, mockllm.Options{Text: "Hello there, friend.", Gate: gate}, `answer: "${chat.output.text}"`)

	resp := post(t, fx.url+"/score", "text/event-stream", `{"question": "Hi?"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	events := sse{bufio.NewReader(resp.Body)}
	event, data := events.next(t)
	assert.Equal(t, "", event)
	assert.Equal(t, `{"answer":"Hello "}`, data)
	close(gate)
	_, data = events.next(t)
	assert.Equal(t, `{"answer":"there, "}`, data)
	_, data = events.next(t)
	assert.Equal(t, `{"answer":"friend."}`, data)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Empty(t, string(rest))
}

// TestScoreStreamOtherOutputs sends the outputs that do not stream first,
// in one event, then the chunks as they come: the mock holds its last
// chunk until the test has read the first.
func TestScoreStreamOtherOutputs(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	fx := askFixture(t, mockllm.Options{Text: "Three chunks here.", Gate: gate},
		`question: "${inputs.question}", answer: "${chat.output.text}", n: "${count.output.value}"`)
	resp := post(t, fx.url+"/score", "text/event-stream, application/json", `{"question": "Hi?"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	events := sse{bufio.NewReader(resp.Body)}
	_, data := events.next(t)
	assert.Equal(t, `{"question":"Hi?","n":3}`, data)
	_, data = events.next(t)
	assert.Equal(t, `{"answer":"Three "}`, data)
	close(gate)
	rest, err := io.ReadAll(events.r)
	require.NoError(t, err)
	assert.Equal(t, "data: {\"answer\":\"chunks \"}\n\ndata: {\"answer\":\"here.\"}\n\n", string(rest))
}

// TestScoreAccept answers each Accept as prompt flow's server does.
func TestScoreAccept(t *testing.T) {
	t.Parallel()
	fx := askFixture(t, mockllm.Options{Text: "Yes."}, `answer: "${chat.output.text}"`)
	hello := newFixture(t, endpoint.Options{}, engine.Options{})
	hello.deploy(t, "v1", helloFlow)
	const sseType, jsonType = "text/event-stream; charset=utf-8", "application/json"
	for _, tc := range []struct {
		name, url, body, accept string
		status                  int
		contentType, answer     string
	}{
		{"stream", fx.url, `{"question": "q"}`, "text/event-stream", 200, sseType, "data: {\"answer\":\"Yes.\"}\n\n"},
		{"stream or json", fx.url, `{"question": "q"}`, "text/event-stream, application/json", 200, sseType, "data: {\"answer\":\"Yes.\"}\n\n"},
		{"json", fx.url, `{"question": "q"}`, "application/json", 200, jsonType, `{"answer":"Yes."}` + "\n"},
		{"any", fx.url, `{"question": "q"}`, "*/*", 200, jsonType, `{"answer":"Yes."}` + "\n"},
		{"application/*", fx.url, `{"question": "q"}`, "application/*", 200, jsonType, `{"answer":"Yes."}` + "\n"},
		{"no accept", fx.url, `{"question": "q"}`, "", 200, jsonType, `{"answer":"Yes."}` + "\n"},
		{"html", fx.url, `{"question": "q"}`, "text/html", 406, jsonType,
			scoreError("UserError", "not_acceptable", `cannot answer Accept "text/html": /score answers application/json, or text/event-stream for a flow that streams`)},
		{"stream of a flow that cannot", hello.url, `{"name": "Ada"}`, "text/event-stream", 406, jsonType,
			scoreError("UserError", "not_acceptable", `flow "hello" has no output to stream (one that is exactly the text of an LLM node that nothing else uses): accept application/json`)},
		{"stream or json of a flow that cannot", hello.url, `{"name": "Ada"}`, "text/event-stream, application/json", 200, jsonType, `{"message":"Hello, Ada!"}` + "\n"},
		{"json or any", fx.url, `{"question": "q"}`, "application/json, */*", 200, jsonType, `{"answer":"Yes."}` + "\n"},
		{"application/* of a flow that cannot", hello.url, `{"name": "Ada"}`, "application/*", 200, jsonType, `{"message":"Hello, Ada!"}` + "\n"},
		{"html of a flow that cannot", hello.url, `{"name": "Ada"}`, "text/html", 406, jsonType,
			scoreError("UserError", "not_acceptable", `cannot answer Accept "text/html": /score answers application/json, or text/event-stream for a flow that streams`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, tc.url+"/score", tc.accept, tc.body)
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, tc.contentType, resp.Header.Get("Content-Type"))
			assert.Equal(t, tc.answer, string(b))
		})
	}
}

// TestRunsStreamChunks adds "chunk" events to the node events of a run's
// stream, before the node's own event and the result.
func TestRunsStreamChunks(t *testing.T) {
	t.Parallel()
	fx := askFixture(t, mockllm.Options{Text: "A B"}, `answer: "${chat.output.text}"`)
	resp := post(t, fx.url+"/v1/flows/ask/runs", "text/event-stream", `{"inputs": {"question": "q"}}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	events := sse{bufio.NewReader(resp.Body)}
	var got []string
	for len(got) < 4 {
		event, data := events.next(t)
		if event == "node" {
			data = data[:strings.Index(data, `,"status"`)]
			if strings.Contains(data, `"count"`) {
				continue // the other node, in parallel
			}
		}
		if event == "result" {
			data = data[strings.Index(data, `"outputs"`):strings.Index(data, `,"nodes"`)]
		}
		got = append(got, event+" "+data)
	}
	assert.Equal(t, []string{
		`chunk {"answer":"A "}`,
		`chunk {"answer":"B"}`,
		`node {"node":"chat","tool":"openai.llm","plugin":"openai","kind":"builtin"`,
		`result "outputs":{"answer":"A B"}`,
	}, got)
}

// TestTokenMetrics counts the tokens of the model's calls by plugin and
// type.
func TestTokenMetrics(t *testing.T) {
	t.Parallel()
	fx := askFixture(t, mockllm.Options{Text: "three word answer"}, `answer: "${chat.output.text}"`)
	for range 2 {
		got := do(t, "POST", fx.url+"/score", `{"question": "one two"}`)
		require.Equal(t, http.StatusOK, got.status, got.body)
	}
	m := do(t, "GET", fx.url+"/metrics", "")
	assert.Contains(t, m.body, `weir_tokens_total{plugin="openai",type="input"} 6`+"\n")
	assert.Contains(t, m.body, `weir_tokens_total{plugin="openai",type="output"} 6`+"\n")
}

// TestOpenAPIStream documents the stream of a flow that has one.
func TestOpenAPIStream(t *testing.T) {
	t.Parallel()
	fx := askFixture(t, mockllm.Options{}, `answer: "${chat.output.text}"`)
	var doc struct {
		Paths map[string]map[string]struct {
			Description string
			Responses   map[string]struct{ Content map[string]any }
		}
	}
	got := do(t, "GET", fx.url+"/openapi.json", "")
	require.NoError(t, json.Unmarshal([]byte(got.body), &doc))
	score := doc.Paths["/score"]["post"]
	assert.Equal(t, `The answer is the outputs object alone, as a prompt flow or Azure ML online endpoint gives it. Accept: text/event-stream streams output "answer" as it is made: one event with the other outputs first, if the flow has any, then {"answer": "<text>"} per chunk.`, score.Description)
	assert.Contains(t, score.Responses["200"].Content, "text/event-stream")
	assert.Equal(t, `Accept: text/event-stream streams a "node" event as each node ends, a "chunk" event {"answer": "<text>"} as output "answer" is made, then a "result" event with the body of a 200, or an "error" event.`,
		doc.Paths["/v1/flows/ask/runs"]["post"].Description)
}

// streamFails streams a chunk, then fails.
type streamFails struct{ plugins.Tool }

func (streamFails) Streams() string { return "text" }

// TestScoreStreamError ends a stream whose tool failed after its first
// chunk with an error event; one that failed before any chunk is an
// ordinary error answer.
func TestScoreStreamError(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	type chunkIn struct {
		Chunk string `json:"chunk"`
	}
	type textOut struct {
		Text string `json:"text"`
	}
	require.NoError(t, fx.e.Register("s", streamFails{plugins.Func("llm", "Streams, then fails.",
		func(ctx context.Context, in chunkIn) (textOut, error) {
			if in.Chunk != "" {
				plugins.StreamTo(ctx)(in.Chunk)
			}
			return textOut{}, errors.New("connection reset")
		})}))
	fx.deploy(t, "v1", `name: "f"
inputs: chunk: string
nodes: n: {tool: "s.llm", inputs: chunk: "${inputs.chunk}"}
outputs: text: "${n.output.text}"
`)
	resp := post(t, fx.url+"/score", "text/event-stream", `{"chunk": "Hel"}`)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "data: {\"text\":\"Hel\"}\n\nevent: error\ndata: "+
		strings.TrimSuffix(scoreError("UserError", "node_failed", `node "n" (tool s.llm, plugin s): connection reset`), "\n")+"\n\n", string(b))

	resp = post(t, fx.url+"/score", "text/event-stream", `{"chunk": ""}`)
	b, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, scoreError("UserError", "node_failed", `node "n" (tool s.llm, plugin s): connection reset`), string(b))
}
