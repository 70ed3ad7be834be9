package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/bundle"
	"github.com/weirflow/weir/internal/bytesize"
)

// wrote is the line weir bundle prints for the bundle at path.
func wrote(t *testing.T, path string) string {
	t.Helper()
	b, err := bundle.Open(path)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	m := b.Manifest()
	return fmt.Sprintf("wrote %s: flow %q, %s, %s, %s\n", path, m.Flow, count(len(m.Files), "file"), bytesize.Round(fi.Size()), m.Digest)
}

func TestBundle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "hello.weir")
	got := weir(t, "", "bundle", hello, "-o", out)
	require.Equal(t, 0, got.code, got.stderr)
	assert.Empty(t, got.stderr)
	assert.Equal(t, wrote(t, out), got.stdout)
	b, err := bundle.Open(out)
	require.NoError(t, err)
	m := b.Manifest()
	assert.Equal(t, "hello/flow.cue", m.Entry)
	assert.Equal(t, []string{"hello/flow.cue", "plugins/text/text.wasm"}, []string{m.Files[0].Path, m.Files[1].Path})

	// The same flow makes the same bytes; no temporary file is left.
	again := filepath.Join(dir, "again.weir")
	got = weir(t, "", "bundle", "-o", again, hello)
	require.Equal(t, 0, got.code, got.stderr)
	first, err := os.ReadFile(out)
	require.NoError(t, err)
	second, err := os.ReadFile(again)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(first, second), "two bundles of the same flow differ")
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	assert.Equal(t, []string{again, out}, names)
	fi, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

	// A bundle replaces the file it is written to.
	got = weir(t, "", "bundle", "-o", again, pipeline)
	require.Equal(t, 0, got.code, got.stderr)
	assert.Equal(t, wrote(t, again), got.stdout)
}

// The bundle is named after the flow by default, in the current folder.
// The test changes the working folder, so it cannot run in parallel.
func TestBundleDefaultName(t *testing.T) {
	flow, err := filepath.Abs("testdata/typed.cue")
	require.NoError(t, err)
	dir := t.TempDir()
	t.Chdir(dir)
	got := weir(t, "", "bundle", flow)
	require.Equal(t, 0, got.code, got.stderr)
	assert.Equal(t, wrote(t, "typed.weir"), got.stdout)
	assert.True(t, strings.HasPrefix(got.stdout, `wrote typed.weir: flow "typed", 1 file, `), got.stdout)

	// A flow whose name cannot name a file needs -o.
	require.NoError(t, os.WriteFile("odd.cue", []byte("name: \"a/b\"\nnodes: n: {tool: \"builtin.json\", inputs: value: 1}\noutputs: {}\n"), 0o644))
	got = weir(t, "", "bundle", "odd.cue")
	assert.Equal(t, result{2, "", `weir: flow "a/b": its name is not a file name: name the bundle with -o` + "\n" + usage("bundle")}, got)

	// A version shows in the line.
	require.NoError(t, os.WriteFile("v.cue", []byte("name: \"v\"\nversion: \"1.2.0\"\nnodes: n: {tool: \"builtin.json\", inputs: value: 1}\noutputs: {}\n"), 0o644))
	got = weir(t, "", "bundle", "v.cue")
	require.Equal(t, 0, got.code, got.stderr)
	assert.True(t, strings.HasPrefix(got.stdout, `wrote v.weir: flow "v" 1.2.0, 1 file, `), got.stdout)
}

func TestBundleErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "x.weir")
	// A flow that loads, but would write into its bundle: its problem is
	// printed as a flow's problems are, at the line of the entry.
	writes := filepath.Join(t.TempDir(), "writes.cue")
	require.NoError(t, os.WriteFile(writes, []byte(`name: "writes"
plugins: builtin: {builtin: true, grants: dirs: "/d": {path: ".", write: true}}
nodes: n: {tool: "builtin.json", inputs: value: 1}
outputs: v: "${n.output.value}"
`), 0o644))
	runCases(t, []commandCase{
		{
			name:   "flow that leaves its bundle",
			args:   []string{"bundle", "-o", out, writes},
			code:   1,
			stderr: writes + `:2:10: plugin "builtin": granted folder "/d": a plugin may not write into a bundle, whose files the server runs: grant the folder without write` + "\n",
		},
		{
			name:   "flow with problems",
			args:   []string{"bundle", "-o", out, "testdata/cycle.cue"},
			code:   1,
			stderr: "testdata/cycle.cue:4:2: cycle: a -> b -> a: break it by removing one of these references\n",
		},
		{
			name:   "no such flow",
			args:   []string{"bundle", "-o", out, "testdata/missing.cue"},
			code:   1,
			stderr: "weir: read flow: open testdata/missing.cue: no such file or directory\n",
		},
		{
			name:   "no such folder",
			args:   []string{"bundle", "-o", filepath.Join(dir, "nope", "x.weir"), "testdata/typed.cue"},
			code:   1,
			stderr: "weir: write " + filepath.Join(dir, "nope", "x.weir") + ": no such file or directory\n",
		},
		{
			name:   "a folder",
			args:   []string{"bundle", "-o", dir, "testdata/typed.cue"},
			code:   1,
			stderr: "weir: write " + dir + ": is a folder\n",
		},
		{
			name:   "no flow",
			args:   []string{"bundle"},
			code:   2,
			stderr: "weir: bundle takes 1 argument, got 0\n" + usage("bundle"),
		},
		{
			name:   "two flows",
			args:   []string{"bundle", "testdata/typed.cue", "testdata/slow.cue"},
			code:   2,
			stderr: "weir: bundle takes 1 argument, got 2\n" + usage("bundle"),
		},
		{
			name:   "no -o value",
			args:   []string{"bundle", "testdata/typed.cue", "-o"},
			code:   2,
			stderr: "weir: flag needs an argument: 'o' in -o\n" + usage("bundle"),
		},
	})
	// Nothing was written.
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	assert.Empty(t, names)
}

