package promptflow

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
	"github.com/weirflow/weir/plugins/python"
)

// stubTools reads no Python: each .py file has one tool named after the
// file, whose parameters the test gives (name: JSON Schema type); a
// parameter named connection takes a CustomConnection.
func stubTools(params map[string]map[string]string) func(context.Context, string) ([]python.ToolInfo, error) {
	return func(_ context.Context, file string) ([]python.ToolInfo, error) {
		name := strings.TrimSuffix(filepath.Base(file), ".py")
		props := map[string]any{}
		conns := map[string]string{}
		for p, typ := range params[name] {
			props[p] = map[string]any{"type": typ}
			if p == "connection" {
				conns[p] = "CustomConnection"
			}
		}
		in, _ := json.Marshal(map[string]any{"type": "object", "properties": props, "additionalProperties": true})
		return []python.ToolInfo{{Contract: plugins.Contract{Name: name, Inputs: in, Outputs: json.RawMessage(`{}`)}, File: filepath.Base(file), Connections: conns}}, nil
	}
}

// importFiles writes a flow folder and imports it.
func importFiles(t *testing.T, files map[string]string, opts Options) (*Result, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "my-flow")
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	if opts.Tools == nil {
		opts.Tools = stubTools(nil)
	}
	return Import(context.Background(), dir, opts)
}

// reasons returns the reasons of a refusal, without the folder.
func reasons(t *testing.T, err error) []string {
	t.Helper()
	var r *RefusedError
	require.True(t, errors.As(err, &r), "not refused: %v", err)
	var out []string
	for _, s := range r.Reasons {
		out = append(out, s[strings.Index(s, "my-flow")+len("my-flow/"):])
	}
	return out
}

