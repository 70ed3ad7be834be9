package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/cache"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
	"github.com/weirflow/weir/plugins/wasm"
)

// clock is a settable clock for the store, so that TTLs are tested
// without waiting.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// cachedEngine returns an engine with the test tools and a cache store in
// a folder of the test's, dated by the clock it returns.
func cachedEngine(t *testing.T, opts engine.Options) (*engine.Engine, *testTools, *cache.Store, *clock) {
	t.Helper()
	c := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	store := cache.Open(filepath.Join(t.TempDir(), "cache"), cache.Options{Now: c.Now})
	opts.Cache = store
	e, tt := newEngine(t, opts)
	return e, tt, store, c
}

func entries(t *testing.T, s *cache.Store) int {
	t.Helper()
	u, err := s.Usage()
	require.NoError(t, err)
	return u.Entries
}

const echoCached = `name: "c"
inputs: x: _
nodes: a: {tool: "t.echo", inputs: value: "${inputs.x}", cache: true}
outputs: v: "${a.output.value}"
`

// A second run on the same inputs takes the outputs from the cache without
// calling the tool, and says so; other inputs call it.
func TestCacheHitSkipsTheTool(t *testing.T) {
	e, tt, store, _ := cachedEngine(t, engine.Options{})
	f := load(t, e, echoCached)
	ctx := context.Background()

	res, err := f.Run(ctx, map[string]any{"x": "hello"})
	require.NoError(t, err)
	assert.Equal(t, 1, tt.count("echo"))
	assert.False(t, node(res, "a").Cached)
	assert.Equal(t, 1, node(res, "a").Attempts)
	assert.Equal(t, 1, entries(t, store))

	res, err = f.Run(ctx, map[string]any{"x": "hello"})
	require.NoError(t, err)
	assert.Equal(t, 1, tt.count("echo"), "a hit does not call the tool")
	a := node(res, "a")
	assert.Equal(t, engine.Succeeded, a.Status)
	assert.True(t, a.Cached)
	assert.Equal(t, 0, a.Attempts)
	assert.Equal(t, `{"v":"hello"}`, string(res.Outputs))
	b, err := json.Marshal(a)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"cached":true`)

	res, err = f.Run(ctx, map[string]any{"x": "other"})
	require.NoError(t, err)
	assert.Equal(t, 2, tt.count("echo"), "other inputs miss")
	assert.False(t, node(res, "a").Cached)
	assert.Equal(t, `{"v":"other"}`, string(res.Outputs))
	assert.Equal(t, 2, entries(t, store))

	// Another engine on the same store, as another process would be, hits.
	e2, tt2 := newEngine(t, engine.Options{Cache: store})
	res, err = load(t, e2, echoCached).Run(ctx, map[string]any{"x": "other"})
	require.NoError(t, err)
	assert.True(t, node(res, "a").Cached)
	assert.Equal(t, 0, tt2.count("echo"))
}

// Without the node's cache setting, or without a Cache in the engine,
// nothing is stored.
func TestCacheOffByDefault(t *testing.T) {
	e, tt, store, _ := cachedEngine(t, engine.Options{})
	f := load(t, e, strings.Replace(echoCached, ", cache: true", "", 1))
	for range 2 {
		_, err := f.Run(context.Background(), map[string]any{"x": 1})
		require.NoError(t, err)
	}
	assert.Equal(t, 2, tt.count("echo"))
	assert.Equal(t, 0, entries(t, store))

	// engine.New, unlike weir.New, gives no Cache.
	plain, err := engine.New(engine.Options{})
	require.NoError(t, err)
	defer plain.Close()
	tt2 := &testTools{}
	require.NoError(t, plain.Register("t", tt2.tools()...))
	f = load(t, plain, echoCached)
	for range 2 {
		res, err := f.Run(context.Background(), map[string]any{"x": 1})
		require.NoError(t, err)
		assert.False(t, node(res, "a").Cached)
	}
	assert.Equal(t, 2, tt2.count("echo"))
}

// defaults.cache applies to the nodes that do not set their own; cache:
// false turns it off for one; a ttl ages entries by the store's clock.
func TestCacheDefaultsAndTTL(t *testing.T) {
	e, tt, store, clk := cachedEngine(t, engine.Options{})
	f := load(t, e, `name: "c"
defaults: cache: {ttl: "1h"}
nodes: {
	a: {tool: "t.flaky", inputs: {key: "a", failures: 0}}
	b: {tool: "t.flaky", inputs: {key: "b", failures: 0}, cache: false}
	c: {tool: "t.flaky", inputs: {key: "c", failures: 0}, cache: true}
}
outputs: {a: "${a.output.n}", b: "${b.output.n}", c: "${c.output.n}"}
`)
	run := func() map[string]any {
		t.Helper()
		res, err := f.Run(context.Background(), nil)
		require.NoError(t, err)
		return outputs(t, res)
	}
	assert.Equal(t, map[string]any{"a": 1.0, "b": 1.0, "c": 1.0}, run())
	assert.Equal(t, 2, entries(t, store))

	clk.add(59 * time.Minute)
	assert.Equal(t, map[string]any{"a": 1.0, "b": 2.0, "c": 1.0}, run(), "a and c are cached, b is not")

	clk.add(time.Minute)
	// a's entry is an hour old: a calls its tool and stores the new
	// outputs; c's own cache: true has no ttl.
	assert.Equal(t, map[string]any{"a": 2.0, "b": 3.0, "c": 1.0}, run())
	assert.Equal(t, map[string]any{"a": 2.0, "b": 4.0, "c": 1.0}, run(), "the new entry is used")
	assert.Equal(t, 2, tt.count("a"))
}

// A failed call stores nothing; a call that succeeds after retries is
// stored; NoCache neither reads nor writes, in sub-flows too.
func TestCacheStoresOnlySuccesses(t *testing.T) {
	e, tt, store, _ := cachedEngine(t, engine.Options{})
	ctx := context.Background()
	_, err := load(t, e, `name: "c"
nodes: a: {tool: "t.fail", inputs: message: "no", cache: true}
outputs: v: "${a.output.value}"
`).Run(ctx, nil)
	require.Error(t, err)
	assert.Equal(t, 0, entries(t, store))

	f := load(t, e, `name: "c"
nodes: a: {tool: "t.flaky", inputs: {key: "k", failures: 1}, retry: {attempts: 2, backoff: "1ms"}, cache: true}
outputs: v: "${a.output.n}"
`)
	res, err := f.Run(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, node(res, "a").Attempts)
	res, err = f.Run(ctx, nil)
	require.NoError(t, err)
	assert.True(t, node(res, "a").Cached)
	assert.Equal(t, `{"v":2}`, string(res.Outputs))

	res, err = f.RunWith(ctx, nil, engine.RunOptions{NoCache: true})
	require.NoError(t, err)
	assert.False(t, node(res, "a").Cached)
	assert.Equal(t, `{"v":3}`, string(res.Outputs))
	res, err = f.Run(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, `{"v":2}`, string(res.Outputs), "NoCache wrote nothing")

	dir := writeFlow(t, map[string]string{
		"flow.cue": `name: "parent"
nodes: sub: {flow: "child.cue", inputs: {}}
outputs: v: "${sub.output.v}"
`,
		"child.cue": `name: "child"
nodes: a: {tool: "t.flaky", inputs: {key: "sub", failures: 0}, cache: true}
outputs: v: "${a.output.n}"
`,
	})
	parent, err := e.Load(ctx, filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	for _, want := range []string{`{"v":1}`, `{"v":1}`} {
		res, err = parent.Run(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, want, string(res.Outputs))
	}
	res, err = parent.RunWith(ctx, nil, engine.RunOptions{NoCache: true})
	require.NoError(t, err)
	assert.Equal(t, `{"v":2}`, string(res.Outputs), "the sub-flow ran without the cache")
	assert.Equal(t, 2, tt.count("sub"))
}

// Secrets in the inputs are in the key only as its hash; outputs that hold
// one are not stored.
func TestCacheSecrets(t *testing.T) {
	t.Setenv("WEIR_TEST_CACHE_KEY", "sk-very-secret")
	e, tt, store, _ := cachedEngine(t, engine.Options{})
	f := load(t, e, `name: "c"
secrets: key: env: "WEIR_TEST_CACHE_KEY"
nodes: {
	echo: {tool: "t.echo", inputs: value: "${secrets.key}", cache: true}
	len:  {tool: "t.flaky", inputs: {key: "Bearer ${secrets.key}", failures: 0}, cache: true}
}
outputs: {v: "${echo.output.value}", n: "${len.output.n}"}
`)
	for range 2 {
		res, err := f.Run(context.Background(), nil)
		require.NoError(t, err)
		assert.Equal(t, `{"v":"***","n":1}`, string(res.Outputs))
	}
	assert.Equal(t, 2, tt.count("echo"), "never stored")
	assert.Equal(t, 1, entries(t, store), "len's outputs hold no secret")
	files, err := filepath.Glob(filepath.Join(store.Dir(), "*", "*.json"))
	require.NoError(t, err)
	for _, file := range files {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		assert.NotContains(t, string(b), "very-secret")
	}
}

// An entry that cannot be read, or whose outputs break the engine's checks,
// is a miss, and the call replaces it.
func TestCacheCorruptEntry(t *testing.T) {
	e, tt, store, _ := cachedEngine(t, engine.Options{})
	f := load(t, e, echoCached)
	ctx := context.Background()
	_, err := f.Run(ctx, map[string]any{"x": 1})
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(store.Dir(), "*", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	key := strings.TrimSuffix(filepath.Base(files[0]), ".json")

	for i, bad := range []string{
		`{"key":"` + key + `","tool":"t.echo","created":"2026-01-02T03:04:05Z","output":{"value":1`,
		"\x00\x01garbage",
		`{"key":"` + key + `","tool":"t.echo","created":"2026-01-02T03:04:05Z","output":[1]}`,
		`{"key":"` + key + `","tool":"t.echo","created":"2026-01-02T03:04:05Z","output":{"value":1} trailing}`,
		`{"key":"other","tool":"t.echo","created":"2026-01-02T03:04:05Z","output":{"value":1}}`,
		`{"key":"` + key + `","tool":"t.echo","created":"yesterday","output":{"value":1}}`,
	} {
		require.NoError(t, os.WriteFile(files[0], []byte(bad), 0o600))
		res, err := f.Run(ctx, map[string]any{"x": 1})
		require.NoError(t, err, bad)
		assert.False(t, node(res, "a").Cached, bad)
		assert.Equal(t, i+2, tt.count("echo"), bad)
		res, err = f.Run(ctx, map[string]any{"x": 1})
		require.NoError(t, err)
		assert.True(t, node(res, "a").Cached, "replaced after %q", bad)
		assert.Equal(t, `{"v":1}`, string(res.Outputs))
	}
	// A folder where the entry should be cannot be written: the run still
	// succeeds.
	require.NoError(t, os.Remove(files[0]))
	require.NoError(t, os.Mkdir(files[0], 0o700))
	res, err := f.Run(ctx, map[string]any{"x": 1})
	require.NoError(t, err)
	assert.False(t, node(res, "a").Cached)
}

// Lines of a batch that run at once on the same inputs all write one key:
// every line succeeds, one entry remains, and it is whole.
func TestCacheConcurrentBatchLines(t *testing.T) {
	e, tt, store, _ := cachedEngine(t, engine.Options{})
	f := load(t, e, echoCached)
	n := 64
	if testing.Short() {
		n = 16
	}
	lines := make([]map[string]any, n)
	for i := range lines {
		lines[i] = map[string]any{"x": "same"}
	}
	b, err := f.Batch(context.Background(), engine.Records(func(yield func(map[string]any) bool) {
		for _, l := range lines {
			if !yield(l) {
				return
			}
		}
	}), engine.BatchOptions{Concurrency: 8})
	require.NoError(t, err)
	sum, err := b.Wait()
	require.NoError(t, err)
	assert.Equal(t, n, sum.Succeeded)
	require.Len(t, sum.Nodes, 1)
	assert.Equal(t, n, sum.Nodes[0].Runs)
	assert.Equal(t, n-tt.count("echo"), sum.Nodes[0].Cached, "each line calls the tool or hits")
	assert.Equal(t, 1, entries(t, store))
	res, err := f.Run(context.Background(), map[string]any{"x": "same"})
	require.NoError(t, err)
	assert.True(t, node(res, "a").Cached)

	// With NoCache, no line reads the cache.
	before := tt.count("echo")
	b, err = f.Batch(context.Background(), engine.Records(func(yield func(map[string]any) bool) {
		yield(map[string]any{"x": "same"})
	}), engine.BatchOptions{NoCache: true})
	require.NoError(t, err)
	sum, err = b.Wait()
	require.NoError(t, err)
	assert.Equal(t, 0, sum.Nodes[0].Cached)
	assert.Equal(t, before+1, tt.count("echo"))
}

// A hit has a node span of its own, attempt 0, marked weir.node.cache_hit;
// the attempts of a cached node that missed are marked false.
func TestCacheSpan(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	e, _, _, _ := cachedEngine(t, engine.Options{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))})
	f := load(t, e, echoCached)
	res, err := f.Run(context.Background(), map[string]any{"x": 1})
	require.NoError(t, err)
	miss := attrMap(named(t, exp.GetSpans(), "node a")[0].Attributes)
	assert.Equal(t, false, miss["weir.node.cache_hit"])
	assert.Equal(t, int64(1), miss["weir.node.attempt"])

	exp.Reset()
	res, err = f.Run(context.Background(), map[string]any{"x": 1})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"weir.run.id": res.RunID, "weir.node.name": "a", "weir.tool.name": "t.echo",
		"weir.plugin.name": "t", "weir.plugin.kind": "native", "weir.node.attempt": int64(0),
		"weir.node.status": "succeeded", "weir.node.bypassed": false, "weir.node.cache_hit": true,
		"weir.node.bytes_in": int64(len(`{"value":1}`)), "weir.node.bytes_out": int64(len(`{"value":1}`)),
	}, attrMap(named(t, exp.GetSpans(), "node a")[0].Attributes))
}

// noDigest is a provider whose plugins cannot name their code.
type noDigest struct{}

func (noDigest) Kind() string { return "wasm" }
func (noDigest) Open(context.Context, plugins.Spec) (plugins.Plugin, error) {
	return noDigestPlugin{}, nil
}

type noDigestPlugin struct{}

func (noDigestPlugin) Tools() []plugins.Tool {
	return []plugins.Tool{plugins.Func("id", "", func(_ context.Context, in valueIO) (valueIO, error) { return in, nil })}
}
func (noDigestPlugin) Close() error { return nil }

// cache is refused where it cannot work, at the position of the setting
// that asks for it; defaults leave out the nodes they cannot apply to.
func TestCacheLoadErrors(t *testing.T) {
	e, _ := newEngine(t, engine.Options{Providers: []plugins.Provider{builtin.NewProvider(), noDigest{}}})
	dir := writeFlow(t, map[string]string{"child.cue": `name: "child"
nodes: a: {tool: "t.echo", inputs: value: 1}
outputs: v: "${a.output.value}"
`})
	assert.Equal(t, []string{
		`flow.cue:3:52: node "a": cannot cache p.id: plugin p (kind wasm) gives no digest of its code to key the cache on (plugins.Digester); remove cache`,
		`flow.cue:5:66: node "agg": an aggregate node cannot be cached: its inputs are a whole batch's, which a later batch hardly repeats; remove cache`,
		`flow.cue:6:15: node "sub": a sub-flow node cannot be cached: set cache on the sub-flow's nodes, or in its defaults`,
	}, loadErrors(t, e, "flow.cue", `name: "c"
plugins: p: wasm: "p.wasm"
nodes: {a: {tool: "p.id", inputs: value: 1, cache: true}
	b: {tool: "t.echo", inputs: value: 1, cache: {ttl: "1h"}}
	agg: {tool: "t.echo", inputs: value: 1, aggregate: true, cache: true}
	sub: {cache: true, flow: "`+filepath.Join(dir, "child.cue")+`", inputs: {}}
}
outputs: v: "${b.output.value}"
`))

	// The defaults' cache skips aggregate and sub-flow nodes; a node
	// whose plugin has no digest is named at the defaults.
	f := load(t, e, `name: "c"
defaults: cache: true
nodes: {
	b: {tool: "t.echo", inputs: value: 1}
	agg: {tool: "t.echo", inputs: value: "${b.output.value}", aggregate: true}
	sub: {flow: "`+filepath.Join(dir, "child.cue")+`", inputs: {}}
}
outputs: v: "${sub.output.v}"
`)
	assert.Equal(t, "c", f.Name())
	assert.Equal(t, []string{
		`flow.cue:2:18: node "a": cannot cache p.id: plugin p (kind wasm) gives no digest of its code to key the cache on (plugins.Digester); set cache: false on the node`,
	}, loadErrors(t, e, "flow.cue", `name: "c"
defaults: cache: true
plugins: p: wasm: "p.wasm"
nodes: a: {tool: "p.id", inputs: value: 1}
outputs: v: "${a.output.value}"
`))
}

