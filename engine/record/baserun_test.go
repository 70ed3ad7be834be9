package record_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
)

func TestBaseRunReadsTheSucceededLinesOfARunAndThoseItResumes(t *testing.T) {
	s := newStore(t)
	finished(t, s, "first", "", ok(1, ""), bad(2), ok(3, ""))
	finished(t, s, "second", "first", ok(2, ""))
	finished(t, s, "other", "", bad(4))

	line, err := s.BaseRun("second")
	require.NoError(t, err)
	for _, n := range []int{1, 2, 3} {
		v, err := line(n)
		require.NoError(t, err, "line %d", n)
		assert.JSONEq(t, `{"outputs":{"message":"hi n`+itoa(n)+`"},"inputs":{"name":"n`+itoa(n)+`"}}`, string(v))
	}
	_, err = line(4)
	assert.EqualError(t, err, `run "second" has no succeeded line 4`)

	line, err = s.BaseRun("first")
	require.NoError(t, err)
	_, err = line(2)
	assert.EqualError(t, err, `run "first" has no succeeded line 2`, "a failed line is not read")

	_, err = s.BaseRun("nope")
	assert.ErrorIs(t, err, record.ErrNotFound)
	assert.EqualError(t, err, `no run "nope" in the record; see weir runs list`)

	running, err := s.Create(record.Meta{ID: "running", Flow: "hello", Data: "d.jsonl"})
	require.NoError(t, err)
	_, err = s.BaseRun("running")
	assert.ErrorIs(t, err, record.ErrRunning)
	assert.EqualError(t, err, `run "running" is still running: a batch reads its lines once it has finished`)
	require.NoError(t, running.Finish(nil, nil))
}

func TestStartBatchReadsItsBaseRunAndKeepsIt(t *testing.T) {
	s := newStore(t)
	f := greetFlow(t)
	ctx := context.Background()
	b, err := s.StartBatch(ctx, f, jsonl("{\"name\":\"Ada\"}\n{\"name\":\"\"}\n"), record.Meta{ID: "base", Data: "a.jsonl"}, engine.BatchOptions{})
	require.NoError(t, err)
	_, err = b.Wait(nil)
	require.NoError(t, err)

	b, err = s.StartBatch(ctx, f, jsonl("{\"n\":1}\n{\"n\":2}\n"), record.Meta{ID: "again", Data: "b.jsonl", BaseRun: "base"},
		engine.BatchOptions{Map: map[string]string{"name": "${run.outputs.text} (${run.inputs.name})"}})
	require.NoError(t, err)
	lines := map[int]engine.LineResult{}
	_, err = b.Wait(func(lr engine.LineResult) { lines[lr.Line] = lr })
	require.NoError(t, err)
	assert.JSONEq(t, `{"text":"Hello, Hello, Ada! (Ada)!"}`, string(lines[1].Outputs))
	assert.EqualError(t, lines[2].Err, `line 2: run "base" has no succeeded line 2`)
	in, err := s.Get("again")
	require.NoError(t, err)
	assert.Equal(t, "base", in.BaseRun)
	assert.Contains(t, readFile(t, in.Dir, "log.txt"), `, reads run base`)

	_, err = s.StartBatch(ctx, f, jsonl("{\"n\":1}\n"), record.Meta{ID: "x", Data: "b.jsonl", BaseRun: "gone"},
		engine.BatchOptions{Map: map[string]string{"name": "${run.outputs.text}"}})
	assert.EqualError(t, err, `no run "gone" in the record; see weir runs list`)
}

func TestMetricsKeepTheLoggedMetrics(t *testing.T) {
	s := newStore(t)
	r, err := s.Create(record.Meta{ID: "eval", Flow: "hello", Data: "d.jsonl"})
	require.NoError(t, err)
	require.NoError(t, r.Write(ok(1, "")))
	sum := summary("eval", []engine.LineResult{ok(1, "")}, 0)
	sum.Aggregates = json.RawMessage(`{"acc":{"value":0.67,"metrics":{"accuracy":0.67}}}`)
	sum.Metrics = json.RawMessage(`{"accuracy":0.67}`)
	require.NoError(t, r.Finish(sum, nil))
	assert.Contains(t, readFile(t, r.Dir(), "metrics.json"), "\n  \"metrics\": {\n    \"accuracy\": 0.67\n  }\n}\n")
	m, err := s.Metrics("eval")
	require.NoError(t, err)
	assert.Equal(t, `{"accuracy":0.67}`, string(m.Metrics))

	finished(t, s, "plain", "", ok(1, ""))
	m, err = s.Metrics("plain")
	require.NoError(t, err)
	assert.Nil(t, m.Metrics)
	in, err := s.Get("plain")
	require.NoError(t, err)
	assert.NotContains(t, readFile(t, in.Dir, "metrics.json"), `"metrics"`)
}
