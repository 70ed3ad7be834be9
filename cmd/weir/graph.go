package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/engine"
)

func newGraph(app *app) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph [flags] FLOW",
		Short: "Print a flow's DAG as Graphviz dot or Mermaid",
		Example: `  weir graph examples/hello/flow.cue | dot -Tsvg > hello.svg
  weir graph --format mermaid examples/hello/flow.cue`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := oneOf("--format", format, "dot", "mermaid"); err != nil {
				return err
			}
			path, err := flowFile(a[0])
			if err != nil {
				return err
			}
			f, closeAll, err := app.loadFlow(cmd.Context(), path)
			if err != nil {
				return err
			}
			defer closeAll()
			if format == "dot" {
				writeDot(cmd.OutOrStdout(), f)
			} else {
				writeMermaid(cmd.OutOrStdout(), f)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "dot", "dot or mermaid")
	return cmd
}

func writeDot(w io.Writer, f *engine.Flow) {
	fmt.Fprintf(w, "digraph %q {\n  rankdir=LR;\n  node [shape=box];\n", f.Name())
	for _, n := range f.Nodes() {
		style := ""
		if n.Conditional {
			style = ", style=dashed"
		}
		fmt.Fprintf(w, "  %q [label=\"%s\\n%s\"%s];\n", n.Name, n.Name, n.Tool, style)
		for _, d := range n.Deps {
			fmt.Fprintf(w, "  %q -> %q;\n", d, n.Name)
		}
	}
	fmt.Fprintln(w, "}")
}

func writeMermaid(w io.Writer, f *engine.Flow) {
	fmt.Fprintln(w, "flowchart LR")
	id := func(s string) string { return strings.ReplaceAll(s, "-", "_") }
	for _, n := range f.Nodes() {
		open, end := "[", "]"
		if n.Conditional {
			open, end = "{{", "}}"
		}
		fmt.Fprintf(w, "  %s%s\"%s<br/>%s\"%s\n", id(n.Name), open, n.Name, n.Tool, end)
		for _, d := range n.Deps {
			fmt.Fprintf(w, "  %s --> %s\n", id(d), id(n.Name))
		}
	}
}