// TestImportFlowCUE converts a flow that uses most of the format and
// checks every line of flow.cue.
func TestImportFlowCUE(t *testing.T) {
	res, err := importFiles(t, map[string]string{
		"flow.dag.yaml": `
inputs:
  question: {type: string, is_chat_input: true, default: hi}
  chat_history: {type: list, default: []}
  count: {type: int, default: "3"}
  mode: {type: string, enum: [a, b]}
  meta: {type: object, default: {}}
outputs:
  answer: {type: string, reference: "${answer.output}", is_chat_output: true}
  picked: {type: string, reference: "${pick.output.items[0]['first name']}"}
  total: {type: string, reference: "${score.output}"}
nodes:
- name: pick
  type: python
  source: {type: code, path: tools/pick.py}
  inputs: {n: "${flow.count}", note: "cost: ${inputs.count} items", empty: "", nothing: null, limit: "5", connection: my_conn}
- name: prompt
  type: prompt
  source: {type: code, path: prompt.jinja2}
  inputs: {question: "${inputs.question}", picked: "${pick}"}
- name: answer
  type: llm
  source: {type: code, path: chat.jinja2}
  connection: open_ai_connection
  api: chat
  inputs: {model: gpt-4o, deployment_name: gpt-4o-dep, max_tokens: inf, temperature: "0.5", stop: "", history: "${inputs.chat_history}", context: "${prompt.output}"}
  activate: {when: "${pick.output.ok}", is: true}
- name: score
  type: python
  source: {type: code, path: tools/score.py}
  inputs: {answers: "${answer.output}"}
  aggregation: true
- name: always
  type: python
  source: {type: code, path: tools/pick.py}
  inputs: {}
  activate: {when: dummy, is: dummy}
environment:
  python_requirements_txt: requirements.txt
environment_variables:
  MODE: fast
  KEY: ${my_conn.api_key}
`,
		"tools/pick.py":    "import os\nKEY = os.environ['KEY']\nHOME = os.getenv(\"HOME_DIR\")\n",
		"tools/score.py":   "from promptflow.core import log_metric\n",
		"prompt.jinja2":    "# user:\n{{question}} {{picked}}\n",
		"chat.jinja2":      "# system:\nBe brief.\n# user:\n{{context}}\n",
		"requirements.txt": "promptflow[azure]>=1.7.0\npromptflow-tools\nrequests==2.31.0\n",
	}, Options{
		Tools:       stubTools(map[string]map[string]string{"pick": {"n": "integer", "limit": "integer", "note": "string", "connection": "object"}}),
		Connections: map[string]Connection{"my_conn": {Type: "custom", Fields: map[string]string{"region": "west"}, Secrets: []string{"api_key"}}},
	})
	require.NoError(t, err)
	require.Equal(t, `// my-flow: imported from prompt flow's flow.dag.yaml by weir import promptflow.
// README.md says what was converted and how to run it.

name: "my-flow"

inputs: {
	question: string | *"hi"
	chat_history: [...] | *[]
	count: int | *3
	mode:  "a" | "b"
	meta: {...} | *close({})
}

// A chat flow: the user's message, the answer and the history.
chat: {
	input:   "question"
	output:  "answer"
	history: "chat_history"
}

secrets: {
	// connection my_conn: api_key
	my_conn_api_key: {
		env: "MY_CONN_API_KEY"
	}
	// connection open_ai_connection: api_key
	open_ai_connection_api_key: {
		env: "OPEN_AI_CONNECTION_API_KEY"
	}
}

plugins: {
	// connection open_ai_connection (open_ai)
	open_ai_connection: {
		builtin: true
		config: {
			api_base: "https://api.openai.com/v1"
			api_key:  "${secrets.open_ai_connection_api_key}"
		}
		grants: hosts: ["api.openai.com"]
	}
	// tools/pick.py reads HOME_DIR from the environment
	pick: {
		python: {
			path:         "tools/pick.py"
			returns:      "value"
			requirements: "requirements.txt"
		}
		env: {
			MODE: "fast"
			KEY:  "${secrets.my_conn_api_key}"
		}
		grants: env: ["HOME_DIR"]
	}
	score: {
		python: {
			path:         "tools/score.py"
			returns:      "value"
			requirements: "requirements.txt"
		}
		env: {
			MODE: "fast"
			KEY:  "${secrets.my_conn_api_key}"
		}
	}
}

nodes: {
	pick: {
		tool: "pick.pick"
		inputs: {
			n:     "${inputs.count}"
			note:  "cost: $${inputs.count} items"
			limit: 5
			connection: {
				configs: region: "west"
				secrets: api_key: "${secrets.my_conn_api_key}"
			}
		}
	}
	prompt: {
		tool: "builtin.prompt"
		inputs: {
			template: _ @embed(file="prompt.jinja2", type=text)
			trusted: ["picked"]
			question: "${inputs.question}"
			picked:   "${pick.output.value}"
		}
	}
	answer: {
		tool: "open_ai_connection.llm"
		inputs: {
			api:      "chat"
			template: _ @embed(file="chat.jinja2", type=text)
			model:    "gpt-4o"
			trusted: ["deployment_name", "context"]
			temperature:     0.5
			top_p:           1
			deployment_name: "gpt-4o-dep"
			history:         "${inputs.chat_history}"
			context:         "${prompt.output.text}"
		}
		when: {
			ref: "${pick.output.value.ok}"
			is:  true
		}
	}
	score: {
		tool: "score.score"
		inputs: answers: "${answer.output.text}"
		aggregate: true
	}
	always: {
		tool: "pick.pick"
		when: {
			value: "dummy"
			is:    "dummy"
		}
	}
}

outputs: {
	answer: "${answer.output.text}"
	picked: "${pick.output.value.items[0][\"first name\"]}"
}
`, string(res.Files["flow.cue"]))
	require.Equal(t, "requests==2.31.0\n", string(res.Files["requirements.txt"]))
	require.Equal(t, []string{`flow.dag.yaml:11:3: output "total" is left out: it reads aggregation node "score", and prompt flow leaves such outputs out too`}, trimWarnings(res.Warnings))
	readme := string(res.Files["README.md"])
	require.Contains(t, readme, "| answer | llm | `open_ai_connection.llm` |  |")
	require.Contains(t, readme, "| my_conn | custom | `MY_CONN_API_KEY` |")
	require.Contains(t, readme, "- requirements.txt: promptflow[azure]>=1.7.0, promptflow-tools dropped")
}

func trimWarnings(ws []string) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w[strings.Index(w, "my-flow")+len("my-flow/"):])
	}
	return out
}

