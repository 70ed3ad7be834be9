package engine_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

// hostileEngine returns an engine whose plugin "h" has a tool "x" with the
// given contract schemas.
func hostileEngine(t *testing.T, inputs, outputs string) *engine.Engine {
	t.Helper()
	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.Close()) })
	tool := plugins.RawFunc(plugins.Contract{Name: "x", Inputs: []byte(inputs), Outputs: []byte(outputs)},
		func(context.Context, []byte) ([]byte, error) { return []byte(`{}`), nil })
	require.NoError(t, e.Register("h", tool))
	return e
}

// loadWithin loads src and returns its error lines, failing the test if
// loading takes far longer than it may.
func loadWithin(t *testing.T, ctx context.Context, e *engine.Engine, src string) []string {
	t.Helper()
	dir := writeFlow(t, map[string]string{"flow.cue": src})
	done := make(chan error, 1)
	go func() {
		_, err := e.Load(ctx, filepath.Join(dir, "flow.cue"))
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		return strings.Split(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""), "\n")
	case <-time.After(20 * time.Second):
		t.Fatal("loading still runs after 20s")
		return nil
	}
}

const hostileFlow = `
name: "hostile"
nodes: a: {tool: "h.x", inputs: v: {x: {x: {x: {x: {x: {x: {x: {x: {x: {x: {x: {x: {x: {x: {x: 1}}}}}}}}}}}}}}}}
outputs: out: "${a.output.anything}"
`

// A contract whose references loop used to make the reference checks of
// loading run for ever; it is now refused, naming the plugin and the tool.
func TestLoadRefusesLoopingContract(t *testing.T) {
	e := hostileEngine(t, `{"type":"object"}`, `{"allOf":[{"$ref":"#"},{"$ref":"#"},{"$ref":"#"}]}`)
	assert.Equal(t, []string{
		`flow.cue: plugin "h": tool "x" publishes an invalid output schema: compile json schema: $ref loop: # -> #/allOf/0 -> # applies a schema to the same value again, without end`,
		`flow.cue:3:18: node "a": unknown tool "h.x" (plugin h has: (none))`,
	}, loadWithin(t, context.Background(), e, hostileFlow))
}

// A contract whose references double at each level of a value is refused
// when a literal input is checked against it, not checked for ever.
func TestLoadBoundsCheckOfLiteralInput(t *testing.T) {
	e := hostileEngine(t, `{"type":"object","properties":{"v":{"$ref":"#/$defs/s"}},"$defs":{"s":{"allOf":[`+
		`{"properties":{"x":{"$ref":"#/$defs/s"}}},{"properties":{"x":{"$ref":"#/$defs/s"}}}]}}}`, `{"type":"object"}`)
	assert.Equal(t, []string{
		`flow.cue:3:36: node "a": input "v": cannot check {"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":{"x":1}}}}}}}}}}}}}}} against the contract of tool h.x: ` +
			`validate: $ref resolution at x.x.x.x.x.x.x.x.x.x.x.x exceeded 10000 steps: the schema's references nest too deeply or fan out too widely`,
	}, loadWithin(t, context.Background(), e, hostileFlow))
}

func TestLoadCanceledWhileCheckingContracts(t *testing.T) {
	e := hostileEngine(t, `{"type":"object"}`, `{"type":"object"}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	lines := loadWithin(t, ctx, e, hostileFlow)
	assert.Contains(t, lines, `flow.cue: plugin "h": check contracts: context canceled`)
}
