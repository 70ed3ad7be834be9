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
	"golang.org/x/crypto/ssh"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/bundle"
	"github.com/weirflow/weir/internal/bytesize"
)

func newBundle(app *app) *cobra.Command {
	var output, keyPath string
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
and prints its manifest.

--sign KEY signs the bundle with the SSH private key in the file KEY (one
without a passphrase, such as ssh-keygen -t ed25519 -N '' makes): the
bundle then ends with weir-bundle.sig, the SSH signature of its digest, as
ssh-keygen -Y sign -n weir-bundle makes it. weir serve --trust KEY.pub
deploys only bundles signed by a trusted key.`,
		Example: `  weir bundle -o hello.weir examples/hello/flow.cue
  weir bundle --sign ~/.ssh/weir_release -o hello.weir examples/hello/flow.cue
  weir bundle inspect hello.weir`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			var key ssh.Signer
			if keyPath != "" {
				var err error
				if key, err = loadSigner(keyPath); err != nil {
					return err
				}
			}
			f, closeAll, err := app.checkFlow(cmd.Context(), a[0])
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
			m, size, err := writeBundle(f, key, out)
			if err != nil {
				return err
			}
			flow := fmt.Sprintf("%q", m.Flow)
			if m.Version != "" {
				flow += " " + m.Version
			}
			signed := ""
			if key != nil {
				signed = ", signed by " + keyName(key.PublicKey())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: flow %s, %s, %s, %s%s\n", out, flow, count(len(m.Files), "file"), bytesize.Round(size), m.Digest, signed)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the bundle to `FILE` (default <flow name>.weir)")
	cmd.Flags().StringVar(&keyPath, "sign", "", "sign the bundle with the SSH private key in `KEY`")
	cmd.AddCommand(newBundleInspect())
	return cmd
}

func newBundleInspect() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "inspect [flags] FILE",
		Short: "Check a bundle and print its manifest",
		Long: `Read a bundle, check every file in it against its manifest (path, size,
SHA-256), the manifest's digest against its files and its signature, if it
has one, against the digest, and print the manifest and who signed it
(the key's type and SHA256 fingerprint, as ssh-keygen -l shows it). With
-o json the manifest is printed as the bundle holds it, with a "signature"
object added when it is signed.`,
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
				v := inspected{Manifest: m}
				if k := b.Signer(); k != nil {
					v.Signature = &signatureInfo{
						Key:         strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))),
						Fingerprint: ssh.FingerprintSHA256(k),
					}
				}
				return writeIndented(cmd.OutOrStdout(), v)
			}
			return printManifest(cmd.OutOrStdout(), m, b.Signer())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// inspected is what weir bundle inspect -o json prints.
type inspected struct {
	bundle.Manifest
	Signature *signatureInfo `json:"signature,omitempty"`
}

// signatureInfo says who signed a bundle.
type signatureInfo struct {
	// Key is the public key, as a line of authorized_keys.
	Key         string `json:"key"`
	Fingerprint string `json:"fingerprint"`
}

// keyName names a key as ssh-keygen -l does: its type and fingerprint.
func keyName(k ssh.PublicKey) string {
	return k.Type() + " " + ssh.FingerprintSHA256(k)
}

// loadSigner reads the SSH private key at path, for --sign.
func loadSigner(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--sign: %w", err)
	}
	key, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, fmt.Errorf("--sign %s: the key is protected by a passphrase, which weir does not ask for: sign with a key made for signing bundles, without one", path)
	case err != nil:
		return nil, fmt.Errorf("--sign %s: not an SSH private key (such as ssh-keygen writes): %w", path, err)
	}
	return key, nil
}

// isFileName reports whether name can name a file in the current folder
// as it is.
func isFileName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`)
}

// writeBundle builds the bundle of the loaded flow f, signed by key
// unless it is nil, into a temporary file beside out, which it renames to
// out once it is complete. It returns the manifest and the size of the
// file.
func writeBundle(f *engine.Flow, key ssh.Signer, out string) (*bundle.Manifest, int64, error) {
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return nil, 0, fmt.Errorf("write %s: is a folder", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return nil, 0, writeError(out, err)
	}
	defer os.Remove(tmp.Name()) // fails once renamed
	w := bufio.NewWriterSize(tmp, 1<<20)
	m, err := bundle.BuildFlow(f, key, w)
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

// printManifest prints m and the key that signed it, or nil, as a list of
// fields and a table of files.
func printManifest(w io.Writer, m bundle.Manifest, signer ssh.PublicKey) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "flow\t%s\n", m.Flow)
	fmt.Fprintf(tw, "version\t%s\n", cmpDash(m.Version))
	fmt.Fprintf(tw, "weir\t%s\n", m.Weir)
	fmt.Fprintf(tw, "entry\t%s\n", m.Entry)
	fmt.Fprintf(tw, "files\t%d (%s)\n", len(m.Files), bytesize.Round(m.Size()))
	fmt.Fprintf(tw, "digest\t%s\n", m.Digest)
	if signer != nil {
		fmt.Fprintf(tw, "signed by\t%s\n", keyName(signer))
	} else {
		fmt.Fprintf(tw, "signed by\t-\n")
	}
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Path, bytesize.Round(f.Size), mode, f.SHA256)
	}
	return tw.Flush()
}
