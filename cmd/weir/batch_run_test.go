package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// evalCue is an evaluation flow, as prompt flow's are run over a
// classification run: the ground truth from the data, the prediction from
// the earlier run.
const evalCue = `name: "eval"
inputs: {groundtruth: string, prediction: string, asked: string | *"-"}
nodes: grade: {tool: "builtin.template", inputs: {template: "{{.p}} for {{.a}}, want {{.g}}", p: "${inputs.prediction}", g: "${inputs.groundtruth}", a: "${inputs.asked}"}}
outputs: grade: "${grade.output.text}"
`

func TestBatchColumnMappingReadsAnEarlierRun(t *testing.T) {
	home := t.TempDir()
	dir := t.TempDir()
	eval := filepath.Join(dir, "eval.cue")
	data := filepath.Join(dir, "answers.jsonl")
	require.NoError(t, os.WriteFile(eval, []byte(evalCue), 0o644))
	require.NoError(t, os.WriteFile(data, []byte(`{"answer":"Hello, Ada!"}
{"answer":"Hello, Grace!"}
{"answer":"Hello, Alan!"}
`), 0o644))
	// The base run: its line 3 fails.
	r := weir(t, "", "batch", "--home", home, scores, "--data", scoresJSONL)
	require.Equal(t, 1, r.code, r.stderr)
	base := lastRun(t, home)

	// prompt flow's form: --column-mapping takes several pairs.
	r = weir(t, "", "batch", "--home", home, eval, "--data", data, "--run", base,
		"--column-mapping", "groundtruth=${data.answer}", "prediction=${run.outputs.greeting}", "asked=${run.inputs.name}")
	assert.Equal(t, 1, r.code)
	first := lastRun(t, home)
	assert.Equal(t, `batch `+first+`: 3 lines to run
weir: 1 of 3 lines failed; rerun them with weir batch `+eval+` --resume `+first+`
  line 3: run "`+base+`" has no succeeded line 3
every line's outputs or error: weir runs outputs `+first+`
`, r.stderr)
	r = weir(t, "", "runs", "outputs", "--home", home, first)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `LINE  STATUS  OUTPUTS OR ERROR
1  succeeded  {"grade":"Hello, Ada! for Ada, want Hello, Ada!"}
2  succeeded  {"grade":"Hello, Grace! for Grace, want Hello, Grace!"}
3  failed  run "`+base+`" has no succeeded line 3
`, spaces.ReplaceAllString(r.stdout, "  "))
	r = weir(t, "", "runs", "show", "--home", home, first)
	assert.Contains(t, r.stdout, "reads run  "+base+"\n")

	// A resume reads the same run; --map and --column-mapping mix.
	r = weir(t, "", "batch", "--home", home, eval, "--resume", first,
		"--map", "groundtruth=${data.answer}", "--column-mapping", "prediction=${run.outputs.greeting}")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "weir: 1 of 1 line failed")
	assert.Contains(t, r.stderr, `line 3: run "`+base+`" has no succeeded line 3`)

	runCases(t, []commandCase{
		{
			name:   "run mapping without --run",
			args:   []string{"batch", "--home", home, eval, "--data", data, "--column-mapping", "groundtruth=${data.answer}", "prediction=${run.outputs.greeting}"},
			code:   2,
			stderr: "weir: mapping prediction=${run.outputs.greeting} reads ${run.outputs.greeting} of an earlier run: name the run with --run RUN\n" + usage("batch"),
		},
		{
			name:   "unknown run",
			args:   []string{"batch", "--home", home, eval, "--data", data, "--run", "nope", "--column-mapping", "prediction=${run.outputs.greeting}"},
			code:   1,
			stderr: "weir: no run \"nope\" in the record; see weir runs list\n",
		},
		{
			name:   "input mapped twice",
			args:   []string{"batch", "--home", home, eval, "--data", data, "--map", "groundtruth=${data.answer}", "--column-mapping", "groundtruth=${data.answer}"},
			code:   2,
			stderr: "weir: --column-mapping \"groundtruth=${data.answer}\": input \"groundtruth\" is mapped twice\n" + usage("batch"),
		},
		{
			name:   "bad column mapping",
			args:   []string{"batch", "--home", home, eval, "--data", data, "--column-mapping", "groundtruth"},
			code:   2,
			stderr: "weir: --column-mapping \"groundtruth\": write name='${data.col}'\n" + usage("batch"),
		},
		{
			name:   "two flows",
			args:   []string{"batch", "--home", home, eval, scores, "--data", data, "--column-mapping", "groundtruth=${data.answer}"},
			code:   2,
			stderr: "weir: batch takes 1 argument, got 2\n" + usage("batch"),
		},
	})
}

