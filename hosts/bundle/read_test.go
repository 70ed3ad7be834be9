package bundle_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/weirflow/weir/hosts/bundle"
)

func sha256Sum(data []byte) []byte {
	sum := sha256.Sum256(data)
	return sum[:]
}

// entry is one entry of a tar archive.
type entry struct {
	hdr  tar.Header
	body []byte
}

// untar returns the entries of a bundle.
func untar(t *testing.T, data []byte) []entry {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	var entries []entry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return entries
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		entries = append(entries, entry{*hdr, body})
	}
}

// archive makes a tar.gz of the entries, as they are.
func archive(entries ...entry) []byte {
	return gzipped(tarOf(entries...))
}

// tarOf makes a tar archive of the entries.
func tarOf(entries ...entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.hdr
		if hdr.Typeflag == tar.TypeReg && hdr.Size == 0 {
			hdr.Size = int64(len(e.body))
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			panic(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// file is a regular file entry.
func file(name, body string) entry {
	return entry{tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644}, []byte(body)}
}

// fixtureFlow is the flow of the fixture, which runs its go-plugin.
const fixtureFlow = `name: "x"
plugins: tool: goplugin: "../plugins/tool"
nodes: n: tool: "tool.run"
outputs: out: "${n.output}"
`

// fixture is a small bundle made by hand: two files and their manifest.
type fixture struct {
	m     bundle.Manifest
	files []entry
}

func newFixture() *fixture {
	flow := file("flows/flow.cue", fixtureFlow)
	tool := file("plugins/tool", "#!/bin/sh\n")
	tool.hdr.Mode = 0o755
	fx := &fixture{
		m: bundle.Manifest{Format: 1, Flow: "x", Weir: "devel", Entry: "flows/flow.cue", Files: []bundle.File{
			{Path: "flows/flow.cue", SHA256: fmt.Sprintf("%x", sha256Sum(flow.body)), Size: int64(len(flow.body))},
			{Path: "plugins/tool", SHA256: fmt.Sprintf("%x", sha256Sum(tool.body)), Size: int64(len(tool.body)), Exec: true},
		}},
		files: []entry{flow, tool},
	}
	fx.m.Digest = fx.digest()
	return fx
}

// digest computes the manifest's digest as the package documentation says.
func (fx *fixture) digest() string {
	var canon strings.Builder
	fmt.Fprintf(&canon, "weir-bundle 1\nentry %s\n", fx.m.Entry)
	for _, f := range fx.m.Files {
		mode := "0644"
		if f.Exec {
			mode = "0755"
		}
		canon.WriteString(f.SHA256 + "  " + mode + "  " + f.Path + "\n")
	}
	return fmt.Sprintf("sha256:%x", sha256Sum([]byte(canon.String())))
}

func (fx *fixture) manifest() entry {
	data, err := json.Marshal(fx.m)
	if err != nil {
		panic(err)
	}
	return entry{tar.Header{Typeflag: tar.TypeReg, Name: "weir-bundle.json"}, data}
}

func (fx *fixture) bytes() []byte {
	return archive(append([]entry{fx.manifest()}, fx.files...)...)
}

// gzipped compresses data.
func gzipped(data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(data)
	_ = zw.Close()
	return buf.Bytes()
}

// readCases are bundles Read must refuse, and what it says. The fuzz seed
// corpus holds them too.
func readCases() []struct {
	name string
	data []byte
	want string
} {
	type tc = struct {
		name string
		data []byte
		want string
	}
	valid := newFixture().bytes()
	with := func(edit func(fx *fixture)) []byte {
		fx := newFixture()
		edit(fx)
		return fx.bytes()
	}
	// withManifest edits the manifest and computes its digest again, so that
	// only the edit is wrong.
	withManifest := func(edit func(m *bundle.Manifest)) []byte {
		return with(func(fx *fixture) {
			edit(&fx.m)
			fx.m.Digest = fx.digest()
		})
	}
	const anySHA = "d6d4ec1fa2b0d9d8b28c5d2a6f07fe3a1c1ca26dd1e3fb86e8c3ab3e7b9dbbd4"
	return []tc{
		{"empty", nil, "read bundle: not a weir bundle (a tar archive compressed with gzip)"},
		{"text", []byte("name: \"x\"\n"), "read bundle: not a weir bundle (a tar archive compressed with gzip)"},
		{"plain tar", tarOf(newFixture().manifest()), "read bundle: not a weir bundle (a tar archive compressed with gzip)"},
		{"gzip header cut", valid[:5], "read bundle: broken archive: it ends too early"},
		{"gzip of text", gzipped([]byte(strings.Repeat("not a tar archive\n", 40))), "read bundle: not a weir bundle: the gzip data is not a tar archive"},
		{"cut short", valid[:len(valid)/2], "read bundle: broken archive: it ends too early"},
		{"empty archive", archive(), "read bundle: no manifest: the archive is empty"},
		{"manifest not first", archive(file("flows/flow.cue", "x"), newFixture().manifest()),
			`read bundle: no manifest: the first file is "flows/flow.cue", not weir-bundle.json`},
		{"manifest not JSON", archive(file("weir-bundle.json", "{format: 1}")),
			`read bundle: file "weir-bundle.json": not a manifest: invalid character 'f' looking for beginning of object key string`},
		{"manifest of the wrong shape", archive(file("weir-bundle.json", `{"format": "1"}`)),
			`read bundle: file "weir-bundle.json": not a manifest: json: cannot unmarshal string into Go struct field Manifest.format of type int`},
		{"manifest a link", archive(entry{tar.Header{Typeflag: tar.TypeSymlink, Name: "weir-bundle.json", Linkname: "/etc/passwd"}, nil}),
			`read bundle: file "weir-bundle.json": a symbolic link, not a regular file`},
		{"manifest too large", archive(file("weir-bundle.json", strings.Repeat(" ", 1<<20+1))),
			`read bundle: file "weir-bundle.json": over the 1 MiB limit`},
		{"unknown format", withManifest(func(m *bundle.Manifest) { m.Format = 2 }),
			`read bundle: file "weir-bundle.json": unknown format 2: this weir reads format 1`},
		{"no format", archive(file("weir-bundle.json", `{}`)),
			`read bundle: file "weir-bundle.json": unknown format 0: this weir reads format 1`},
		{"no flow name", withManifest(func(m *bundle.Manifest) { m.Flow = "" }),
			`read bundle: file "weir-bundle.json": no flow name`},
		{"entry not a file", withManifest(func(m *bundle.Manifest) { m.Entry = "flow.cue" }),
			`read bundle: file "weir-bundle.json": the entry "flow.cue" is not one of the files`},
		{"digest mismatch", with(func(fx *fixture) { fx.m.Digest = "sha256:" + strings.Repeat("0", 64) }),
			`read bundle: file "weir-bundle.json": digest mismatch: the manifest says "sha256:` + strings.Repeat("0", 64) + `", its files make ` + newFixture().digest()},
		{"exec bit flipped", with(func(fx *fixture) { fx.m.Files[1].Exec = false }),
			`read bundle: file "weir-bundle.json": digest mismatch: the manifest says "` + newFixture().digest() + `", its files make ` +
				withExec(newFixture(), false)},
		{"absolute path", withManifest(func(m *bundle.Manifest) { m.Files[1].Path = "/plugins/tool" }),
			`read bundle: file "/plugins/tool": absolute path`},
		{"dot dot", withManifest(func(m *bundle.Manifest) { m.Files[1].Path = "plugins/../../tool" }),
			`read bundle: file "plugins/../../tool": path with a .. element`},
		{"dot", withManifest(func(m *bundle.Manifest) { m.Files[1].Path = "plugins/./tool" }),
			`read bundle: file "plugins/./tool": path that is not clean (. elements, doubled or trailing slashes)`},
		{"backslash", withManifest(func(m *bundle.Manifest) { m.Files[1].Path = `plugins\..\..\tool` }),
			`read bundle: file "plugins\\..\\..\\tool": path with a backslash or a control character`},
		{"newline", withManifest(func(m *bundle.Manifest) { m.Files[1].Path = "plugins/tool\nx" }),
			`read bundle: file "plugins/tool\nx": path with a backslash or a control character`},
		{"listed twice", withManifest(func(m *bundle.Manifest) { m.Files[1] = m.Files[0] }),
			`read bundle: file "flows/flow.cue": listed twice in the manifest`},
		{"not sorted", withManifest(func(m *bundle.Manifest) { m.Files[0], m.Files[1] = m.Files[1], m.Files[0] }),
			`read bundle: file "flows/flow.cue": the manifest's files are not sorted by path`},
		{"manifest lists itself", withManifest(func(m *bundle.Manifest) { m.Files[1].Path = "weir-bundle.json" }),
			`read bundle: file "weir-bundle.json": the manifest lists itself`},
		{"file and folder", withManifest(func(m *bundle.Manifest) { m.Files[1].Path = "flows/flow.cue/tool" }),
			`read bundle: file "flows/flow.cue": both a file and a folder in the manifest`},
		{"bad SHA-256", withManifest(func(m *bundle.Manifest) { m.Files[0].SHA256 = strings.ToUpper(anySHA) }),
			`read bundle: file "flows/flow.cue": invalid SHA-256 "` + strings.ToUpper(anySHA) + `" in the manifest`},
		{"negative size", withManifest(func(m *bundle.Manifest) { m.Files[0].Size = -1 }),
			`read bundle: file "flows/flow.cue": invalid size -1 in the manifest`},
		{"too many files", withManifest(func(m *bundle.Manifest) {
			m.Files = nil
			for i := range 4097 {
				m.Files = append(m.Files, bundle.File{Path: fmt.Sprintf("f%05d", i), SHA256: anySHA})
			}
			m.Entry = "f00000"
		}), `read bundle: file "weir-bundle.json": 4097 files, over the limit of 4096`},
		{"too large", withManifest(func(m *bundle.Manifest) { m.Files[1].Size = 600 << 20 }),
			`read bundle: over the 512 MiB limit`},
		{"flows too large", withManifest(func(m *bundle.Manifest) {
			m.Files = append(m.Files, bundle.File{Path: "plugins/x.json", SHA256: anySHA, Size: 16<<20 - m.Files[0].Size + 1})
		}), `read bundle: file "plugins/x.json": the flow files (.cue, .yaml, .yml, .json) add up to over the 16 MiB limit`},
		{"content mismatch", with(func(fx *fixture) { fx.files[1].body = []byte("#!/bin/rm\n") }),
			`read bundle: file "plugins/tool": SHA-256 mismatch: the manifest says ` + newFixture().m.Files[1].SHA256 +
				`, the content is ` + fmt.Sprintf("%x", sha256Sum([]byte("#!/bin/rm\n")))},
		{"size mismatch", with(func(fx *fixture) { fx.files[1].body = []byte("#!/bin/sh\n\n") }),
			`read bundle: file "plugins/tool": size mismatch: the manifest says 10 bytes, the archive holds 11`},
		{"file not in the manifest", with(func(fx *fixture) { fx.files = append(fx.files, file("plugins/extra", "")) }),
			`read bundle: file "plugins/extra": in the archive but not in the manifest`},
		{"file missing", with(func(fx *fixture) { fx.files = fx.files[:1] }),
			`read bundle: file "plugins/tool": in the manifest but not in the archive`},
		{"file twice", with(func(fx *fixture) { fx.files = append(fx.files, fx.files[1]) }),
			`read bundle: file "plugins/tool": twice in the archive`},
		{"symlink", with(func(fx *fixture) {
			fx.files[1] = entry{tar.Header{Typeflag: tar.TypeSymlink, Name: "plugins/tool", Linkname: "../../../etc/passwd"}, nil}
		}), `read bundle: file "plugins/tool": a symbolic link, not a regular file`},
		{"hard link", with(func(fx *fixture) {
			fx.files[1] = entry{tar.Header{Typeflag: tar.TypeLink, Name: "plugins/tool", Linkname: "flows/flow.cue"}, nil}
		}), `read bundle: file "plugins/tool": a hard link, not a regular file`},
		{"folder", with(func(fx *fixture) {
			fx.files = append([]entry{{tar.Header{Typeflag: tar.TypeDir, Name: "flows/"}, nil}}, fx.files...)
		}), `read bundle: file "flows/": a folder, not a regular file`},
		{"device", with(func(fx *fixture) {
			fx.files[1] = entry{tar.Header{Typeflag: tar.TypeChar, Name: "plugins/tool", Devmajor: 1, Devminor: 3}, nil}
		}), `read bundle: file "plugins/tool": a device, not a regular file`},
		{"fifo", with(func(fx *fixture) {
			fx.files[1] = entry{tar.Header{Typeflag: tar.TypeFifo, Name: "plugins/tool"}, nil}
		}), `read bundle: file "plugins/tool": a named pipe, not a regular file`},
		{"escaping entry", with(func(fx *fixture) { fx.files = append(fx.files, file("../../evil", "x")) }),
			`read bundle: file "../../evil": in the archive but not in the manifest`},
		{"signature of another bundle", with(func(fx *fixture) {
			fx.files = append(fx.files, file("weir-bundle.sig", string(signature(testKey(1), "sha256:"+strings.Repeat("0", 64), "weir-bundle"))))
		}), `read bundle: file "weir-bundle.sig": the signature by ssh-ed25519 ` + ssh.FingerprintSHA256(testKey(1).PublicKey()) +
			` does not match the bundle's digest: the bundle was changed after it was signed`},
		{"signature for git", with(func(fx *fixture) {
			fx.files = append(fx.files, file("weir-bundle.sig", string(signature(testKey(1), fx.m.Digest, "git"))))
		}), `read bundle: file "weir-bundle.sig": a signature for the namespace "git", not weir-bundle`},
		{"signature not armored", with(func(fx *fixture) { fx.files = append(fx.files, file("weir-bundle.sig", "SSHSIG")) }),
			`read bundle: file "weir-bundle.sig": not an SSH signature (ssh-keygen -Y sign): invalid PEM block`},
		{"signature too large", with(func(fx *fixture) {
			fx.files = append(fx.files, file("weir-bundle.sig", strings.Repeat("x", 64<<10+1)))
		}), `read bundle: file "weir-bundle.sig": over the 64 KiB limit`},
		{"signature a link", with(func(fx *fixture) {
			fx.files = append(fx.files, entry{tar.Header{Typeflag: tar.TypeSymlink, Name: "weir-bundle.sig", Linkname: "/etc/passwd"}, nil})
		}), `read bundle: file "weir-bundle.sig": a symbolic link, not a regular file`},
		{"entry after the signature", with(func(fx *fixture) {
			sig := file("weir-bundle.sig", string(signature(testKey(1), fx.m.Digest, "weir-bundle")))
			fx.files = []entry{fx.files[0], sig, fx.files[1]}
		}), `read bundle: file "plugins/tool": after weir-bundle.sig, which must be the last entry`},
		{"manifest lists the signature", withManifest(func(m *bundle.Manifest) { m.Files[1].Path = "weir-bundle.sig" }),
			`read bundle: file "weir-bundle.sig": the manifest lists the signature, which is no file of the bundle`},
	}
}

// withExec returns the digest of the fixture with the tool's exec bit set
// to exec.
func withExec(fx *fixture, exec bool) string {
	fx.m.Files[1].Exec = exec
	return fx.digest()
}

func TestRead(t *testing.T) {
	t.Parallel()
	fx := newFixture()
	b, err := bundle.Read(fx.bytes())
	require.NoError(t, err)
	assert.Equal(t, fx.m, b.Manifest())
	// Manifest returns a copy.
	b.Manifest().Files[0].Path = "changed"
	assert.Equal(t, fx.m, b.Manifest())
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range readCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := bundle.Read(tc.data)
			assert.Nil(t, b)
			assert.EqualError(t, err, tc.want)
			var ie *bundle.InvalidError
			assert.ErrorAs(t, err, &ie)
		})
	}
}

