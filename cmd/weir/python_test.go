package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins/python"
)

// TestBinaryPython runs a flow of Python tools (written as prompt flow
// writes them) through the built weir: validate, describe, run and batch,
// with a metric logged by an aggregate node, and what a tool prints kept
// in a recorded run.
func TestBinaryPython(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skipf("SKIP LOUDLY: no python3 on PATH: %v", err)
	}
	bin, _ := weirBinary(t)
	dir := filepath.Join("testdata", "python")
	home := t.TempDir()
	env := []string{"OTEL_TRACES_EXPORTER=none", "WEIR_CACHE_DIR=" + t.TempDir(), "WEIR_HOME=" + home}
	weir := func(args ...string) result { return runBinaryEnv(t, bin, dir, "", env, args...) }

	r := weir("validate", "flow.cue")
	assert.Equal(t, result{0, "flow.cue: ok: flow \"grading\", 3 nodes\n", ""}, r)
	r = weir("validate", "bad.cue")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, `bad.cue:5:16: node "clean": input "text": 42 breaks the contract of tool py.normalize: must be a string, got number`+"\n", r.stdout+r.stderr)

	digest, err := python.Digest(filepath.Join(dir, "tools"))
	require.NoError(t, err)
	r = weir("plugin", "describe", "tools/")
	assert.Equal(t, result{0, "tools/: python plugin, weir-python-1, 3 tools\n" +
		"sha256: " + digest + "\n\n" +
		"TOOL       INPUTS                            OUTPUTS                       DESCRIPTION\n" +
		"normalize  text:string*                      value:string                  Lower-cases and trims an answer.\n" +
		"grade      answer:string*, expected:string*  (any)                         Grades an answer against the expected one.\n" +
		"accuracy   grades:[]string*                  value:number, metrics:object  The share of right grades, logged as a metric.\n", ""}, r)

	r = weir("run", "-o", "json", "flow.cue", "--input", "answer= Paris ", "--input", "expected=paris")
	require.Equal(t, 0, r.code, r.stderr)
	assert.JSONEq(t, `{"grade":"right"}`, r.stdout)
	assert.Equal(t, "INFO normalizing 7 characters plugin=py stream=stdout tool=normalize\n", r.stderr, "print goes to the log, as the node's")

	// A recorded run keeps the line with the node's values, for weir ui.
	r = weir("run", "--record", "-o", "json", "flow.cue", "--input", "answer= Paris ", "--input", "expected=paris")
	require.Equal(t, 0, r.code, r.stderr)
	nodes, err := filepath.Glob(filepath.Join(home, "runs", "*", "nodes.jsonl"))
	require.NoError(t, err)
	require.Len(t, nodes, 1)
	b, err := os.ReadFile(nodes[0])
	require.NoError(t, err)
	assert.Regexp(t, `\{"node":"clean",[^{]*"inputs":\{"text":" Paris "\},"outputs":\{"value":"paris"\},`+
		`"logs":\[\{"time":"[^"]+","level":"INFO","message":"normalizing 7 characters","attrs":\{"stream":"stdout"\}\}\]\}`, string(b))

	r = weir("batch", "flow.cue", "--data", "data.jsonl")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "lines    3: 3 succeeded, 0 failed\n")
	assert.Contains(t, r.stdout, `metrics  {"accuracy":{"value":0.67,"metrics":{"accuracy":0.67}}}`+"\n")
}
