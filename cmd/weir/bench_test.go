package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBenchUsage(t *testing.T) {
	t.Parallel()
	runCases(t, []commandCase{
		{
			name:   "unknown flow",
			args:   []string{"bench", "nope.cue", "--runs", "1"},
			code:   1,
			stderr: "weir: read flow: open nope.cue: no such file or directory\n",
		},
		{
			name:   "bad concurrency",
			args:   []string{"bench", hello, "--concurrency", "1,x"},
			code:   2,
			stderr: `weir: --concurrency "1,x": "x" is not a whole number of 1 or more` + "\n" + usage("bench"),
		},
		{
			name:   "bad rate",
			args:   []string{"bench", "--url", "http://127.0.0.1:8080", "--rate", "fast"},
			code:   2,
			stderr: `weir: --rate "fast": write a positive number of runs per second or minute, such as 500/s or 300/m` + "\n" + usage("bench"),
		},
		{
			name:   "several levels at a rate",
			args:   []string{"bench", "--url", "http://127.0.0.1:8080", "--rate", "500/s", "--concurrency", "1,8"},
			code:   2,
			stderr: `weir: --concurrency "1,8": with --rate it is one number, the most runs in flight` + "\n" + usage("bench"),
		},
		{
			name:   "remote URL refused",
			args:   []string{"bench", "--url", "http://example.com:8080", "--input", "name=Ada"},
			code:   2,
			stderr: "weir: --url http://example.com:8080: example.com is not this machine; weir bench loads only loopback addresses unless --allow-remote\n" + usage("bench"),
		},
		{
			name:   "a flow and a URL",
			args:   []string{"bench", "--url", "http://127.0.0.1:8080", hello},
			code:   2,
			stderr: "weir: bench takes a FLOW or --url, not both\n" + usage("bench"),
		},
		{
			name:   "no flow",
			args:   []string{"bench"},
			code:   2,
			stderr: "weir: bench takes 1 argument, got 0\n" + usage("bench"),
		},
		{
			name:   "no runs",
			args:   []string{"bench", hello, "--runs", "0"},
			code:   2,
			stderr: "weir: --runs must be at least 1, got 0\n" + usage("bench"),
		},
		{
			name:   "data and inputs",
			args:   []string{"bench", hello, "--data", "../../examples/hello/data.jsonl", "--input", "name=Ada"},
			code:   2,
			stderr: "weir: --data cannot be mixed with --inputs or --input\n" + usage("bench"),
		},
		{
			name:   "a URL's flag without one",
			args:   []string{"bench", hello, "--allow-remote"},
			code:   2,
			stderr: "weir: --allow-remote needs --url\n" + usage("bench"),
		},
		{
			name:   "compare with what is not a result",
			args:   []string{"bench", hello, "--compare", "../../examples/hello/data.jsonl"},
			code:   1,
			stderr: "weir: read --compare ../../examples/hello/data.jsonl: not the output of weir bench -o json: invalid character '{' after top-level value\n",
		},
	})
}

// fields splits the lines of a table into their cells.
func fields(text string) [][]string {
	var rows [][]string
	for line := range strings.Lines(text) {
		rows = append(rows, strings.Fields(line))
	}
	return rows
}

// machine is how weir bench's first line names this machine.
var machine = " on " + runtime.GOOS + "/" + runtime.GOARCH + ", " + strconv.Itoa(runtime.NumCPU()) + " CPUs"

