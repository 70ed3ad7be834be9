package promptflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/mockllm"
	"github.com/weirflow/weir/internal/pyindex"
)

// TestCorpusImports imports every flow of the corpus: each converts with
// the nodes it has, or is refused with every reason, and a converted one
// loads as weir validate loads it (every reference, tool and type checked).
func TestCorpusImports(t *testing.T) {
	dir := corpus(t)
	toolPython(t)
	converted := map[string]int{ // flow -> its nodes
		"basic":                          2,
		"basic-with-builtin-llm":         2,
		"chat-basic":                     1,
		"chat-math-variant":              2,
		"chat-with-wikipedia":            5,
		"conditional-flow-for-if-else":   4,
		"conditional_flow_with_activate": 9,
		"eval-classification-accuracy":   2,
		"flow-with-additional-includes":  5,
		"maths-to-code":                  4,
		"web-classification":             5,
	}
	refused := map[string][]string{
		"custom_llm_tool_showcase": {
			`flow.dag.yaml:14:3: node "my_custom_llm_tool": a custom_llm tool (my_tool_package.tools.tool_with_custom_llm_type.my_tool) comes from a package weir cannot run`,
		},
		"describe-image": {
			`flow.dag.yaml:6:3: input "input_image": image inputs are not supported`,
			`flow.dag.yaml:24:3: node "question_on_image": a custom_llm tool (promptflow.tools.aoai_gpt4v.AzureOpenAI.chat) comes from a package weir cannot run`,
			`flow.dag.yaml:17:3: node "flip_image": flip_image.py:3 imports promptflow.contracts.multimedia, a part of prompt flow weir does not provide (it provides promptflow's tool, log_metric, trace and connection classes)`,
		},
		"question-simulation": {
			`flow.dag.yaml:52:3: node "call_llm_chat": call_llm_chat.py:6 imports promptflow.tools.common, a part of prompt flow weir does not provide (it provides promptflow's tool, log_metric, trace and connection classes)`,
		},
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var seen []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		name := e.Name()
		seen = append(seen, name)
		t.Run(name, func(t *testing.T) {
			res, err := Import(context.Background(), filepath.Join(dir, name), Options{})
			if reasons, ok := refused[name]; ok {
				var r *RefusedError
				require.True(t, errors.As(err, &r), "%v", err)
				var got []string
				for _, s := range r.Reasons {
					got = append(got, strings.TrimPrefix(s, filepath.Join(dir, name)+"/"))
				}
				require.Equal(t, reasons, got)
				return
			}
			require.NoError(t, err)
			out := filepath.Join(t.TempDir(), name)
			require.NoError(t, res.Write(out))
			f := load(t, filepath.Join(out, "flow.cue"), engine.PlaceholderSecrets)
			require.Len(t, f.Nodes(), converted[name])
		})
	}
	var want []string
	for n := range converted {
		want = append(want, n)
	}
	for n := range refused {
		want = append(want, n)
	}
	sort.Strings(want)
	require.Equal(t, want, seen, "the corpus has other flows than this test knows")
}

// TestCorpusDeterministic: the same folder gives the same bytes.
func TestCorpusDeterministic(t *testing.T) {
	dir := filepath.Join(corpus(t), "web-classification")
	toolPython(t)
	a, err := Import(context.Background(), dir, Options{})
	require.NoError(t, err)
	b, err := Import(context.Background(), dir, Options{})
	require.NoError(t, err)
	require.Equal(t, a.Files, b.Files)
	require.Contains(t, a.Files, "flow.cue")
	require.Contains(t, a.Files, "classify_with_llm.jinja2")
	require.Contains(t, a.Files, "README.promptflow.md")
	require.Equal(t, "bs4\n", string(a.Files["requirements.txt"]))
}

