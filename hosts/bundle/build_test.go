package bundle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/bundle"
	"github.com/weirflow/weir/internal/testbuild"
)

// tree is a flow with a Wasm plugin, a go-plugin and a sub-flow that shares
// the Wasm file; greet is a flow of builtin tools with a sub-flow.
const (
	tree  = "testdata/tree/main/flow.cue"
	greet = "testdata/builtin/flow.cue"
)

// build bundles the flow at path in memory.
func build(t *testing.T, path string) ([]byte, *bundle.Manifest) {
	t.Helper()
	var buf bytes.Buffer
	m, err := bundle.Build(path, &buf)
	require.NoError(t, err)
	return buf.Bytes(), m
}

// sha256Of returns the hex SHA-256 of the file at path.
func sha256Of(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return fmt.Sprintf("%x", sha256Sum(data))
}

func TestBuild(t *testing.T) {
	t.Parallel()
	data, m := build(t, tree)
	file := func(path string, exec bool) bundle.File {
		full := filepath.Join("testdata/tree", path)
		fi, err := os.Stat(full)
		require.NoError(t, err)
		return bundle.File{Path: path, SHA256: sha256Of(t, full), Size: fi.Size(), Exec: exec}
	}
	want := bundle.Manifest{
		Format:  1,
		Flow:    "main",
		Version: "1.2.0",
		Weir:    engine.Version(),
		Entry:   "main/flow.cue",
		Files: []bundle.File{
			file("bin/tool", true),
			file("main/flow.cue", false),
			file("main/sub/format.cue", false),
			file("plugins/up.wasm", false),
		},
	}
	// The digest, as the package documentation defines it.
	canon := "weir-bundle 1\nentry main/flow.cue\n"
	for _, f := range want.Files {
		mode := "0644"
		if f.Exec {
			mode = "0755"
		}
		canon += f.SHA256 + "  " + mode + "  " + f.Path + "\n"
	}
	want.Digest = fmt.Sprintf("sha256:%x", sha256Sum([]byte(canon)))
	assert.Equal(t, &want, m)

	// The archive: the manifest first, as Build returned it, then the files
	// in path order, with fixed headers.
	entries := untar(t, data)
	require.Len(t, entries, 5)
	assert.Equal(t, "weir-bundle.json", entries[0].hdr.Name)
	var got bundle.Manifest
	require.NoError(t, json.Unmarshal(entries[0].body, &got))
	assert.Equal(t, want, got)
	for i, f := range want.Files {
		e := entries[i+1]
		assert.Equal(t, f.Path, e.hdr.Name)
		mode := int64(0o644)
		if f.Exec {
			mode = 0o755
		}
		assert.Equal(t, mode, e.hdr.Mode, f.Path)
		assert.Equal(t, 0, e.hdr.Uid)
		assert.Equal(t, 0, e.hdr.Gid)
		assert.Empty(t, e.hdr.Uname)
		assert.Empty(t, e.hdr.Gname)
		assert.Equal(t, int64(0), e.hdr.ModTime.Unix())
		body, err := os.ReadFile(filepath.Join("testdata/tree", f.Path))
		require.NoError(t, err)
		assert.Equal(t, body, e.body)
	}

	b, err := bundle.Read(data)
	require.NoError(t, err)
	assert.Equal(t, want, b.Manifest())
}

// The same files make the same bytes, wherever they are and whatever their
// times and modes.
func TestBuildDeterministic(t *testing.T) {
	t.Parallel()
	want, _ := build(t, tree)

	copyTree := func(mode fs.FileMode, mtime time.Time) string {
		dir := t.TempDir()
		require.NoError(t, os.CopyFS(dir, os.DirFS("testdata/tree")))
		require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			require.NoError(t, err)
			if !d.IsDir() {
				require.NoError(t, os.Chmod(path, mode))
			}
			return os.Chtimes(path, mtime, mtime)
		}))
		return dir
	}
	for _, dir := range []string{
		copyTree(0o600, time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)),
		copyTree(0o755, time.Now().Add(time.Hour)),
	} {
		got, _ := build(t, filepath.Join(dir, "main", "flow.cue"))
		assert.True(t, bytes.Equal(want, got), "the bundle of the copy in %s differs", dir)
		// By an absolute path, and from another working folder's view.
		abs, err := filepath.Abs(tree)
		require.NoError(t, err)
		got, _ = build(t, abs)
		assert.True(t, bytes.Equal(want, got), "the bundle by absolute path differs")
	}
}

func TestBuildGreet(t *testing.T) {
	t.Parallel()
	_, m := build(t, greet)
	assert.Equal(t, "greet", m.Flow)
	assert.Empty(t, m.Version)
	assert.Equal(t, "flow.cue", m.Entry)
	assert.Equal(t, []string{"flow.cue", "upper.cue"}, paths(m.Files))
}

