package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	scores      = "testdata/scores.cue"
	scoresJSONL = "testdata/scores.jsonl"
	scoresCSV   = "testdata/scores.csv"
)

var (
	runIDPattern = regexp.MustCompile(`\b(scores|hello)-\d{8}-\d{6}-[0-9a-f]{4}\b`)
	msPattern    = regexp.MustCompile(`\d+(\.\d+)?ms\b|\b0s\b`) // a batch may take under half a millisecond
	ratePattern  = regexp.MustCompile(`\d+ lines/s`)
	spaces       = regexp.MustCompile(` {2,}`)
	datePattern  = regexp.MustCompile(`\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)?`)
)

// normalize takes out of a command's output what changes between runs:
// run ids, the record folder, times and rates.
func normalize(s, home string) string {
	s = strings.ReplaceAll(s, home, "HOME")
	s = runIDPattern.ReplaceAllString(s, "RUN")
	s = datePattern.ReplaceAllString(s, "DATE")
	s = ratePattern.ReplaceAllString(s, "N lines/s")
	s = msPattern.ReplaceAllString(s, "Nms")
	// Columns of tables move with the widths of what was taken out.
	return spaces.ReplaceAllString(s, "  ")
}

// lastRun returns the id of the newest run in home.
func lastRun(t *testing.T, home string) string {
	t.Helper()
	r := weir(t, "", "runs", "list", "-o", "json", "--home", home)
	require.Equal(t, 0, r.code, r.stderr)
	var runs []struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs))
	require.NotEmpty(t, runs)
	return runs[0].ID
}

func TestBatchAndRuns(t *testing.T) {
	home := t.TempDir()
	r := weir(t, "", "batch", "--home", home, scores, "--data", scoresJSONL)
	assert.Equal(t, 1, r.code)
	assert.Equal(t, `run  RUN (completed)
flow  scores
lines  6: 3 succeeded, 3 failed
latency  p50 Nms, p95 Nms, p99 Nms
rate  N lines/s over Nms
metrics  {"mean":{"count":3,"sum":2,"mean":0.6666666666666666,"min":0.5,"max":1}}
outputs  HOME/runs/RUN/outputs.jsonl
`, normalize(r.stdout, home))
	assert.Equal(t, `batch RUN: 6 lines to run
weir: 3 of 6 lines failed; rerun them with weir batch testdata/scores.cue --resume RUN
  line 3: node "nap" (tool builtin.sleep, plugin builtin): input "duration": time: invalid duration "soon"
  line 5: flow "scores": invalid inputs: score: must be a number, got string
  line 6: invalid JSON at column 20: invalid character '"' after object key:value pair
every line's outputs or error: weir runs outputs RUN
`, normalize(r.stderr, home))
	id := lastRun(t, home)

	r = weir(t, "", "runs", "show", "--home", home, id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `run  RUN
flow  scores
status  completed
data  testdata/scores.jsonl
lines  3 succeeded, 3 failed
created  DATE
duration  Nms
latency  p50 Nms, p95 Nms, p99 Nms, max Nms
rate  N lines/s
metrics  {"mean":{"count":3,"sum":2,"mean":0.6666666666666666,"min":0.5,"max":1}}
folder  HOME/runs/RUN

NODE  RUNS  FAILED  BYPASSED  CANCELED  P50  P95  P99
nap  4  1  0  0  Nms  Nms  Nms
greet  4  0  0  0  Nms  Nms  Nms
mean (aggregate)  1  0  -  -  Nms  -  -
`, normalize(r.stdout, home))

	r = weir(t, "", "runs", "outputs", "--home", home, "-o", "jsonl", id)
	require.Equal(t, 0, r.code, r.stderr)
	var byLine []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var o struct {
			Line    int
			Status  string
			Error   string
			Kind    string `json:"error_kind"`
			Outputs json.RawMessage
		}
		require.NoError(t, json.Unmarshal([]byte(l), &o), l)
		byLine = append(byLine, strings.Join(strings.Fields(fmt.Sprint(o.Line, " ", o.Status, " ", o.Kind, " ", string(o.Outputs), o.Error)), " "))
	}
	// In line order, whatever order the lines ended in.
	assert.Equal(t, []string{
		`1 succeeded {"greeting":"Hello, Ada!","score":1}`,
		`2 succeeded {"greeting":"Hello, Grace!","score":0.5}`,
		`3 failed tool node "nap" (tool builtin.sleep, plugin builtin): input "duration": time: invalid duration "soon"`,
		`5 failed input flow "scores": invalid inputs: score: must be a number, got string`,
		`6 failed input invalid JSON at column 20: invalid character '"' after object key:value pair`,
		`7 succeeded {"greeting":"Hello, Barbara!","score":0.5}`,
	}, byLine)

	r = weir(t, "", "runs", "outputs", "--home", home, id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `LINE  STATUS  OUTPUTS OR ERROR
1  succeeded  {"greeting":"Hello, Ada!","score":1}
2  succeeded  {"greeting":"Hello, Grace!","score":0.5}
3  failed  node "nap" (tool builtin.sleep, plugin builtin): input "duration": time: invalid duration "soon"
5  failed  flow "scores": invalid inputs: score: must be a number, got string
6  failed  invalid JSON at column 20: invalid character '"' after object key:value pair
7  succeeded  {"greeting":"Hello, Barbara!","score":0.5}
`, normalize(r.stdout, home))

	// The record folder holds what the issue of each line needs.
	dir := filepath.Join(home, "runs", id)
	for _, name := range []string{"flow/scores.cue", "flow/manifest.json", "inputs.jsonl", "outputs.jsonl", "nodes.jsonl", "metrics.json", "log.txt"} {
		assert.FileExists(t, filepath.Join(dir, name))
	}

	r = weir(t, "", "runs", "delete", "--home", home, id)
	assert.Equal(t, result{0, "deleted " + id + "\n", ""}, r)
	assert.NoDirExists(t, dir)
	r = weir(t, "", "runs", "list", "--home", home)
	assert.Equal(t, result{0, "no runs yet: start one with weir batch FLOW --data FILE\n", ""}, r)
}

