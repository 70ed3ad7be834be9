package main

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
)

// keptInputs returns what the record kept of each node of line n of run
// id: its inputs, or "-" when it kept none.
func keptInputs(t *testing.T, home, id string, n int) map[string]string {
	t.Helper()
	s, err := record.Open(home)
	require.NoError(t, err)
	defer s.Close()
	l, err := s.Line(id, n)
	require.NoError(t, err)
	m := map[string]string{}
	for _, nd := range l.Nodes {
		m[nd.Node] = "-"
		if nd.Inputs != nil {
			m[nd.Node] = string(nd.Inputs)
		}
	}
	return m
}

// weir batch keeps the node values of the lines that failed, and of every
// line with --node-values all.
func TestBatchNodeValues(t *testing.T) {
	home := t.TempDir()
	r := weir(t, "", "batch", "--home", home, scores, "--data", scoresJSONL)
	require.Equal(t, 1, r.code, r.stderr)
	id := lastRun(t, home)
	assert.Equal(t, map[string]string{"nap": "-", "greet": "-"}, keptInputs(t, home, id, 1))
	assert.Equal(t, map[string]string{"nap": `{"duration":"soon","value":0}`, "greet": `{"template":"Hello, {{.name}}!","name":"Alan"}`},
		keptInputs(t, home, id, 3))

	r = weir(t, "", "batch", "--home", home, scores, "--data", scoresJSONL, "--node-values", "all")
	require.Equal(t, 1, r.code, r.stderr)
	id = lastRun(t, home)
	assert.Equal(t, map[string]string{"nap": `{"duration":"0s","value":1}`, "greet": `{"template":"Hello, {{.name}}!","name":"Ada"}`},
		keptInputs(t, home, id, 1))
	var runs []struct{ Kind string }
	r = weir(t, "", "runs", "list", "-o", "json", "--home", home)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs))
	assert.Equal(t, []struct{ Kind string }{{"batch"}, {"batch"}}, runs)

	runCases(t, []commandCase{
		{
			name:   "unknown node values",
			args:   []string{"batch", "--home", home, scores, "--data", scoresJSONL, "--node-values", "some"},
			code:   2,
			stderr: "weir: --node-values must be failed or all, not \"some\"\n" + usage("batch"),
		},
	})
}

// keyed greets with a secret in its node's inputs and outputs; the name
// "boom" fails the node.
const keyed = "../../engine/record/testdata/keyed.cue"

const recordToken = "sk-record-test-9876"

// weir run --record keeps the run, one line, which weir runs shows, and
// the secret nowhere.
func TestRunRecord(t *testing.T) {
	bin, _ := weirBinary(t)
	t.Parallel()
	home, dir := t.TempDir(), t.TempDir()
	flow, err := filepath.Abs(keyed)
	require.NoError(t, err)
	env := []string{"OTEL_TRACES_EXPORTER=none", "WEIR_TEST_RECORD_TOKEN=" + recordToken}

	r := runBinaryEnv(t, bin, dir, "", env, "run", "--home", home, flow, "--input", "name=Ada", "--record", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "{\n  \"text\": \"Hello, Ada, your key is ***\"\n}\n", r.stdout)
	assert.Equal(t, "run RUN recorded: weir runs show RUN\n", normalize(r.stderr, home))
	id := runIDPattern.FindString(r.stderr)

	r = runBinaryEnv(t, bin, dir, "", env, "runs", "show", "--home", home, id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `run  RUN
kind  run
flow  hello
status  completed
lines  1 succeeded, 0 failed
created  DATE
duration  Nms
latency  p50 Nms, p95 Nms, p99 Nms, max Nms
rate  N lines/s
folder  HOME/runs/RUN

NODE  RUNS  FAILED  BYPASSED  CANCELED  P50  P95  P99
greet  1  0  0  0  Nms  Nms  Nms
`, normalize(r.stdout, home))
	assert.Equal(t, map[string]string{"greet": `{"template":"{{if eq .name \"boom\"}}{{.nothing}}{{end}}Hello, {{.name}}, your key is {{.key}}","name":"Ada","key":"***"}`},
		keptInputs(t, home, id, 1))

	r = runBinaryEnv(t, bin, dir, "", env, "run", "--home", home, flow, "--input", "name=boom", "--record")
	require.Equal(t, 1, r.code, r.stderr)
	assert.Equal(t, "run RUN recorded: weir runs show RUN\n"+
		`weir: node "greet" (tool builtin.template, plugin builtin): template: template:1:24: executing "template" at <.nothing>: map has no entry for key "nothing"`+"\n",
		normalize(r.stderr, home))
	failed := runIDPattern.FindString(r.stderr)
	s, err := record.Open(home)
	require.NoError(t, err)
	defer s.Close()
	l, err := s.Line(failed, 1)
	require.NoError(t, err)
	assert.Equal(t, engine.Failed, l.Status)
	assert.JSONEq(t, `{"name":"boom"}`, string(l.Inputs))
	assert.EqualError(t, l.Err, `line 1: node "greet" (tool builtin.template, plugin builtin): template: template:1:24: executing "template" at <.nothing>: map has no entry for key "nothing"`)

	r = runBinaryEnv(t, bin, dir, "", env, "runs", "list", "--home", home)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `RUN  KIND  NAME  FLOW  STATUS  SUCCEEDED  FAILED  CARRIED  CREATED  DURATION
RUN  run  -  hello  completed  0  1  0  DATE  Nms
RUN  run  -  hello  completed  1  0  0  DATE  Nms
`, normalize(r.stdout, home))
	assertNowhere(t, home, recordToken)
}