// TestBuildEmbed shows that a bundle holds the files its flow embeds.
func TestBuildEmbed(t *testing.T) {
	t.Parallel()
	_, m := build(t, "testdata/embed/flow.cue")
	assert.Equal(t, []string{"flow.cue", "prompts/greet.jinja2"}, paths(m.Files))
	assert.Equal(t, sha256Of(t, "testdata/embed/prompts/greet.jinja2"), m.Files[1].SHA256)
}

// BuildFlow bundles a loaded flow as Build bundles its file, from the
// flow files as the engine parsed them: a file changed since is not read.
func TestBuildFlow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("testdata/builtin")))
	path := filepath.Join(dir, "flow.cue")
	want, _ := build(t, path)

	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	defer e.Close()
	f, err := e.Load(context.Background(), path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "upper.cue"), []byte("changed"), 0o644))
	var buf bytes.Buffer
	_, err = bundle.BuildFlow(f, nil, &buf)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, buf.Bytes()), "the bundle of the loaded flow differs")
}

func paths(files []bundle.File) []string {
	var p []string
	for _, f := range files {
		p = append(p, f.Path)
	}
	return p
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		return path
	}
	wasm := write("plugins/x.wasm", "\x00asm")
	absWasm, err := filepath.Abs(wasm)
	require.NoError(t, err)
	write("flows/sub.cue", `name: "sub"
nodes: n: tool: "builtin.json"
outputs: {}
`)
	const nodes = "nodes: n: {tool: \"builtin.json\", inputs: value: 1}\noutputs: {}\n"
	pin := "0000000000000000000000000000000000000000000000000000000000000000"
	cases := []struct {
		name, flow string
		want       string
	}{
		{
			name: "syntax",
			flow: "name: \"x\"\nnodes: {\n",
			want: "%s:2:10: expected '}', found 'EOF'",
		},
		{
			name: "missing plugin",
			flow: "name: \"x\"\nplugins: text: wasm: \"../plugins/missing.wasm\"\n" + nodes,
			want: `bundle %s: plugin "text": open ` + filepath.Join(dir, "plugins", "missing.wasm") + ": no such file or directory",
		},
		{
			name: "plugin is a folder",
			flow: "name: \"x\"\nplugins: text: wasm: \"../plugins\"\n" + nodes,
			want: `bundle %s: plugin "text": ` + filepath.Join(dir, "plugins") + " is not a regular file",
		},
		{
			name: "missing sub-flow",
			flow: "name: \"x\"\nnodes: n: flow: \"nope.cue\"\noutputs: {}\n",
			want: `bundle %s: node "n": read flow: open ` + filepath.Join(dir, "flows", "nope.cue") + ": no such file or directory",
		},
		{
			name: "sub-flow with an error",
			flow: "name: \"x\"\nnodes: n: flow: \"../bad.cue\"\noutputs: {}\n",
			want: filepath.Join(dir, "bad.cue") + `:1:1: missing field "name": add name: "my-flow"`,
		},
		{
			name: "absolute plugin path",
			flow: fmt.Sprintf("name: \"x\"\nplugins: text: wasm: %q\n", absWasm) + nodes,
			want: `%s:2:10: plugin "text": the path ` + absWasm + " is absolute: a flow in a bundle reaches only the bundle's files, by paths relative to the flow file",
		},
		{
			name: "absolute sub-flow path",
			flow: fmt.Sprintf("name: \"x\"\nnodes: n: flow: %q\noutputs: {}\n", filepath.Join(dir, "flows", "sub.cue")),
			want: `%s:2:17: node "n": the path ` + filepath.Join(dir, "flows", "sub.cue") + " is absolute: a flow in a bundle reaches only the bundle's files, by paths relative to the flow file",
		},
		{
			name: "granted folder outside",
			flow: "name: \"x\"\nplugins: text: {wasm: \"../plugins/x.wasm\", grants: dirs: \"/data\": path: \"../../data\"}\n" + nodes,
			want: `%s:2:10: plugin "text": granted folder "/data": the path ../../data leads outside the bundle: a flow in a bundle reaches only the bundle's files`,
		},
		{
			name: "granted folder with write",
			flow: "name: \"x\"\nplugins: text: {wasm: \"../plugins/x.wasm\", grants: dirs: \"/data\": {path: \"../plugins\", write: true}}\n" + nodes,
			want: `%s:2:10: plugin "text": granted folder "/data": a plugin may not write into a bundle, whose files the server runs: grant the folder without write`,
		},
		{
			name: "a file named as the signature",
			flow: "name: \"x\"\nplugins: text: wasm: \"../weir-bundle.sig\"\n" + nodes,
			want: "bundle %s: file " + filepath.Join(dir, "weir-bundle.sig") + ": the signature has that path in a bundle: rename it",
		},
		{
			name: "pinned digest",
			flow: fmt.Sprintf("name: \"x\"\nplugins: text: {wasm: \"../plugins/x.wasm\", sha256: %q}\n", pin) + nodes,
			want: `bundle %s: plugin "text": the sha256 of ` + filepath.Join(dir, "plugins", "x.wasm") + " is " + sha256Of(t, wasm) + ", but the flow pins " + pin,
		},
		{
			name: "missing embedded file",
			flow: "name: \"x\"\n" + nodes + "description: _ @embed(file=\"nope.jinja2\", type=text)\n",
			want: `bundle %s: embed "nope.jinja2": open ` + filepath.Join(dir, "flows", "nope.jinja2") + ": no such file or directory",
		},
		{
			name: "embedded file out of the folder",
			flow: "name: \"x\"\n" + nodes + "description: _ @embed(file=\"../bad.cue\", type=text)\n",
			want: `%s:4:16: embed "../bad.cue": the path leads out of the flow's folder: embedded files must be inside the flow's folder`,
		},
		{
			name: "a file named as the manifest",
			flow: "name: \"x\"\nplugins: text: wasm: \"../weir-bundle.json\"\n" + nodes,
			want: "bundle %s: file " + filepath.Join(dir, "weir-bundle.json") + ": the manifest has that path in a bundle: rename it",
		},
		{
			name: "a name a bundle cannot hold",
			flow: "name: \"x\"\nplugins: text: wasm: \"../a\\\\b.wasm\"\n" + nodes,
			want: "bundle %s: file " + filepath.Join(dir, `a\b.wasm`) + ": path with a backslash or a control character: rename it",
		},
	}
	write("bad.cue", "nodes: {}\n")
	write("weir-bundle.json", "{}")
	write("weir-bundle.sig", "")
	write(`a\b.wasm`, "")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			flow := write(filepath.Join("flows", tc.name+".cue"), tc.flow)
			var buf bytes.Buffer
			m, err := bundle.Build(flow, &buf)
			assert.Nil(t, m)
			want := tc.want
			if bytes.Contains([]byte(want), []byte("%s")) {
				want = fmt.Sprintf(want, flow)
			}
			assert.EqualError(t, err, want)
		})
	}
	t.Run("missing flow", func(t *testing.T) {
		_, err := bundle.Build(filepath.Join(dir, "missing.cue"), &bytes.Buffer{})
		assert.EqualError(t, err, "read flow: open "+filepath.Join(dir, "missing.cue")+": no such file or directory")
	})
}