func TestBatchCSVWithMapping(t *testing.T) {
	home := t.TempDir()
	r := weir(t, "", "batch", "--home", home, "-o", "json", "--map", "name=${data.who}", "--map", "score=${data.points}", scores, "--data", scoresCSV)
	assert.Equal(t, 1, r.code, r.stderr)
	var m struct {
		Status     string
		Lines      struct{ Total, Succeeded, Failed int }
		Aggregates map[string]map[string]float64
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &m), r.stdout)
	assert.Equal(t, "completed", m.Status)
	assert.Equal(t, 3, m.Lines.Total)
	assert.Equal(t, 2, m.Lines.Succeeded)
	assert.Equal(t, 0.75, m.Aggregates["mean"]["mean"])
}

func TestBatchResume(t *testing.T) {
	home := t.TempDir()
	data := filepath.Join(t.TempDir(), "data.jsonl")
	require.NoError(t, os.WriteFile(data, []byte(`{"name":"a","score":1}
{"name":"b","score":2,"wait":"later"}
{"name":"c","score":3}
`), 0o644))
	r := weir(t, "", "batch", "--home", home, scores, "--data", data)
	require.Equal(t, 1, r.code, r.stderr)
	first := lastRun(t, home)

	// Editing the dataset between runs is refused.
	require.NoError(t, os.WriteFile(data, []byte(`{"name":"a","score":1}
{"name":"b","score":2}
{"name":"c","score":3}
`), 0o644))
	r = weir(t, "", "batch", "--home", home, scores, "--resume", first)
	assert.Equal(t, 1, r.code)
	assert.Regexp(t, `^weir: resume: .*/data.jsonl is not the dataset run "`+first+`" read \(its SHA-256 is [0-9a-f]{12}…, the run's [0-9a-f]{12}…\): resume needs the same data
$`, r.stderr)

	// A dataset with the same lines in another file resumes, here with a
	// fixed line 2 by way of a mapping.
	require.NoError(t, os.WriteFile(data, []byte(`{"name":"a","score":1}
{"name":"b","score":2,"wait":"later"}
{"name":"c","score":3}
`), 0o644))
	r = weir(t, "", "batch", "--home", home, "--map", "wait=0s", scores, "--resume", first)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, normalize(r.stdout, home), "lines  1: 1 succeeded, 0 failed, 2 carried over from earlier runs\n")
	assert.Contains(t, r.stdout, `metrics  {"mean":{"count":3,"sum":6,"mean":2,"min":1,"max":3}}`)
	second := lastRun(t, home)
	r = weir(t, "", "runs", "show", "--home", home, second)
	assert.Contains(t, r.stdout, "resumes   "+first+"\n")

	// Deleting a run another resumes is refused.
	r = weir(t, "", "runs", "delete", "--home", home, first)
	assert.Equal(t, result{1, "", `weir: delete run "` + first + `": run "` + second + `" resumes it; delete that first` + "\n"}, r)
}

