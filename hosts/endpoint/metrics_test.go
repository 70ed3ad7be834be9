package endpoint_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
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
	e, err := weir.New(engine.Options{})
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
