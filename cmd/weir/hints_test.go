package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBinaryMissingPlugin is examples/mixed before make plugins: a plugin
// file that is not built yet. The error says which make command builds it,
// from where weir runs, and the nodes using its tools add nothing more.
func TestBinaryMissingPlugin(t *testing.T) {
	t.Parallel()
	bin, _ := weirBinary(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.cue"), []byte(`name: "unbuilt"
plugins: {
	text: wasm:       "build/text.wasm"
	native: goplugin: "build/native"
	other: wasm:      "nobody/builds.wasm"
}
nodes: {
	a: tool: "text.upper"
	b: tool: "native.hash"
	c: tool: "other.run"
}
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Makefile"), []byte(`PLUGINS := build/text.wasm build/native
.PHONY: all plugins
all: weir
plugins: $(PLUGINS)
$(PLUGINS):
	false
`), 0o644))
	native := filepath.Join(dir, "build", "native")

	got := runBinaryIn(t, bin, dir, "", "validate", "flow.cue")
	assert.Equal(t, result{1, "", `flow.cue:3:2: plugin "text": read module: open build/text.wasm: no such file or directory (build it with: make plugins)
flow.cue:4:2: plugin "native": open plugin "native": ` + native + ` does not exist (build it with: make plugins)
flow.cue:5:2: plugin "other": read module: open nobody/builds.wasm: no such file or directory
`}, got)

	// From another folder, make is pointed at the Makefile's.
	got = runBinaryIn(t, bin, filepath.Dir(dir), "", "validate", filepath.Join(filepath.Base(dir), "flow.cue"))
	assert.Contains(t, got.stderr, `: no such file or directory (build it with: make -C `+filepath.Base(dir)+" plugins)\n")

	got = runBinaryIn(t, bin, dir, "", "plugin", "describe", "build/text.wasm")
	assert.Equal(t, result{1, "", "weir: read plugin: open build/text.wasm: no such file or directory (build it with: make plugins)\n"}, got)
}
