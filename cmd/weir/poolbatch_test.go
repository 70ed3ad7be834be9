package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/hosts/pool"
)

var workerPulling = regexp.MustCompile(`pulling from pool "[^"]+" on (nats://\S+),`)

// startWorker runs weir worker on pool name at url, until the test ends.
func startWorker(t *testing.T, url, name string, args ...string) *served {
	t.Helper()
	return startListening(t, t.TempDir(), noNATSEnv, 1, workerPulling,
		append([]string{"worker", "--nats", url, "--pool", name, "--cache", t.TempDir()}, args...)...)
}

// statusOf is weir pool status -o json of pool name at url.
func statusOf(t *testing.T, url, name string) pool.Status {
	t.Helper()
	r := weirNATS(t, nil, "pool", "status", "--nats", url, "-o", "json", name)
	require.Equal(t, 0, r.code, r.stderr)
	var st pool.Status
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &st))
	return st
}

// recordLines reads a run's outputs.jsonl: each line's number and outputs.
func recordLines(t *testing.T, home, run string) map[int]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(home, "runs", run, "outputs.jsonl"))
	require.NoError(t, err)
	got := map[int]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var o struct {
			Line    int             `json:"line"`
			Outputs json.RawMessage `json:"outputs"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &o))
		_, dup := got[o.Line]
		require.False(t, dup, "line %d recorded twice", o.Line)
		got[o.Line] = string(o.Outputs)
	}
	return got
}

var runID = regexp.MustCompile(`(?m)^run +(\S+) \(`)

// TestPoolBatchHello is the issue's: weir pool serve, weir pool create, two
// weir worker processes, and weir batch --pool of the hello example, each
// line recorded once; then the same batch detached and collected with weir
// runs wait, and one run with weir submit.
func TestPoolBatchHello(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	ns := startPoolServe(t, t.TempDir())
	url := ns.url
	r := weirNATS(t, nil, "pool", "create", "--nats", url, "--ack-wait", "5s", "hello")
	require.Equal(t, 0, r.code, r.stderr)
	w1 := startWorker(t, url, "hello", "--labels", "zone=a")
	w2 := startWorker(t, url, "hello", "--labels", "zone=b")

	home := t.TempDir()
	batch := func(args ...string) result {
		return runBinaryEnv(t, bin, root, "", noNATSEnv, append([]string{"batch", "--home", home, "--nats", url}, args...)...)
	}
	r = batch("examples/hello/flow.cue", "--data", "examples/hello/data.jsonl", "--pool", "hello")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "lines    10: 10 succeeded, 0 failed\n")
	m := runID.FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	got := recordLines(t, home, m[1])
	require.Len(t, got, 10)
	data, err := os.ReadFile(filepath.Join(root, "examples/hello/data.jsonl"))
	require.NoError(t, err)
	for i, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var in struct {
			Name string `json:"name"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &in))
		assert.Contains(t, got[i+1], `"message":"Hello, `+in.Name+`!"`, "line %d", i+1)
	}
	// Both workers took lines, as their heartbeats say.
	require.Eventually(t, func() bool {
		st := statusOf(t, url, "hello")
		total := int64(0)
		for _, w := range st.Workers {
			total += w.Lines
		}
		return len(st.Workers) == 2 && total == 10
	}, 20*time.Second, 100*time.Millisecond)

	// Detached: the run id now, the record when weir runs wait collects it.
	r = batch("examples/hello/flow.cue", "--data", "examples/hello/data.jsonl", "--pool", "hello", "--detach")
	require.Equal(t, 0, r.code, r.stderr)
	run := strings.TrimSpace(r.stdout)
	assert.Regexp(t, `^hello-\d{8}-\d{6}-[0-9a-f]{4}$`, run)
	assert.Equal(t, `batch `+run+`: 10 lines queued on pool "hello"; collect the results with weir runs wait `+run+"\n", r.stderr)
	r = runBinaryEnv(t, bin, root, "", noNATSEnv, "runs", "wait", "--home", home, run)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "run      "+run+" (completed)\n")
	assert.Equal(t, got, recordLines(t, home, run), "the same lines as the attached batch")
	r = runBinaryEnv(t, bin, root, "", noNATSEnv, "runs", "wait", "--home", home, run)
	assert.Equal(t, result{1, "", `weir: runs wait: run "` + run + `" is finished: every line is in its record (weir runs show ` + run + ")\n"}, r)

	r = runBinaryEnv(t, bin, root, "", noNATSEnv, "submit", "--nats", url, "--pool", "hello", "examples/hello", "--input", "name=Ada", "--input", "loud=true", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.JSONEq(t, `{"message": "Hello, Ada!", "shouted": "HELLO, ADA!"}`, r.stdout)

	// SIGTERM drains each worker: exit 0.
	for _, w := range []*served{w1, w2} {
		code, lines := w.stop(t, syscall.SIGTERM)
		assert.Equal(t, 0, code, lines)
		assert.Regexp(t, `drained$`, lines[len(lines)-1])
	}
	r = runBinaryEnv(t, bin, root, "", noNATSEnv, "submit", "--nats", url, "--pool", "hello", "examples/hello", "--input", "name=Ada")
	assert.Equal(t, result{1, "", `weir: pool "hello" has no worker: start one with weir worker --pool hello` + "\n"}, r)
}

func TestPoolUsageErrors(t *testing.T) {
	t.Parallel()
	runCases(t, []commandCase{
		{name: "detach alone", args: []string{"batch", "examples/hello", "--data", "x.jsonl", "--detach"}, code: exitUsage,
			stderr: "weir: --detach needs --pool: a local batch runs in this process\n" + usage("batch")},
		{name: "worker without pool", args: []string{"worker"}, code: exitUsage,
			stderr: "weir: worker needs --pool NAME\n" + usage("worker")},
		{name: "worker bad label", args: []string{"worker", "--pool", "p", "--labels", "zone"}, code: exitUsage,
			stderr: "weir: --labels \"zone\": write key=value\n" + usage("worker")},
		{name: "submit without pool", args: []string{"submit", "examples/hello"}, code: exitUsage,
			stderr: "weir: submit needs --pool NAME\n" + usage("submit")},
	})
}
