package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/leaktest"
	"github.com/weirflow/weir/internal/mockllm"
)

// triageKey is the API key the triage tests plant: the mock model demands
// it, and no file or answer of weir may hold it.
const triageKey = "sk-triage-5f0c7e1b9a2d"

// triageFlow copies examples/triage into a temporary folder, pointed at the
// mock model s instead of the real API (its connection and host grant are
// the only lines that change), and returns the copy's folder.
func triageFlow(t *testing.T, root string, s *mockllm.Server) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(root, "examples", "triage")
	for _, name := range []string{"flow.cue", "tickets.jsonl", "tools/desk.py"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		require.NoError(t, err)
		if name == "flow.cue" {
			text := string(b)
			for old, repl := range map[string]string{
				`api_base: "https://api.openai.com/v1"`: `api_base: "` + s.URL + `/v1"`,
				`grants: hosts: ["api.openai.com"]`:     `grants: hosts: ["` + s.Host() + `"]`,
			} {
				require.Contains(t, text, old)
				text = strings.Replace(text, old, repl, 1)
			}
			b = []byte(text)
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	return dir
}

// The mock echoes the messages it is sent, so each answer shows the prompt
// the flow rendered: the label is the last category word in it.
const (
	crashTicket = "The app   crashes when I save a file. Looks like a bug."
	crashReply  = "system: Write a short, kind reply to a support ticket about bug.\nuser: The app crashes when I save a file. Looks like a bug."
)

// TestTriageExample runs the example (a Python tool, a prompt, two
// model calls, a secret, the node cache and an aggregate) through the
// built weir: run, batch, and serve with the reply streamed.
func TestTriageExample(t *testing.T) {
	bin, root := weirBinary(t)
	gate := make(chan struct{})
	s := mockllm.Start(mockllm.Options{Key: triageKey, Echo: true, Gate: gate})
	defer s.Close()
	dir := triageFlow(t, root, s)
	home := t.TempDir()
	env := []string{"OTEL_TRACES_EXPORTER=none", "WEIR_HOME=" + home, "OPENAI_API_KEY=" + triageKey}
	var seen []string // everything weir printed or answered

	t.Run("run", func(t *testing.T) {
		close(gate) // weir run does not stream: nothing waits
		r := runBinaryEnv(t, bin, dir, "", env, "run", "-o", "json", ".", "--input", "ticket="+crashTicket)
		seen = append(seen, r.stdout, r.stderr)
		require.Equal(t, 0, r.code, r.stderr)
		var outputs map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &outputs), r.stdout)
		assert.Equal(t, map[string]any{"category": "bug", "words": float64(12), "reply": crashReply}, outputs)
	})

	t.Run("batch", func(t *testing.T) {
		r := runBinaryEnv(t, bin, dir, "", env, "batch", ".", "--data", "tickets.jsonl")
		seen = append(seen, r.stdout, r.stderr)
		require.Equal(t, 0, r.code, r.stderr)
		id := lastRun(t, home)
		out := runBinaryEnv(t, bin, dir, "", env, "runs", "outputs", "-o", "jsonl", id)
		require.Equal(t, 0, out.code, out.stderr)
		seen = append(seen, out.stdout)
		var categories []string
		for _, line := range strings.Split(strings.TrimSpace(out.stdout), "\n") {
			var l struct{ Outputs struct{ Category string } }
			require.NoError(t, json.Unmarshal([]byte(line), &l), line)
			categories = append(categories, l.Outputs.Category)
		}
		assert.Equal(t, []string{"billing", "bug", "other", "bug"}, categories)
		metrics, err := os.ReadFile(filepath.Join(home, "runs", id, "metrics.json"))
		require.NoError(t, err)
		assert.Contains(t, string(metrics), `"billing": 1`)
		assert.Contains(t, string(metrics), `"bug": 2`)
		assert.Contains(t, string(metrics), `"other": 1`)
		// The run before asked about the crash ticket already: its
		// classify answer came from the node cache.
		show := runBinaryEnv(t, bin, dir, "", env, "runs", "show", id)
		require.Equal(t, 0, show.code, show.stderr)
		seen = append(seen, show.stdout)
		assert.Contains(t, show.stdout, "CACHED")
	})

	t.Run("serve", func(t *testing.T) {
		gate := make(chan struct{})
		s2 := mockllm.Start(mockllm.Options{Key: triageKey, Echo: true, Gate: gate})
		defer s2.Close()
		dir := triageFlow(t, root, s2)
		srv := startServe(t, dir, env[1:], 1, ".")
		req, err := http.NewRequest(http.MethodPost, srv.url+"/score", strings.NewReader(`{"ticket": "`+crashTicket+`"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
		// The first events come while the model still holds its last chunk.
		sc := bufio.NewScanner(resp.Body)
		var events []string
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data: ") {
				events = append(events, strings.TrimPrefix(line, "data: "))
				if strings.Contains(line, `"reply"`) {
					break
				}
			}
		}
		require.NotEmpty(t, events)
		close(gate)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data: ") {
				events = append(events, strings.TrimPrefix(line, "data: "))
			}
		}
		require.NoError(t, sc.Err())
		seen = append(seen, events...)
		var first map[string]any
		require.NoError(t, json.Unmarshal([]byte(events[0]), &first))
		assert.Equal(t, map[string]any{"category": "bug", "words": float64(12)}, first)
		var reply strings.Builder
		for _, e := range events[1:] {
			var chunk map[string]string
			require.NoError(t, json.Unmarshal([]byte(e), &chunk), e)
			reply.WriteString(chunk["reply"])
		}
		assert.Equal(t, crashReply, reply.String())
		assert.Greater(t, len(events), 2, "the reply came in one piece: %q", events)

		code, body := post(t, srv.url+"/score", "application/json", `{"ticket": "Where is your office?"}`)
		seen = append(seen, body)
		require.Equal(t, http.StatusOK, code, body)
		assert.Contains(t, body, `"category":"other"`)
	})

	t.Run("the key shows nowhere", func(t *testing.T) {
		for i, s := range seen {
			leaktest.Bytes(t, triageKey, fmt.Sprintf("output %d", i), []byte(s))
		}
		assert.Positive(t, leaktest.Tree(t, triageKey, home), "files under WEIR_HOME")
	})
}

// TestTriageWithoutKey: a flow whose secret is not set fails before any
// node runs, naming the secret and where weir looked.
func TestTriageWithoutKey(t *testing.T) {
	bin, root := weirBinary(t)
	s := mockllm.Start(mockllm.Options{Key: triageKey})
	defer s.Close()
	dir := triageFlow(t, root, s)
	cmd := exec.Command(bin, "run", ".", "--input", "ticket=hi")
	cmd.Dir = dir
	// Only what weir needs: the test's own environment may hold the key.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "OTEL_TRACES_EXPORTER=none", "WEIR_HOME=" + t.TempDir()}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var exit *exec.ExitError
	require.ErrorAs(t, cmd.Run(), &exit)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Equal(t, "", stdout.String())
	assert.Equal(t, "flow.cue:13:10: secret \"openai_key\": environment variable OPENAI_API_KEY is not set\n", stderr.String())
	assert.Empty(t, s.Requests())
}