func TestReadLimits(t *testing.T) {
	t.Parallel()
	_, err := bundle.Read(readCaseData(t, "too large"))
	assert.ErrorIs(t, err, bundle.ErrTooLarge)
	_, err = bundle.Read(readCaseData(t, "too many files"))
	assert.ErrorIs(t, err, bundle.ErrTooLarge)
	_, err = bundle.Read(readCaseData(t, "manifest too large"))
	assert.ErrorIs(t, err, bundle.ErrTooLarge)
	_, err = bundle.Read(readCaseData(t, "flows too large"))
	assert.ErrorIs(t, err, bundle.ErrTooLarge)
	_, err = bundle.Read(readCaseData(t, "signature too large"))
	assert.ErrorIs(t, err, bundle.ErrTooLarge)
	_, err = bundle.Read(readCaseData(t, "digest mismatch"))
	assert.NotErrorIs(t, err, bundle.ErrTooLarge)

}

// Read stops decompressing past its limit, whatever the archive says. The
// limit is lowered for the test, which cannot run in parallel.
func TestReadStreamLimit(t *testing.T) {
	bundle.SetMaxStream(t, 64<<10)
	fx := newFixture()
	big := file("zbig", strings.Repeat("x", 100<<10))
	fx.files = append(fx.files, big)
	fx.m.Files = append(fx.m.Files, bundle.File{Path: "zbig", SHA256: fmt.Sprintf("%x", sha256Sum(big.body)), Size: int64(len(big.body))})
	fx.m.Digest = fx.digest()
	_, err := bundle.Read(fx.bytes())
	assert.EqualError(t, err, "read bundle: over the 512 MiB limit")
	assert.ErrorIs(t, err, bundle.ErrTooLarge)

	path := filepath.Join(t.TempDir(), "big.weir")
	require.NoError(t, os.WriteFile(path, make([]byte, 65<<10), 0o644))
	_, err = bundle.Open(path)
	assert.EqualError(t, err, "read bundle "+path+": over the 512 MiB limit")
}

