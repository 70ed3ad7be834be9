package wasm_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/wasm"
)

// TestNodeLogs: a guest's log lines, logged under its call's context, reach
// its node's result in a run that keeps its nodes' values.
func TestNodeLogs(t *testing.T) {
	p := newProvider(t, wasm.Options{Logger: slog.New(engine.CaptureNodeLogs(slog.DiscardHandler))})
	e, err := engine.New(engine.Options{Providers: []plugins.Provider{p}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	path := filepath.Join(t.TempDir(), "flow.cue")
	require.NoError(t, os.WriteFile(path, []byte(`name: "logs"
plugins: p: wasm: "`+fixture(t, "hostile")+`"
nodes: say: {tool: "p.log", inputs: text: "careful now"}
`), 0o644))
	f, err := e.Load(context.Background(), path)
	require.NoError(t, err)
	res, err := f.RunWith(context.Background(), nil, engine.RunOptions{NodeValues: engine.AllNodeValues})
	require.NoError(t, err)
	logs := res.Nodes[0].Logs
	require.Len(t, logs, 1)
	assert.Equal(t, engine.LogLine{Time: logs[0].Time, Level: "WARN", Message: "careful now"}, logs[0])
}
