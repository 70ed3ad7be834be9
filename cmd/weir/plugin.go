package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/internal/jsonschema"
	"github.com/weirflow/weir/internal/makehint"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/goplugin"
	"github.com/weirflow/weir/plugins/python"
	"github.com/weirflow/weir/plugins/wasm"
)

func newPlugin(app *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Inspect and scaffold plugins",
		Example: `  weir plugin describe examples/plugins/text/text.wasm
  weir plugin new --dir plugins shout`,
		Args: subcommand,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newPluginDescribe(app), newPluginNew())
	return cmd
}

// subcommand refuses arguments to a command that only groups others, as
// cobra does for the root, where it would print the group's help instead.
func subcommand(cmd *cobra.Command, a []string) error {
	if len(a) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", a[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(a[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
	}
	return usageError{errors.New(msg)}
}

func newPluginDescribe(app *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "describe [flags] FILE",
		Short: "Print the tools a plugin file provides",
		Long: `Open a plugin file as a flow would and print its contract: each tool with
its inputs, outputs and description. An input marked * is required. With
-o json the contract is printed as the plugin publishes it, JSON Schemas
included.

FILE is a WebAssembly module (weir-abi-1, see plugins/wasm/ABI.md), a
go-plugin executable (an ELF, Mach-O or PE file serving weir.tool.v1.Tools,
see plugins/goplugin), which is started and stopped again, or a Python
file or folder of them (see plugins/python), whose contracts are read from
the source without running it; for Python, describe also prints the
sha256 that a flow's entry pins. Its plugin is named after the file,
without the extension. FILE builtin, when no such file is there, describes
the builtin plugin that every flow has.`,
		Example: `  weir plugin describe examples/plugins/text/text.wasm
  weir plugin describe -o json examples/plugins/text/text.wasm
  weir plugin describe builtin`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := oneOf("-o", output, "table", "json"); err != nil {
				return err
			}
			kind, pl, closeAll, err := app.openPluginFile(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			defer closeAll()
			contracts := make([]plugins.Contract, 0, len(pl.Tools()))
			for _, t := range pl.Tools() {
				contracts = append(contracts, t.Contract())
			}
			var digest string
			if d, ok := pl.(interface{ SHA256() string }); ok {
				digest = d.SHA256()
			}
			if output == "json" {
				return printContract(cmd.OutOrStdout(), kind.abi, digest, contracts)
			}
			printTools(cmd.OutOrStdout(), a[0], kind, digest, contracts)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// pluginKind is a kind of plugin file that weir opens outside a flow.
type pluginKind struct {
	name string // the kind key of a flow's plugin entry
	abi  string // the contract the kind's plugins speak
	// is reports whether a file starting with head is of this kind.
	is func(head []byte) bool
}

// pluginKinds are the kinds of plugin files, told apart by their first
// bytes. A file that none of them recognizes goes to the first, whose
// provider says why it is not a plugin.
var pluginKinds = []pluginKind{{
	name: "wasm",
	abi:  wasm.ABI,
	is:   func(head []byte) bool { return bytes.HasPrefix(head, []byte("\x00asm")) },
}, {
	name: "goplugin",
	abi:  goplugin.ABI,
	is:   isExecutable,
}}

// isExecutable reports whether head starts a native executable: ELF,
// Mach-O (either byte order, 32 or 64 bits, or universal) or PE.
func isExecutable(head []byte) bool {
	for _, magic := range []string{
		"\x7fELF",
		"\xfe\xed\xfa\xce", "\xfe\xed\xfa\xcf", "\xce\xfa\xed\xfe", "\xcf\xfa\xed\xfe",
		"\xca\xfe\xba\xbe",
		"MZ",
	} {
		if bytes.HasPrefix(head, []byte(magic)) {
			return true
		}
	}
	return false
}

// pythonKind is a Python file or a folder of them, told apart by the
// name: a folder, or a file whose name ends in .py.
var pythonKind = pluginKind{name: "python", abi: python.ABI}

// builtinKind is the plugin every flow has, which plugin describe builtin
// shows: weir's own tools, called in its process.
var builtinKind = pluginKind{name: "builtin", abi: "native"}

// openPluginFile opens the plugin file at path with the provider of its
// kind, or the builtin plugin when path is "builtin" and no such file is
// there. The returned func closes the plugin and the provider.
func (a *app) openPluginFile(ctx context.Context, path string) (pluginKind, plugins.Plugin, func(), error) {
	if info, err := os.Stat(path); err == nil && (info.IsDir() || strings.HasSuffix(path, ".py")) {
		base := filepath.Base(path)
		return a.openPlugin(ctx, pythonKind, plugins.Spec{
			Name:   strings.TrimSuffix(base, ".py"),
			Kind:   pythonKind.name,
			Source: path,
		})
	}
	head, err := readHead(path, 8)
	if errors.Is(err, fs.ErrNotExist) && path == builtinKind.name {
		return a.openPlugin(ctx, builtinKind, plugins.Spec{Name: path, Kind: builtinKind.name})
	}
	if err != nil {
		return pluginKind{}, nil, nil, fmt.Errorf("read plugin: %w%s", err, makehint.Hint(path))
	}
	kind := pluginKinds[0]
	for _, k := range pluginKinds {
		if k.is(head) {
			kind = k
			break
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return pluginKind{}, nil, nil, err
	}
	base := filepath.Base(path)
	return a.openPlugin(ctx, kind, plugins.Spec{
		Name:   strings.TrimSuffix(base, filepath.Ext(base)),
		Kind:   kind.name,
		Source: abs,
	})
}

// openPlugin opens spec with a provider of kind.
func (a *app) openPlugin(ctx context.Context, kind pluginKind, spec plugins.Spec) (pluginKind, plugins.Plugin, func(), error) {
	p := a.provider(kind.name)
	closeProvider := func() {
		if c, ok := p.(io.Closer); ok {
			_ = c.Close()
		}
	}
	pl, err := p.Open(ctx, spec)
	if err != nil {
		closeProvider()
		return pluginKind{}, nil, nil, err
	}
	return kind, pl, func() {
		_ = pl.Close()
		closeProvider()
	}, nil
}

// readHead returns the first n bytes of the file at path, fewer when the
// file is shorter.
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, n)
	got, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return head[:got], nil
}

// printContract writes the contract as weir_describe publishes it, with
// the digest a flow pins when the plugin has one of its own (Python's).
func printContract(w io.Writer, abi, digest string, contracts []plugins.Contract) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		ABI    string             `json:"abi"`
		SHA256 string             `json:"sha256,omitempty"`
		Tools  []plugins.Contract `json:"tools"`
	}{abi, digest, contracts})
}

// printTools writes a line about the plugin at path, then a table of its
// tools with their fields as name:type, required inputs marked with *.
func printTools(w io.Writer, path string, kind pluginKind, digest string, contracts []plugins.Contract) {
	fmt.Fprintf(w, "%s: %s plugin, %s, %s\n", path, kind.name, kind.abi, count(len(contracts), "tool"))
	if digest != "" {
		fmt.Fprintf(w, "sha256: %s\n", digest)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOOL\tINPUTS\tOUTPUTS\tDESCRIPTION")
	for _, c := range contracts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, jsonschema.Fields(c.Inputs, "*"), jsonschema.Fields(c.Outputs, ""), oneLine(c.Description))
	}
	_ = tw.Flush()
}

// oneLine keeps a description on its row of the table.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
