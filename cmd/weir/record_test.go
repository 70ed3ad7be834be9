package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		{
			name:   "all on a pool",
			args:   []string{"batch", "--home", home, scores, "--data", scoresJSONL, "--node-values", "all", "--pool", "p"},
			code:   2,
			stderr: "weir: --node-values all does not work with --pool yet: the workers send no node values\n" + usage("batch"),
		},
	})
}
