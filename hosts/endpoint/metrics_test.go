package endpoint_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/plugins"
)

// TestMetricsPluginShared: two flows open the same Wasm file with other
// limits, so the engine holds two plugins of one file. /metrics still
// answers, with one series per label set: their instances add up.
func TestMetricsPluginShared(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	wasm := filepath.Join(dir, "loop.wasm")
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		if os.Getenv("WEIR_REQUIRE_TOOLS") != "" {
			t.Fatal("wat2wasm not found: apt-get install wabt")
		}
		t.Skip("SKIP LOUDLY: wat2wasm not found: apt-get install wabt")
	}
	out, err := exec.Command("wat2wasm", "../../plugins/wasm/testdata/wat/loop.wat", "-o", wasm).CombinedOutput()
	require.NoError(t, err, "%s", out)
	// No cache folder: with one, the second entry would be opened from the
	// first's contract, and start no instance until it is called.
	e, err := weir.New(engine.Options{Providers: weir.Providers(weir.Options{CacheDir: "-"})})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	s, err := endpoint.New(endpoint.Options{Engine: e, Logger: discard})
	require.NoError(t, err)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	for name, timeout := range map[string]string{"a": "1s", "b": "2s"} {
		path := filepath.Join(dir, name+".cue")
		require.NoError(t, os.WriteFile(path, []byte(`name: "`+name+`"
plugins: p: {wasm: "loop.wasm", limits: timeout: "`+timeout+`"}
nodes: n: tool: "p.loop"
outputs: v: "${n.output}"
`), 0o644))
		f, err := e.Load(context.Background(), path)
		require.NoError(t, err)
		require.NoError(t, s.Deploy(context.Background(), "v1", f))
	}
	got := do(t, "GET", hs.URL+"/metrics", "")
	require.Equal(t, http.StatusOK, got.status, got.body)
	assert.Contains(t, got.body, `weir_plugin_instances{kind="wasm",plugin="p",state="live"} 2`+"\n")
	assert.Contains(t, got.body, `weir_plugin_instances{kind="wasm",plugin="p",state="idle"} 2`+"\n")
	assert.NotContains(t, got.body, dir, "no path of the server's in the metrics")
}

