package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/mockllm"
	"github.com/weirflow/weir/plugins"
)

// llmFlow is a flow whose node chat calls the mock s through builtin.llm;
// outputs and extra are CUE added to the flow.
func llmFlow(s *mockllm.Server, outputs, extra string) string {
	return fmt.Sprintf(`name: "ask"
inputs: question: string
plugins: openai: {builtin: true, config: {api_base: %q, api_key: %q}, grants: hosts: [%q]}
nodes: chat: {tool: "openai.llm", inputs: {model: "gpt-4o", messages: [{role: "user", content: "${inputs.question}"}]}}
%s
outputs: {%s}
`, s.URL+"/v1", mockllm.DefaultKey, s.Host(), extra, outputs)
}

// TestLLMUsage runs a flow that calls a model and finds the tokens in the
// node's result and, under OpenTelemetry's GenAI names, on its span.
func TestLLMUsage(t *testing.T) {
	s := mockllm.Start(mockllm.Options{Text: "Four words, no more."})
	defer s.Close()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	e, _ := newEngine(t, engine.Options{TracerProvider: tp})
	f := load(t, e, llmFlow(s, `answer: "${chat.output.text}"`, ""))
	res, err := f.Run(context.Background(), map[string]any{"question": "How many words?"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"answer": "Four words, no more."}, outputs(t, res))
	assert.Equal(t, &plugins.Usage{Provider: "openai", Operation: "chat", RequestModel: "gpt-4o", Model: "gpt-4o",
		InputTokens: 4, OutputTokens: 4}, node(res, "chat").Usage)

	var attrs map[attribute.Key]attribute.Value
	for _, sp := range exp.GetSpans() {
		if sp.Name == "node chat" {
			attrs = map[attribute.Key]attribute.Value{}
			for _, a := range sp.Attributes {
				attrs[a.Key] = a.Value
			}
		}
	}
	require.NotNil(t, attrs, "no span for node chat")
	for k, want := range map[string]any{
		"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.system": "openai",
		"gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o",
		"gen_ai.usage.input_tokens": int64(4), "gen_ai.usage.output_tokens": int64(4),
	} {
		assert.Equal(t, want, attrs[attribute.Key(k)].AsInterface(), k)
	}
}

