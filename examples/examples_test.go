package examples_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/testbuild"
)

func TestMain(m *testing.M) {
	if _, err := testbuild.TextPlugin(".."); err != nil {
		fmt.Fprintln(os.Stderr, "build the text plugin, which examples/hello uses:", err)
		os.Exit(1)
	}
	if _, err := testbuild.NativePlugin(".."); err != nil {
		fmt.Fprintln(os.Stderr, "build the native plugin, which examples/mixed uses:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// mixedSum is the SHA-256 of "WEIR".
const mixedSum = "b660b8269494059dd32d1422704d47e8f414e87890a9443f3d2fa0a79d251231"

func TestExampleFlows(t *testing.T) {
	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	defer e.Close()

	cases := []struct {
		flow   string
		inputs map[string]any
		want   map[string]any
	}{
		{"hello/flow.cue", map[string]any{"name": "Ada"},
			map[string]any{"message": "Hello, Ada!", "shouted": nil}},
		{"hello/flow.cue", map[string]any{"name": "Ada", "loud": true},
			map[string]any{"message": "Hello, Ada!", "shouted": "HELLO, ADA!"}},
		{"pipeline/flow.cue", map[string]any{"title": "Notes", "text": "  one line  "},
			map[string]any{"page": "# NOTES\n\none line", "details": nil}},
		{"pipeline/flow.cue", map[string]any{"title": "Notes", "text": "one line", "mode": "full"},
			map[string]any{
				"page":    "# NOTES\n\none line\n\ndetails: {\"mode\":\"full\",\"text\":\"one line\"}",
				"details": map[string]any{"mode": "full", "text": "one line"},
			}},
		{"mixed/flow.cue", map[string]any{"text": "weir"},
			map[string]any{
				"report": "WEIR has sha256 " + mixedSum,
				"sha256": mixedSum,
			}},
	}
	for _, tc := range cases {
		t.Run(tc.flow, func(t *testing.T) {
			f, err := e.Load(context.Background(), tc.flow)
			require.NoError(t, err)
			res, err := f.Run(context.Background(), tc.inputs)
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.Unmarshal(res.Outputs, &got))
			assert.Equal(t, tc.want, got)
		})
	}
}