// TestMetricsSeries runs a small flow once (a node retried once, a bypassed
// node, a sub-flow), asks for a path no route has, twice, and reads every
// weir series /metrics has then: made as they count something and not
// before, the sub-flow's node under its own flow, tool and plugin beside
// each node, the method a label of its own.
func TestMetricsSeries(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	var calls atomic.Int32
	require.NoError(t, fx.e.Register("r", plugins.Func("flaky", "Fails its first call.", func(context.Context, struct{}) (struct{}, error) {
		if calls.Add(1) == 1 {
			return struct{}{}, plugins.Errorf(plugins.Retryable, "not yet")
		}
		return struct{}{}, nil
	})))
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "child.cue"), []byte(`name: "child"
nodes: echo: {tool: "builtin.json", inputs: value: 1}
outputs: v: "${echo.output.value}"
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.cue"), []byte(`name: "parent"
nodes: {
	flaky: {tool: "r.flaky", retry: {attempts: 2, backoff: "1ms"}}
	skip:  {tool: "builtin.json", inputs: value: 1, when: {ref: "${flaky.output}", is: 1}}
	sub:   {flow: "child.cue", inputs: {}}
}
outputs: v: "${sub.output.v}"
`), 0o644))
	f, err := fx.e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	require.NoError(t, fx.s.Deploy(context.Background(), "v1", f))
	got := do(t, "GET", fx.url+"/metrics", "")
	assert.Equal(t, []string{"weir_bundles_loading 0", "weir_ready 1", "weir_runs_in_flight 0"}, series(got.body), "a deployed flow makes no series")

	require.Equal(t, http.StatusOK, do(t, "POST", fx.url+"/v1/flows/parent/runs", `{"inputs": {}}`).status)
	require.Equal(t, http.StatusNotFound, do(t, "GET", fx.url+"/nope", "").status)
	require.Equal(t, http.StatusNotFound, do(t, "BREW", fx.url+"/nope", "").status)
	got = do(t, "GET", fx.url+"/metrics", "")
	require.Equal(t, http.StatusOK, got.status)
	assert.True(t, strings.HasPrefix(got.header.Get("Content-Type"), "text/plain"), got.header.Get("Content-Type"))
	assert.Contains(t, got.body, "\ngo_goroutines ", "and the Go runtime's")
	assert.Equal(t, []string{
		"weir_bundles_loading 0",
		// The scrape above.
		`weir_http_request_duration_seconds_bucket{code="200",method="GET",route="/metrics"} x14`,
		`weir_http_request_duration_seconds_bucket{code="200",method="POST",route="/v1/flows/{flow}/runs"} x14`,
		`weir_http_request_duration_seconds_bucket{code="404",method="GET",route="other"} x14`,
		`weir_http_request_duration_seconds_bucket{code="404",method="_OTHER",route="other"} x14`,
		`weir_http_request_duration_seconds_count{code="200",method="GET",route="/metrics"} 1`,
		`weir_http_request_duration_seconds_count{code="200",method="POST",route="/v1/flows/{flow}/runs"} 1`,
		`weir_http_request_duration_seconds_count{code="404",method="GET",route="other"} 1`,
		`weir_http_request_duration_seconds_count{code="404",method="_OTHER",route="other"} 1`,
		`weir_http_request_duration_seconds_sum{code="200",method="GET",route="/metrics"}`,
		`weir_http_request_duration_seconds_sum{code="200",method="POST",route="/v1/flows/{flow}/runs"}`,
		`weir_http_request_duration_seconds_sum{code="404",method="GET",route="other"}`,
		`weir_http_request_duration_seconds_sum{code="404",method="_OTHER",route="other"}`,
		`weir_node_attempts_total{flow="child",node="echo",plugin="builtin",tool="builtin.json"} 1`,
		`weir_node_attempts_total{flow="parent",node="flaky",plugin="r",tool="r.flaky"} 2`,
		`weir_node_attempts_total{flow="parent",node="sub",plugin="child",tool="child.cue"} 1`,
		`weir_node_duration_seconds_bucket{flow="child",node="echo",plugin="builtin",status="succeeded",tool="builtin.json"} x17`,
		`weir_node_duration_seconds_bucket{flow="parent",node="flaky",plugin="r",status="succeeded",tool="r.flaky"} x17`,
		`weir_node_duration_seconds_bucket{flow="parent",node="sub",plugin="child",status="succeeded",tool="child.cue"} x17`,
		`weir_node_duration_seconds_count{flow="child",node="echo",plugin="builtin",status="succeeded",tool="builtin.json"} 1`,
		`weir_node_duration_seconds_count{flow="parent",node="flaky",plugin="r",status="succeeded",tool="r.flaky"} 1`,
		`weir_node_duration_seconds_count{flow="parent",node="sub",plugin="child",status="succeeded",tool="child.cue"} 1`,
		`weir_node_duration_seconds_sum{flow="child",node="echo",plugin="builtin",status="succeeded",tool="builtin.json"}`,
		`weir_node_duration_seconds_sum{flow="parent",node="flaky",plugin="r",status="succeeded",tool="r.flaky"}`,
		`weir_node_duration_seconds_sum{flow="parent",node="sub",plugin="child",status="succeeded",tool="child.cue"}`,
		`weir_node_retries_total{flow="parent",node="flaky",plugin="r",tool="r.flaky"} 1`,
		"weir_ready 1",
		`weir_run_duration_seconds_bucket{flow="parent",protocol="http",status="succeeded",version="v1"} x17`,
		`weir_run_duration_seconds_count{flow="parent",protocol="http",status="succeeded",version="v1"} 1`,
		`weir_run_duration_seconds_sum{flow="parent",protocol="http",status="succeeded",version="v1"}`,
		"weir_runs_in_flight 0",
		`weir_runs_total{flow="parent",protocol="http",status="succeeded",version="v1"} 1`,
	}, series(got.body))
}

// series lists the weir series of a /metrics answer, sorted: counters,
// gauges and _count with their value, _sum without (a duration), and the
// buckets of a histogram as one line with their number.
func series(body string) []string {
	var out []string
	buckets := map[string]int{}
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, "weir_") {
			continue
		}
		name, value, _ := strings.Cut(l, " ")
		switch {
		case strings.Contains(name, "_bucket{"):
			// le is the last label.
			i := strings.LastIndex(name, `,le="`)
			buckets[name[:i]+"}"]++
		case strings.Contains(name, "_sum{"):
			out = append(out, name)
		default:
			out = append(out, name+" "+value)
		}
	}
	for name, n := range buckets {
		out = append(out, fmt.Sprintf("%s x%d", name, n))
	}
	slices.Sort(out)
	return out
}