func TestBatchErrors(t *testing.T) {
	home := t.TempDir()
	empty := filepath.Join(t.TempDir(), "empty.jsonl")
	require.NoError(t, os.WriteFile(empty, []byte("\n\n"), 0o644))
	runCases(t, []commandCase{
		{
			name:   "no data",
			args:   []string{"batch", "--home", home, scores},
			code:   2,
			stderr: "weir: batch needs --data FILE (or --resume RUN)\n" + usage("batch"),
		},
		{
			name:   "bad map",
			args:   []string{"batch", "--home", home, scores, "--data", scoresJSONL, "--map", "name"},
			code:   2,
			stderr: "weir: --map \"name\": write name='${data.col}'\n" + usage("batch"),
		},
		{
			name:   "unknown format",
			args:   []string{"batch", "--home", home, scores, "--data", "testdata/scores.cue"},
			code:   2,
			stderr: "weir: --data testdata/scores.cue: cannot tell the format from the extension; name it .jsonl or .csv, or pass --format\n" + usage("batch"),
		},
		{
			name:   "missing dataset",
			args:   []string{"batch", "--home", home, scores, "--data", "testdata/nope.jsonl"},
			code:   1,
			stderr: "weir: read dataset: open testdata/nope.jsonl: no such file or directory\n",
		},
		{
			name:   "empty dataset",
			args:   []string{"batch", "--home", home, scores, "--data", empty},
			code:   1,
			stderr: "weir: batch " + empty + ": dataset is empty\n",
		},
		{
			name:   "mapping names a missing column",
			args:   []string{"batch", "--home", home, scores, "--data", scoresCSV, "--map", "name=${data.whom}"},
			code:   1,
			stderr: "weir: batch testdata/scores.csv: map name=${data.whom}: the dataset has no column \"whom\" (columns: points, who); did you mean \"who\"?\n",
		},
		{
			name:   "mapping names an unknown input",
			args:   []string{"batch", "--home", home, scores, "--data", scoresCSV, "--map", "nmae=${data.who}"},
			code:   1,
			stderr: "weir: batch testdata/scores.csv: map nmae=${data.who}: the flow has no input \"nmae\" (inputs: name, score, wait); did you mean \"name\"?\n",
		},
		{
			name:   "resume an unknown run",
			args:   []string{"batch", "--home", home, scores, "--resume", "nope"},
			code:   1,
			stderr: "weir: resume: no run \"nope\" in the record; see weir runs list\n",
		},
		{
			name:   "show an unknown run",
			args:   []string{"runs", "show", "--home", home, "nope"},
			code:   1,
			stderr: "weir: no run \"nope\" in the record; see weir runs list\n",
		},
		{
			name:   "bad output format",
			args:   []string{"runs", "list", "--home", home, "-o", "yaml"},
			code:   2,
			stderr: "weir: -o must be table or json, not \"yaml\"\n" + usage("runs list"),
		},
	})
	// None of them left a run behind.
	assert.Equal(t, result{0, "no runs yet: start one with weir batch FLOW --data FILE\n", ""}, weir(t, "", "runs", "list", "--home", home))
}

