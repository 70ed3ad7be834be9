package flowgraph_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	weirflow "github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/flowgraph"
)

// TestPage draws for a web page: ids on the boxes, a sans-serif font, and
// no legend. weir graph's drawings are tested in cmd/weir.
func TestPage(t *testing.T) {
	t.Parallel()
	e, err := weirflow.New(engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	f, err := e.Parse(context.Background(), "page.cue", []byte(`name: "page"
inputs: {a: string}
nodes: x: {tool: "builtin.template", inputs: {template: "{{.a}}", a: "${inputs.a}"}, when: {ref: "${inputs.a}", is: "go"}}
outputs: o: "${x.output.text}"
`))
	require.NoError(t, err)
	var b strings.Builder
	flowgraph.Of(f).WriteDot(&b, flowgraph.DotOptions{Page: true})
	assert.Equal(t, `digraph "page" {
  rankdir=LR;
  node [shape=box];
  graph [fontname="Helvetica"]; node [fontname="Helvetica"];
  subgraph cluster_inputs {
    label="inputs";
    "inputs.a" [label="a", shape=ellipse, id="inputs.a"];
  }
  "x" [label="x\nbuiltin.template", style=dashed, id="node-x"];
  "inputs.a" -> "x";
  subgraph cluster_outputs {
    label="outputs";
    "outputs.o" [label="o", shape=ellipse, id="outputs.o"];
  }
  "x" -> "outputs.o";
}
`, b.String())
}
