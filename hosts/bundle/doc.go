// Package bundle packs a flow, its sub-flows, the files they embed and
// their plugin files into one content-addressed archive, the unit every
// host deploys, and reads such an archive back safely.
//
// # Format
//
// A bundle (NAME.weir) is a tar archive compressed with gzip. Its first entry
// is weir-bundle.json, the Manifest; the files follow in path order. Every
// entry is a regular file: no folders, links or devices.
//
// The paths of the files are relative to the deepest folder that holds them
// all, with forward slashes, so that a flow's relative plugin and sub-flow
// paths still point at the right files once the bundle is extracted: with
// examples/hello/flow.cue and examples/plugins/text/text.wasm the bundle holds
// hello/flow.cue and plugins/text/text.wasm, and Manifest.Entry is
// hello/flow.cue. A go-plugin executable is marked Exec and extracted with
// mode 0755; every other file gets 0644.
//
// A Python plugin is a file like any other, or a folder: the bundle holds
// the folder's .py files that the plugin's digest covers (python.Files:
// subfolders too, but no hidden folder, __pycache__ or virtual
// environment) and its requirements file, each an ordinary file of the
// bundle, so format 1 carries them unchanged. No interpreter, virtual
// environment or byte-code travels: the host runs the tools with its own
// Python, and Read refuses a Python folder that holds byte-code, which
// Python would run in place of the .py files the digest covers, and an
// interpreter given as a relative path, which would lead into the bundle.
//
// The manifest lists each file's path, size and SHA-256, and Digest, the
// bundle's content address: "sha256:" and the hex SHA-256 of the text
//
//	weir-bundle 1
//	entry <Entry>
//	<sha256>  <mode>  <path>     one line per file, in path order
//
// where every line ends in "\n" and mode is 0755 for an Exec file, else
// 0644. The digest depends on the files' contents, paths and modes and on
// the entry only: not on the weir version that built the bundle, nor on how
// the archive is compressed.
//
// # Determinism
//
// Build makes the same bytes from the same files, whatever their
// modification times, owners or permissions and the umask: entries are
// sorted, tar headers carry a zero time, uid and gid 0, no user or group
// names and mode 0644 or 0755, and the gzip header has no name and a zero
// time, with a fixed compression level. The weir version is written into the
// manifest, so two weir builds, or a Go release that compresses differently,
// may make different bytes for the same files: the content address is
// Digest, not a hash of the archive.
//
// # Signatures
//
// A signed bundle ends with one more entry, weir-bundle.sig, which the
// manifest does not list: the SSH signature (the armored SSHSIG format of
// ssh-keygen -Y sign, namespace weir-bundle) of the digest, the text
// "sha256:<hex>" with no newline. The digest covers every file, its mode
// and the entry, and Read checks that the manifest's flow name and version
// are the entry flow's, so the signature vouches for all that a host runs;
// only the manifest's weir field, which says which weir built the bundle,
// is outside it. The bundle stays one file that every host carries as it
// is, and OpenSSH can check it:
//
//	tar -xzf hello.weir weir-bundle.sig
//	printf %s sha256:3d5477… | ssh-keygen -Y verify -f allowed_signers \
//		-I release@example.com -n weir-bundle -s weir-bundle.sig
//
// BuildSigned signs; a Trust, a set of public keys, refuses a bundle that
// none of them signed.
//
// # Reading
//
// Read and Open treat a bundle as hostile input (it may be an HTTP upload):
// they check every path (relative, clean, no "..", no duplicates), every
// entry's type, every size and SHA-256 against the manifest and the digest
// against the file list, a signature against the digest, and stop reading
// past MaxSize, MaxFiles and MaxFlows. Then they parse the entry flow and
// every sub-flow it runs and refuse a flow that reaches outside the bundle:
// a plugin file, sub-flow or embedded file that is not one of the bundle's
// files (for a Python plugin, a file or folder of it, and its requirements
// file), a granted folder outside it or with write access. Their errors are
// *InvalidError values naming the file at fault, or the flow file, line and
// column. Extract writes through an os.Root, so that nothing lands outside
// its folder; an extracted bundle holds only regular files and folders, so
// no link leads out of it either.
package bundle
