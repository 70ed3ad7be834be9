package record_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
)

func openStore(t testing.TB, dir string) *record.Store {
	t.Helper()
	s, err := record.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func newStore(t testing.TB) *record.Store { return openStore(t, t.TempDir()) }

// ok is a succeeded line; with agg, its aggregate value.
func ok(line int, agg string) engine.LineResult {
	lr := engine.LineResult{
		Line:     line,
		Status:   engine.Succeeded,
		Inputs:   json.RawMessage(`{"name":"n` + strconv.Itoa(line) + `"}`),
		Outputs:  json.RawMessage(`{"message":"hi n` + strconv.Itoa(line) + `"}`),
		Duration: 1500 * time.Microsecond,
		Nodes: []engine.NodeResult{
			{Node: "greet", Tool: "text.greet", Status: engine.Succeeded, Attempts: 1, Duration: 123 * time.Microsecond},
		},
	}
	if agg != "" {
		lr.Aggregate = json.RawMessage(agg)
	}
	return lr
}

// bad is a failed line.
func bad(line int) engine.LineResult {
	return engine.LineResult{
		Line:     line,
		Status:   engine.Failed,
		Inputs:   json.RawMessage(`{"name":""}`),
		Err:      &engine.LineError{Line: line, Kind: engine.ToolFailed, Err: errors.New(`node "greet" (tool text.greet, plugin text): empty "name"`)},
		Duration: 2 * time.Millisecond,
		Nodes: []engine.NodeResult{
			{Node: "greet", Tool: "text.greet", Status: engine.Failed, Attempts: 2, Duration: 1 * time.Millisecond, Error: `empty "name"`},
		},
	}
}

// summary is what the engine would return for a batch that ran lines.
func summary(id string, lines []engine.LineResult, carried int) *engine.BatchSummary {
	sum := &engine.BatchSummary{RunID: id, Flow: "hello", Status: engine.Completed, Carried: carried, Duration: time.Second}
	for _, lr := range lines {
		if lr.Status == engine.Succeeded {
			sum.Succeeded++
		} else {
			sum.Failed++
		}
	}
	return sum
}

// finished records a run that ran lines and completed.
func finished(t testing.TB, s *record.Store, id, resumes string, lines ...engine.LineResult) {
	t.Helper()
	r, err := s.Create(record.Meta{ID: id, Flow: "hello", Data: "data.jsonl", ResumedFrom: resumes})
	require.NoError(t, err)
	for _, lr := range lines {
		require.NoError(t, r.Write(lr))
	}
	require.NoError(t, r.Finish(summary(id, lines, 0), nil))
}

func readFile(t testing.TB, path ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(path...))
	require.NoError(t, err)
	return string(b)
}

func writeFile(t testing.TB, content string, path ...string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(path...)), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(path...), []byte(content), 0o644))
}
