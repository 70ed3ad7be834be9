package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/testbuild"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
	"github.com/weirflow/weir/plugins/wasm"
)

// wasmEngine returns an engine whose Wasm provider caches compiled modules
// in a folder of the test's.
func wasmEngine(t *testing.T) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Options{Providers: []plugins.Provider{
		builtin.NewProvider(), wasm.NewProvider(wasm.Options{CacheDir: t.TempDir()})}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func textPlugin(t *testing.T) string {
	t.Helper()
	path, err := testbuild.TextPlugin("..")
	require.NoError(t, err)
	abs, err := filepath.Abs(path)
	require.NoError(t, err)
	return abs
}

// The checks that need a contract work the same for a Wasm plugin: its
// contract comes from weir_describe.
func TestWasmContractChecks(t *testing.T) {
	e := wasmEngine(t)
	src := fmt.Sprintf(`name: "x"
plugins: text: wasm: %q
nodes: {
	a: {tool: "text.uper", inputs: text: "x"}
	b: {tool: "text.greet", inputs: nam: "Ada"}
	c: {tool: "text.greet", inputs: name: 3}
	d: {tool: "text.upper", inputs: text: "${c.output.msg}"}
}
outputs: v: "${d.output.text}"
`, textPlugin(t))
	assert.Equal(t, []string{
		`flow.cue:4:12: node "a": unknown tool "text.uper" (plugin text has: text.count, text.greet, text.lower, text.upper); did you mean "text.upper"?`,
		`flow.cue:5:2: node "b": missing input "name" required by tool text.greet`,
		`flow.cue:5:34: node "b": tool text.greet has no input "nam" (its inputs: name); did you mean "name"?`,
		`flow.cue:6:40: node "c": input "name": 3 breaks the contract of tool text.greet: must be a string, got number`,
		`flow.cue:7:41: node "d": input "text": ${c.output.msg}: no field "msg" in the outputs of tool text.greet (fields: message)`,
	}, loadErrors(t, e, "flow.cue", src))
}

// A guest that runs away fails its own run on its timeout; the runs of the
// same engine around it, on the same plugin, carry on.
func TestWasmRunawayGuestLeavesOtherRunsAlone(t *testing.T) {
	e := wasmEngine(t)
	hostile := filepath.Join(t.TempDir(), "hostile.wasm")
	require.NoError(t, testbuild.GoWasm("../plugins/wasm/testdata/hostile", hostile))
	f := load(t, e, fmt.Sprintf(`name: "mixed"
plugins: h: {wasm: %q, limits: timeout: "1s"}
inputs: mode: string
nodes: {
	spin: {tool: "h.loop", when: {ref: "${inputs.mode}", is: "spin"}}
	echo: {tool: "h.echo", inputs: value: "${inputs.mode}", when: {ref: "${inputs.mode}", is: "echo"}}
}
outputs: v: "${echo.output.value}"
`, hostile))
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 0 {
				_, err := f.Run(context.Background(), map[string]any{"mode": "spin"})
				assert.EqualError(t, err, `node "spin" (tool h.loop, plugin h): limits.timeout (1s) exceeded: the guest was stopped`)
				return
			}
			res, err := f.Run(context.Background(), map[string]any{"mode": "echo"})
			if assert.NoError(t, err) {
				assert.Equal(t, `{"v":"echo"}`, string(res.Outputs))
			}
		}()
	}
	wg.Wait()
}

func TestWasmHelloExample(t *testing.T) {
	textPlugin(t)
	e := wasmEngine(t)
	f, err := e.Load(context.Background(), "../examples/hello/flow.cue")
	require.NoError(t, err)
	res, err := f.Run(context.Background(), map[string]any{"name": "Ada", "loud": true})
	require.NoError(t, err)
	assert.Equal(t, `{"message":"Hello, Ada!","shouted":"HELLO, ADA!"}`, string(res.Outputs))
	assert.Equal(t, "wasm", node(res, "greet").Kind)
}

// Plugins reports the pool of each Wasm plugin the engine opened.
func TestPluginsReportsPools(t *testing.T) {
	e := wasmEngine(t)
	assert.Empty(t, e.Plugins())
	wasmPath := textPlugin(t)
	f, err := e.Parse(context.Background(), "flow.cue", []byte(fmt.Sprintf(`name: "x"
plugins: text: wasm: %q
nodes: a: {tool: "text.upper", inputs: text: "x"}
outputs: v: "${a.output.text}"
`, wasmPath)))
	require.NoError(t, err)
	_, err = f.Run(context.Background(), nil)
	require.NoError(t, err)
	stats := e.Plugins()
	require.Len(t, stats, 1)
	assert.Equal(t, wasmPath, stats[0].Source)
	assert.Equal(t, "wasm", stats[0].Kind)
	assert.Equal(t, 1, stats[0].Live, "one warm instance")
	assert.Equal(t, 1, stats[0].Idle)
}
