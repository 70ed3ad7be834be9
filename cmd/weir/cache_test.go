package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cachedFlow caches its greeting; the sleep node does not cache.
const cachedFlow = `name: "cached"
inputs: name: string
nodes: {
	greet: {tool: "builtin.template", inputs: {template: "Hello, {{.name}}!", name: "${inputs.name}"}, cache: true}
	nap:   {tool: "builtin.sleep", inputs: {duration: "1ms", value: "${greet.output.text}"}}
}
outputs: text: "${nap.output.value}"
`

// durations are the cells of weir run's DURATION column.
var durations = regexp.MustCompile(`\b\d+(\.\d+)?(µs|ms|s)\b`)

func cachedFlowFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flow.cue")
	require.NoError(t, os.WriteFile(path, []byte(cachedFlow), 0o644))
	return path
}

// weir run marks the nodes whose outputs came from the cache; --no-cache
// reads and writes nothing; weir cache looks after the folder.
func TestCacheRunAndCommands(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	flow := cachedFlowFile(t)
	run := func(args ...string) string {
		t.Helper()
		r := weir(t, "", append(append([]string{"run", "--home", home}, args...), flow)...)
		require.Equal(t, 0, r.code, r.stderr)
		return spaces.ReplaceAllString(durations.ReplaceAllString(r.stdout, "D"), "  ")
	}
	table := func(greet string, attempts int) string {
		return `OUTPUT  VALUE
text  Hello, Ada!

NODE  TOOL  STATUS  ATTEMPTS  DURATION  ERROR
greet  builtin.template  ` + greet + `  ` + map[int]string{0: "0", 1: "1"}[attempts] + `  D  
nap  builtin.sleep  succeeded  1  D  
`
	}
	info := func() string {
		t.Helper()
		r := weir(t, "", "cache", "info", "--home", home)
		require.Equal(t, 0, r.code, r.stderr)
		return strings.ReplaceAll(r.stdout, home, "HOME")
	}
	assert.Equal(t, table("succeeded", 1), run("--input", "name=Ada"))
	assert.Regexp(t, `^HOME/cache: 1 entry, \d+ B\n$`, info())
	assert.Equal(t, table("succeeded (cached)", 0), run("--input", "name=Ada"))
	assert.Equal(t, table("succeeded", 1), run("--no-cache", "--input", "name=Ada"))
	assert.Regexp(t, `^HOME/cache: 1 entry`, info(), "--no-cache wrote nothing")
	assert.Contains(t, run("--input", "name=Bo"), "greet  builtin.template  succeeded  1", "other inputs miss")
	assert.Regexp(t, `^HOME/cache: 2 entries`, info())

	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"cache", "prune"}, 2, "", "weir: prune needs --older-than DURATION or --max-size SIZE\nRun 'weir cache prune --help' for usage.\n"},
		{[]string{"cache", "prune", "--max-size", "lots"}, 2, "", "weir: --max-size \"lots\": give a size such as 1GiB or 500MB\nRun 'weir cache prune --help' for usage.\n"},
		{[]string{"cache", "prune", "--older-than", "1h"}, 0, "removed 0 entries, 0 B\n", ""},
		{[]string{"cache", "prune", "--max-size", "1"}, 0, "removed 2 entries, 351 B\n", ""},
		{[]string{"cache", "clear"}, 0, "removed 0 entries, 0 B\n", ""},
	} {
		r := weir(t, "", append(tc.args, "--home", home)...)
		assert.Equal(t, result{tc.code, tc.stdout, tc.stderr}, r, "%v", tc.args)
	}
	assert.Equal(t, table("succeeded", 1), run("--input", "name=Ada"), "pruned")
	r := weir(t, "", "cache", "clear", "--home", home)
	assert.Equal(t, result{0, "removed 1 entry, 176 B\n", ""}, r)
	assert.NoDirExists(t, filepath.Join(home, "cache"))
}