// TestBinaryBenchFlow runs weir bench on the hello flow at two levels and
// reads its tables: the figures of each level, and the nodes' breakdown.
func TestBinaryBenchFlow(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	inputs := filepath.Join(t.TempDir(), "inputs.json")
	require.NoError(t, os.WriteFile(inputs, []byte(`{"name": "Ada", "loud": true}`), 0o644))

	got := runBinary(t, bin, root, "bench", "examples/hello/flow.cue", "--inputs", inputs, "--concurrency", "1,8", "--runs", "50")
	require.Equal(t, 0, got.code, got.stderr)
	assert.Equal(t, "concurrency 1: 10 warm-up runs, then 50 measured runs\nconcurrency 8: 16 warm-up runs, then 50 measured runs\n", got.stderr)
	rows := fields(got.stdout)
	require.Len(t, rows, 15, got.stdout)
	assert.Equal(t, `flow "hello" (examples/hello/flow.cue)`+machine, strings.Join(rows[0], " "))
	assert.Empty(t, rows[1])
	assert.Equal(t, []string{"CONCURRENCY", "RUNS", "FAILED", "RUNS/S", "MEAN", "P50", "P90", "P99", "MAX"}, rows[2])
	for i, level := range []string{"1", "8"} {
		row := rows[3+i]
		require.Len(t, row, 9, "%q", row)
		assert.Equal(t, []string{level, "50", "0"}, row[:3])
		rate, err := strconv.ParseFloat(row[3], 64)
		require.NoError(t, err)
		assert.Positive(t, rate)
		for _, d := range row[4:] {
			assert.Regexp(t, `^[0-9.]+(µs|ms|s)$`, d)
		}
		// Where the time goes: both nodes ran in every run.
		at := 6 + 5*i
		assert.Empty(t, rows[at-1])
		assert.Equal(t, "concurrency "+level+": where the time goes", strings.Join(rows[at], " "))
		assert.Equal(t, []string{"NODE", "RUNS", "MEAN", "P99", "SHARE"}, rows[at+1])
		for j, node := range []string{"greet", "shout"} {
			row := rows[at+2+j]
			require.Len(t, row, 5, "%q", row)
			assert.Equal(t, []string{node, "50"}, row[:2])
			assert.Regexp(t, `^[0-9.]+%$`, row[4])
		}
	}
}

// TestBinaryBenchData cycles through the lines of a dataset: one client
// and no warm-up run them in turn, so the node that runs on the 4 loud
// lines of examples/hello's 10 runs 12 times in 30 runs. CSV cells are
// typed as the inputs want them.
func TestBinaryBenchData(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	csv := filepath.Join(t.TempDir(), "people.csv")
	require.NoError(t, os.WriteFile(csv, []byte("name,loud,age\nAda,true,36\nAlan,false,41\n"), 0o644))
	for _, tc := range []struct {
		data  string
		runs  string
		shout string
	}{
		{"examples/hello/data.jsonl", "30", "12"},
		{csv, "10", "5"},
	} {
		got := runBinary(t, bin, root, "bench", "examples/hello/flow.cue", "--data", tc.data, "--concurrency", "1", "--runs", tc.runs, "--warmup", "0")
		require.Equal(t, 0, got.code, got.stderr)
		rows := fields(got.stdout)
		require.Len(t, rows, 9, got.stdout)
		assert.Equal(t, []string{"1", tc.runs, "0"}, rows[3][:3])
		assert.Equal(t, []string{"greet", tc.runs}, rows[7][:2])
		assert.Equal(t, []string{"shout", tc.shout}, rows[8][:2])
	}
}

// benchResult is what the tests read of weir bench -o json.
type benchResult struct {
	Format  int    `json:"format"`
	Target  string `json:"target"`
	Mode    string `json:"mode"`
	Machine struct {
		CPUs int `json:"cpus"`
	} `json:"machine"`
	Levels []struct {
		Concurrency   int     `json:"concurrency"`
		Rate          float64 `json:"rate"`
		Runs          int     `json:"runs"`
		Failed        int     `json:"failed"`
		Seconds       float64 `json:"seconds"`
		RunsPerSecond float64 `json:"runs_per_second"`
		Latency       struct {
			Mean, P50, P90, P99, Max float64
		} `json:"latency_ms"`
		Nodes []struct {
			Node   string  `json:"node"`
			Runs   int     `json:"runs"`
			MeanMS float64 `json:"mean_ms"`
			P99MS  float64 `json:"p99_ms"`
			Share  float64 `json:"share"`
		} `json:"nodes"`
		Change map[string]float64 `json:"change"`
	} `json:"levels"`
}

