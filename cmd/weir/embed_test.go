package main

import (
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBinaryEmbed is a flow whose prompt template is a file beside it,
// through the built weir: validate names a missing file at its @embed,
// and a bundle carries the file, which serve then reads from the bundle.
func TestBinaryEmbed(t *testing.T) {
	t.Parallel()
	bin, _ := weirBinary(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.cue"), []byte(`@extern(embed)

name: "ask"
inputs: q: string
nodes: ask: {tool: "builtin.prompt", inputs: {
	question: "${inputs.q}"
	template: _ @embed(file="prompt.jinja2", type=text)
}}
outputs: text: "${ask.output.text}"
`), 0o644))

	got := runBinaryIn(t, bin, dir, "", "validate", "flow.cue")
	assert.Equal(t, result{1, "", `flow.cue:7:14: embed "prompt.jinja2": open prompt.jinja2: no such file or directory` + "\n"}, got)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "prompt.jinja2"), []byte("Q: {{ question }}\n"), 0o644))
	got = runBinaryIn(t, bin, dir, "", "validate", "flow.cue")
	assert.Equal(t, result{0, `flow.cue: ok: flow "ask", 1 node` + "\n", ""}, got)

	got = runBinaryIn(t, bin, dir, "", "bundle", "-o", "ask.weir", "flow.cue")
	require.Equal(t, 0, got.code, got.stderr)
	got = runBinaryIn(t, bin, dir, "", "bundle", "inspect", "ask.weir")
	require.Equal(t, 0, got.code, got.stderr)
	assert.Regexp(t, `(?m)^prompt\.jinja2 +`, got.stdout)

	// The flow's folder goes: what serves is the bundle's copy.
	home := t.TempDir()
	bundlePath := filepath.Join(home, "ask.weir")
	require.NoError(t, os.Rename(filepath.Join(dir, "ask.weir"), bundlePath))
	require.NoError(t, os.RemoveAll(dir))
	srv := startServe(t, home, nil, 1, bundlePath)
	code, body := post(t, srv.url+"/score", "application/json", `{"q": "why?"}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.JSONEq(t, `{"text": "Q: why?\n"}`, body)
	exit, _ := srv.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, exit)
}