// An extracted bundle loads and runs as its flow does, from anywhere.
func TestExtractRuns(t *testing.T) {
	if _, err := testbuild.TextPlugin("../.."); err != nil {
		t.Fatal("build the text plugin, which examples/hello uses:", err)
	}
	cases := []struct {
		flow   string
		inputs map[string]any
		want   string
	}{
		{"../../examples/hello/flow.cue", map[string]any{"name": "Ada", "loud": true}, `{"message":"Hello, Ada!","shouted":"HELLO, ADA!"}`},
		{"../../examples/pipeline/flow.cue", map[string]any{"title": "hi", "text": "there"}, `{"details":null,"page":"# HI\n\nthere"}`},
		{greet, map[string]any{"name": "Ada"}, `{"message":"HELLO, ADA!"}`},
		{"testdata/embed/flow.cue", map[string]any{"name": "Ada"}, `{"text":"Hello, Ada!\n"}`},
	}
	if !testing.Short() {
		if _, err := testbuild.NativePlugin("../.."); err != nil {
			t.Fatal("build the native plugin, which examples/mixed uses:", err)
		}
		cases = append(cases, struct {
			flow   string
			inputs map[string]any
			want   string
		}{"../../examples/mixed/flow.cue", map[string]any{"text": "weir"},
			`{"report":"WEIR has sha256 b660b8269494059dd32d1422704d47e8f414e87890a9443f3d2fa0a79d251231","sha256":"b660b8269494059dd32d1422704d47e8f414e87890a9443f3d2fa0a79d251231"}`})
	}
	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	defer e.Close()
	for _, tc := range cases {
		t.Run(filepath.Base(filepath.Dir(tc.flow)), func(t *testing.T) {
			data, m := build(t, tc.flow)
			b, err := bundle.Read(data)
			require.NoError(t, err)
			dir := filepath.Join(t.TempDir(), "deploy")
			flowPath, err := b.Extract(dir)
			require.NoError(t, err)
			assert.Equal(t, filepath.Join(dir, filepath.FromSlash(m.Entry)), flowPath)
			for _, f := range m.Files {
				fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Path)))
				require.NoError(t, err)
				want := fs.FileMode(0o644)
				if f.Exec {
					want = 0o755
				}
				assert.Equal(t, want, fi.Mode().Perm(), f.Path)
			}
			f, err := e.Load(context.Background(), flowPath)
			require.NoError(t, err)
			res, err := f.Run(context.Background(), tc.inputs)
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, string(res.Outputs))
		})
	}
}