// assertNowhere fails if any file under dir holds text.
func assertNowhere(t *testing.T, dir, text string) {
	t.Helper()
	n := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		n++
		assert.NotContains(t, string(b), text, "%s holds the secret", path)
		return err
	}))
	assert.Positive(t, n, "files under %s", dir)
}

// weir serve --record keeps a line per request in a run of kind serve per
// flow version, rotated every --record-lines, and the secret nowhere.
func TestServeRecord(t *testing.T) {
	home := t.TempDir()
	flow, err := filepath.Abs(keyed)
	require.NoError(t, err)
	s := startServe(t, filepath.Dir(flow), []string{"WEIR_HOME=" + home, "WEIR_TEST_RECORD_TOKEN=" + recordToken}, 2,
		"--record", "--record-lines", "2", "keyed.cue")
	assert.Equal(t, "recording the runs served in "+home+": weir runs list", s.start[0])
	// Lines 1 and 2 go to a first run, 3 and 4 to a second, 5 to a third,
	// which deletes the first.
	for _, name := range []string{"Ada", "Grace", "boom", "Alan", "Edsger"} {
		code, body := post(t, s.url+"/v1/flows/hello/runs", "application/json", `{"inputs":{"name":"`+name+`"}}`)
		if name == "boom" {
			assert.Equal(t, http.StatusBadGateway, code, body)
		} else {
			assert.Equal(t, http.StatusOK, code, body)
		}
		assert.NotContains(t, body, `"key"`, "the answer has no node values")
	}
	code, rest := s.stop(t, syscall.SIGTERM)
	require.Equal(t, 0, code, "%q", rest)

	r := weir(t, "", "runs", "list", "--home", home)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `RUN  KIND  NAME  FLOW  STATUS  SUCCEEDED  FAILED  CARRIED  CREATED  DURATION
RUN  serve  -  hello  completed  1  0  0  DATE  Nms
RUN  serve  -  hello  completed  1  1  0  DATE  Nms
`, normalize(r.stdout, home))
	ids := runIDPattern.FindAllString(r.stdout, -1)
	require.Len(t, ids, 2)
	last, second := ids[0], ids[1]

	store, err := record.Open(home)
	require.NoError(t, err)
	defer store.Close()
	boom, err := store.Line(second, 1)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"boom"}`, string(boom.Inputs))
	assert.EqualError(t, boom.Err, `line 1: node "greet" (tool builtin.template, plugin builtin): template: template:1:24: executing "template" at <.nothing>: map has no entry for key "nothing"`)
	assert.Equal(t, map[string]string{"greet": `{"template":"{{if eq .name \"boom\"}}{{.nothing}}{{end}}Hello, {{.name}}, your key is {{.key}}","name":"Edsger","key":"***"}`},
		keptInputs(t, home, last, 1))
	edsger, err := store.Line(last, 1)
	require.NoError(t, err)
	assert.JSONEq(t, `{"text":"Hello, Edsger, your key is ***"}`, string(edsger.Outputs))
	assert.True(t, edsger.Nodes[0].HasStart)
	assert.False(t, edsger.Started.IsZero())
	assertNowhere(t, home, recordToken)
}
