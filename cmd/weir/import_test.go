package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/mockllm"
	"github.com/weirflow/weir/internal/pyindex"
)

// promptflowCorpus is the folder of prompt flow's real flows kept beside
// the repository as test data (shared/promptflow/flows, found going up
// from it), or $WEIR_PROMPTFLOW_FLOWS; a checkout without it skips.
func promptflowCorpus(t *testing.T, root string) string {
	t.Helper()
	if dir := os.Getenv("WEIR_PROMPTFLOW_FLOWS"); dir != "" {
		return dir
	}
	for dir := root; ; dir = filepath.Dir(dir) {
		c := filepath.Join(dir, "shared", "promptflow", "flows")
		if _, err := os.Stat(filepath.Join(c, "web-classification", "flow.dag.yaml")); err == nil {
			return c
		}
		if filepath.Dir(dir) == dir {
			t.Skip("prompt flow's flows are not here: shared/promptflow/flows beside the repository, or $WEIR_PROMPTFLOW_FLOWS")
		}
	}
}

// debianPython returns a PATH whose python3 imports bs4 and requests,
// which web-classification's tools import (Debian's, with python3-bs4 and
// python3-requests, as CI installs them).
func debianPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(py); err == nil && exec.Command(path, "-c", "import bs4, requests, pip").Run() == nil {
			return filepath.Dir(path) + string(os.PathListSeparator) + os.Getenv("PATH")
		}
	}
	if os.Getenv("WEIR_REQUIRE_TOOLS") != "" {
		t.Fatal("needs a python3 that imports bs4, requests and pip (apt-get install python3-bs4 python3-requests python3-pip)")
	}
	t.Skip("needs a python3 that imports bs4, requests and pip (apt-get install python3-bs4 python3-requests python3-pip)")
	return ""
}

// TestImportPromptflowWebClassification is the issue's: weir import
// promptflow of prompt flow's web-classification, then weir batch of the
// converted flow with prompt flow's --column-mapping, through the built
// binary, against a mock model and web pages on loopback. The Python tools
// fetch the pages with requests and read them with bs4, installed from the
// flow's requirements.
func TestImportPromptflowWebClassification(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	flows := promptflowCorpus(t, root)
	path := debianPython(t)
	idx := pyindex.Start(pyindex.Package{Name: "bs4", Version: "0.0.2", Requires: []string{"beautifulsoup4"}})
	defer idx.Close()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<html><body><h1>%s</h1><p>Listen to music%s.</p></body></html>", r.URL.Path, r.URL.Path)
	}))
	defer web.Close()
	m := mockllm.Start(mockllm.Options{Answer: func(req mockllm.Request) string {
		msgs := req.Body["messages"].([]any)
		if strings.Contains(msgs[0].(map[string]any)["content"].(string), "summarize") {
			return "A music app."
		}
		return `{"category": "App", "evidence": "Both"}`
	}})
	defer m.Close()

	work := t.TempDir()
	conn := filepath.Join(work, "conn.yaml")
	require.NoError(t, os.WriteFile(conn, []byte("name: open_ai_connection\ntype: open_ai\napi_key: \"<user-input>\"\nbase_url: "+m.URL+"/v1\n"), 0o644))
	env := []string{"OTEL_TRACES_EXPORTER=none", "PATH=" + path, "PIP_INDEX_URL=" + idx.URL(),
		"OPEN_AI_CONNECTION_API_KEY=" + mockllm.DefaultKey, "WEIR_CACHE_DIR=" + filepath.Join(work, "cache")}

	r := runBinaryEnv(t, bin, work, "", env, "import", "promptflow", filepath.Join(flows, "web-classification"), "-o", "wc", "--connection", "open_ai_connection="+conn)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "imported "+filepath.Join(flows, "web-classification")+" into wc/flow.cue: flow \"web-classification\", 5 nodes; see wc/README.md\n", r.stdout)

	var data strings.Builder
	for i, page := range []string{"/spotify", "/netflix", "/arxiv"} {
		fmt.Fprintf(&data, "{\"url\": %q, \"answer\": %q}\n", web.URL+page, []string{"App", "Movie", "App"}[i])
	}
	require.NoError(t, os.WriteFile(filepath.Join(work, "data.jsonl"), []byte(data.String()), 0o644))
	home := filepath.Join(work, "home")
	r = runBinaryEnv(t, bin, work, "", env, "batch", "--home", home, "wc/flow.cue", "--data", "data.jsonl", "--column-mapping", "url=${data.url}")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "lines    3: 3 succeeded, 0 failed\n")
	id := runID.FindStringSubmatch(r.stdout)
	require.NotNil(t, id, r.stdout)
	got := recordLines(t, home, id[1])
	for line := 1; line <= 3; line++ {
		assert.JSONEq(t, `{"category":"App","evidence":"Both"}`, got[line], "line %d", line)
	}
	// Each line's page reached the model through the Python tools.
	var summaries []string
	for _, req := range m.Requests() {
		msgs := req.Body["messages"].([]any)
		if strings.Contains(msgs[0].(map[string]any)["content"].(string), "summarize") {
			summaries = append(summaries, msgs[1].(map[string]any)["content"].(string))
		}
	}
	assert.ElementsMatch(t, []string{
		"Text: /spotifyListen to music/spotify.\nSummary:",
		"Text: /netflixListen to music/netflix.\nSummary:",
		"Text: /arxivListen to music/arxiv.\nSummary:",
	}, summaries)

	// The evaluation flow over that run, as prompt flow's run_evaluation.yml
	// maps it: its aggregation node's log_metric is the batch's metric.
	r = runBinaryEnv(t, bin, work, "", env, "import", "promptflow", filepath.Join(flows, "eval-classification-accuracy"), "-o", "eval")
	require.Equal(t, 0, r.code, r.stderr)
	r = runBinaryEnv(t, bin, work, "", env, "batch", "--home", home, "eval/flow.cue", "--data", "data.jsonl", "--run", id[1],
		"--column-mapping", "groundtruth=${data.answer}", "prediction=${run.outputs.category}")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "\nMETRIC    VALUE\naccuracy  0.67\n")
	evalID := runID.FindStringSubmatch(r.stdout)
	require.NotNil(t, evalID, r.stdout)
	got = recordLines(t, home, evalID[1])
	assert.JSONEq(t, `{"grade":"Correct"}`, got[1])
	assert.JSONEq(t, `{"grade":"Incorrect"}`, got[2])
	metrics, err := os.ReadFile(filepath.Join(home, "runs", evalID[1], "metrics.json"))
	require.NoError(t, err)
	var mj struct {
		Metrics map[string]any `json:"metrics"`
	}
	require.NoError(t, json.Unmarshal(metrics, &mj))
	assert.Equal(t, map[string]any{"accuracy": 0.67}, mj.Metrics)
}

