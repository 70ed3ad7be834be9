package engine_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/weirflow/weir/engine"
)

// TestReferences lists what nodes and outputs reference, as weir graph
// draws it: flow inputs (one, or all through ${inputs}) in inputs, texts,
// lists, a when and aggregate fields, and nodes.
func TestReferences(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `
name: "refs"
inputs: {a: string, b: int | *1, c: bool | *false}
nodes: {
	x: {tool: "builtin.json", inputs: value: ["${inputs.b}", {deep: "${inputs.a}"}]}
	y: {tool: "builtin.template", inputs: {template: "{{.t}}", t: "at ${x.output.value[0]}, ${inputs.a}"}, when: {ref: "${inputs.c}", is: true}}
	z: {tool: "builtin.json", inputs: value: "${inputs}"}
	n: {tool: "builtin.stats", aggregate: true, inputs: values: "${inputs.b}"}
}
outputs: {
	all:  "${z.output.value}"
	both: {y: "${y.output.text}", x: "${x.output}", b: "${inputs.b}"}
	lit:  "${inputs.a}"
}
`)
	assert.Equal(t, []engine.Node{
		{Name: "x", Tool: "builtin.json", Kind: "builtin", Inputs: []string{"b", "a"}},
		{Name: "y", Tool: "builtin.template", Kind: "builtin", Deps: []string{"x"}, Inputs: []string{"a", "c"}, Conditional: true},
		{Name: "z", Tool: "builtin.json", Kind: "builtin", Inputs: []string{"a", "b", "c"}},
		{Name: "n", Tool: "builtin.stats", Kind: "builtin", Inputs: []string{"b"}, Aggregate: true},
	}, f.Nodes())
	assert.Equal(t, []engine.Output{
		{Name: "all", Nodes: []string{"z"}},
		{Name: "both", Nodes: []string{"y", "x"}, Inputs: []string{"b"}, Types: []string{"object"}},
		{Name: "lit", Inputs: []string{"a"}, Types: []string{"string"}},
	}, f.Outputs(), "the types the contracts and inputs make known, none for builtin.json's value")
}

// TestContract returns the contract of a node's tool, as the page that
// shows a flow lists it, and nothing for a node the flow lacks.
func TestContract(t *testing.T) {
	t.Parallel()
	e, _ := newEngine(t, engine.Options{})
	f := load(t, e, `
name: "contract"
inputs: {a: string}
nodes: x: {tool: "builtin.template", inputs: {template: "{{.a}}", a: "${inputs.a}"}}
outputs: o: "${x.output.text}"
`)
	c, ok := f.Contract("x")
	assert.True(t, ok)
	assert.Equal(t, "template", c.Name)
	assert.Contains(t, string(c.Outputs), `"text"`)
	_, ok = f.Contract("y")
	assert.False(t, ok)
}
