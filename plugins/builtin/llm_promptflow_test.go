package builtin

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/mockllm"
)

// TestLLMPromptFlowRequests sends, for OpenAI and Azure OpenAI, chat and
// completion, what prompt flow's llm node with its usual inputs becomes
// (max_tokens: 128, temperature: 0.2, stop unset; top_p and n at prompt
// flow's defaults, which the importer writes), and checks the request
// against what prompt flow's tools send (SPEC §3.2): the path, the query,
// the key's header, and the body, every key of it.
func TestLLMPromptFlowRequests(t *testing.T) {
	s := mockllm.Start(mockllm.Options{})
	defer s.Close()
	const chat = `"template": "# system:\nYou classify.\n# user:\n{{ text }}", "text": "Is Go fast?"`
	const completion = `"api": "completion", "template": "Q: {{ text }}\nA:", "text": "Is Go fast?", "echo": false, "best_of": 1, "suffix": "END", "logprobs": 2`
	const params = `"max_tokens": 128, "temperature": 0.2, "top_p": 1, "n": 1`
	const messages = `[{"role": "system", "content": "You classify."}, {"role": "user", "content": "Is Go fast?"}]`
	for _, tc := range []struct {
		name, cfg, in       string
		path, version, auth string
		body                string
	}{
		{
			"openai chat", "openai", `"model": "gpt-35-turbo", "deployment_name": "unused", ` + chat,
			"/v1/chat/completions", "", "Bearer " + mockllm.DefaultKey,
			`{"model": "gpt-35-turbo", "messages": ` + messages + `, ` + params + `, "stream": false}`,
		},
		{
			"azure chat", "azure", `"deployment": "gpt-35-turbo", ` + chat,
			"/openai/deployments/gpt-35-turbo/chat/completions", "2024-06-01", mockllm.DefaultKey,
			`{"model": "gpt-35-turbo", "messages": ` + messages + `, ` + params + `, "stream": false}`,
		},
		{
			"openai completion", "openai", `"model": "gpt-35-turbo-instruct", ` + completion,
			"/v1/completions", "", "Bearer " + mockllm.DefaultKey,
			`{"model": "gpt-35-turbo-instruct", "prompt": "Q: Is Go fast?\nA:", ` + params + `, "stream": false, "echo": false, "best_of": 1, "suffix": "END", "logprobs": 2}`,
		},
		{
			"azure completion", "azure", `"deployment": "instruct", ` + completion,
			"/openai/deployments/instruct/completions", "2024-06-01", mockllm.DefaultKey,
			`{"model": "instruct", "prompt": "Q: Is Go fast?\nA:", ` + params + `, "stream": false, "echo": false, "best_of": 1, "suffix": "END", "logprobs": 2}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := openaiConfig(s)
			if tc.cfg == "azure" {
				cfg = azureConfig(s)
			}
			tool, _ := newLLM(t, s.Host(), cfg, 0)
			_, err := callLLM(context.Background(), t, tool, `{`+tc.in+`, `+params+`}`)
			require.NoError(t, err)
			reqs := s.Requests()
			r := reqs[len(reqs)-1]
			assert.Equal(t, "POST", r.Method)
			assert.Equal(t, tc.path, r.Path)
			assert.Equal(t, tc.version, r.Query.Get("api-version"))
			if tc.cfg == "azure" {
				assert.Equal(t, tc.auth, r.Header.Get("api-key"))
				assert.Empty(t, r.Header.Get("Authorization"))
			} else {
				assert.Equal(t, tc.auth, r.Header.Get("Authorization"))
				assert.Empty(t, r.Header.Get("api-key"))
			}
			assert.Empty(t, r.Header.Get("ms-azure-ai-promptflow-called-from"), "weir is not prompt flow")
			var want map[string]any
			require.NoError(t, json.Unmarshal([]byte(tc.body), &want))
			assert.Equal(t, want, r.Body)
		})
	}
}

// TestLLMCompletionParametersOnChat refuses the completion API's own
// parameters on chat, where prompt flow's chat tool has none.
func TestLLMCompletionParametersOnChat(t *testing.T) {
	s := mockllm.Start(mockllm.Options{})
	defer s.Close()
	tool, _ := newLLM(t, s.Host(), openaiConfig(s), 0)
	for name, value := range map[string]string{"suffix": `""`, "logprobs": "1", "echo": "false", "best_of": "2"} {
		_, err := callLLM(context.Background(), t, tool, `{"model": "m", "messages": [{"role": "user", "content": "x"}], "`+name+`": `+value+`}`)
		assert.EqualError(t, err, `llm: input "`+name+`" is a parameter of the completion API; the chat API has none`)
	}
	assert.Empty(t, s.Requests())
}

// TestLLMListPrint prints a list variable as prompt flow's tools do: a
// Python list by default (its OpenAI tool), its items one a line with
// list_print "lines" (its Azure OpenAI chat tool's ChatInputList).
func TestLLMListPrint(t *testing.T) {
	s := mockllm.Start(mockllm.Options{})
	defer s.Close()
	tool, _ := newLLM(t, s.Host(), azureConfig(s), 0)
	const in = `"deployment": "d", "template": "# system:\nUse these:\n{{ contexts }}\n# user:\n{{ history[0].q }}: {{ history }}",
		"contexts": ["Go is fast.", {"src": "faq", "n": [1, 2]}], "history": [{"q": "Why?"}]`
	for _, tc := range []struct {
		print, system, user string
	}{
		{"", "Use these:\n['Go is fast.', {'src': 'faq', 'n': [1, 2]}]", "Why?: [{'q': 'Why?'}]"},
		{`, "list_print": "repr"`, "Use these:\n['Go is fast.', {'src': 'faq', 'n': [1, 2]}]", "Why?: [{'q': 'Why?'}]"},
		{`, "list_print": "lines"`, "Use these:\nGo is fast.\n{'src': 'faq', 'n': [1, 2]}", "Why?: {'q': 'Why?'}"},
	} {
		_, err := callLLM(context.Background(), t, tool, `{`+in+tc.print+`}`)
		require.NoError(t, err)
		reqs := s.Requests()
		assert.Equal(t, []any{
			map[string]any{"role": "system", "content": tc.system},
			map[string]any{"role": "user", "content": tc.user},
		}, reqs[len(reqs)-1].Body["messages"], tc.print)
	}
	_, err := callLLM(context.Background(), t, tool, `{`+in+`, "list_print": "str"}`)
	assert.EqualError(t, err, `llm: input "list_print": "str" is not "repr" or "lines"`)
}