// TestImportRefusals: a flow weir cannot run is refused with every
// reason, each at its place in flow.dag.yaml.
func TestImportRefusals(t *testing.T) {
	_, err := importFiles(t, map[string]string{"flow.dag.yaml": `
language: csharp
inputs:
  img: {type: image}
  x: {type: string}
outputs:
  o: {type: string, reference: "${nowhere.output}"}
nodes:
- name: a
  type: python
  source: {type: code, path: missing.py}
  inputs: {v: "${b.output}"}
- name: b
  type: python
  source: {type: package, tool: my_pkg.tools.search}
  inputs: {q: "${a.output}"}
- name: c
  type: llm
  source: {type: code, path: c.jinja2}
  inputs: {v: "${inputs.y}"}
- name: d
  type: python
  source: {type: code, path: d.py}
  inputs: {v: "${c.input}"}
- name: a
  type: prompt
`, "c.jinja2": "hi", "d.py": "from promptflow.tools.common import parse_chat\n"}, Options{})
	require.Equal(t, []string{
		`flow.dag.yaml:2:1: a C# flow: weir runs Python tools, not .NET ones`,
		`flow.dag.yaml:4:3: input "img": image inputs are not supported`,
		`flow.dag.yaml:25:3: node "a" is defined twice`,
		`flow.dag.yaml:20:12: node "c": input "v": ${inputs.y} names no input of the flow`,
		`flow.dag.yaml:24:12: node "d": input "v": reference ${c.input}: a node's "input" cannot be referenced, only its output`,
		`flow.dag.yaml:9:3: nodes a -> b -> a form a cycle`,
		`flow.dag.yaml:9:3: node "a": source file missing.py does not exist in the flow's folder or its additional_includes`,
		`flow.dag.yaml:13:3: node "b": package tool my_pkg.tools.search comes from a pip package of prompt flow tools, which weir cannot run`,
		`flow.dag.yaml:17:3: node "c": an llm node needs a connection`,
		`flow.dag.yaml:21:3: node "d": d.py:1 imports promptflow.tools.common, a part of prompt flow weir does not provide (it provides promptflow's tool, log_metric, trace and connection classes)`,
		`flow.dag.yaml:7:3: output "o": ${nowhere.output} names no node of the flow`,
	}, reasons(t, err))
}

// TestImportNotDAG: flex flows, prompty files and other folders are not
// DAG flows.
func TestImportNotDAG(t *testing.T) {
	_, err := importFiles(t, map[string]string{"flow.flex.yaml": "entry: app:run\n"}, Options{})
	require.Equal(t, []string{"flow.flex.yaml: a flex flow (a Python entry function) is not a DAG flow: weir imports flow.dag.yaml flows only"}, reasons(t, err))
	_, err = importFiles(t, map[string]string{"chat.prompty": "---\nname: x\n---\n"}, Options{})
	require.Equal(t, []string{"chat.prompty: a prompty file is not a DAG flow: weir imports flow.dag.yaml flows only"}, reasons(t, err))
	_, err = importFiles(t, map[string]string{"flow.dag.yaml": "entry: app:run\ninputs: {}\noutputs: {}\nnodes: []\n"}, Options{})
	require.Equal(t, []string{"flow.dag.yaml:1:1: a flex flow (entry: app:run) is not a DAG flow: weir imports flow.dag.yaml flows only"}, reasons(t, err))
	_, err = importFiles(t, map[string]string{"notes.txt": "hi"}, Options{})
	require.ErrorContains(t, err, "my-flow has no flow.dag.yaml: is it a prompt flow folder?")
	_, err = importFiles(t, map[string]string{"flow.dag.yaml": "nodes: [a\n"}, Options{})
	require.ErrorContains(t, err, "my-flow/flow.dag.yaml:1:1: did not find expected ',' or ']'")
}