func TestStreamOutput(t *testing.T) {
	s := mockllm.Start(mockllm.Options{})
	defer s.Close()
	e, _ := newEngine(t, engineOpts())
	for _, tc := range []struct {
		name, outputs, extra, want string
	}{
		{"the text alone", `answer: "${chat.output.text}"`, "", "answer"},
		{"beside other outputs", `q: "${inputs.question}", answer: "${chat.output.text}"`, "", "answer"},
		{"another field", `model: "${chat.output.model}"`, "", ""},
		{"the text inside a string", `answer: "A: ${chat.output.text}"`, "", ""},
		{"the whole output", `answer: "${chat.output}"`, "", ""},
		{"the node in another output too", `answer: "${chat.output.text}", usage: "${chat.output.usage}"`, "", ""},
		{"the node used by a node", `answer: "${chat.output.text}"`, `nodes: log: {tool: "t.echo", inputs: value: "${chat.output.model}"}`, ""},
		{"a tool that does not stream", `answer: "${echo.output.value}"`, `nodes: echo: {tool: "t.echo", inputs: value: "x"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := load(t, e, llmFlow(s, tc.outputs, tc.extra))
			assert.Equal(t, tc.want, f.StreamOutput())
		})
	}
}

// TestStreamRun streams the answer of a model, chunk by chunk, and still
// returns it whole.
func TestStreamRun(t *testing.T) {
	s := mockllm.Start(mockllm.Options{Text: "One two three."})
	defer s.Close()
	e, _ := newEngine(t, engineOpts())
	f := load(t, e, llmFlow(s, `q: "${inputs.question}", answer: "${chat.output.text}"`, ""))
	var chunks []string
	res, err := f.RunWith(context.Background(), map[string]any{"question": "Count"}, engine.RunOptions{
		Stream: func(output, chunk string) { chunks = append(chunks, output+"="+chunk) },
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"answer=One ", "answer=two ", "answer=three."}, chunks)
	assert.Equal(t, map[string]any{"q": "Count", "answer": "One two three."}, outputs(t, res))
	assert.Equal(t, int64(3), node(res, "chat").Usage.OutputTokens, "the stream's usage")

	// Without Stream, nothing streams.
	_, err = f.Run(context.Background(), map[string]any{"question": "Count"})
	require.NoError(t, err)
	reqs := s.Requests()
	assert.Equal(t, false, reqs[len(reqs)-1].Body["stream"], "sent false, as prompt flow sends it")
}

// streamTool is a native Streamer whose calls the test scripts.
type streamTool struct {
	plugins.Tool
}

func (streamTool) Streams() string { return "text" }

type textIO struct {
	Text string `json:"text"`
}

// TestStreamNativeTool streams what a tool that answers whole returns, as
// one chunk, and does not retry a tool that failed after it streamed.
func TestStreamNativeTool(t *testing.T) {
	e, _ := newEngine(t, engineOpts())
	var mu sync.Mutex
	calls := 0
	require.NoError(t, e.Register("s",
		streamTool{plugins.Func("whole", "Answers whole.", func(_ context.Context, in textIO) (textIO, error) {
			return textIO{Text: "all at once"}, nil
		})},
		streamTool{plugins.Func("broken", "Streams, then fails.", func(ctx context.Context, in textIO) (textIO, error) {
			mu.Lock()
			calls++
			mu.Unlock()
			plugins.StreamTo(ctx)("partial ")
			return textIO{}, plugins.Errorf(plugins.Retryable, "connection reset")
		})},
	))
	for _, tc := range []struct {
		tool   string
		chunks []string
		err    string
	}{
		{"s.whole", []string{"all at once"}, ""},
		{"s.broken", []string{"partial "}, `node "n" (tool s.broken, plugin s): connection reset`},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			f := load(t, e, fmt.Sprintf(`name: "s"
nodes: n: {tool: %q, inputs: text: "x", retry: {attempts: 3, backoff: "1ms"}}
outputs: text: "${n.output.text}"
`, tc.tool))
			require.Equal(t, "text", f.StreamOutput())
			var chunks []string
			res, err := f.RunWith(context.Background(), nil, engine.RunOptions{Stream: func(_, c string) { chunks = append(chunks, c) }})
			assert.Equal(t, tc.chunks, chunks)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.err)
			assert.Equal(t, 1, node(res, "n").Attempts, "an attempt that streamed is not retried")
		})
	}
	assert.Equal(t, 1, calls)
}

// TestStreamCacheHit streams the whole text of a node whose outputs come
// from the node cache, as one chunk.
func TestStreamCacheHit(t *testing.T) {
	s := mockllm.Start(mockllm.Options{Text: "Cached answer."})
	defer s.Close()
	e, _, _, _ := cachedEngine(t, engine.Options{})
	f := load(t, e, strings.Replace(llmFlow(s, `answer: "${chat.output.text}"`, ""), `}]}}`, `}]}, cache: true}`, 1))
	for _, want := range [][]string{{"Cached ", "answer."}, {"Cached answer."}} {
		var chunks []string
		res, err := f.RunWith(context.Background(), map[string]any{"question": "q"}, engine.RunOptions{
			Stream: func(_, c string) { chunks = append(chunks, c) },
		})
		require.NoError(t, err)
		assert.Equal(t, want, chunks)
		assert.Equal(t, map[string]any{"answer": "Cached answer."}, outputs(t, res))
	}
	assert.Len(t, s.Requests(), 1)
}

// TestLLMSecretKey takes the API key from a secret of the flow, and keeps
// it out of the result and of the error of a call the service refused.
func TestLLMSecretKey(t *testing.T) {
	s := mockllm.Start(mockllm.Options{Key: "sk-from-the-environment"})
	defer s.Close()
	e, _ := newEngine(t, engineOpts())
	src := strings.Replace(llmFlow(s, `answer: "${chat.output.text}"`, `secrets: openai: env: "WEIR_TEST_LLM_KEY"`),
		fmt.Sprintf("api_key: %q", mockllm.DefaultKey), `api_key: "${secrets.openai}"`, 1)
	t.Setenv("WEIR_TEST_LLM_KEY", "sk-from-the-environment")
	res, err := load(t, e, src).Run(context.Background(), map[string]any{"question": "q"})
	require.NoError(t, err)
	assert.Equal(t, "Bearer sk-from-the-environment", s.Requests()[0].Header.Get("Authorization"))
	assert.Equal(t, map[string]any{"answer": mockllm.DefaultText}, outputs(t, res))

	t.Setenv("WEIR_TEST_LLM_KEY", "sk-wrong-key-value")
	_, err = load(t, e, src).Run(context.Background(), map[string]any{"question": "q"})
	require.EqualError(t, err, `node "chat" (tool openai.llm, plugin openai): llm: `+s.Host()+` answered 401 Unauthorized: Incorrect API key provided.`)
}

// TestLLMTemplateAtLoad reports a literal template that does not parse
// when the flow loads, at its line in the flow file.
func TestLLMTemplateAtLoad(t *testing.T) {
	e, _ := newEngine(t, engineOpts())
	errs := loadErrors(t, e, "flow.cue", `name: "bad"
