package record_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
)

// flowFiles writes a flow, a sub-flow beside it, one in a folder below and
// two outside its folder with the same base name; it returns their paths
// as the engine would list them.
func flowFiles(t *testing.T) []string {
	dir := t.TempDir()
	writeFile(t, "name: \"hello\"\n", dir, "flows", "hello.cue")
	writeFile(t, "name: \"child\"\n", dir, "flows", "sub", "child.cue")
	writeFile(t, "name: \"shared a\"\n", dir, "shared", "a", "common.cue")
	writeFile(t, "name: \"shared b\"\n", dir, "shared", "b", "common.cue")
	return []string{
		filepath.Join(dir, "flows", "hello.cue"),
		filepath.Join(dir, "flows", "sub", "child.cue"),
		filepath.Join(dir, "shared", "a", "common.cue"),
		filepath.Join(dir, "flows", "sub", "..", "hello.cue"), // the flow again: copied once
		filepath.Join(dir, "shared", "b", "common.cue"),
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestRunLifecycle(t *testing.T) {
	s := newStore(t)
	files := flowFiles(t)
	meta := record.Meta{
		ID: "hello-20260102-030405-abcd", Name: "nightly", Flow: "hello", FlowFiles: files,
		Data: "data/q.jsonl", DataSHA256: sha("data"), Map: map[string]string{"name": "${data.who}"},
		Concurrency: 4, LineTimeout: 30 * time.Second,
	}
	before := time.Now()
	r, err := s.Create(meta)
	require.NoError(t, err)
	assert.Equal(t, meta.ID, r.ID())
	assert.Equal(t, filepath.Join(s.Dir(), "runs", meta.ID), r.Dir())

	want := record.Info{
		ID: meta.ID, Name: "nightly", Flow: "hello", Data: "data/q.jsonl", DataSHA256: sha("data"),
		Dir: r.Dir(), Kind: record.KindBatch, Status: engine.Running, Map: meta.Map, Concurrency: 4, LineTimeout: 30 * time.Second,
	}
	got, err := s.Get(meta.ID)
	require.NoError(t, err)
	assert.False(t, got.Created.Before(before.Truncate(0)), "created %v before %v", got.Created, before)
	want.Created = got.Created
	assert.Equal(t, want, got)

	agg1 := ok(1, `{"stats":{"x":1}}`)
	// An error that is not a LineError has no kind, as in records of
	// older weirs.
	unreadable := engine.LineResult{Line: 3, Status: engine.Failed, Err: errors.New("line 3: invalid character 'x' looking for beginning of value")}
	indented := ok(4, `{"stats":{"x":4}}`)
	indented.Outputs = json.RawMessage("{\n  \"message\": \"hi\"\n}")

	require.NoError(t, r.Write(agg1))
	require.NoError(t, r.Write(bad(2)))
	assert.Empty(t, readFile(t, r.Dir(), "outputs.jsonl"), "Write buffers")
	require.NoError(t, r.Flush())
	got, err = s.Get(meta.ID)
	require.NoError(t, err)
	assert.Equal(t, [3]int{1, 1, 0}, [3]int{got.Succeeded, got.Failed, got.Carried}, "Flush updates the counts")
	assert.Equal(t, engine.Running, got.Status)

	require.NoError(t, r.Write(unreadable))
	require.NoError(t, r.Write(indented))
	r.Logf("progress: %d%%", 100)

	sum := &engine.BatchSummary{
		RunID: meta.ID, Flow: "hello", Status: engine.Completed, Succeeded: 2, Failed: 2, Carried: 3,
		Duration: 2 * time.Second,
		Latency:  engine.Latency{P50: 1500 * time.Microsecond, P95: 2 * time.Millisecond, P99: 2 * time.Millisecond, Max: 2001 * time.Microsecond},
		Nodes: []engine.NodeStats{{Node: "greet", Runs: 3, Failed: 1, Bypassed: 0,
			Latency: engine.Latency{P50: 123 * time.Microsecond, P95: time.Millisecond, P99: time.Millisecond, Max: time.Millisecond}}},
		Aggregates: json.RawMessage(`{"stats":{"sum":5}}`),
		AggregateNodes: []engine.NodeResult{{Node: "stats", Tool: "builtin.stats", Plugin: "builtin", Kind: "builtin",
			Status: engine.Succeeded, Attempts: 1, Duration: 250 * time.Microsecond}},
	}
	require.NoError(t, r.Finish(sum, nil))

	got, err = s.Get(meta.ID)
	require.NoError(t, err)
	assert.False(t, got.Ended.Before(got.Created), "ended %v before created %v", got.Ended, got.Created)
	want.Status, want.Succeeded, want.Failed, want.Carried, want.Ended = engine.Completed, 2, 2, 3, got.Ended
	assert.Equal(t, want, got)
	list, err := s.List()
	require.NoError(t, err)
	assert.Equal(t, []record.Info{want}, list)

	assert.Equal(t, `{"line":1,"inputs":{"name":"n1"}}
{"line":2,"inputs":{"name":""}}
{"line":4,"inputs":{"name":"n4"}}
`, readFile(t, r.Dir(), "inputs.jsonl"))
	assert.Equal(t, `{"line":1,"nodes":[{"node":"greet","tool":"text.greet","status":"succeeded","attempts":1,"duration_ms":0.123}]}
{"line":2,"nodes":[{"node":"greet","tool":"text.greet","status":"failed","attempts":2,"duration_ms":1,"error":"empty \"name\""}]}
{"line":4,"nodes":[{"node":"greet","tool":"text.greet","status":"succeeded","attempts":1,"duration_ms":0.123}]}
`, readFile(t, r.Dir(), "nodes.jsonl"))
	assert.Equal(t, `{"line":1,"status":"succeeded","duration_ms":1.5,"outputs":{"message":"hi n1"},"aggregate":{"stats":{"x":1}}}
{"line":2,"status":"failed","duration_ms":2,"error":"node \"greet\" (tool text.greet, plugin text): empty \"name\"","error_kind":"tool"}
{"line":3,"status":"failed","duration_ms":0,"error":"line 3: invalid character 'x' looking for beginning of value"}
{"line":4,"status":"succeeded","duration_ms":1.5,"outputs":{"message":"hi"},"aggregate":{"stats":{"x":4}}}
`, readFile(t, r.Dir(), "outputs.jsonl"))

	assert.Equal(t, `{
  "run_id": "hello-20260102-030405-abcd",
  "flow": "hello",
  "status": "completed",
  "lines": {
    "total": 7,
    "ran": 4,
    "succeeded": 2,
    "failed": 2,
    "carried": 3
  },
  "duration_ms": 2000,
  "lines_per_second": 2,
  "latency_ms": {
    "p50": 1.5,
    "p95": 2,
    "p99": 2,
    "max": 2.001
  },
  "nodes": [
    {
      "node": "greet",
      "runs": 3,
      "failed": 1,
      "bypassed": 0,
      "canceled": 0,
      "latency_ms": {
        "p50": 0.123,
        "p95": 1,
        "p99": 1,
        "max": 1
      }
    }
  ],
  "aggregates": {
    "stats": {
      "sum": 5
    }
  },
  "aggregate_nodes": [
    {
      "node": "stats",
      "tool": "builtin.stats",
      "status": "succeeded",
      "attempts": 1,
      "duration_ms": 0.25
    }
  ]
}
`, readFile(t, r.Dir(), "metrics.json"))

	m, err := s.Metrics(meta.ID)
	require.NoError(t, err)
	wantMetrics := &record.Metrics{
		RunID: meta.ID, Flow: "hello", Status: engine.Completed,
		Lines:    record.LineCounts{Total: 7, Ran: 4, Succeeded: 2, Failed: 2, Carried: 3},
		Duration: 2 * time.Second, LinesPerSecond: 2, Latency: sum.Latency, Nodes: sum.Nodes,
		Aggregates:     json.RawMessage(`{"stats":{"sum":5}}`),
		AggregateNodes: []engine.NodeResult{{Node: "stats", Tool: "builtin.stats", Status: engine.Succeeded, Attempts: 1, Duration: 250 * time.Microsecond}},
	}
	assert.Equal(t, wantMetrics, m)

	var outs []record.Output
	for o, err := range s.Outputs(meta.ID) {
		require.NoError(t, err)
		outs = append(outs, o)
	}
	assert.Equal(t, []record.Output{
		{Line: 1, Status: engine.Succeeded, Outputs: json.RawMessage(`{"message":"hi n1"}`), Duration: 1500 * time.Microsecond, Aggregate: json.RawMessage(`{"stats":{"x":1}}`)},
		{Line: 2, Status: engine.Failed, Err: bad(2).Err, Duration: 2 * time.Millisecond},
		{Line: 3, Status: engine.Failed, Err: &engine.LineError{Line: 3, Kind: engine.UnknownFailure, Err: unreadable.Err}},
		{Line: 4, Status: engine.Succeeded, Outputs: json.RawMessage(`{"message":"hi"}`), Duration: 1500 * time.Microsecond, Aggregate: json.RawMessage(`{"stats":{"x":4}}`)},
	}, outs)

	log := readFile(t, r.Dir(), "log.txt")
	stamp := `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z `
	assert.Regexp(t, regexp.MustCompile(`^`+stamp+regexp.QuoteMeta(`run hello-20260102-030405-abcd started: flow "hello", data "data/q.jsonl" (sha256 `+sha("data")+`), name "nightly", concurrency 4, line timeout 30s`)+`
`+stamp+`progress: 100%
`+stamp+regexp.QuoteMeta(`run completed in 2s: 2 succeeded, 2 failed, 3 carried`)+`
$`), log)
	assert.Equal(t, "pid "+itoa(os.Getpid())+"\n", readFile(t, r.Dir(), "lock"))

	// The run is over: its writer refuses more.
	require.EqualError(t, r.Write(ok(5, "")), "write line 5: run is finished")
	require.ErrorIs(t, r.Flush(), record.ErrFinished)
	require.EqualError(t, r.Finish(sum, nil), `finish run "hello-20260102-030405-abcd": run is finished`)
	r.Logf("ignored")
	assert.Equal(t, log, readFile(t, r.Dir(), "log.txt"))
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestSnapshot(t *testing.T) {
	s := newStore(t)
	files := flowFiles(t)
	r, err := s.Create(record.Meta{ID: "snap", Flow: "hello", FlowFiles: files})
	require.NoError(t, err)
	defer r.Finish(nil, nil)

	flow := filepath.Join(r.Dir(), "flow")
	for rel, content := range map[string]string{
		"hello.cue":             "name: \"hello\"\n",
		"sub/child.cue":         "name: \"child\"\n",
		"_outside/common.cue":   "name: \"shared a\"\n",
		"_outside/common-2.cue": "name: \"shared b\"\n",
	} {
		assert.Equal(t, content, readFile(t, flow, rel), rel)
	}
	var names []string
	require.NoError(t, filepath.WalkDir(flow, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(flow, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return err
	}))
	assert.ElementsMatch(t, []string{"hello.cue", "sub/child.cue", "_outside/common.cue", "_outside/common-2.cue", "manifest.json"}, names)

	abs := func(p string) string { a, err := filepath.Abs(p); require.NoError(t, err); return a }
	type entry struct{ Path, Snapshot, SHA256 string }
	var m struct{ Files []entry }
	require.NoError(t, json.Unmarshal([]byte(readFile(t, flow, "manifest.json")), &m))
	assert.Equal(t, []entry{
		{abs(files[0]), "flow/hello.cue", sha("name: \"hello\"\n")},
		{abs(files[1]), "flow/sub/child.cue", sha("name: \"child\"\n")},
		{abs(files[2]), "flow/_outside/common.cue", sha("name: \"shared a\"\n")},
		{abs(files[4]), "flow/_outside/common-2.cue", sha("name: \"shared b\"\n")},
	}, m.Files)
	assert.True(t, strings.HasPrefix(readFile(t, flow, "manifest.json"), "{\n  \"files\": [\n    {\n      \"path\": "), "manifest.json is indented")
}
