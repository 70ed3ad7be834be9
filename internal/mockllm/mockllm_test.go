package mockllm

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRefuses refuses what a real service would, with its status and
// message, and records the request all the same.
func TestRefuses(t *testing.T) {
	s := Start(Options{})
	defer s.Close()
	bearer := "Authorization: Bearer " + DefaultKey
	for _, tc := range []struct {
		name, path, body string
		headers          []string
		status           int
		message          string
	}{
		{"ok", "/v1/chat/completions", `{"model": "m", "messages": []}`, []string{bearer}, 200, ""},
		{"no route", "/v2/chat/completions", `{}`, []string{bearer}, 404, "no route /v2/chat/completions"},
		{"no key", "/v1/chat/completions", `{"model": "m", "messages": []}`, nil, 401, "Incorrect API key provided."},
		{"azure key as bearer", "/openai/deployments/d/chat/completions?api-version=2024-02-01", `{"messages": []}`, []string{bearer}, 401,
			"Access denied due to invalid subscription key or wrong API endpoint."},
		{"azure without api-version", "/openai/deployments/d/chat/completions", `{"messages": []}`, []string{"api-key: " + DefaultKey}, 404, "missing api-version"},
		{"no model", "/v1/chat/completions", `{"messages": []}`, []string{bearer}, 400, "you must provide a model parameter"},
		{"no messages", "/v1/chat/completions", `{"model": "m"}`, []string{bearer}, 400, "'messages' is a required property"},
		{"no prompt", "/v1/completions", `{"model": "m"}`, []string{bearer}, 400, "'prompt' is a required property"},
		{"not JSON", "/v1/completions", `prompt=x`, []string{bearer}, 400, "the body is not a JSON object: prompt=x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", s.URL+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			for _, h := range tc.headers {
				k, v, _ := strings.Cut(h, ": ")
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, tc.status, resp.StatusCode)
			var e struct{ Error struct{ Message string } }
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
			assert.Equal(t, tc.message, e.Error.Message)
		})
	}
	assert.Len(t, s.Requests(), 9)
}

// TestStream sends the text a word at a time, then [DONE].
func TestStream(t *testing.T) {
	s := Start(Options{Text: "a b"})
	defer s.Close()
	req, _ := http.NewRequest("POST", s.URL+"/v1/completions", strings.NewReader(`{"model": "m", "prompt": "p", "stream": true}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+DefaultKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, `data: {"choices":[{"finish_reason":null,"index":0,"text":"a "}],"created":1700000000,"id":"mock-1","model":"m","object":"text_completion"}

data: {"choices":[{"finish_reason":null,"index":0,"text":"b"}],"created":1700000000,"id":"mock-1","model":"m","object":"text_completion"}

data: {"choices":[{"finish_reason":"stop","index":0,"text":""}],"created":1700000000,"id":"mock-1","model":"m","object":"text_completion"}

data: [DONE]

`, string(b))
}