plugins: openai: {builtin: true, config: api_base: "http://127.0.0.1:1/v1"}
nodes: chat: {
	tool: "openai.llm"
	inputs: {model: "m", template: "# user:\n{{ question"}
}
outputs: a: "${chat.output.text}"
`)
	assert.Equal(t, []string{`flow.cue:5:33: node "chat": input "template": line 2: unexpected end of template, expected end of print statement`}, errs)
}

// TestStreamHead sends the other outputs before the first chunk, as soon
// as the nodes they use have ended: here while the streaming node is still
// writing, its first chunk held until then.
func TestStreamHead(t *testing.T) {
	e, _ := newEngine(t, engineOpts())
	firstSent := make(chan struct{})
	require.NoError(t, e.Register("h",
		streamTool{plugins.Func("talk", "Streams two chunks.", func(ctx context.Context, in textIO) (textIO, error) {
			plugins.StreamTo(ctx)("Hello, ")
			close(firstSent)
			plugins.StreamTo(ctx)("world")
			return textIO{Text: "Hello, world"}, nil
		})},
		plugins.Func("late", "Answers once the talk has begun.", func(ctx context.Context, in textIO) (textIO, error) {
			<-firstSent
			return textIO{Text: in.Text + "!"}, nil
		}),
	))
	f := load(t, e, `name: "h"
inputs: name: string
nodes: {
	talk: {tool: "h.talk", inputs: text: "${inputs.name}"}
	late: {tool: "h.late", inputs: text: "${inputs.name}"}
}
outputs: {mark: "${late.output.text}", text: "${talk.output.text}", name: "${inputs.name}"}
`)
	var events []string
	res, err := f.RunWith(context.Background(), map[string]any{"name": "Ada"}, engine.RunOptions{
		Stream:     func(o, c string) { events = append(events, o+"="+c) },
		StreamHead: func(out []byte) { events = append(events, "head "+string(out)) },
	})
	require.NoError(t, err)
	assert.Equal(t, []string{`head {"mark":"Ada!","name":"Ada"}`, "text=Hello, ", "text=world"}, events)
	assert.Equal(t, `{"mark":"Ada!","text":"Hello, world","name":"Ada"}`, string(res.Outputs))

	// Outputs that use no node go before anything runs.
	f = load(t, e, `name: "h2"
inputs: name: string
nodes: talk: {tool: "h.talk", inputs: text: "${inputs.name}"}
outputs: {name: "${inputs.name}", text: "${talk.output.text}"}
`)
	firstSent = make(chan struct{})
	events = nil
	_, err = f.RunWith(context.Background(), map[string]any{"name": "Ada"}, engine.RunOptions{
		Stream:     func(o, c string) { events = append(events, o+"="+c) },
		StreamHead: func(out []byte) { events = append(events, "head "+string(out)) },
	})
	require.NoError(t, err)
	assert.Equal(t, []string{`head {"name":"Ada"}`, "text=Hello, ", "text=world"}, events)
}

// TestStreamHeadFailed does not send the other outputs when a node they
// use failed: they are not known, and the run fails.
func TestStreamHeadFailed(t *testing.T) {
	s := mockllm.Start(mockllm.Options{})
	defer s.Close()
	e, _ := newEngine(t, engineOpts())
	f := load(t, e, llmFlow(s, `answer: "${chat.output.text}", v: "${other.output.value}"`, `nodes: other: {tool: "t.fail", inputs: message: "no"}`))
	var heads []string
	_, err := f.RunWith(context.Background(), map[string]any{"question": "q"}, engine.RunOptions{
		Stream:     func(string, string) {},
		StreamHead: func(out []byte) { heads = append(heads, string(out)) },
	})
	require.EqualError(t, err, `node "other" (tool t.fail, plugin t): no`)
	assert.Empty(t, heads)
}
