package record_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
)

// A line written with every field the inspector shows reads back whole,
// and its files say it as the package doc does.
func TestLineRoundTrip(t *testing.T) {
	s := newStore(t)
	start := time.Date(2026, 12, 3, 15, 4, 5, 678_900_000, time.UTC)
	logs := []engine.LogLine{
		{Time: start.Add(time.Millisecond), Level: "INFO", Message: "shouting <Ada>\nnow", Attrs: map[string]string{"stream": "stdout"}},
		{Time: start.Add(2 * time.Millisecond), Level: "ERROR", Message: "too loud"},
	}
	lr := engine.LineResult{
		Line:     1,
		Status:   engine.Failed,
		Inputs:   json.RawMessage(`{"name":"Ada"}`),
		Err:      &engine.LineError{Line: 1, Kind: engine.ToolFailed, Err: errors.New(`node "shout" (tool text.shout, plugin text): too loud`)},
		Start:    start,
		Duration: 3 * time.Millisecond,
		TraceID:  "4bf92f3577b34da6a3ce929d0e0e4736",
		Nodes: []engine.NodeResult{
			{Node: "greet", Tool: "text.greet", Status: engine.Succeeded, Attempts: 1,
				Start: start.Add(250 * time.Microsecond), Duration: time.Millisecond,
				Inputs: json.RawMessage(`{"name":"Ada","key":"***"}`), Outputs: json.RawMessage("{\n \"text\": \"Hello, Ada!\"\n}"),
				Usage: &plugins.Usage{InputTokens: 3, OutputTokens: 4}},
			{Node: "cached", Tool: "text.greet", Status: engine.Succeeded, Cached: true,
				Start: start.Add(time.Millisecond), Duration: 10 * time.Microsecond,
				Inputs: json.RawMessage(`{"name":"Ada"}`), Outputs: json.RawMessage(`{"text":"Hello, Ada!"}`)},
			{Node: "shout", Tool: "text.shout", Status: engine.Failed, Attempts: 2,
				Start: start.Add(1250 * time.Microsecond), Duration: 1500 * time.Microsecond, Error: "too loud",
				Inputs: json.RawMessage(`{"text":"Hello, Ada!"}`), Logs: logs},
			{Node: "never", Tool: "text.greet", Status: engine.Canceled},
		},
	}
	r, err := s.Create(record.Meta{ID: "r", Kind: record.KindRun, Flow: "hello"})
	require.NoError(t, err)
	require.NoError(t, r.Write(lr))
	require.NoError(t, r.Finish(summary("r", []engine.LineResult{lr}, 0), nil))

	assert.Equal(t, `{"line":1,"nodes":[`+
		`{"node":"greet","tool":"text.greet","status":"succeeded","attempts":1,"start_ms":0.25,"duration_ms":1,"usage":{"input_tokens":3,"output_tokens":4},"inputs":{"name":"Ada","key":"***"},"outputs":{"text":"Hello, Ada!"}},`+
		`{"node":"cached","tool":"text.greet","status":"succeeded","attempts":0,"start_ms":1,"duration_ms":0.01,"cached":true,"inputs":{"name":"Ada"},"outputs":{"text":"Hello, Ada!"}},`+
		`{"node":"shout","tool":"text.shout","status":"failed","attempts":2,"start_ms":1.25,"duration_ms":1.5,"error":"too loud","inputs":{"text":"Hello, Ada!"},`+
		`"logs":[{"time":"2026-12-03T15:04:05.6799Z","level":"INFO","message":"shouting <Ada>\nnow","attrs":{"stream":"stdout"}},{"time":"2026-12-03T15:04:05.6809Z","level":"ERROR","message":"too loud"}]},`+
		`{"node":"never","tool":"text.greet","status":"canceled","attempts":0,"duration_ms":0}]}`+"\n",
		readFile(t, r.Dir(), "nodes.jsonl"))
	assert.Equal(t, `{"line":1,"status":"failed","duration_ms":3,"started":"2026-12-03T15:04:05.678Z","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",`+
		`"error":"node \"shout\" (tool text.shout, plugin text): too loud","error_kind":"tool"}`+"\n",
		readFile(t, r.Dir(), "outputs.jsonl"))

	got, err := s.Line("r", 1)
	require.NoError(t, err)
	want := record.Line{
		Output: record.Output{
			Line: 1, Status: engine.Failed, Duration: 3 * time.Millisecond,
			Err:     &engine.LineError{Line: 1, Kind: engine.ToolFailed, Err: errors.New(`node "shout" (tool text.shout, plugin text): too loud`)},
			Started: time.Date(2026, 12, 3, 15, 4, 5, 678_000_000, time.UTC), TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
		},
		Inputs: json.RawMessage(`{"name":"Ada"}`),
		Nodes: []record.Node{
			{Node: "greet", Tool: "text.greet", Status: engine.Succeeded, Attempts: 1,
				Start: 250 * time.Microsecond, HasStart: true, Duration: time.Millisecond,
				Usage:  &plugins.Usage{InputTokens: 3, OutputTokens: 4},
				Inputs: json.RawMessage(`{"name":"Ada","key":"***"}`), Outputs: json.RawMessage(`{"text":"Hello, Ada!"}`)},
			{Node: "cached", Tool: "text.greet", Status: engine.Succeeded, Cached: true,
				Start: time.Millisecond, HasStart: true, Duration: 10 * time.Microsecond,
				Inputs: json.RawMessage(`{"name":"Ada"}`), Outputs: json.RawMessage(`{"text":"Hello, Ada!"}`)},
			{Node: "shout", Tool: "text.shout", Status: engine.Failed, Attempts: 2,
				Start: 1250 * time.Microsecond, HasStart: true, Duration: 1500 * time.Microsecond, Error: "too loud",
				Inputs: json.RawMessage(`{"text":"Hello, Ada!"}`), Logs: logs},
			{Node: "never", Tool: "text.greet", Status: engine.Canceled},
		},
	}
	assert.Equal(t, want, got)
	in, err := s.Get("r")
	require.NoError(t, err)
	assert.Equal(t, record.KindRun, in.Kind)
}