// TestCorpusChatRequest runs chat-basic: the request is the one prompt
// flow's OpenAI chat tool sends (SPEC §3.2): the template rendered with
// the history, split into messages at its role lines, the parameters
// cast from the YAML's strings, temperature, top_p and n always there.
func TestCorpusChatRequest(t *testing.T) {
	m := mockllm.Start(mockllm.Options{Text: "Four."})
	defer m.Close()
	f := imported(t, "chat-basic", Options{Connections: map[string]Connection{"open_ai_connection": openAI(m)}})
	r, err := f.Run(context.Background(), map[string]any{
		"question":     "What is 2+2?",
		"chat_history": []any{map[string]any{"inputs": map[string]any{"question": "Hi"}, "outputs": map[string]any{"answer": "Hello!"}}},
	})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"answer": "Four."}, outputs(t, r))
	reqs := m.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "/v1/chat/completions", reqs[0].Path)
	require.Equal(t, "Bearer "+mockllm.DefaultKey, reqs[0].Header.Get("Authorization"))
	require.Equal(t, map[string]any{
		"model": "gpt-3.5-turbo",
		"messages": []any{
			map[string]any{"role": "system", "content": "You are a helpful assistant."},
			map[string]any{"role": "user", "content": "Hi"},
			map[string]any{"role": "assistant", "content": "Hello!"},
			map[string]any{"role": "user", "content": "What is 2+2?"},
		},
		"max_tokens":  float64(256),
		"temperature": 0.7,
		"top_p":       float64(1),
		"stream":      false,
	}, reqs[0].Body)
}

// TestCorpusPromptOverride runs basic-with-builtin-llm, whose llm node
// takes the prompt node's output as its template (SPEC §3.2, 3).
func TestCorpusPromptOverride(t *testing.T) {
	m := mockllm.Start(mockllm.Options{Text: "print('Hello')"})
	defer m.Close()
	f := imported(t, "basic-with-builtin-llm", Options{Connections: map[string]Connection{"open_ai_connection": openAI(m)}})
	r, err := f.Run(context.Background(), map[string]any{"text": "Go"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"output": "print('Hello')"}, outputs(t, r))
	reqs := m.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, []any{
		map[string]any{"role": "system", "content": "You are a assistant which can write code. Response should only contain code."},
		map[string]any{"role": "user", "content": "Write a simple Go program that displays the greeting message."},
	}, reqs[0].Body["messages"])
	require.Equal(t, float64(120), reqs[0].Body["max_tokens"])
}

// TestCorpusVariants runs chat-math-variant with its default variant and
// with the one --variant picks: each sends its own template.
func TestCorpusVariants(t *testing.T) {
	for _, tc := range []struct {
		variants map[string]string
		system   string
	}{
		{nil, "Please return the final numerical answer only, without any accompanying reasoning"},
		{map[string]string{"chat": "variant_1"}, "Please think step by step."},
	} {
		m := mockllm.Start(mockllm.Options{Text: `{"answer": "2"}`})
		f := imported(t, "chat-math-variant", Options{Variants: tc.variants, Connections: map[string]Connection{"open_ai_connection": openAI(m)}})
		r, err := f.Run(context.Background(), map[string]any{"question": "1+1=?"})
		require.NoError(t, err)
		require.Equal(t, map[string]any{"answer": "2"}, outputs(t, r))
		reqs := m.Requests()
		require.Len(t, reqs, 1)
		msgs := reqs[0].Body["messages"].([]any)
		require.Equal(t, "system", msgs[0].(map[string]any)["role"])
		require.Contains(t, msgs[0].(map[string]any)["content"], tc.system)
		require.Equal(t, float64(0), reqs[0].Body["temperature"])
		m.Close()
	}
}

