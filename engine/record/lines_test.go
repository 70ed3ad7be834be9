package record_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
)

// Runs made one at a time become the lines of one run, with metrics.
func TestLines(t *testing.T) {
	s := newStore(t)
	f := greetFlow(t)
	ctx := context.Background()
	_, err := s.StartLines(f, record.Meta{})
	require.EqualError(t, err, `start a run of kind "": runs made one at a time are of kind run or serve`)

	l, err := s.StartLines(f, record.Meta{ID: "served", Kind: record.KindServe})
	require.NoError(t, err)
	assert.Equal(t, "served", l.ID())
	for _, name := range []string{"Ada", ""} {
		res, err := f.RunWith(ctx, map[string]any{"name": name}, engine.RunOptions{NodeValues: engine.AllNodeValues})
		n, addErr := l.Add(res, err)
		require.NoError(t, addErr)
		assert.Equal(t, l.Len(), n)
	}
	require.NoError(t, l.Finish())
	require.ErrorIs(t, l.Finish(), record.ErrFinished)
	_, err = l.Add(&engine.Result{}, nil)
	require.EqualError(t, err, `add a line to run "served": run is finished`)

	in, err := s.Get("served")
	require.NoError(t, err)
	assert.Equal(t, [4]any{record.KindServe, engine.Completed, 1, 1}, [4]any{in.Kind, in.Status, in.Succeeded, in.Failed})
	m, err := s.Metrics("served")
	require.NoError(t, err)
	require.Len(t, m.Nodes, 1)
	assert.Equal(t, [3]any{"greet", 1, 0}, [3]any{m.Nodes[0].Node, m.Nodes[0].Runs, m.Nodes[0].Canceled}, "the second run's inputs were refused: no node counts it")

	ada, err := s.Line("served", 1)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"Ada"}`, string(ada.Inputs))
	assert.JSONEq(t, `{"template":"Hello, {{.name}}!","name":"Ada"}`, string(ada.Nodes[0].Inputs))
	assert.JSONEq(t, `{"text":"Hello, Ada!"}`, string(ada.Nodes[0].Outputs))
	empty, err := s.Line("served", 2)
	require.NoError(t, err)
	assert.EqualError(t, empty.Err, `line 2: flow "greet": invalid inputs: name: must not be ""`)
	assert.Nil(t, empty.Nodes)
}
