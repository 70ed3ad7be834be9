package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServePromptflowClient is a prompt flow client against weir serve of
// a chat flow with samples.json beside it: the probes, the swagger
// document it reads the chat fields from, a text body and a request id.
func TestServePromptflowClient(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.cue"), []byte(`name: "chat"
inputs: {
	question: string | *"What is weir?"
	chat_history: [...] | *[]
}
chat: {input: "question", output: "answer", history: "chat_history"}
nodes: reply: {tool: "builtin.template", inputs: {template: "You asked: {{.q}}", q: "${inputs.question}"}}
outputs: answer: "${reply.output.text}"
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "samples.json"), []byte(`[{"question": "Hi?", "chat_history": []}]`), 0o644))
	s := startServe(t, dir, []string{"BUILD_INFO=local build"}, 1, "flow.cue")

	get := func(path string) (int, string) {
		resp, err := http.Get(s.url + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, body := get("/health")
	assert.Equal(t, http.StatusOK, code)
	assert.Regexp(t, `^\{"status":"Healthy","version":"[^"]+"\}\n$`, body)
	code, body = get("/version")
	assert.Equal(t, http.StatusOK, code)
	assert.Regexp(t, `^\{"status":"Healthy","build_info":"local build","version":"[^"]+"\}\n$`, body)

	code, body = get("/swagger.json")
	require.Equal(t, http.StatusOK, code)
	var doc struct {
		Info  map[string]string
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct{ Example any }
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	assert.Equal(t, map[string]string{"title": "weir[chat] API", "version": "1.0.0", "x-flow-name": "chat", "x-flow-type": "chat",
		"x-chat-input": "question", "x-chat-output": "answer", "x-chat-history": "chat_history"}, doc.Info)
	assert.Equal(t, map[string]any{"question": "Hi?", "chat_history": []any{}}, doc.Paths["/score"]["post"].RequestBody.Content["application/json"].Example)

	req, err := http.NewRequest("POST", s.url+"/score", strings.NewReader("What is a flow?"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("X-Ms-Client-Request-Id", "client-7")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "two inputs: the text is not JSON")
	assert.Equal(t, `{"error":{"code":"UserError","message":"decode body: invalid character 'W' looking for beginning of value, at byte 1","innerError":{"code":"invalid_json"}}}`+"\n", string(b))
	assert.Equal(t, "client-7", resp.Header.Get("X-Request-Id"))

	code, body = post(t, s.url+"/score", "application/json", `{"question": "What is a flow?"}`)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, `{"answer":"You asked: What is a flow?"}`+"\n", body)

	code, body = post(t, s.url+"/feedback", "application/json", `{"thumbs": "up"}`)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, `{"status":"Feedback received."}`+"\n", body)

	exit, _ := s.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, exit)
}