// The files of an older weir, without the fields the inspector reads,
// still read: the fields are zero.
func TestLineOfOlderRecord(t *testing.T) {
	s := newStore(t)
	r, err := s.Create(record.Meta{ID: "old", Flow: "hello"})
	require.NoError(t, err)
	require.NoError(t, r.Finish(summary("old", nil, 0), nil))
	// What a weir before start_ms, started and trace_id wrote.
	writeFile(t, `{"line":1,"inputs":{"name":"Ada"}}`+"\n"+`{"line":2,"inputs":{"name":""}}`+"\n", r.Dir(), "inputs.jsonl")
	writeFile(t, `{"line":1,"nodes":[{"node":"greet","tool":"text.greet","status":"succeeded","attempts":1,"duration_ms":0.123}]}`+"\n", r.Dir(), "nodes.jsonl")
	writeFile(t, `{"line":2,"status":"failed","duration_ms":2,"error":"bad name"}`+"\n"+
		`{"line":1,"status":"succeeded","duration_ms":1.5,"outputs":{"text":"Hello, Ada!"}}`+"\n", r.Dir(), "outputs.jsonl")

	got, err := s.Line("old", 1)
	require.NoError(t, err)
	assert.Equal(t, record.Line{
		Output: record.Output{Line: 1, Status: engine.Succeeded, Duration: 1500 * time.Microsecond, Outputs: json.RawMessage(`{"text":"Hello, Ada!"}`)},
		Inputs: json.RawMessage(`{"name":"Ada"}`),
		Nodes:  []record.Node{{Node: "greet", Tool: "text.greet", Status: engine.Succeeded, Attempts: 1, Duration: 123 * time.Microsecond}},
	}, got)
	got, err = s.Line("old", 2)
	require.NoError(t, err)
	assert.Equal(t, record.Line{
		Output: record.Output{Line: 2, Status: engine.Failed, Duration: 2 * time.Millisecond, Err: &engine.LineError{Line: 2, Err: errors.New("bad name")}},
		Inputs: json.RawMessage(`{"name":""}`),
	}, got)
}

