package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/mockllm"
)

// writeLLMFlow writes a flow that asks the mock s, and a dataset of two
// questions, and returns the flow's path.
func writeLLMFlow(t *testing.T, s *mockllm.Server) string {
	t.Helper()
	dir := t.TempDir()
	flow := fmt.Sprintf(`name: "ask"
inputs: question: string
plugins: openai: {builtin: true, config: {api_base: %q, api_key: %q}, grants: hosts: [%q]}
nodes: chat: {tool: "openai.llm", inputs: {model: "gpt-4o", messages: [{role: "user", content: "${inputs.question}"}]}}
outputs: answer: "${chat.output.text}"
`, s.URL+"/v1", mockllm.DefaultKey, s.Host())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ask.cue"), []byte(flow), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "questions.jsonl"), []byte(`{"question": "one two"}
{"question": "three"}
`), 0o644))
	return filepath.Join(dir, "ask.cue")
}

// TestRunLLMUsage shows the tokens of a node that called a model.
func TestRunLLMUsage(t *testing.T) {
	s := mockllm.Start(mockllm.Options{Text: "An answer."})
	defer s.Close()
	flow := writeLLMFlow(t, s)
	r := weir(t, "", "run", flow, "--input", "question=Why?")
	require.Equal(t, 0, r.code, r.stderr)
	out := spaces.ReplaceAllString(regexp.MustCompile(`\b[0-9.]+(ms|µs|s)\b`).ReplaceAllString(r.stdout, "D"), "  ")
	assert.Equal(t, `OUTPUT  VALUE
answer  An answer.

NODE  TOOL  STATUS  ATTEMPTS  DURATION  TOKENS IN  TOKENS OUT  ERROR
chat  openai.llm  succeeded  1  D  2  2  
`, out)

}

// TestBatchLLMUsage adds up the tokens of a batch in its record and in
// runs show.
func TestBatchLLMUsage(t *testing.T) {
	s := mockllm.Start(mockllm.Options{Text: "An answer."})
	defer s.Close()
	flow := writeLLMFlow(t, s)
	home := t.TempDir()
	r := weir(t, "", "batch", "--home", home, flow, "--data", filepath.Join(filepath.Dir(flow), "questions.jsonl"))
	require.Equal(t, 0, r.code, r.stderr)
	id := lastRun(t, home)
	r = weir(t, "", "runs", "show", "--home", home, id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, normalize(r.stdout, home), `NODE  RUNS  FAILED  BYPASSED  CANCELED  P50  P95  P99  TOKENS IN  TOKENS OUT
chat  2  0  0  0  Nms  Nms  Nms  5  4
`)
	metrics, err := os.ReadFile(filepath.Join(home, "runs", id, "metrics.json"))
	require.NoError(t, err)
	assert.Contains(t, string(metrics), "\"input_tokens\": 5,\n      \"output_tokens\": 4\n")
	nodes, err := os.ReadFile(filepath.Join(home, "runs", id, "nodes.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(nodes), `"usage":{"provider":"openai","operation":"chat","request_model":"gpt-4o","model":"gpt-4o","input_tokens":3,"output_tokens":2}`)
}

// TestServeLLMStream streams a model's answer through the built weir
// serve: the mock holds its last chunk until the client has read the
// first.
func TestServeLLMStream(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	s := mockllm.Start(mockllm.Options{Text: "Streamed through weir.", Gate: gate})
	defer s.Close()
	flow := writeLLMFlow(t, s)
	srv := startServe(t, filepath.Dir(flow), nil, 1, "ask.cue")

	req, err := http.NewRequest("POST", srv.url+"/score", strings.NewReader(`{"question": "Stream?"}`))
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "data: {\"answer\":\"Streamed \"}\n", line)
	close(gate)
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "\ndata: {\"answer\":\"through \"}\n\ndata: {\"answer\":\"weir.\"}\n\n", string(rest))
}