// TestBatchDamagedRecord resumes a run whose outputs.jsonl was edited: the
// resume is refused with the place of the damage, and nothing is written.
func TestBatchDamagedRecord(t *testing.T) {
	home := t.TempDir()
	r := weir(t, "", "batch", "--home", home, scores, "--data", scoresJSONL)
	require.Equal(t, 1, r.code, r.stderr)
	id := lastRun(t, home)
	path := filepath.Join(home, "runs", id, "outputs.jsonl")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(b), "\n")
	lines[1] = "{oops\n"
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644))
	r = weir(t, "", "batch", "--home", home, scores, "--resume", id)
	assert.Equal(t, result{1, "", `weir: resume: record of run "` + id + `" is damaged: outputs.jsonl:2: not valid JSON` + "\n"}, r)
	assert.Equal(t, id, lastRun(t, home), "no new run")
}

// TestBinaryBatchFailedLines runs a batch where more lines fail than weir
// batch shows: it names the first five by line, whatever order they ended
// in, and says how to see the rest.
func TestBinaryBatchFailedLines(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	home := t.TempDir()
	var data strings.Builder
	for i := range 9 {
		wait := "0s"
		if i != 4 {
			wait = fmt.Sprintf("never%d", 9-i) // not a duration
		}
		fmt.Fprintf(&data, `{"name":"n%d","score":%d,"wait":%q}`+"\n", i+1, i, wait)
	}
	path := filepath.Join(t.TempDir(), "data.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(data.String()), 0o644))
	r := runBinary(t, bin, root, "batch", "--home", home, "--concurrency", "4", "--data", path, "cmd/weir/testdata/scores.cue", "-o", "json")
	assert.Equal(t, 1, r.code)
	assert.True(t, jsonValid(r.stdout), r.stdout)
	assert.Equal(t, `batch RUN: 9 lines to run
weir: 8 of 9 lines failed; rerun them with weir batch cmd/weir/testdata/scores.cue --resume RUN
  line 1: node "nap" (tool builtin.sleep, plugin builtin): input "duration": time: invalid duration "never9"
  line 2: node "nap" (tool builtin.sleep, plugin builtin): input "duration": time: invalid duration "never8"
  line 3: node "nap" (tool builtin.sleep, plugin builtin): input "duration": time: invalid duration "never7"
  line 4: node "nap" (tool builtin.sleep, plugin builtin): input "duration": time: invalid duration "never6"
  line 6: node "nap" (tool builtin.sleep, plugin builtin): input "duration": time: invalid duration "never4"
  and 3 more
every line's outputs or error: weir runs outputs RUN
`, normalize(r.stderr, home))
}

func TestProgressLine(t *testing.T) {
	assert.Equal(t, "250/1000 lines (25%), 3 failed, 125 lines/s, ETA 6s", progressLine(250, 3, 1000, 2*time.Second, false))
	assert.Equal(t, "[======                  ] 250/1000 lines (25%), 3 failed, 125 lines/s, ETA 6s", progressLine(250, 3, 1000, 2*time.Second, true))
	assert.Equal(t, "40 lines, 0 failed, 20 lines/s", progressLine(40, 0, 0, 2*time.Second, true))
	assert.Equal(t, "[========================] 10/10 lines (100%), 0 failed, 5 lines/s", progressLine(10, 0, 10, 2*time.Second, true))
}