// TestBinaryBenchJSON reads -o json, then compares a run with an earlier
// result that was far faster.
func TestBinaryBenchJSON(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	got := runBinary(t, bin, root, "bench", "examples/hello/flow.cue", "--input", "name=Ada", "--concurrency", "1,2", "--runs", "20", "-o", "json")
	require.Equal(t, 0, got.code, got.stderr)
	var res benchResult
	require.NoError(t, json.Unmarshal([]byte(got.stdout), &res), got.stdout)
	assert.Equal(t, 1, res.Format)
	assert.Equal(t, `flow "hello" (examples/hello/flow.cue)`, res.Target)
	assert.Equal(t, "flow", res.Mode)
	assert.Equal(t, runtime.NumCPU(), res.Machine.CPUs)
	require.Len(t, res.Levels, 2)
	for i, l := range res.Levels {
		assert.Equal(t, i+1, l.Concurrency)
		assert.Zero(t, l.Rate)
		assert.Equal(t, 20, l.Runs)
		assert.Zero(t, l.Failed)
		assert.Positive(t, l.Seconds)
		assert.Positive(t, l.RunsPerSecond)
		lat := l.Latency
		assert.Positive(t, lat.P50)
		assert.True(t, lat.P50 <= lat.P90 && lat.P90 <= lat.P99 && lat.P99 <= lat.Max, "%+v", lat)
		require.Len(t, l.Nodes, 1, "shout is bypassed")
		assert.Equal(t, "greet", l.Nodes[0].Node)
		assert.Equal(t, 20, l.Nodes[0].Runs)
		assert.Positive(t, l.Nodes[0].Share)
		assert.Nil(t, l.Change)
	}

	// An earlier result a million times as fast at concurrency 1, and none
	// at 2: every figure of the first level changed by about -100%.
	old := filepath.Join(t.TempDir(), "old.json")
	require.NoError(t, os.WriteFile(old, []byte(`{"format": 1, "levels": [{"concurrency": 1, "runs_per_second": 1e12,
		"latency_ms": {"mean": 1e9, "p50": 1e9, "p90": 1e9, "p99": 1e9, "max": 1e9}}]}`), 0o644))
	got = runBinary(t, bin, root, "bench", "examples/hello/flow.cue", "--input", "name=Ada", "--concurrency", "1,2", "--runs", "20", "--compare", old)
	require.Equal(t, 0, got.code, got.stderr)
	rows := fields(got.stdout)
	require.GreaterOrEqual(t, len(rows), 5, got.stdout)
	first := rows[3]
	require.Len(t, first, 15, "%q", first)
	for i := 4; i < len(first); i += 2 {
		assert.Equal(t, "(-100.0%)", first[i], "%q", first)
	}
	assert.Len(t, rows[4], 9, "no change without an earlier level: %q", rows[4])

	got = runBinary(t, bin, root, "bench", "examples/hello/flow.cue", "--input", "name=Ada", "--concurrency", "1", "--runs", "20", "--compare", old, "-o", "json")
	require.Equal(t, 0, got.code, got.stderr)
	res = benchResult{}
	require.NoError(t, json.Unmarshal([]byte(got.stdout), &res), got.stdout)
	require.Len(t, res.Levels, 1)
	assert.Len(t, res.Levels[0].Change, 6)
	for name, c := range res.Levels[0].Change {
		assert.InDelta(t, -100, c, 0.1, name)
	}
}

