package endpoint_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/bundle"
	"github.com/weirflow/weir/hosts/endpoint"
)

// loadLoop assembles the plugin whose weir_describe never returns,
// plugins/wasm/testdata/wat/loadloop.wat, into dir; without wabt's
// wat2wasm it skips, loudly, or fails under WEIR_REQUIRE_TOOLS, as CI has.
func loadLoop(t *testing.T, dir string) {
	t.Helper()
	out := filepath.Join(dir, "loadloop.wasm")
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		if os.Getenv("WEIR_REQUIRE_TOOLS") != "" {
			t.Fatal("wat2wasm not found: apt-get install wabt")
		}
		t.Skip("SKIP LOUDLY: wat2wasm not found: apt-get install wabt")
	}
	b, err := exec.Command("wat2wasm", "../../plugins/wasm/testdata/wat/loadloop.wat", "-o", out).CombinedOutput()
	require.NoError(t, err, "%s", b)
}

// hostileBundle is a bundle of the flow name whose plugin hangs when it is
// loaded.
func hostileBundle(t *testing.T, name string) []byte {
	t.Helper()
	dir := t.TempDir()
	loadLoop(t, dir)
	flow := filepath.Join(dir, "flow.cue")
	require.NoError(t, os.WriteFile(flow, []byte(`name: "`+name+`"
plugins: bad: wasm: "loadloop.wasm"
nodes: n: {tool: "bad.any", inputs: {}}
outputs: v: "${n.output}"
`), 0o644))
	var buf bytes.Buffer
	_, err := bundle.Build(flow, &buf)
	require.NoError(t, err)
	return buf.Bytes()
}

// bundlesLoading waits until /metrics counts n bundles loading.
func bundlesLoading(t *testing.T, url string, n int) {
	t.Helper()
	line := "\nweir_bundles_loading " + itoa(n) + "\n"
	require.Eventually(t, func() bool {
		return strings.Contains(do(t, "GET", url+"/metrics", "").body, line)
	}, 30*time.Second, 5*time.Millisecond, "waiting for %q", line)
}

// TestHostileUpload uploads bundles whose plugin hangs while it loads.
// The load runs outside the admin lock: the other admin calls, and good
// uploads, answer meanwhile. It is canceled when its client goes away and
// when the server closes, and the upload then fails with a clear error.
func TestHostileUpload(t *testing.T) {
	t.Parallel()
	evil := hostileBundle(t, "evil")
	worse := hostileBundle(t, "worse")
	e, err := weir.New(engine.Options{})
	require.NoError(t, err)
	s, err := endpoint.New(endpoint.Options{Engine: e, AdminToken: token, WorkDir: t.TempDir(), Logger: discard})
	require.NoError(t, err)
	// Not httptest: its Close waits for every handler, and a load that is
	// never canceled would hang the test rather than fail it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: s.Handler()}
	go func() { _ = hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	t.Cleanup(func() {
		_ = hs.Close()
		require.NoError(t, s.Close())
		closed := make(chan error, 1)
		go func() { closed <- e.Close() }()
		select {
		case err := <-closed:
			assert.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("the engine's Close hangs: a plugin load was never canceled")
		}
	})
	ctx := context.Background()
	for _, v := range []string{"blue", "green"} {
		f, err := e.Parse(ctx, "flow.cue", []byte(versionFlow(v)))
		require.NoError(t, err)
		require.NoError(t, s.Deploy(ctx, v, f))
	}
	c := &endpoint.Client{URL: url, Token: token}
	type result struct {
		d   endpoint.Deployment
		err error
	}
	upload := func(ctx context.Context, b []byte) <-chan result {
		done := make(chan result, 1)
		go func() {
			d, err := c.Upload(ctx, b, "")
			done <- result{d, err}
		}()
		return done
	}
	within := func(done <-chan result, what string) result {
		t.Helper()
		select {
		case r := <-done:
			return r
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the upload still hangs after 30s", what)
			return result{}
		}
	}

	// A client that goes away takes its load with it.
	gone, leave := context.WithCancel(ctx)
	done := upload(gone, evil)
	bundlesLoading(t, url, 1)
	leave()
	assert.ErrorIs(t, within(done, "client gone").err, context.Canceled)
	bundlesLoading(t, url, 0)

	// While a load hangs, every other admin call answers, a good upload
	// included.
	done = upload(ctx, worse)
	bundlesLoading(t, url, 1)
	list, err := c.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 2)
	require.NoError(t, c.SetSplit(ctx, "split", map[string]int{"blue": 50, "green": 50}))
	require.NoError(t, c.SetSplit(ctx, "split", map[string]int{"green": 100}))
	require.NoError(t, c.Delete(ctx, "split", "blue"))
	d, err := c.Upload(ctx, buildBundle(t, "flow.cue", versionFlow("red")), "red")
	require.NoError(t, err)
	assert.Equal(t, "red", d.Version)
	assert.Equal(t, `{"version":"green"}`+"\n", do(t, "POST", url+"/score", `{}`).body)
	select {
	case r := <-done:
		t.Fatalf("the hostile upload returned (%v) while its plugin's describe loops", r.err)
	default:
	}

	// Close cancels the load: the upload fails at once, and Close returns.
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	assert.EqualError(t, within(done, "server closed").err, "upload bundle: deploy bundle: server is closed: it is shutting down (HTTP 503, unavailable)")
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Close still hangs after 30s")
	}
}