// TestCorpusActivate runs conditional_flow_with_activate on the lines
// prompt flow's own test gives it and compares each line's outputs and
// bypassed nodes with the results prompt flow's test expects
// (expected_result.json): an activated node whose condition's node was
// bypassed is bypassed, a node whose inputs were all bypassed is bypassed,
// and a bypassed input of a parameter with a default takes the default.
func TestCorpusActivate(t *testing.T) {
	m := mockllm.Start(mockllm.Options{Text: "Use the TSG."})
	defer m.Close()
	f := imported(t, "conditional_flow_with_activate", Options{Connections: map[string]Connection{"azure_open_ai_connection": azure(m)}})
	var lines []map[string]any
	readJSON(t, filepath.Join(corpus(t), "conditional_flow_with_activate", "inputs.json"), &lines)
	var expected []struct {
		Outputs  map[string]any `json:"expected_outputs"`
		Bypassed []string       `json:"expected_bypassed_nodes"`
		Count    int            `json:"expected_node_count"`
	}
	readJSON(t, filepath.Join(corpus(t), "conditional_flow_with_activate", "expected_result.json"), &expected)
	require.Len(t, lines, len(expected))
	for i, in := range lines {
		r, err := f.Run(context.Background(), in)
		require.NoError(t, err, "line %d", i)
		require.Equal(t, expected[i].Outputs, outputs(t, r), "line %d", i)
		var bypassed []string
		for node, st := range statuses(r) {
			if st == engine.Bypassed {
				bypassed = append(bypassed, node)
			}
		}
		require.ElementsMatch(t, expected[i].Bypassed, bypassed, "line %d", i)
		require.Len(t, r.Nodes, expected[i].Count)
	}
	// The llm node ran on the two lines that had a retriever, through the
	// Azure OpenAI path with the deployment the node names.
	reqs := m.Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, "/openai/deployments/gpt-35-turbo/chat/completions", reqs[0].Path)
	require.Equal(t, "2024-02-01", reqs[0].Query.Get("api-version"))
	require.Equal(t, mockllm.DefaultKey, reqs[0].Header.Get("api-key"))
	// Line 0's: icm_retriever was bypassed, so the template's first_method
	// is None, as prompt flow passes it to a template's variable.
	content := "Incident 418856448 : Stale App Deployment for App promptflow"
	require.Equal(t, map[string]any{
		"model": "gpt-35-turbo",
		"messages": []any{
			map[string]any{"role": "system", "content": "You are a helpful assistant."},
			map[string]any{"role": "user", "content": "When an incident occurs, there have 3 ways to deal with it, please choose one.\n1. None\n2. TSG: " + content + "\n3. KQL: " + content},
		},
		"temperature":       0.7,
		"top_p":             float64(1),
		"n":                 float64(1),
		"stream":            false,
		"max_tokens":        float64(256),
		"presence_penalty":  float64(0),
		"frequency_penalty": float64(0),
	}, reqs[0].Body)
}

// TestCorpusIfElse runs conditional-flow-for-if-else, whose check answers
// at random: whichever way it went, the other branch was bypassed and the
// answer is the branch's that ran.
func TestCorpusIfElse(t *testing.T) {
	f := imported(t, "conditional-flow-for-if-else", Options{})
	seen := map[bool]bool{}
	for i := 0; i < 20 && len(seen) < 2; i++ {
		r, err := f.Run(context.Background(), map[string]any{"question": "What is weir?"})
		require.NoError(t, err)
		st := statuses(r)
		safe := st["llm_result"] == engine.Succeeded
		seen[safe] = true
		if safe {
			require.Equal(t, engine.Bypassed, st["default_result"])
			require.Equal(t, map[string]any{"answer": "Prompt flow is a suite of development tools designed to streamline the end-to-end development cycle of LLM-based AI applications."}, outputs(t, r))
		} else {
			require.Equal(t, engine.Bypassed, st["llm_result"])
			require.Equal(t, map[string]any{"answer": "I'm not familiar with your query: What is weir?."}, outputs(t, r))
		}
		require.Equal(t, engine.Succeeded, st["generate_result"])
	}
}

