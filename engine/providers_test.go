package engine_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/plugins"
)

// An engine without providers runs registered tools and sub-flows; a flow
// that needs a plugin kind is told how to give the engine one.
func TestNoProviders(t *testing.T) {
	e, err := engine.New(engine.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	require.NoError(t, e.Register("app", plugins.Func("id", "Returns its input.", func(_ context.Context, in valueIO) (valueIO, error) {
		return in, nil
	})))

	dir := writeFlow(t, map[string]string{
		"child.cue": `name: "child"
inputs: v: string
nodes: a: {tool: "app.id", inputs: value: "${inputs.v}"}
outputs: v: "${a.output.value}"
`,
		"flow.cue": `name: "parent"
nodes: sub: {flow: "child.cue", inputs: v: "x"}
outputs: v: "${sub.output.v}"
`,
	})
	f, err := e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	res, err := f.Run(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, `{"v":"x"}`, string(res.Outputs))

	assert.Equal(t, []string{
		`flow.cue:2:20: node "say": tool "builtin.template": this engine has no provider of plugin kind "builtin" (it has: none): create it with weir.New, or add one to engine.Options.Providers`,
	}, loadErrors(t, e, "flow.cue", `name: "x"
nodes: say: {tool: "builtin.template", inputs: template: "hi"}
outputs: v: "${say.output.text}"
`))
	assert.Equal(t, []string{
		`flow.cue:2:10: plugin "text": this engine has no provider of plugin kind "wasm" (it has: none): create it with weir.New, or add one to engine.Options.Providers`,
	}, loadErrors(t, e, "flow.cue", `name: "x"
plugins: text: wasm: "text.wasm"
nodes: a: {tool: "app.id", inputs: value: "x"}
outputs: v: "${a.output.value}"
`))
}

// Plugins reports every opened plugin that keeps a pool, whatever its
// kind, and leaves out those that keep none.
func TestPluginsReportsPooled(t *testing.T) {
	e, err := engine.New(engine.Options{Providers: []plugins.Provider{
		fakeProvider{kind: "goplugin", stats: &plugins.PoolStats{Live: 3, Idle: 2}},
		fakeProvider{kind: "builtin"},
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	f := load(t, e, `name: "x"
plugins: fake: goplugin: "fake"
nodes: a: {tool: "fake.id", inputs: value: "x"}
outputs: v: "${a.output.value}"
`)
	assert.Equal(t, []engine.PluginStats{{Name: "fake", Source: filepath.Join(filepath.Dir(f.File()), "fake"), Kind: "goplugin", PoolStats: plugins.PoolStats{Live: 3, Idle: 2}}}, e.Plugins())
}

// fakeProvider opens plugins with one tool, id; they are pooled when stats
// is set.
type fakeProvider struct {
	kind  string
	stats *plugins.PoolStats
}

func (p fakeProvider) Kind() string { return p.kind }

func (p fakeProvider) Open(context.Context, plugins.Spec) (plugins.Plugin, error) {
	tools := []plugins.Tool{plugins.Func("id", "Returns its input.", func(_ context.Context, in valueIO) (valueIO, error) {
		return in, nil
	})}
	if p.stats != nil {
		return pooledPlugin{fakePlugin{tools}, *p.stats}, nil
	}
	return fakePlugin{tools}, nil
}

type fakePlugin struct{ tools []plugins.Tool }

func (p fakePlugin) Tools() []plugins.Tool { return p.tools }
func (fakePlugin) Close() error            { return nil }

type pooledPlugin struct {
	fakePlugin
	stats plugins.PoolStats
}

func (p pooledPlugin) PoolStats() plugins.PoolStats { return p.stats }

var (
	_ plugins.Provider = fakeProvider{}
	_ plugins.Pooled   = pooledPlugin{}
)
