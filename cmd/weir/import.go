package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/internal/promptflow"
)

func newImport(app *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Convert flows of other engines into weir flows",
	}
	cmd.AddCommand(newImportPromptflow(app))
	return cmd
}

func newImportPromptflow(app *app) *cobra.Command {
	var (
		out         string
		variants    []string
		connections []string
	)
	cmd := &cobra.Command{
		Use:   "promptflow DIR",
		Short: "Convert a prompt flow DAG flow into a weir flow folder",
		Long: `Convert a prompt flow DAG flow (a folder with flow.dag.yaml) into a weir flow
folder: flow.cue, the Jinja templates and Python tools, additional_includes
copied in, and a README.md of what was converted and how to run it. The same
folder gives the same bytes.

llm nodes call builtin.llm through their connection, prompt nodes render with
builtin.prompt, Python code nodes run as a python plugin; activate, aggregation,
variants and environment variables keep their meaning. Connections become
secrets read from <CONNECTION>_<FIELD> environment variables; --connection
gives a connection's YAML (as pf connection create -f reads it) so that its
type and endpoint are known, else its type is assumed as the README says.

A flow weir cannot run (package or custom_llm tools, image inputs, flex and
prompty flows, C# flows, missing files) is refused with every reason, and
nothing is written. The written flow is validated as weir validate does.`,
		Example: `  weir import promptflow ./web-classification -o wc
  weir import promptflow ./chat-math-variant --variant chat.variant_1 -o chat
  weir import promptflow ./my-flow --connection open_ai_connection=conn.yaml`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			opts := promptflow.Options{Variants: map[string]string{}, Connections: map[string]promptflow.Connection{}}
			for _, v := range variants {
				node, id, ok := parseVariant(v)
				if !ok {
					return usageError{fmt.Errorf("--variant %q: write NODE.VARIANT, such as chat.variant_1", v)}
				}
				opts.Variants[node] = id
			}
			for _, c := range connections {
				name, file, ok := strings.Cut(c, "=")
				if !ok || name == "" || file == "" {
					return usageError{fmt.Errorf("--connection %q: write NAME=FILE", c)}
				}
				conn, err := promptflow.ReadConnection(file)
				if err != nil {
					return fmt.Errorf("--connection %s: %w", name, err)
				}
				opts.Connections[name] = conn
			}
			res, err := promptflow.Import(cmd.Context(), a[0], opts)
			var refused *promptflow.RefusedError
			if errors.As(err, &refused) {
				return fmt.Errorf("%w\nnothing was written", err)
			}
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Base(filepath.Clean(a[0])) + "-weir"
			}
			if err := res.Write(out); err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", w)
			}
			flow := filepath.Join(out, "flow.cue")
			f, closeAll, err := app.checkFlow(cmd.Context(), flow)
			if err != nil {
				return fmt.Errorf("imported %s into %s, but it does not validate:\n%w", a[0], out, err)
			}
			closeAll()
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s into %s: flow %q, %s; see %s\n", a[0], flow, f.Name(), count(len(f.Nodes()), "node"), filepath.Join(out, "README.md"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "the folder to write, which must not exist or be empty (default: DIR's name with -weir)")
	f.StringArrayVar(&variants, "variant", nil, "the variant of a node with variants, as NODE.VARIANT or ${NODE.VARIANT} (repeatable; default: its default_variant_id)")
	f.StringArrayVar(&connections, "connection", nil, "a connection's YAML, as NAME=FILE (repeatable)")
	return cmd
}

// parseVariant reads NODE.VARIANT, or prompt flow's ${NODE.VARIANT}.
func parseVariant(s string) (node, id string, ok bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "${"), "}")
	node, id, ok = strings.Cut(s, ".")
	return node, id, ok && node != "" && id != ""
}
