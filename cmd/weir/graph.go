package main

import (
	"github.com/spf13/cobra"

	"github.com/weirflow/weir/internal/flowgraph"
)

func newGraph(app *app) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph [flags] FLOW",
		Short: "Print a flow's DAG as Graphviz dot or Mermaid",
		Long: `Print a flow's DAG as Graphviz dot or Mermaid: its inputs on the left, each
node with its tool, the flow's outputs on the right, and an arrow for each
reference. The shapes, which a legend in the drawing repeats:

  ellipse (Mermaid: stadium)     an input or an output of the flow
  box                            a tool node
  double border (Mermaid: [[ ]]) a sub-flow node, labelled with its file
  parallelogram                  an aggregate node, run once per batch
  dashed border                  a node with a when: it may be bypassed`,
		Example: `  weir graph examples/hello/flow.cue | dot -Tsvg > hello.svg
  weir graph --format mermaid examples/pipeline`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := oneOf("--format", format, "dot", "mermaid"); err != nil {
				return err
			}
			path, err := flowFile(a[0])
			if err != nil {
				return err
			}
			f, closeAll, err := app.checkFlow(cmd.Context(), path)
			if err != nil {
				return err
			}
			defer closeAll()
			g := flowgraph.Of(f)
			if format == "dot" {
				g.WriteDot(cmd.OutOrStdout(), flowgraph.DotOptions{})
			} else {
				g.WriteMermaid(cmd.OutOrStdout())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "dot", "dot or mermaid")
	return cmd
}