func TestLineErrors(t *testing.T) {
	s := newStore(t)
	finished(t, s, "a", "", ok(1, ""))

	_, err := s.Line("a", 2)
	require.EqualError(t, err, `run "a" has no line 2`)
	assert.ErrorIs(t, err, record.ErrNoLine)
	_, err = s.Line("nope", 1)
	require.EqualError(t, err, `no run "nope" in the record; see weir runs list`)
	assert.ErrorIs(t, err, record.ErrNotFound)

	dir := filepath.Join(s.Dir(), "runs", "a")
	require.NoError(t, os.Remove(filepath.Join(dir, "nodes.jsonl")))
	_, err = s.Line("a", 1)
	require.EqualError(t, err, `record of run "a" is damaged: runs/a/nodes.jsonl is missing`)
	assert.ErrorIs(t, err, record.ErrDamaged)
	writeFile(t, `{"line":1,"nodes":[{"node":1}]}`+"\n", dir, "nodes.jsonl")
	_, err = s.Line("a", 1)
	require.EqualError(t, err, `record of run "a" is damaged: nodes.jsonl: line 1: json: cannot unmarshal number into Go struct field nodeEntry.node of type string`)
	writeFile(t, `{"nodes":[]}`+"\n", dir, "nodes.jsonl")
	_, err = s.Line("a", 1)
	require.EqualError(t, err, `record of run "a" is damaged: nodes.jsonl:1: no "line" field`)
}

// secretFlow loads testdata/keyed.cue, whose node gets secret in its
// inputs and puts it in its output; a name "boom" fails the node.
func secretFlow(t *testing.T, secret string) *engine.Flow {
	t.Helper()
	e, err := engine.New(engine.Options{
		Providers: []plugins.Provider{builtin.NewProvider()},
		Secrets:   func(string, engine.SecretSource) (string, error) { return secret, nil },
	})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	f, err := e.Load(context.Background(), "testdata/keyed.cue")
	require.NoError(t, err)
	return f
}

// A batch records the nodes' values of its failed lines by default, of
// every line when asked, and never a secret's value.
func TestStartBatchNodeValues(t *testing.T) {
	const secret = "sk-very-secret-0123"
	f := secretFlow(t, secret)
	data := "{\"name\":\"Ada\"}\n{\"name\":\"boom\"}\n"
	for _, tc := range []struct {
		values engine.NodeValues
		ada    record.Node // line 1's node, without its times
	}{
		{engine.NoNodeValues, record.Node{Node: "greet", Tool: "builtin.template", Status: engine.Succeeded, Attempts: 1}},
		{engine.AllNodeValues, record.Node{Node: "greet", Tool: "builtin.template", Status: engine.Succeeded, Attempts: 1,
			Inputs:  json.RawMessage(`{"template":"{{if eq .name \"boom\"}}{{.nothing}}{{end}}Hello, {{.name}}, your key is {{.key}}","name":"Ada","key":"***"}`),
			Outputs: json.RawMessage(`{"text":"Hello, Ada, your key is ***"}`)}},
	} {
		s := newStore(t)
		b, err := s.StartBatch(context.Background(), f, jsonl(data), record.Meta{ID: "keyed-1", Data: "d.jsonl"},
			engine.BatchOptions{NodeValues: tc.values})
		require.NoError(t, err)
		_, err = b.Wait(nil)
		require.NoError(t, err)

		ada, err := s.Line("keyed-1", 1)
		require.NoError(t, err)
		require.Len(t, ada.Nodes, 1)
		assert.True(t, ada.Nodes[0].HasStart)
		ada.Nodes[0].Start, ada.Nodes[0].HasStart, ada.Nodes[0].Duration = 0, false, 0
		assert.Equal(t, tc.ada, ada.Nodes[0])
		assert.JSONEq(t, `{"text":"Hello, Ada, your key is ***"}`, string(ada.Outputs))

		boom, err := s.Line("keyed-1", 2)
		require.NoError(t, err)
		require.Len(t, boom.Nodes, 1)
		assert.Equal(t, `template: template:1:24: executing "template" at <.nothing>: map has no entry for key "nothing"`, boom.Nodes[0].Error)
		assert.JSONEq(t, `{"template":"{{if eq .name \"boom\"}}{{.nothing}}{{end}}Hello, {{.name}}, your key is {{.key}}","name":"boom","key":"***"}`,
			string(boom.Nodes[0].Inputs))
		assert.Nil(t, boom.Nodes[0].Outputs)

		files := allFiles(t, b.Dir())
		assert.Contains(t, files, `"key":"***"`)
		assert.NotContains(t, files, secret)
	}
}

// allFiles returns the contents of every file under dir, one after
// another.
func allFiles(t *testing.T, dir string) string {
	t.Helper()
	var all strings.Builder
	fsys := os.DirFS(dir)
	require.NoError(t, fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			var b []byte
			b, err = fs.ReadFile(fsys, path)
			all.Write(b)
		}
		return err
	}))
	return all.String()
}
