package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/hosts/bundle"
)

func newBundle(app *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "bundle [flags] FLOW",
		Short: "Pack a flow and its plugins into one file that hosts deploy",
		Long: `Pack a flow, the sub-flows it runs and its plugin files into a bundle: one
content-addressed file (a tar.gz whose first entry, weir-bundle.json, lists
every file with its SHA-256), which is what every host deploys. The same
files make the same bundle, byte for byte.

The flow is checked first, as weir validate does: a flow with problems is
refused and nothing is written. The bundle goes to -o, by default
<flow name>.weir in the current folder, through a temporary file, so that
no half-written bundle is left behind. It prints one line, such as

  wrote hello.weir: flow "hello", 2 files, 1.0 MiB, sha256:3d5477…

where sha256:… is the bundle's digest. weir bundle inspect checks a bundle
and prints its manifest.`,
		Example: `  weir bundle -o hello.weir examples/hello/flow.cue
  weir bundle inspect hello.weir`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			f, closeAll, err := app.loadFlow(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			closeAll() // the flow is good: the plugins need not run
			out := output
			if out == "" {
				if !isFileName(f.Name()) {
					return usageError{fmt.Errorf("flow %q: its name is not a file name: name the bundle with -o", f.Name())}
				}
				out = f.Name() + ".weir"
			}
			m, size, err := writeBundle(a[0], out)
			if err != nil {
				return err
			}
			flow := fmt.Sprintf("%q", m.Flow)
			if m.Version != "" {
				flow += " " + m.Version
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: flow %s, %s, %s, %s\n", out, flow, count(len(m.Files), "file"), byteSize(size), m.Digest)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the bundle to `FILE` (default <flow name>.weir)")
	cmd.AddCommand(newBundleInspect())
	return cmd
}

func newBundleInspect() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "inspect [flags] FILE",
		Short: "Check a bundle and print its manifest",
		Long: `Read a bundle, check every file in it against its manifest (path, size,
SHA-256) and the manifest's digest against its files, and print the
manifest. With -o json the manifest is printed as the bundle holds it.`,
		Example: `  weir bundle inspect hello.weir
  weir bundle inspect -o json hello.weir`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := oneOf("-o", output, "table", "json"); err != nil {
				return err
			}
			b, err := bundle.Open(a[0])
			if err != nil {
				return err
			}
			m := b.Manifest()
			if output == "json" {
				return writeIndented(cmd.OutOrStdout(), m)
			}
			return printManifest(cmd.OutOrStdout(), m)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// isFileName reports whether name can name a file in the current folder
// as it is.
func isFileName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`)
}

// writeBundle builds the bundle of the flow at flowPath into a temporary
// file beside out, which it renames to out once it is complete. It returns
// the manifest and the size of the file.
func writeBundle(flowPath, out string) (*bundle.Manifest, int64, error) {
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return nil, 0, fmt.Errorf("write %s: is a folder", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return nil, 0, writeError(out, err)
	}
	defer os.Remove(tmp.Name()) // fails once renamed
	w := bufio.NewWriterSize(tmp, 1<<20)
	m, err := bundle.Build(flowPath, w)
	if err != nil {
		tmp.Close()
		return nil, 0, err
	}
	err = w.Flush()
	if err == nil {
		// CreateTemp makes the file private; a bundle is not.
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	var size int64
	if err == nil {
		size, err = tmp.Seek(0, io.SeekCurrent)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	if err != nil {
		return nil, 0, writeError(out, err)
	}
	return m, size, nil
}

// writeError says that writing the bundle to out failed, with the cause
// only, since the path in err is the temporary file's.
func writeError(out string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return fmt.Errorf("write %s: %w", out, err)
}

// printManifest prints m as a list of fields and a table of files.
func printManifest(w io.Writer, m bundle.Manifest) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "flow\t%s\n", m.Flow)
	fmt.Fprintf(tw, "version\t%s\n", cmpDash(m.Version))
	fmt.Fprintf(tw, "weir\t%s\n", m.Weir)
	fmt.Fprintf(tw, "entry\t%s\n", m.Entry)
	fmt.Fprintf(tw, "files\t%d (%s)\n", len(m.Files), byteSize(m.Size()))
	fmt.Fprintf(tw, "digest\t%s\n", m.Digest)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, "FILE\tSIZE\tMODE\tSHA-256")
	for _, f := range m.Files {
		mode := "0644"
		if f.Exec {
			mode = "0755"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Path, byteSize(f.Size), mode, f.SHA256)
	}
	return tw.Flush()
}

// byteSize says n bytes in B, KiB, MiB or GiB, with one decimal above B.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for ; v >= unit && i < 2; i++ {
		v /= unit
	}
	return fmt.Sprintf("%.1f %s", v, []string{"KiB", "MiB", "GiB"}[i])
}