// TestImportPromptflowRefused: a flow weir cannot run is refused with
// every reason, exit 1, and nothing is written.
func TestImportPromptflowRefused(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	flows := promptflowCorpus(t, root)
	work := t.TempDir()
	r := runBinary(t, bin, work, "import", "promptflow", filepath.Join(flows, "describe-image"), "-o", "di")
	require.Equal(t, 1, r.code)
	dir := filepath.Join(flows, "describe-image")
	assert.Equal(t, "weir: cannot import "+dir+":\n"+
		"  "+dir+"/flow.dag.yaml:6:3: input \"input_image\": image inputs are not supported\n"+
		"  "+dir+"/flow.dag.yaml:24:3: node \"question_on_image\": a custom_llm tool (promptflow.tools.aoai_gpt4v.AzureOpenAI.chat) comes from a package weir cannot run\n"+
		"  "+dir+"/flow.dag.yaml:17:3: node \"flip_image\": flip_image.py:3 imports promptflow.contracts.multimedia, a part of prompt flow weir does not provide (it provides promptflow's tool, log_metric, trace and connection classes)\n"+
		"nothing was written\n", r.stderr)
	assert.NoDirExists(t, filepath.Join(work, "di"))
}

// TestImportPromptflowServe serves an imported chat flow and calls it as
// prompt flow's clients do: /score with and without event streams, its
// error body, /health and /swagger.json.
func TestImportPromptflowServe(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	flows := promptflowCorpus(t, root)
	m := mockllm.Start(mockllm.Options{Text: "Paris is the capital."})
	defer m.Close()
	work := t.TempDir()
	conn := filepath.Join(work, "conn.yaml")
	require.NoError(t, os.WriteFile(conn, []byte("name: open_ai_connection\ntype: open_ai\nbase_url: "+m.URL+"/v1\n"), 0o644))
	r := runBinary(t, bin, work, "import", "promptflow", filepath.Join(flows, "chat-basic"), "-o", "chat", "--connection", "open_ai_connection="+conn)
	require.Equal(t, 0, r.code, r.stderr)
	srv := startServe(t, work, []string{"OPEN_AI_CONNECTION_API_KEY=" + mockllm.DefaultKey}, 1, "chat/flow.cue")

	post := func(accept, body string) (*http.Response, string) {
		req, err := http.NewRequest("POST", srv.url+"/score", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}
	resp, body := post("", `{"question": "Capital of France?", "chat_history": []}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.JSONEq(t, `{"answer": "Paris is the capital."}`, body)

	resp, body = post("text/event-stream", `{"question": "Capital of France?"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	// Each event is one piece of the answer, as prompt flow frames them;
	// where a piece ends is the stream's (and the redactor's) business.
	var text strings.Builder
	events := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
	for _, ev := range events {
		var chunk map[string]string
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &chunk), ev)
		text.WriteString(chunk["answer"])
	}
	assert.Greater(t, len(events), 1, body)
	assert.Equal(t, "Paris is the capital.", text.String())

	resp, body = post("", `{"question": 42}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	var e struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				Code string `json:"code"`
			} `json:"innerError"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	assert.Equal(t, "UserError", e.Error.Code)
	assert.Equal(t, "invalid_input", e.Error.InnerError.Code)
	assert.Contains(t, e.Error.Message, "question")

	get := func(path string) map[string]any {
		resp, err := http.Get(srv.url + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var v map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
		return v
	}
	assert.Equal(t, "Healthy", get("/health")["status"])
	info, _ := get("/swagger.json")["info"].(map[string]any)
	assert.Equal(t, "chat", info["x-flow-type"])
	assert.Equal(t, "question", info["x-chat-input"])
	assert.Equal(t, "chat_history", info["x-chat-history"])
	assert.Equal(t, "answer", info["x-chat-output"])
}