// weir runs show counts, per node, the lines that took their outputs from
// the cache.
func TestCacheRunsShow(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	flow := cachedFlowFile(t)
	data := filepath.Join(t.TempDir(), "data.jsonl")
	require.NoError(t, os.WriteFile(data, []byte(`{"name":"Ada"}
{"name":"Bo"}
{"name":"Ada"}
`), 0o644))
	// One line at a time: the third line hits what the first stored.
	r := weir(t, "", "batch", "--home", home, "--concurrency", "1", "--data", data, flow)
	require.Equal(t, 0, r.code, r.stderr)
	r = weir(t, "", "runs", "show", "--home", home, lastRun(t, home))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `(?m)^NODE\s+RUNS\s+CACHED\s+FAILED\s+BYPASSED\s+CANCELED\s+P50\s+P95\s+P99\n`+
		`greet\s+3\s+1\s+0\s+0\s+0\s.*\n`+
		`nap\s+3\s+0\s+0\s+0\s+0\s.*\n\z`, r.stdout)
	// The record says which line hit, and counts them.
	run := filepath.Join(home, "runs", lastRun(t, home))
	nodes, err := os.ReadFile(filepath.Join(run, "nodes.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(nodes), `"cached":true`))
	assert.Regexp(t, `\{"line":3,"nodes":\[\{"node":"greet","tool":"builtin.template","status":"succeeded","attempts":0,"start_ms":[0-9.]+,"duration_ms":[0-9.]+,"cached":true\}`, string(nodes))
	metrics, err := os.ReadFile(filepath.Join(run, "metrics.json"))
	require.NoError(t, err)
	assert.Contains(t, string(metrics), `"cached": 1,`)

	r = weir(t, "", "batch", "--home", home, "--no-cache", "--data", data, flow)
	require.Equal(t, 0, r.code, r.stderr)
	r = weir(t, "", "runs", "show", "--home", home, lastRun(t, home))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `(?m)^NODE\s+RUNS\s+FAILED\s+BYPASSED\s+CANCELED\s+P50\s+P95\s+P99\n`, r.stdout, "no CACHED column when nothing was")

	r = weir(t, "", "runs", "show", "-o", "json", "--home", home, lastRun(t, home))
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, `"cached": `)
}

// --no-cache through the built binary, for weir run and weir serve, with
// the cache where $WEIR_HOME says.
func TestCacheBinary(t *testing.T) {
	t.Parallel()
	bin, _ := weirBinary(t)
	home := t.TempDir()
	flow := cachedFlowFile(t)
	env := append(os.Environ(), "WEIR_HOME="+home, "OTEL_TRACES_EXPORTER=none")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(append([]string{"run"}, args...), "--input", "name=Ada", flow)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return spaces.ReplaceAllString(string(out), "  ")
	}
	assert.Contains(t, run("--no-cache"), "greet  builtin.template  succeeded  1")
	assert.NoDirExists(t, filepath.Join(home, "cache"), "--no-cache writes nothing")
	assert.Contains(t, run(), "greet  builtin.template  succeeded  1")
	assert.Contains(t, run(), "greet  builtin.template  succeeded (cached)  0")
	assert.Contains(t, run("--no-cache"), "greet  builtin.template  succeeded  1")

	// Two weir batch processes at once on one cache, their lines writing
	// the same keys: both succeed, and one entry per input remains.
	data := filepath.Join(t.TempDir(), "data.jsonl")
	require.NoError(t, os.WriteFile(data, []byte(strings.Repeat(`{"name":"Cy"}`+"\n", 50)+strings.Repeat(`{"name":"Di"}`+"\n", 50)), 0o644))
	batches := make([]*exec.Cmd, 2)
	for i := range batches {
		batches[i] = exec.Command(bin, "batch", "--concurrency", "8", "--data", data, flow)
		batches[i].Env = env
		require.NoError(t, batches[i].Start())
	}
	for _, b := range batches {
		require.NoError(t, b.Wait())
	}
	cacheInfo := exec.Command(bin, "cache", "info")
	cacheInfo.Env = env
	out, err := cacheInfo.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Regexp(t, `: 3 entries, `, string(out), "Ada, Cy and Di")

	greet := regexp.MustCompile(`\{"node":"greet"[^}]*\}`)
	for _, tc := range []struct {
		args   []string
		cached bool
	}{{nil, true}, {[]string{"--no-cache"}, false}} {
		s := startServe(t, filepath.Dir(flow), []string{"WEIR_HOME=" + home}, 1, append(tc.args, "flow.cue")...)
		code, body := post(t, s.url+"/v1/flows/cached/runs", "application/json", `{"inputs":{"name":"Ada"}}`)
		require.Equal(t, http.StatusOK, code, body)
		node := greet.FindString(body)
		require.NotEmpty(t, node, body)
		if tc.cached {
			assert.Contains(t, node, `"attempts":0`)
			assert.Contains(t, node, `"cached":true`)
		} else {
			assert.Contains(t, node, `"attempts":1`)
			assert.NotContains(t, node, `"cached"`)
		}
	}
}