// TestBinaryBenchURL loads a real weir serve on loopback: closed-loop on
// /score, open-loop on the runs API, whose answers give the nodes'
// breakdown, and answers that are not 2xx counted as failed requests.
func TestBinaryBenchURL(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	s := startServe(t, root, nil, 1, "examples/hello/flow.cue")

	got := runBinary(t, bin, root, "bench", "--url", s.url, "--input", "name=Ada", "--concurrency", "2", "--requests", "40")
	require.Equal(t, 0, got.code, got.stderr)
	assert.Equal(t, "concurrency 2: 10 warm-up requests, then 40 measured requests\n", got.stderr)
	rows := fields(got.stdout)
	require.Len(t, rows, 4, got.stdout)
	assert.Equal(t, "POST "+s.url+"/score"+machine, strings.Join(rows[0], " "))
	assert.Equal(t, []string{"CONCURRENCY", "REQUESTS", "FAILED", "REQUESTS/S", "MEAN", "P50", "P90", "P99", "MAX"}, rows[2])
	assert.Equal(t, []string{"2", "40", "0"}, rows[3][:3])

	got = runBinary(t, bin, root, "bench", "--url", s.url+"/v1/flows/hello/runs", "--input", "name=Ada", "--rate", "500/s", "--requests", "50", "--warmup", "5")
	require.Equal(t, 0, got.code, got.stderr)
	assert.Equal(t, "rate 500/s, at most 1000 in flight: 5 warm-up requests, then 50 measured requests\n", got.stderr)
	rows = fields(got.stdout)
	require.Len(t, rows, 8, got.stdout)
	assert.Equal(t, []string{"RATE", "REQUESTS", "FAILED", "REQUESTS/S", "MEAN", "P50", "P90", "P99", "MAX"}, rows[2])
	assert.Equal(t, []string{"500/s", "50", "0"}, rows[3][:3])
	assert.Equal(t, "rate 500/s, at most 1000 in flight: where the time goes", strings.Join(rows[5], " "))
	assert.Equal(t, []string{"greet", "50"}, rows[7][:2])

	// An empty name breaks the flow's input types: 400, a failed request.
	// Every other line of the data has one.
	data := filepath.Join(t.TempDir(), "names.jsonl")
	require.NoError(t, os.WriteFile(data, []byte("{\"name\": \"Ada\"}\n{\"name\": \"\"}\n"), 0o644))
	got = runBinary(t, bin, root, "bench", "--url", s.url, "--data", data, "--concurrency", "1", "--requests", "6", "--warmup", "0")
	assert.Equal(t, 1, got.code)
	assert.Equal(t, "concurrency 1: 0 warm-up requests, then 6 measured requests\nweir: bench POST "+s.url+"/score: 3 of 6 measured requests failed\n", got.stderr)
	rows = fields(got.stdout)
	require.Len(t, rows, 5, got.stdout)
	assert.Equal(t, []string{"1", "3", "3"}, rows[3][:3])
	assert.Equal(t, `concurrency 1: first error: status 400 Bad Request: {"error":{"code":"UserError","message":"flow \"hello\": invalid inputs: name: must not be \"\"","innerError":{"code":"invalid_input"}}}`, strings.Join(rows[4], " "))

	// When the first request fails, nothing is loaded.
	got = runBinary(t, bin, root, "bench", "--url", s.url, "--input", "name=", "--concurrency", "1,8", "--duration", "1m")
	assert.Equal(t, 1, got.code)
	assert.Equal(t, "weir: bench POST "+s.url+`/score: the first request failed, so nothing was measured: status 400 Bad Request: {"error":{"code":"UserError","message":"flow \"hello\": invalid inputs: name: must not be \"\"","innerError":{"code":"invalid_input"}}}`+"\n", got.stderr)
	assert.Empty(t, got.stdout)

	exit, _ := s.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, exit)
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"500/s": 500, "500": 500, "0.5/s": 0.5, "300/m": 5} {
		got, err := parseRate(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "x", "0/s", "-1/s", "5/h", "Inf", "NaN", "5/"} {
		_, err := parseRate(in)
		assert.EqualError(t, err, `--rate "`+in+`": write a positive number of runs per second or minute, such as 500/s or 300/m`)
	}
}

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "api.localhost": true, "127.0.0.1": true, "127.3.2.1": true, "::1": true,
		"example.com": false, "10.0.0.5": false, "0.0.0.0": false, "localhost.example.com": false, "": false,
	} {
		assert.Equal(t, want, loopback(host), host)
	}
}

// FuzzParseRate: any text is a positive, finite rate or an error.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"500/s", "300/m", "1e3", "0.001/s", "x/s", "/s", "1e400/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRate(s)
		if err == nil && (!(r > 0) || math.IsInf(r, 0)) {
			t.Fatalf("parseRate(%q) = %v", s, r)
		}
	})
}
