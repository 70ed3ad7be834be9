package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

// Inspect tells what a flow file names, with paths resolved and as
// written, without opening its plugins (the files need not exist).
func TestInspect(t *testing.T) {
	pin := strings.Repeat("ab", 32)
	src := []byte(fmt.Sprintf(`name: "x"
version: "1.0.0"
plugins: {
	text: {wasm: "../plugins/text.wasm", sha256: "%s", grants: dirs: {"/data": {path: "data", write: true}, "/etc": path: "/etc"}}
	native: goplugin: "/opt/native"
}
nodes: {
	a: {tool: "text.upper", inputs: text: "x"}
	b: {flow: "sub/child.cue", inputs: v: "${a.output.text}"}
}
outputs: v: "${b.output}"
`, pin))
	f, err := engine.Inspect(filepath.Join("flows", "flow.cue"), src)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("flows", "flow.cue"), f.Path)
	assert.Equal(t, src, f.Source)
	assert.Equal(t, "x", f.Name)
	assert.Equal(t, "1.0.0", f.Version)
	require.Len(t, f.Plugins, 2)
	byName := map[string]engine.PluginEntry{}
	for _, p := range f.Plugins {
		byName[p.Spec.Name] = p
	}
	text := byName["text"]
	assert.Equal(t, engine.Pos{File: filepath.Join("flows", "flow.cue"), Line: 4, Col: 2}, text.Pos)
	assert.Equal(t, "wasm", text.Spec.Kind)
	assert.Equal(t, filepath.Join("plugins", "text.wasm"), text.Spec.Source)
	assert.Equal(t, "../plugins/text.wasm", text.File)
	assert.Equal(t, pin, text.Spec.SHA256)
	assert.Equal(t, map[string]plugins.Dir{
		"/data": {Path: filepath.Join("flows", "data"), Write: true},
		"/etc":  {Path: "/etc"},
	}, text.Spec.Grants.Dirs)
	assert.Equal(t, map[string]string{"/data": "data", "/etc": "/etc"}, text.Dirs)
	native := byName["native"]
	assert.Equal(t, "/opt/native", native.Spec.Source)
	assert.Equal(t, "/opt/native", native.File)
	assert.Equal(t, []engine.SubFlow{{
		Node:    "b",
		Pos:     engine.Pos{File: filepath.Join("flows", "flow.cue"), Line: 9, Col: 12},
		Path:    filepath.Join("flows", "sub", "child.cue"),
		Written: "sub/child.cue",
	}}, f.SubFlows)

	_, err = engine.Inspect("bad.cue", []byte("nodes: {}\n"))
	var list engine.FlowErrors
	require.True(t, errors.As(err, &list), "%v", err)
	assert.EqualError(t, err, `bad.cue:1:1: missing field "name": add name: "my-flow"`)
}

// A loaded flow lists its files and their content as they were parsed,
// each once, even if a file changes afterwards.
func TestFlowFiles(t *testing.T) {
	e, _ := newEngine(t, engine.Options{})
	dir := writeFlow(t, map[string]string{
		"flow.cue": `name: "parent"
nodes: {
	a: {flow: "sub/child.cue", inputs: v: "x"}
	b: {flow: "sub/child.cue", inputs: v: "y"}
}
outputs: v: "${b.output.v}"
`,
	})
	child := `name: "child"
inputs: v: string
nodes: n: {tool: "t.echo", inputs: value: "${inputs.v}"}
outputs: v: "${n.output.value}"
`
	require.NoError(t, writeFile(filepath.Join(dir, "sub", "child.cue"), child))
	f, err := e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "child.cue"), []byte("changed"), 0o644))

	files := f.FlowFiles()
	require.Len(t, files, 2)
	assert.Equal(t, filepath.Join(dir, "flow.cue"), files[0].Path)
	assert.Equal(t, "parent", files[0].Name)
	assert.Len(t, files[0].SubFlows, 2)
	assert.Equal(t, filepath.Join(dir, "sub", "child.cue"), files[1].Path)
	assert.Equal(t, "child", files[1].Name)
	assert.Equal(t, child, string(files[1].Source))
	assert.Equal(t, []string{files[0].Path, files[1].Path}, f.Files())
}
