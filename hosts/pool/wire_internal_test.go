package pool

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

// TestNodeErrorCrosses: a node's error keeps, across the wire, its text
// and what it said of itself, by which a server picks its status.
func TestNodeErrorCrosses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		err    error
		kind   plugins.Kind
		exited bool
	}{
		{"a tool's error", errors.New("ValueError: bad"), plugins.Internal, false},
		{"a limit", plugins.Errorf(plugins.Limit, "limits.memory (64 MiB) exceeded"), plugins.Limit, false},
		{"an exit", plugins.Exited(plugins.Errorf(plugins.Retryable, "the Python process exited")), plugins.Retryable, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sent := &engine.NodeError{Node: "n", Tool: "p.t", Plugin: "p", Kind: "python", Attempts: 2, Err: tc.err}
			b, err := json.Marshal(newRunError(sent))
			require.NoError(t, err)
			var re runError
			require.NoError(t, json.Unmarshal(b, &re))
			got := re.err()
			assert.Equal(t, sent.Error(), got.Error())
			var ne *engine.NodeError
			require.ErrorAs(t, got, &ne)
			assert.Equal(t, tc.kind, plugins.KindOf(ne.Err))
			assert.Equal(t, tc.exited, plugins.IsExited(ne.Err))
		})
	}
}