// TestImportVariants: --variant picks a variant; one that does not exist
// is refused, naming those that do.
func TestImportVariants(t *testing.T) {
	files := map[string]string{"flow.dag.yaml": `
inputs: {q: {type: string}}
outputs: {a: {type: string, reference: "${n.output}"}}
nodes:
- {name: n, use_variants: true}
node_variants:
  n:
    default_variant_id: v0
    variants:
      v0: {node: {type: prompt, source: {type: code, path: v0.jinja2}, inputs: {q: "${inputs.q}"}}}
      v1: {node: {type: prompt, source: {type: code, path: v1.jinja2}, inputs: {q: "${inputs.q}"}}}
`, "v0.jinja2": "zero {{q}}", "v1.jinja2": "one {{q}}"}
	res, err := importFiles(t, files, Options{})
	require.NoError(t, err)
	require.Contains(t, string(res.Files["flow.cue"]), `template: _ @embed(file="v0.jinja2", type=text)`)
	res, err = importFiles(t, files, Options{Variants: map[string]string{"n": "v1"}})
	require.NoError(t, err)
	require.Contains(t, string(res.Files["flow.cue"]), `template: _ @embed(file="v1.jinja2", type=text)`)
	_, err = importFiles(t, files, Options{Variants: map[string]string{"n": "v2", "m": "v0"}})
	require.Equal(t, []string{
		`--variant m.v0: the flow has no variants of a node "m"`,
		`flow.dag.yaml:7:3: node "n" has no variant "v2" (it has v0, v1)`,
	}, func() []string {
		var r *RefusedError
		require.True(t, errors.As(err, &r))
		out := []string{r.Reasons[0]}
		for _, s := range r.Reasons[1:] {
			out = append(out, s[strings.Index(s, "my-flow")+len("my-flow/"):])
		}
		return out
	}())
}

// TestImportWrite: the folder is written whole, and never over another.
func TestImportWrite(t *testing.T) {
	res, err := importFiles(t, map[string]string{"flow.dag.yaml": "inputs: {}\noutputs: {}\nnodes: []\n", "README.md": "mine\n", "data.jsonl": "{}\n", ".promptflow/flow.tools.json": "{}", "__pycache__/x.pyc": "x"}, Options{})
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "out")
	require.NoError(t, res.Write(out))
	var names []string
	require.NoError(t, filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			names = append(names, rel)
		}
		return err
	}))
	require.ElementsMatch(t, []string{"flow.cue", "README.md", "README.promptflow.md", "data.jsonl"}, names)
	require.EqualError(t, res.Write(out), out+" exists and is not empty: choose another folder with -o")
}

// TestImportSymlinks: a link to a file is read as the file, as prompt
// flow's snapshot copies it; a link to a folder stays behind.
func TestImportSymlinks(t *testing.T) {
	shared := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(shared, "t.jinja2"), []byte("hello {{q}}"), 0o644))
	dir := filepath.Join(t.TempDir(), "my-flow")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.dag.yaml"), []byte("inputs: {q: {type: string}}\noutputs: {a: {type: string, reference: '${n.output}'}}\nnodes:\n- {name: n, type: prompt, source: {type: code, path: t.jinja2}, inputs: {q: '${inputs.q}'}}\n"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(shared, "t.jinja2"), filepath.Join(dir, "t.jinja2")))
	require.NoError(t, os.Symlink(shared, filepath.Join(dir, "more")))
	res, err := Import(context.Background(), dir, Options{Tools: stubTools(nil)})
	require.NoError(t, err)
	require.Equal(t, "hello {{q}}", string(res.Files["t.jinja2"]))
	require.NotContains(t, res.Files, "more/t.jinja2")
}

// TestImportObjectDefault: an object input whose default is {} keeps it
// (CUE would fold {...} | *{} into {}, a required input).
func TestImportObjectDefault(t *testing.T) {
	res, err := importFiles(t, map[string]string{"flow.dag.yaml": "inputs: {meta: {type: object, default: {}}}\noutputs: {m: {type: object, reference: '${inputs.meta}'}}\nnodes: []\n"}, Options{})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "out")
	require.NoError(t, res.Write(dir))
	e, err := engine.New(engine.Options{Providers: []plugins.Provider{builtin.NewProvider()}})
	require.NoError(t, err)
	defer e.Close()
	f, err := e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	for in, want := range map[string]string{`{}`: `{"m":{}}`, `{"meta":{"a":[1]}}`: `{"m":{"a":[1]}}`} {
		r, err := f.Run(context.Background(), json.RawMessage(in))
		require.NoError(t, err)
		require.JSONEq(t, want, string(r.Outputs))
	}
}
