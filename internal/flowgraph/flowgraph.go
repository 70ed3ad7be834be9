// Package flowgraph draws a flow's DAG as Graphviz dot or Mermaid text:
// what weir graph prints, and what the run inspector (hosts/inspect) lays
// out with Graphviz.
package flowgraph

import (
	"fmt"
	"io"
	"strings"

	"github.com/weirflow/weir/engine"
)

// shape is what a box of the drawing stands for.
type shape int

const (
	toolShape shape = iota
	subflowShape
	aggregateShape
	whenShape // drawn as a dashed border on one of the others
	ioShape
)

// legend is the id and the text of each shape in the legend, in its order.
var legend = []struct {
	shape    shape
	id, text string
}{
	{ioShape, "io", "input or output"},
	{toolShape, "tool", "tool node"},
	{subflowShape, "flow", "sub-flow node"},
	{aggregateShape, "aggregate", "aggregate node"},
	{whenShape, "when", "may be bypassed (when)"},
}

// Graph is a flow as the drawings see it. It is not changed once made, and
// may be drawn from several goroutines.
type Graph struct {
	name    string
	inputs  []string
	nodes   []engine.Node
	outputs []engine.Output
	used    map[shape]bool
}

// Of returns the graph of f.
func Of(f *engine.Flow) *Graph {
	g := &Graph{name: f.Name(), nodes: f.Nodes(), outputs: f.Outputs(), used: map[shape]bool{}}
	for _, in := range f.Inputs() {
		g.inputs = append(g.inputs, in.Name)
	}
	if len(g.inputs)+len(g.outputs) > 0 {
		g.used[ioShape] = true
	}
	for _, n := range g.nodes {
		g.used[nodeShape(n)] = true
		if n.Conditional {
			g.used[whenShape] = true
		}
	}
	return g
}

// nodeShape is the shape of a node, its when aside.
func nodeShape(n engine.Node) shape {
	switch {
	case n.Kind == "flow":
		return subflowShape
	case n.Aggregate:
		return aggregateShape
	}
	return toolShape
}

// dotAttrs are the attributes that draw a shape in dot.
var dotAttrs = map[shape]string{
	ioShape:        "shape=ellipse",
	toolShape:      "shape=box",
	subflowShape:   "shape=box, peripheries=2",
	aggregateShape: "shape=parallelogram",
	whenShape:      "shape=box, style=dashed",
}

// DotOptions change what WriteDot writes.
type DotOptions struct {
	// Page draws for a web page, which colours and explains the boxes
	// itself: each box has an id, which Graphviz's SVG keeps on the box's
	// group for the page to find it (NodeID(name) for a node,
	// "inputs.NAME" and "outputs.NAME" for the flow's inputs and outputs),
	// the text is sans-serif, and there is no legend.
	Page bool
}

// NodeID is the id of node name's box in a drawing made with
// DotOptions.Page.
func NodeID(name string) string { return "node-" + name }

// WriteDot writes g in Graphviz's dot language, left to right.
func (g *Graph) WriteDot(w io.Writer, o DotOptions) {
	id := func(s string) string {
		if !o.Page {
			return ""
		}
		return fmt.Sprintf(", id=%q", s)
	}
	fmt.Fprintf(w, "digraph %q {\n  rankdir=LR;\n  node [shape=box];\n", g.name)
	if o.Page {
		fmt.Fprintln(w, `  graph [fontname="Helvetica"]; node [fontname="Helvetica"];`)
	}
	if len(g.inputs) > 0 {
		fmt.Fprintf(w, "  subgraph cluster_inputs {\n    label=\"inputs\";\n")
		for _, in := range g.inputs {
			fmt.Fprintf(w, "    %q [label=%q, %s%s];\n", "inputs."+in, in, dotAttrs[ioShape], id("inputs."+in))
		}
		fmt.Fprintln(w, "  }")
	}
	for _, n := range g.nodes {
		attrs := ""
		if s := nodeShape(n); s != toolShape {
			attrs = ", " + strings.TrimPrefix(dotAttrs[s], "shape=box, ")
		}
		if n.Conditional {
			attrs += ", style=dashed"
		}
		fmt.Fprintf(w, "  %q [label=\"%s\\n%s\"%s%s];\n", n.Name, n.Name, n.Tool, attrs, id(NodeID(n.Name)))
		for _, in := range n.Inputs {
			fmt.Fprintf(w, "  %q -> %q;\n", "inputs."+in, n.Name)
		}
		for _, d := range n.Deps {
			fmt.Fprintf(w, "  %q -> %q;\n", d, n.Name)
		}
	}
	if len(g.outputs) > 0 {
		fmt.Fprintf(w, "  subgraph cluster_outputs {\n    label=\"outputs\";\n")
		for _, out := range g.outputs {
			fmt.Fprintf(w, "    %q [label=%q, %s%s];\n", "outputs."+out.Name, out.Name, dotAttrs[ioShape], id("outputs."+out.Name))
		}
		fmt.Fprintln(w, "  }")
		for _, out := range g.outputs {
			for _, from := range out.Nodes {
				fmt.Fprintf(w, "  %q -> %q;\n", from, "outputs."+out.Name)
			}
			for _, from := range out.Inputs {
				fmt.Fprintf(w, "  %q -> %q;\n", "inputs."+from, "outputs."+out.Name)
			}
		}
	}
	if !o.Page {
		fmt.Fprintf(w, "  subgraph cluster_legend {\n    label=\"legend\";\n    style=dotted;\n")
		for _, l := range legend {
			if g.used[l.shape] {
				fmt.Fprintf(w, "    %q [label=%q, %s];\n", "legend."+l.id, l.text, dotAttrs[l.shape])
			}
		}
		fmt.Fprintln(w, "  }")
	}
	fmt.Fprintln(w, "}")
}