// TestBinaryPythonMetrics runs the Python flow's batch through the built
// weir: the metric its aggregate node logs is the batch's, as prompt
// flow's metrics.json.
func TestBinaryPythonMetrics(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skipf("SKIP LOUDLY: no python3 on PATH: %v", err)
	}
	bin, _ := weirBinary(t)
	dir := filepath.Join("testdata", "python")
	home := t.TempDir()
	env := []string{"OTEL_TRACES_EXPORTER=none", "WEIR_CACHE_DIR=" + t.TempDir(), "WEIR_HOME=" + home}
	weir := func(args ...string) result { return runBinaryEnv(t, bin, dir, "", env, args...) }

	r := weir("batch", "flow.cue", "--data", "data.jsonl")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "\nMETRIC    VALUE\naccuracy  0.67\n")

	r = weir("runs", "list", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var runs []struct{ ID, Dir string }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs))
	require.Len(t, runs, 1)
	r = weir("runs", "show", runs[0].ID)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "\n\nMETRIC    VALUE\naccuracy  0.67\n\nNODE ")

	r = weir("runs", "show", "-o", "json", runs[0].ID)
	require.Equal(t, 0, r.code, r.stderr)
	var shown struct {
		Metrics struct{ Metrics map[string]float64 }
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &shown))
	assert.Equal(t, map[string]float64{"accuracy": 0.67}, shown.Metrics.Metrics)

	b, err := os.ReadFile(filepath.Join(runs[0].Dir, "metrics.json"))
	require.NoError(t, err)
	assert.Contains(t, string(b), "\n  \"metrics\": {\n    \"accuracy\": 0.67\n  }\n")

	r = weir("batch", "-o", "json", "flow.cue", "--data", "data.jsonl")
	require.Equal(t, 0, r.code, r.stderr)
	var sum struct{ Metrics map[string]float64 }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
	assert.Equal(t, map[string]float64{"accuracy": 0.67}, sum.Metrics)
}

// TestPoolBatchReadsAnEarlierRun maps a batch on a work pool from an
// earlier run's lines: attached, and detached then collected by weir runs
// wait, which reads the run again.
func TestPoolBatchReadsAnEarlierRun(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	ns := startPoolServe(t, t.TempDir())
	r := weirNATS(t, nil, "pool", "create", "--nats", ns.url, "hello")
	require.Equal(t, 0, r.code, r.stderr)
	startWorker(t, ns.url, "hello")

	home := t.TempDir()
	weir := func(args ...string) result {
		return runBinaryEnv(t, bin, root, "", noNATSEnv, append(args, "--home", home)...)
	}
	r = weir("batch", "examples/hello/flow.cue", "--data", "examples/hello/data.jsonl")
	require.Equal(t, 0, r.code, r.stderr)
	base := runID.FindStringSubmatch(r.stdout)[1]
	want := recordLines(t, home, base)

	mapped := []string{"batch", "examples/hello/flow.cue", "--data", "examples/hello/data.jsonl", "--nats", ns.url, "--pool", "hello",
		"--run", base, "--column-mapping", "name=${run.outputs.message}"}
	r = weir(mapped...)
	require.Equal(t, 0, r.code, r.stderr)
	attached := recordLines(t, home, runID.FindStringSubmatch(r.stdout)[1])

	r = weir(append(mapped, "--detach")...)
	require.Equal(t, 0, r.code, r.stderr)
	run := strings.TrimSpace(r.stdout)
	r = weir("runs", "wait", run)
	require.Equal(t, 0, r.code, r.stderr)
	detached := recordLines(t, home, run)

	require.Len(t, attached, len(want))
	for line, out := range want {
		var o struct{ Message string }
		require.NoError(t, json.Unmarshal([]byte(out), &o))
		assert.Contains(t, attached[line], `"message":"Hello, `+o.Message+`!"`, "line %d", line)
		assert.Equal(t, attached[line], detached[line], "line %d", line)
	}

	// The workers send back every line's node values when asked.
	r = weir(append(mapped, "--node-values", "all", "--detach")...)
	require.Equal(t, 0, r.code, r.stderr)
	run = strings.TrimSpace(r.stdout)
	r = weir("runs", "wait", run)
	require.Equal(t, 0, r.code, r.stderr)
	nodes, err := os.ReadFile(filepath.Join(home, "runs", run, "nodes.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, len(want), strings.Count(string(nodes), `{"node":"greet","tool":"text.greet","status":"succeeded","attempts":1,`), string(nodes))
	assert.Equal(t, len(want), strings.Count(string(nodes), `"outputs":{"message":"Hello, Hello, `), "each line's greet kept its outputs")
}