func TestBundleInspect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	flow := filepath.Join(dir, "flows", "echo.cue")
	sub := filepath.Join(dir, "flows", "sub", "inner.cue")
	flowSrc := "name: \"echo\"\nversion: \"2\"\nnodes: n: {flow: \"sub/inner.cue\", inputs: {}}\noutputs: v: \"${n.output.v}\"\n"
	subSrc := "name: \"inner\"\nnodes: n: {tool: \"builtin.json\", inputs: value: 1}\noutputs: v: \"${n.output.value}\"\n"
	require.NoError(t, os.MkdirAll(filepath.Dir(sub), 0o755))
	require.NoError(t, os.WriteFile(flow, []byte(flowSrc), 0o644))
	require.NoError(t, os.WriteFile(sub, []byte(subSrc), 0o644))
	out := filepath.Join(dir, "echo.weir")
	got := weir(t, "", "bundle", "-o", out, flow)
	require.Equal(t, 0, got.code, got.stderr)
	b, err := bundle.Open(out)
	require.NoError(t, err)
	m := b.Manifest()

	sum := func(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }
	table := fmt.Sprintf(`flow       echo
version    2
weir       %s
entry      echo.cue
files      2 (197 B)
digest     %s
signed by  -

FILE           SIZE   MODE  SHA-256
echo.cue       100 B  0644  %s
sub/inner.cue  97 B   0644  %s
`, engine.Version(), m.Digest, sum(flowSrc), sum(subSrc))
	manifest, err := json.MarshalIndent(m, "", "  ")
	require.NoError(t, err)

	damaged := filepath.Join(dir, "damaged.weir")
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(damaged, data[:len(data)-20], 0o644))
	notBundle := filepath.Join(dir, "flows", "echo.cue")

	runCases(t, []commandCase{
		{name: "table", args: []string{"bundle", "inspect", out}, stdout: table},
		{name: "json", args: []string{"bundle", "inspect", "-o", "json", out}, stdout: string(manifest) + "\n"},
		{
			name:   "not a bundle",
			args:   []string{"bundle", "inspect", notBundle},
			code:   1,
			stderr: "weir: read bundle " + notBundle + ": not a weir bundle (a tar archive compressed with gzip)\n",
		},
		{
			name:   "damaged",
			args:   []string{"bundle", "inspect", damaged},
			code:   1,
			stderr: "weir: read bundle " + damaged + ": broken archive: it ends too early\n",
		},
		{
			name:   "missing",
			args:   []string{"bundle", "inspect", filepath.Join(dir, "missing.weir")},
			code:   1,
			stderr: "weir: read bundle: open " + filepath.Join(dir, "missing.weir") + ": no such file or directory\n",
		},
		{
			name:   "bad output format",
			args:   []string{"bundle", "inspect", "-o", "yaml", out},
			code:   2,
			stderr: `weir: -o must be table or json, not "yaml"` + "\n" + usage("bundle inspect"),
		},
		{
			name:   "no file",
			args:   []string{"bundle", "inspect"},
			code:   2,
			stderr: "weir: bundle inspect takes 1 argument, got 0\n" + usage("bundle inspect"),
		},
	})
}

// Every example of weir bundle --help works as written, writing into a
// temporary folder and signing with a key made for the test.
func TestBundleHelpExamples(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, cmd := range [][]string{{"bundle"}, {"bundle", "inspect"}} {
		help := weir(t, "", append(cmd, "--help")...)
		require.Equal(t, 0, help.code)
		ex := examples(help.stdout)
		require.NotEmpty(t, ex)
		for _, line := range ex {
			words := strings.Fields(line)
			require.Equal(t, "weir", words[0])
			args := words[1:]
			for i, a := range args {
				switch {
				case i > 0 && args[i-1] == "--sign":
					// A key of the test's own, where the example names the user's.
					args[i] = filepath.Join(dir, "key")
					writeKey(t, args[i], "")
				case strings.HasPrefix(a, "examples/"):
					args[i] = "../../" + a
				case strings.HasSuffix(a, ".weir"):
					args[i] = filepath.Join(dir, a)
				}
			}
			got := weir(t, "", args...)
			assert.Equal(t, 0, got.code, "%s: %s", line, got.stderr)
			assert.NotEmpty(t, got.stdout, line)
		}
	}
}