// TestCorpusEvaluation runs the evaluation flow as a batch over its data:
// the aggregation node's log_metric value is the batch's accuracy.
func TestCorpusEvaluation(t *testing.T) {
	f := imported(t, "eval-classification-accuracy", Options{})
	data := "{\"groundtruth\": \"App\", \"prediction\": \"App\"}\n{\"groundtruth\": \"Channel\", \"prediction\": \"Movie\"}\n{\"groundtruth\": \"Academic\", \"prediction\": \"academic\"}\n"
	b, err := f.Batch(context.Background(), engine.JSONL(strings.NewReader(data)), engine.BatchOptions{})
	require.NoError(t, err)
	sum, err := b.Wait()
	require.NoError(t, err)
	require.Equal(t, 3, sum.Succeeded)
	var agg map[string]map[string]any
	require.NoError(t, json.Unmarshal(sum.Aggregates, &agg))
	require.Equal(t, map[string]any{"accuracy": 0.67}, agg["calculate_accuracy"]["metrics"])
	require.Equal(t, []any{"Correct", "Incorrect", "Correct"}, agg["calculate_accuracy"]["value"])
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

// pages serves web pages on loopback for the flows that fetch a URL.
func pages(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<html><head><title>%s</title></head><body><h1>Weir Notes</h1><p>An app to take notes, at %s.</p></body></html>", r.URL.Path, r.URL.Path)
	}))
	t.Cleanup(s.Close)
	return s
}

// index serves the requirements of the corpus's Python tools that no
// index this machine reaches has: bs4 (on PyPI a package that only
// requires beautifulsoup4, which Debian's python3-bs4 provides), and
// langchain, which maths-to-code lists but does not import.
func index(t *testing.T) {
	idx := pyindex.Start(
		pyindex.Package{Name: "bs4", Version: "0.0.2", Requires: []string{"beautifulsoup4"}},
		pyindex.Package{Name: "langchain", Version: "0.0.1"},
	)
	t.Cleanup(idx.Close)
	t.Setenv("PIP_INDEX_URL", idx.URL())
}

// classifier answers the web classification flows' two calls.
func classifier(req mockllm.Request) string {
	msgs, _ := req.Body["messages"].([]any)
	system, _ := msgs[0].(map[string]any)["content"].(string)
	if strings.Contains(system, "summarize") {
		return "A notes app."
	}
	return `{"category": "App", "evidence": "Both"}`
}

// TestCorpusIncludes runs flow-with-additional-includes, whose tools and
// templates come from another flow's folder, on a page served here: the
// Python tool fetches it with requests and reads it with bs4, installed
// from its requirements into a virtual environment.
func TestCorpusIncludes(t *testing.T) {
	index(t)
	web := pages(t)
	m := mockllm.Start(mockllm.Options{Answer: classifier})
	defer m.Close()
	f := imported(t, "flow-with-additional-includes", Options{Connections: map[string]Connection{"open_ai_connection": openAI(m)}})
	r, err := f.Run(context.Background(), map[string]any{"url": web.URL + "/notes"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"category": "App", "evidence": "Both"}, outputs(t, r))
	reqs := m.Requests()
	require.Len(t, reqs, 2)
	user := reqs[0].Body["messages"].([]any)[1].(map[string]any)["content"]
	require.Equal(t, "Text: /notesWeir NotesAn app to take notes, at /notes.\nSummary:", user)
	require.Equal(t, float64(128), reqs[0].Body["max_tokens"])
	require.Equal(t, 0.2, reqs[0].Body["temperature"])
}

// TestCorpusMathsToCode runs maths-to-code: the model writes code, a tool
// refines it and another executes it.
func TestCorpusMathsToCode(t *testing.T) {
	index(t)
	m := mockllm.Start(mockllm.Options{Text: `{"code": "print(10*5)"}`})
	defer m.Close()
	f := imported(t, "maths-to-code", Options{Connections: map[string]Connection{"open_ai_connection": openAI(m)}})
	r, err := f.Run(context.Background(), map[string]any{})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"code": "print(10*5)", "answer": "50"}, outputs(t, r))
	user := m.Requests()[0].Body["messages"].([]any)[1].(map[string]any)["content"].(string)
	require.Contains(t, user, "QUESTION: What is 37593 * 67?")
	require.True(t, strings.HasSuffix(user, "QUESTION: If a rectangle has a length of 10 and width of 5, what is the area?\nCODE:"), user)
}