func readCaseData(t *testing.T, name string) []byte {
	t.Helper()
	for _, tc := range readCases() {
		if tc.name == name {
			return tc.data
		}
	}
	t.Fatalf("no read case %q", name)
	return nil
}

func TestOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.weir")
	require.NoError(t, os.WriteFile(path, newFixture().bytes(), 0o644))
	b, err := bundle.Open(path)
	require.NoError(t, err)
	assert.Equal(t, "x", b.Manifest().Flow)

	_, err = bundle.Open(filepath.Join(dir, "missing.weir"))
	assert.EqualError(t, err, "read bundle: open "+filepath.Join(dir, "missing.weir")+": no such file or directory")
	_, err = bundle.Open(dir)
	assert.EqualError(t, err, "read bundle "+dir+": not a regular file")

	bad := filepath.Join(dir, "bad.weir")
	require.NoError(t, os.WriteFile(bad, readCaseData(t, "content mismatch"), 0o644))
	_, err = bundle.Open(bad)
	assert.ErrorContains(t, err, "read bundle "+bad+`: file "plugins/tool": SHA-256 mismatch: the manifest says `)
}

func TestExtract(t *testing.T) {
	t.Parallel()
	fx := newFixture()
	b, err := bundle.Read(fx.bytes())
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "a", "b")
	flowPath, err := b.Extract(dir)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "flows", "flow.cue"), flowPath)
	for _, e := range fx.files {
		path := filepath.Join(dir, filepath.FromSlash(e.hdr.Name))
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, e.body, got)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(e.hdr.Mode), fi.Mode().Perm(), e.hdr.Name)
	}

	t.Run("never replaces a file", func(t *testing.T) {
		_, err := b.Extract(dir)
		assert.EqualError(t, err, `extract bundle: file "flows/flow.cue": openat flows/flow.cue: file exists`)
	})
	t.Run("follows no link out", func(t *testing.T) {
		dir := t.TempDir()
		outside := t.TempDir()
		require.NoError(t, os.Symlink(outside, filepath.Join(dir, "plugins")))
		_, err := b.Extract(dir)
		assert.EqualError(t, err, `extract bundle: file "plugins/tool": mkdirat plugins: statat plugins: path escapes from parent`)
		entries, err := os.ReadDir(outside)
		require.NoError(t, err)
		assert.Empty(t, entries)
	})
	t.Run("checks again", func(t *testing.T) {
		data := fx.bytes()
		b, err := bundle.Read(data)
		require.NoError(t, err)
		copy(data, readCaseData(t, "content mismatch"))
		_, err = b.Extract(t.TempDir())
		var ie *bundle.InvalidError
		assert.True(t, errors.As(err, &ie), "%v", err)
	})
}
