package engine_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

// seenTool returns the inputs it was given, as they came: {"got": inputs}.
// Its contract requires req and gives opt a default, as a Python tool
// whose parameter has one does, and takes inputs it does not declare, as
// a template's variables.
func seenTool() plugins.Tool {
	return plugins.RawFunc(plugins.Contract{
		Name: "seen",
		Inputs: json.RawMessage(`{"type": "object", "required": ["req"],
			"properties": {"req": {}, "opt": {"default": "dflt"}, "text": {"type": ["string", "null"]}},
			"additionalProperties": true}`),
	}, func(_ context.Context, in []byte) ([]byte, error) {
		return append(append([]byte(`{"got":`), in...), '}'), nil
	})
}

// bypassFlow has a node, gate, that runs only when mode is "a", and nodes
// that read it under each of prompt flow's activate rules (SPEC.md §2.6).
const bypassFlow = `name: "bypass"
inputs: {mode: string, on: bool | *true}
nodes: {
	gate: {tool: "t.echo", inputs: value: "g", when: {ref: "${inputs.mode}", is: "a"}}
	// A when on a flow input decides alone: it runs though gate was bypassed.
	act: {
		tool: "p.seen"
		inputs: {req: "${gate.output.value}", opt: "${gate.output.value}", extra: "${gate.output.value}", text: "v=${gate.output.value}"}
		when: {ref: "${inputs.on}", is: true}
	}
	// A when whose node was bypassed is false, even if is matches null,
	// and whatever the nodes its inputs read did.
	nullis: {tool: "t.echo", inputs: value: "${number.output.value}", when: {ref: "${gate.output.value}", is: null}}
	// Without a when: bypassed when every node it references was.
	plain: {tool: "t.echo", inputs: value: "${gate.output.value}"}
	// Literal conditions: decided at load.
	always: {tool: "t.echo", inputs: value: "${gate.output.value}", when: {value: "dummy", is: "dummy"}}
	never: {tool: "t.echo", inputs: value: 1, when: {value: 1, is: 2}}
	// 1 and 1.0 are the same number.
	number: {tool: "t.echo", inputs: value: 2, when: {value: 1.0, is: 1}}
	// Its only node, never, is bypassed, and it has no when.
	after: {tool: "t.echo", inputs: value: "${never.output}"}
}
outputs: {act: "${act.output.got}", always: "${always.output.value}", plain: "${plain.output.value}"}
`

func TestBypassRules(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	require.NoError(t, e.Register("p", seenTool()))
	f := load(t, e, bypassFlow)
	cases := []struct {
		name     string
		inputs   map[string]any
		statuses map[string]engine.Status
		outputs  map[string]any
	}{
		{
			name:   "gate bypassed",
			inputs: map[string]any{"mode": "b"},
			statuses: map[string]engine.Status{
				"gate": engine.Bypassed, "act": engine.Succeeded, "nullis": engine.Bypassed, "plain": engine.Bypassed,
				"always": engine.Succeeded, "never": engine.Bypassed, "number": engine.Succeeded, "after": engine.Bypassed,
			},
			// opt is left out, for the tool's default; req, which the
			// contract requires, and extra, which it does not declare, are
			// null; text interpolates null.
			outputs: map[string]any{"act": map[string]any{"req": nil, "extra": nil, "text": "v=null"}, "always": nil, "plain": nil},
		},
		{
			name:   "gate ran",
			inputs: map[string]any{"mode": "a"},
			statuses: map[string]engine.Status{
				"gate": engine.Succeeded, "act": engine.Succeeded, "nullis": engine.Bypassed, "plain": engine.Succeeded,
				"always": engine.Succeeded, "never": engine.Bypassed, "number": engine.Succeeded, "after": engine.Bypassed,
			},
			outputs: map[string]any{"act": map[string]any{"req": "g", "opt": "g", "extra": "g", "text": "v=g"}, "always": "g", "plain": "g"},
		},
		{
			name:   "condition false",
			inputs: map[string]any{"mode": "a", "on": false},
			statuses: map[string]engine.Status{
				"gate": engine.Succeeded, "act": engine.Bypassed, "nullis": engine.Bypassed, "plain": engine.Succeeded,
				"always": engine.Succeeded, "never": engine.Bypassed, "number": engine.Succeeded, "after": engine.Bypassed,
			},
			outputs: map[string]any{"act": nil, "always": "g", "plain": "g"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.Run(context.Background(), tc.inputs)
			require.NoError(t, err)
			assert.Equal(t, tc.statuses, statuses(res))
			assert.Equal(t, tc.outputs, outputs(t, res))
		})
	}
}

// TestBypassNullIs shows that a when whose ref reads a node that ran and
// gave null holds for is: null: only a bypassed node makes it false.
func TestBypassNullIs(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `name: "null"
nodes: {
	a: {tool: "t.echo", inputs: value: null}
	b: {tool: "t.echo", inputs: value: 1, when: {ref: "${a.output.value}", is: null}}
}
outputs: b: "${b.output.value}"
`)
	res, err := f.Run(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]engine.Status{"a": engine.Succeeded, "b": engine.Succeeded}, statuses(res))
}

func TestWhenValueErrors(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	errs := loadErrors(t, e, "flow.cue", `name: "x"
inputs: mode: string
nodes: {
	a: {tool: "t.echo", inputs: value: 1, when: {value: "${inputs.mode}", is: "x"}}
	b: {tool: "t.echo", inputs: value: 1, when: {value: "x", is: "${inputs.mode}"}}
	c: {tool: "t.echo", inputs: value: 1, when: {value: "x", ref: "${inputs.mode}", is: "x"}}
}
outputs: v: "${a.output.value}"
`)
	assert.Equal(t, []string{
		`flow.cue:4:54: node "a": when.value must be a literal value; to read a value of the run, use when.ref`,
		`flow.cue:5:63: node "b": when.is must be a literal value, not a reference`,
		`flow.cue:6:40: node "c": when takes one of ref and value, not both: ref reads a value of the run, as in ref: "${inputs.mode}"; value is a literal`,
	}, errs)
}

// TestBypassPythonDefault is prompt flow's case with a real Python tool: an
// input from a bypassed node is left out, so the parameter's default
// applies, while a parameter without one gets None.
func TestBypassPythonDefault(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skipf("SKIP LOUDLY: no python3 on PATH: %v", err)
	}
	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.Close()) })
	dir := writeFlow(t, map[string]string{
		"tools.py": `from promptflow.core import tool


@tool
def pick(gate: str, fallback: str = "the default") -> str:
    return f"{gate!r} {fallback!r}"
`,
		"flow.cue": `name: "py-default"
plugins: py: python: "tools.py"
inputs: mode: string
nodes: {
	gate: {tool: "builtin.json", inputs: value: "open", when: {ref: "${inputs.mode}", is: "a"}}
	pick: {
		tool: "py.pick"
		inputs: {gate: "${gate.output.value}", fallback: "${gate.output.value}"}
		when: {value: 1, is: 1}
	}
}
outputs: v: "${pick.output.value}"
`,
	})
	f, err := e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	for mode, want := range map[string]string{"a": "'open' 'open'", "b": "None 'the default'"} {
		res, err := f.Run(context.Background(), map[string]any{"mode": mode})
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"v": want}, outputs(t, res), mode)
	}
}
