package record_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
)

// greetFlow loads a flow of one builtin node that greets its input name;
// an empty name breaks its input type.
func greetFlow(t *testing.T) *engine.Flow {
	t.Helper()
	path := filepath.Join(t.TempDir(), "greet.cue")
	require.NoError(t, os.WriteFile(path, []byte(`name: "greet"
inputs: name: string & !=""
nodes: greet: {tool: "builtin.template", inputs: {template: "Hello, {{.name}}!", name: "${inputs.name}"}}
outputs: text: "${greet.output.text}"
`), 0o644))
	e, err := engine.New(engine.Options{Providers: []plugins.Provider{builtin.NewProvider()}})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	f, err := e.Load(context.Background(), path)
	require.NoError(t, err)
	return f
}

var (
	msPattern      = regexp.MustCompile(`"duration_ms":[0-9.]+`)
	startedPattern = regexp.MustCompile(`"started":"[0-9-]+T[0-9:.]+Z"`)
)

func jsonl(s string) engine.Source { return engine.JSONL(strings.NewReader(s)) }

func TestStartBatch(t *testing.T) {
	s := newStore(t)
	f := greetFlow(t)
	ctx := context.Background()
	b, err := s.StartBatch(ctx, f, jsonl("{\"name\":\"Ada\"}\n{\"name\":\"\"}\n{\"name\":\"Grace\"}\n"),
		record.Meta{ID: "greet-1", Data: "people.jsonl"}, engine.BatchOptions{Concurrency: 2})
	require.NoError(t, err)
	assert.Equal(t, "greet-1", b.ID())
	assert.Equal(t, 0, b.Carried())
	var seen []int
	sum, err := b.Wait(func(lr engine.LineResult) { seen = append(seen, lr.Line) })
	require.NoError(t, err)
	slices.Sort(seen)
	assert.Equal(t, []int{1, 2, 3}, seen)
	assert.Equal(t, engine.Completed, sum.Status)
	assert.Equal(t, "greet-1", sum.RunID)

	in, err := s.Get("greet-1")
	require.NoError(t, err)
	assert.Equal(t, engine.Completed, in.Status)
	assert.Equal(t, [3]int{2, 1, 0}, [3]int{in.Succeeded, in.Failed, in.Carried})
	assert.Equal(t, []string{"greet.cue", "manifest.json"}, dirNames(t, filepath.Join(b.Dir(), "flow")))

	// The resume reruns the failed line alone, from a fixed dataset.
	b, err = s.StartBatch(ctx, f, jsonl("{\"name\":\"Ada\"}\n{\"name\":\"Alan\"}\n{\"name\":\"Grace\"}\n"),
		record.Meta{ID: "greet-2", Data: "people.jsonl", ResumedFrom: "greet-1"}, engine.BatchOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, b.Carried())
	sum, err = b.Wait(nil)
	require.NoError(t, err)
	assert.Equal(t, [3]int{1, 0, 2}, [3]int{sum.Succeeded, sum.Failed, sum.Carried})
	assert.Contains(t, readFile(t, b.Dir(), "log.txt"), "resumes run greet-1: 2 lines carried over\n")
	out := startedPattern.ReplaceAllString(readFile(t, b.Dir(), "outputs.jsonl"), `"started":T`)
	assert.Equal(t, `{"line":2,"status":"succeeded","duration_ms":D,"started":T,"outputs":{"text":"Hello, Alan!"}}`+"\n",
		msPattern.ReplaceAllString(out, `"duration_ms":D`))
}

// A batch that cannot start leaves no run behind, and a run that cannot be
// created stops its batch.
func TestStartBatchLeavesNothing(t *testing.T) {
	s := newStore(t)
	f := greetFlow(t)
	ctx := context.Background()
	_, err := s.StartBatch(ctx, f, jsonl(""), record.Meta{ID: "greet-1", Data: "empty.jsonl"}, engine.BatchOptions{})
	require.EqualError(t, err, "batch empty.jsonl: dataset is empty")
	_, err = s.StartBatch(ctx, f, jsonl(`{"name":"Ada"}`), record.Meta{ID: "greet-1", Data: "d.jsonl"}, engine.BatchOptions{Map: map[string]string{"nmae": "${data.name}"}})
	require.EqualError(t, err, `batch d.jsonl: map nmae=${data.name}: the flow has no input "nmae" (inputs: name); did you mean "name"?`)
	_, err = s.StartBatch(ctx, f, jsonl(`{"name":"Ada"}`), record.Meta{ID: "greet-1", ResumedFrom: "nope"}, engine.BatchOptions{})
	require.EqualError(t, err, `resume: no run "nope" in the record; see weir runs list`)
	list, err := s.List()
	require.NoError(t, err)
	assert.Empty(t, list)

	b, err := s.StartBatch(ctx, f, jsonl(`{"name":"Ada"}`), record.Meta{ID: "greet-1"}, engine.BatchOptions{})
	require.NoError(t, err)
	_, err = b.Wait(nil)
	require.NoError(t, err)
	_, err = s.StartBatch(ctx, f, jsonl(`{"name":"Ada"}`), record.Meta{ID: "greet-1"}, engine.BatchOptions{})
	require.EqualError(t, err, `create run "greet-1": it exists already`)
	list, err = s.List()
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

// A canceled batch finishes its run as canceled.
func TestStartBatchCanceled(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	b, err := s.StartBatch(ctx, greetFlow(t), jsonl(strings.Repeat("{\"name\":\"Ada\"}\n", 100)), record.Meta{ID: "greet-1"}, engine.BatchOptions{Concurrency: 1})
	require.NoError(t, err)
	sum, err := b.Wait(func(engine.LineResult) { cancel() })
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, engine.Canceled, sum.Status)
	in, err := s.Get("greet-1")
	require.NoError(t, err)
	assert.Equal(t, engine.Canceled, in.Status)
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
