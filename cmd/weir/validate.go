package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidate(app *app) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FLOW",
		Short: "Check a flow without running it",
		Long: `Check a flow without running it: its syntax and schema, names, tools,
references, types against the tools' contracts, and cycles. Every problem is
printed with its file:line:col. FLOW is a flow file, or a folder holding one
named flow.cue (or flow.yaml, flow.yml, flow.json).`,
		Example: `  weir validate examples/hello/flow.cue`,
		Args:    args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			path, err := flowFile(a[0])
			if err != nil {
				return err
			}
			f, closeAll, err := app.checkFlow(cmd.Context(), path)
			if err != nil {
				return err
			}
			defer closeAll()
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok: flow %q, %s\n", path, f.Name(), count(len(f.Nodes()), "node"))
			return nil
		},
	}
}
