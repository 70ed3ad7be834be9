package engine_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestStaticChecks covers every check made before a run, with the exact text
// and position a user reads.
func TestStaticChecks(t *testing.T) {
	cases := []struct {
		name string
		file string
		src  string
		want []string
	}{
		{
			name: "cue syntax",
			src:  "name: \"x\"\nnodes: {a: {tool: \"t.echo\"}\n",
			want: []string{`flow.cue:2:29: expected '}', found 'EOF'`},
		},
		{
			name: "yaml syntax",
			file: "flow.yaml",
			src:  "name: x\nnodes:\n  a: [\n",
			want: []string{`flow.yaml:3:1: did not find expected node content`},
		},
		{
			name: "json syntax",
			file: "flow.json",
			src:  `{"name": "x", "nodes": {"a": {"tool": "t.echo",}}}`,
			want: []string{`flow.json:1:48: invalid character '}' looking for beginning of object key string`},
		},
		{
			name: "unknown format",
			file: "flow.toml",
			src:  `name = "x"`,
			want: []string{`flow.toml: unknown flow format ".toml": name the file .cue, .yaml or .json`},
		},
		{
			name: "unknown fields",
			src: `name: "x"
nodes: a: {tool: "t.echo", inptus: {}}
outputs: v: "${a.output.value}"
bogus: 1
`,
			want: []string{
				`flow.cue:2:8: node "a": missing input "value" required by tool t.echo`,
				`flow.cue:2:28: nodes.a: unknown field "inptus"; allowed: aggregate, cache, description, flow, inputs, retry, timeout, tool, when`,
				`flow.cue:4:1: unknown field "bogus"; allowed: chat, concurrency, defaults, description, inputs, name, nodes, outputs, plugins, secrets, timeout, version`,
			},
		},
		{
			name: "schema types",
			src: `name: "x"
concurrency: 0
nodes: a: {tool: 3, timeout: "soon"}
outputs: v: "${a.output.value}"
`,
			want: []string{
				`flow.cue:2:14: concurrency: invalid value 0 (out of bound >=1)`,
				`flow.cue:3:8: node "a": set tool: "<plugin>.<tool>" or flow: "path/to/flow.cue"`,
				`flow.cue:3:18: nodes.a.tool: conflicting values 3 and string (mismatched types int and string)`,
				`flow.cue:3:30: nodes.a.timeout: invalid value "soon" (out of bound =~"^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")`,
			},
		},
		{
			name: "missing name and nodes",
			src:  "description: \"x\"\n",
			want: []string{
				`flow.cue:1:1: missing field "name": add name: "my-flow"`,
				`flow.cue:1:1: missing field "nodes": a flow needs at least one node`,
			},
		},
		{
			name: "invalid and reserved names",
			src: `name: "x"
inputs: "a b": string
nodes: {
	inputs: {tool: "t.echo"}
	"9lives": {tool: "t.echo"}
}
`,
			want: []string{
				`flow.cue:2:9: invalid input name "a b": use letters, digits, _ and -, starting with a letter or _`,
				`flow.cue:4:2: node name "inputs" is reserved (${inputs.x} refers to the flow's inputs): rename the node`,
				`flow.cue:5:2: invalid node name "9lives": use letters, digits, _ and -, starting with a letter or _`,
			},
		},
		{
			name: "duplicate yaml keys",
			file: "flow.yaml",
			src: `name: x
nodes:
  a: {tool: t.echo, inputs: {value: 1}}
  a: {tool: t.echo, inputs: {value: 2}}
outputs: {v: "${a.output.value}"}
`,
			want: []string{
				`flow.yaml:4:3: duplicate key "a" (first at flow.yaml:3:3): remove one of them`,
				`flow.yaml:4:37: nodes.a.inputs.value: conflicting values 2 and 1`,
			},
		},
		{
			name: "unknown tool and plugin",
			src: `name: "x"
nodes: {
	a: {tool: "t.ecko"}
	b: {tool: "tt.echo"}
	c: {tool: "echo"}
}
outputs: v: "${a.output}"
`,
			want: []string{
				`flow.cue:3:12: node "a": unknown tool "t.ecko" (plugin t has: t.echo, t.fail, t.flaky, t.hang, t.meet, t.panic, t.wait); did you mean "t.echo"?`,
				`flow.cue:4:12: node "b": unknown plugin "tt" in tool "tt.echo": declare it under plugins (declared: builtin, t); did you mean "t"?`,
				`flow.cue:5:12: node "c": tool "echo" must be "<plugin>.<tool>", as in "builtin.template"`,
			},
		},
		{
			name: "references",
			src: `name: "x"
inputs: text: string
nodes: {
	a: {tool: "t.echo", inputs: value: "${inputs.txt}"}
	b: {tool: "t.echo", inputs: value: "say ${aa.output.value}"}
	c: {tool: "t.echo", inputs: value: "${a.value}"}
	d: {tool: "t.echo", inputs: value: "${a.output.valeu}"}
	e: {tool: "t.echo", inputs: value: "${a.output.value"}
	f: {tool: "t.echo", inputs: value: "${data.col}"}
}
outputs: v: "${a.output.value}"
`,
			want: []string{
				`flow.cue:4:38: node "a": input "value": ${inputs.txt}: the flow has no input "txt" (inputs: text); did you mean "text"?`,
				`flow.cue:5:42: node "b": input "value": ${aa.output.value}: unknown node "aa"; did you mean "a"?`,
				`flow.cue:6:38: node "c": input "value": ${a.value}: a node reference starts with "output": write ${a.output} or ${a.output.field}`,
				`flow.cue:7:38: node "d": input "value": ${a.output.valeu}: no field "valeu" in the outputs of tool t.echo (fields: value); did you mean "value"?`,
				`flow.cue:8:38: node "e": input "value": unclosed reference "${a.output.value": add "}"`,
				`flow.cue:9:38: node "f": input "value": ${data.col}: unknown node "data"; ${data.col} is for --map of weir batch, not for flow files`,
			},
		},
		{
			name: "cycle",
			src: `name: "x"
nodes: {
	a: {tool: "t.echo", inputs: value: "${c.output.value}"}
	b: {tool: "t.echo", inputs: value: "${a.output.value}"}
	c: {tool: "t.echo", inputs: value: "${b.output.value}"}
	d: {tool: "t.echo", inputs: value: "${d.output.value}"}
}
outputs: v: "${c.output.value}"
`,
			want: []string{
				`flow.cue:3:2: cycle: a -> b -> c -> a: break it by removing one of these references`,
				`flow.cue:6:2: cycle: d -> d: a node cannot use its own output`,
			},
		},
		{
			name: "contracts",
			src: `name: "x"
inputs: n: int
nodes: {
	a: {tool: "t.flaky", inputs: {key: 7, failures: "${inputs.n}", bogus: 1}}
	b: {tool: "t.flaky", inputs: {key: "${inputs.n}", failures: 1}}
	c: {tool: "t.flaky", inputs: {key: "k ${inputs.n}"}}
	d: {tool: "builtin.sleep", inputs: {duration: "1s", value: "${c.output.n}"}}
	e: {tool: "t.fail", inputs: {message: "${c.output.n}"}}
}
outputs: v: "${a.output.n}"
`,
			want: []string{
				`flow.cue:4:37: node "a": input "key": 7 breaks the contract of tool t.flaky: must be a string, got number`,
				`flow.cue:4:65: node "a": tool t.flaky has no input "bogus" (its inputs: failures, key, kind)`,
				`flow.cue:5:37: node "b": input "key": tool t.flaky wants string, but ${inputs.n} is integer`,
				`flow.cue:6:2: node "c": missing input "failures" required by tool t.flaky`,
				`flow.cue:8:40: node "e": input "message": tool t.fail wants string, but ${c.output.n} is integer`,
			},
		},
		{
			name: "outputs that reference nothing",
			src: `name: "x"
nodes: a: {tool: "t.echo", inputs: value: 1}
outputs: {v: "constant", w: 3}
`,
			want: []string{
				`flow.cue:3:14: output "v" references nothing: set it to a reference such as "${node.output}" or "${inputs.v}"`,
				`flow.cue:3:29: output "w" references nothing: set it to a reference such as "${node.output}" or "${inputs.w}"`,
			},
		},
		{
			name: "when",
			src: `name: "x"
inputs: mode: string
nodes: {
	a: {tool: "t.echo", inputs: value: 1, when: {ref: "mode", is: "x"}}
	b: {tool: "t.echo", inputs: value: 1, when: {ref: "${inputs.mode}", is: "${inputs.mode}"}}
}
outputs: v: "${a.output.value}"
`,
			want: []string{
				`flow.cue:4:52: node "a": when.ref must be one reference, as in "${inputs.mode}"`,
				`flow.cue:5:74: node "b": when.is must be a literal value, not a reference`,
			},
		},
		{
			name: "plugins",
			src: `name: "x"
plugins: {
	two: {wasm: "a.wasm", goplugin: "b"}
	none: {sha256: "00"}
	t: {builtin: true}
}
nodes: a: {tool: "t.echo", inputs: value: 1}
outputs: v: "${a.output}"
`,
			want: []string{
				`flow.cue:3:2: plugin "two": give exactly one of builtin, goplugin, python, wasm (found 2)`,
				`flow.cue:4:2: plugin "none": give exactly one of builtin, goplugin, python, wasm (found 0)`,
				`flow.cue:4:17: plugins.none.sha256: invalid value "00" (out of bound =~"^[0-9a-f]{64}$")`,
				`flow.cue:5:2: plugin "t": the program registered a plugin of that name; rename this entry`,
			},
		},
		{
			name: "sub-flow that includes itself",
			src: `name: "x"
nodes: a: {flow: "flow.cue"}
outputs: v: "${a.output}"
`,
			want: []string{`flow.cue:2:18: node "a": sub-flow cycle: flow.cue -> flow.cue: a flow cannot include itself`},
		},
		{
			name: "input type CUE cannot check fast",
			src: `import "strings"
name: "x"
inputs: s: strings.HasPrefix("x")
nodes: a: {tool: "t.echo", inputs: value: "${inputs.s}"}
outputs: v: "${a.output}"
`,
			want: []string{`flow.cue:3:12: input type "strings.HasPrefix(\"x\")" cannot be checked without CUE; use a regular expression (=~"^x")`},
		},
		{
			name: "prompt template syntax",
			src: `name: "x"
inputs: q: string
nodes: ask: {tool: "builtin.prompt", inputs: {
	question: "${inputs.q}"
	template: """
		# user:
		{% if question %}
		{{ question }}
		"""
}}
nodes: ok: {tool: "builtin.prompt", inputs: {template: "${inputs.q}"}}
outputs: v: "${ask.output.text}"
`,
			want: []string{`flow.cue:5:12: node "ask": input "template": line 3: unexpected end of template, expected "endif" to close the "if" on line 2`},
		},
	}
	e, _ := newEngine(t, engineOpts())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file
			if file == "" {
				file = "flow.cue"
			}
			assert.Equal(t, tc.want, loadErrors(t, e, file, tc.src))
		})
	}
}