// mermaidShapes are the brackets that draw a shape in Mermaid; a dashed
// border is the class when.
var mermaidShapes = map[shape][2]string{
	ioShape:        {"([", "])"},
	toolShape:      {"[", "]"},
	subflowShape:   {"[[", "]]"},
	aggregateShape: {"[/", "/]"},
	whenShape:      {"[", "]"},
}

// WriteMermaid writes g as a Mermaid flowchart, left to right.
func (g *Graph) WriteMermaid(w io.Writer) {
	// Mermaid ids are words: each kind of box gets a prefix of its own.
	id := func(prefix, s string) string { return prefix + strings.ReplaceAll(s, "-", "_") }
	box := func(s shape, id, label string) string {
		b := mermaidShapes[s]
		return fmt.Sprintf("%s%s\"%s\"%s", id, b[0], label, b[1])
	}
	fmt.Fprintln(w, "flowchart LR")
	fmt.Fprintln(w, "  classDef when stroke-dasharray: 5 5")
	if len(g.inputs) > 0 {
		fmt.Fprintln(w, "  subgraph inputs")
		for _, in := range g.inputs {
			fmt.Fprintf(w, "    %s\n", box(ioShape, id("in_", in), in))
		}
		fmt.Fprintln(w, "  end")
	}
	for _, n := range g.nodes {
		fmt.Fprintf(w, "  %s\n", box(nodeShape(n), id("n_", n.Name), n.Name+"<br/>"+n.Tool))
		if n.Conditional {
			fmt.Fprintf(w, "  class %s when\n", id("n_", n.Name))
		}
		for _, in := range n.Inputs {
			fmt.Fprintf(w, "  %s --> %s\n", id("in_", in), id("n_", n.Name))
		}
		for _, d := range n.Deps {
			fmt.Fprintf(w, "  %s --> %s\n", id("n_", d), id("n_", n.Name))
		}
	}
	if len(g.outputs) > 0 {
		fmt.Fprintln(w, "  subgraph outputs")
		for _, o := range g.outputs {
			fmt.Fprintf(w, "    %s\n", box(ioShape, id("out_", o.Name), o.Name))
		}
		fmt.Fprintln(w, "  end")
		for _, o := range g.outputs {
			for _, from := range o.Nodes {
				fmt.Fprintf(w, "  %s --> %s\n", id("n_", from), id("out_", o.Name))
			}
			for _, from := range o.Inputs {
				fmt.Fprintf(w, "  %s --> %s\n", id("in_", from), id("out_", o.Name))
			}
		}
	}
	fmt.Fprintln(w, "  subgraph legend")
	for _, l := range legend {
		if g.used[l.shape] {
			lid := "legend_" + l.id
			fmt.Fprintf(w, "    %s\n", box(l.shape, lid, l.text))
			if l.shape == whenShape {
				fmt.Fprintf(w, "    class %s when\n", lid)
			}
		}
	}
	fmt.Fprintln(w, "  end")
}