// A Wasm module's key is its file's digest: the same module elsewhere hits,
// a changed file misses, and so does other config.
func TestCacheWasmDigest(t *testing.T) {
	dir := t.TempDir()
	bin, err := os.ReadFile(textPlugin(t))
	require.NoError(t, err)
	mod := filepath.Join(dir, "text.wasm")
	require.NoError(t, os.WriteFile(mod, bin, 0o644))
	store := cache.Open(filepath.Join(dir, "cache"), cache.Options{})
	flow := func(config string) string {
		return fmt.Sprintf(`name: "w"
plugins: text: {wasm: %q, config: %s}
nodes: up: {tool: "text.upper", inputs: text: "abc", cache: true}
outputs: v: "${up.output.text}"
`, mod, config)
	}
	run := func(src string) engine.NodeResult {
		t.Helper()
		// A new engine each time, as a new weir process: an engine keeps
		// the plugins it opened.
		e, err := engine.New(engine.Options{Cache: store, Providers: []plugins.Provider{
			builtin.NewProvider(), wasm.NewProvider(wasm.Options{CacheDir: filepath.Join(dir, "wasm")})}})
		require.NoError(t, err)
		defer e.Close()
		res, err := load(t, e, src).Run(context.Background(), nil)
		require.NoError(t, err)
		assert.Equal(t, `{"v":"ABC"}`, string(res.Outputs))
		return node(res, "up")
	}
	assert.False(t, run(flow(`{a: "1", b: "2"}`)).Cached)
	assert.True(t, run(flow(`{b: "2", a: "1"}`)).Cached, "config in another order")
	assert.False(t, run(flow(`{a: "1", b: "3"}`)).Cached, "other config")

	// A custom section changes the file, not what it does.
	custom := append([]byte{0, 6, 4}, "weir!"...)
	require.NoError(t, os.WriteFile(mod, append(bin, custom...), 0o644))
	assert.False(t, run(flow(`{a: "1", b: "2"}`)).Cached, "changed module")
	assert.True(t, run(flow(`{a: "1", b: "2"}`)).Cached)
}
