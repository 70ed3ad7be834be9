// Package hoststest holds what the tests of the hosts and of the command
// line share: a static weir binary built once, the hello bundle, a bundle
// with a Python tool, a work pool on an embedded NATS server, and the rule
// for tests that need a Docker engine or an SSH server.
package hoststest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/bundle"
	"github.com/weirflow/weir/hosts/pool"
	"github.com/weirflow/weir/internal/testbuild"
)

// RequireEnv names the environment variable that turns the skip of a test
// whose Docker engine or SSH server is missing into a failure. .ci/run sets
// it after starting both.
const RequireEnv = "WEIR_REQUIRE_HOSTS"

// Need skips t loudly when err says that what it needs (a Docker engine, an
// SSH server) is missing, or fails it when RequireEnv is set.
func Need(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("%s is required (%s is set) but not usable: %v", what, RequireEnv, err)
	}
	t.Skipf("SKIP LOUDLY: no %s: %v (.ci/run starts one; see README, Testing the hosts)", what, err)
}

// Root returns the root of the repository.
func Root(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	require.NoError(t, err, "go env GOMOD")
	return filepath.Dir(string(bytes.TrimSpace(out)))
}

// Version is the version the test binary of weir reports.
const Version = "v0.0.0-hoststest"

var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

// Weir returns a static weir binary for this machine, built once per test
// process (CGO_ENABLED=0, as make build does). Call Cleanup from TestMain.
func Weir(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the weir binary; skipped under -short")
	}
	root := Root(t)
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "weir-hoststest-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "weir")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X github.com/weirflow/weir/engine.version="+Version, "-o", built.bin, "./cmd/weir")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, built.err)
	return built.bin
}

// Cleanup removes the binary Weir built.
func Cleanup() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

// HelloRequest builds the bundle of examples/hello into a folder of t,
// and returns the request to deploy it as name.
func HelloRequest(t testing.TB, name string) hosts.DeployRequest {
	t.Helper()
	root := Root(t)
	_, err := testbuild.TextPlugin(root)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "hello.weir")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	m, err := bundle.Build(filepath.Join(root, "examples", "hello", "flow.cue"), f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return hosts.DeployRequest{Name: name, Bundle: path, Flow: m.Flow, Version: m.Version, Digest: m.Digest}
}

// PythonRequest returns the request to deploy a bundle named name of a
// flow "py" whose plugin "desk" is a folder of Python: its output "out" is
// the input "text" in upper case.
func PythonRequest(t testing.TB, name string) hosts.DeployRequest {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "tools"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tools", "desk.py"), []byte("from weir import tool\n\n\n@tool\ndef upper(text: str) -> str:\n    return text.upper()\n"), 0o644))
	flow := filepath.Join(dir, "flow.cue")
	require.NoError(t, os.WriteFile(flow, []byte(`name: "py"
plugins: desk: python: "tools/"
inputs: text: string
nodes: n: {tool: "desk.upper", inputs: text: "${inputs.text}"}
outputs: out: "${n.output.value}"
`), 0o644))
	path := filepath.Join(t.TempDir(), "py.weir")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	m, err := bundle.Build(flow, f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return hosts.DeployRequest{Name: name, Bundle: path, Flow: m.Flow, Version: m.Version, Digest: m.Digest}
}

// Score posts body to url/score and returns the status code and the
// decoded JSON reply.
func Score(t testing.TB, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url+"/score", "application/json", bytes.NewBufferString(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), "reply: %s", b)
	return resp.StatusCode, out
}

// SecretFlow is a flow with two secrets, one from the environment and one
// from a file. It outputs both upper-cased: a host that passed the secrets
// shows them so, where the redactor, which knows them as written, does not
// hide them.
const SecretFlow = `name: "secret"
secrets: {
	api_key: env: "WEIR_TEST_API_KEY"
	token: file: "keys/token"
}
nodes: shout: {
	tool: "builtin.template"
	inputs: {template: "{{upper .k}} {{upper .t}}", k: "${secrets.api_key}", t: "${secrets.token}"}
}
outputs: {text: "${shout.output.text}", raw: "${secrets.api_key}"}
`

// SecretRequest builds a bundle of SecretFlow and returns the request to
// deploy it with the two values, as weir deploy passes them: the env
// secret under its variable, the file secret under WEIR_SECRET_TOKEN. The
// bundle holds no value, nor the file.
func SecretRequest(t testing.TB, name, apiKey, token string) hosts.DeployRequest {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.cue"), []byte(SecretFlow), 0o644))
	path := filepath.Join(t.TempDir(), "secret.weir")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	m, err := bundle.Build(filepath.Join(dir, "flow.cue"), f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return hosts.DeployRequest{Name: name, Bundle: path, Flow: m.Flow, Version: m.Version, Digest: m.Digest,
		Secrets: map[string]string{"WEIR_TEST_API_KEY": apiKey, "WEIR_SECRET_TOKEN": token}}
}

// Pool starts a NATS server with JetStream in this process, on a free
// loopback port, that asks for user and password, and creates the work
// pool name on it; the server stops when t ends. The hosts' tests deploy
// workers of it.
func Pool(t testing.TB, name, user, password string) (*pool.Server, *pool.Pool) {
	t.Helper()
	s, err := pool.StartServer(pool.ServerOptions{Addr: "127.0.0.1:0", StoreDir: t.TempDir(), User: user, Password: password})
	require.NoError(t, err)
	t.Cleanup(s.Shutdown)
	ctx := context.Background()
	c, err := pool.Connect(ctx, pool.Options{URL: s.URL(), User: user, Password: password})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	p, err := pool.Create(ctx, c, name, pool.Settings{})
	require.NoError(t, err)
	return s, p
}

// Workers returns the workers of p whose label key is value, once one of
// them is as want says (any, when want is nil), or fails t after a minute:
// workers tell the pool how they are doing in heartbeats, every second or
// so.
func Workers(t testing.TB, p *pool.Pool, key, value string, want func(pool.WorkerInfo) bool) []pool.WorkerInfo {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := p.Status(context.Background())
		require.NoError(t, err)
		var out []pool.WorkerInfo
		found := false
		for _, w := range st.Workers {
			if w.Labels[key] == value {
				out = append(out, w)
				found = found || want == nil || want(w)
			}
		}
		if found {
			return out
		}
		require.True(t, time.Now().Before(deadline), "no worker with %s=%s in pool %s as the test wants after a minute: %+v", key, value, p.Name(), out)
		time.Sleep(100 * time.Millisecond)
	}
}

// BatchHello runs a batch of n lines of the hello flow on p, as weir batch
// --pool does: the flow loads here, and its lines run on p's workers. It
// fails t unless every line succeeded, with the greeting of its name.
func BatchHello(t testing.TB, p *pool.Pool, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req := HelloRequest(t, "hello") // builds the flow's plugin
	digest, err := p.PutBundle(ctx, req.Bundle)
	require.NoError(t, err)
	e, err := engine.New(engine.Options{Providers: weir.Providers(weir.Options{})})
	require.NoError(t, err)
	defer e.Close()
	f, err := e.Load(ctx, filepath.Join(Root(t), "examples", "hello", "flow.cue"))
	require.NoError(t, err)
	b, err := p.NewBatch(ctx, pool.BatchOptions{Job: fmt.Sprintf("hoststest-%d", time.Now().UnixNano()), Bundle: digest})
	require.NoError(t, err)
	defer b.Close()
	var lines strings.Builder
	for i := range n {
		fmt.Fprintf(&lines, "{\"name\": \"n%d\"}\n", i)
	}
	batch, err := f.Batch(ctx, engine.JSONL(strings.NewReader(lines.String())), engine.BatchOptions{Remote: b.Remote, Concurrency: 8})
	require.NoError(t, err)
	for lr := range batch.Lines() {
		require.Equal(t, engine.Succeeded, lr.Status, "line %d: %v", lr.Line, lr.Err)
		assert.JSONEq(t, fmt.Sprintf(`{"message": "Hello, n%d!", "shouted": null}`, lr.Line-1), string(lr.Outputs))
	}
	sum, err := batch.Wait()
	require.NoError(t, err)
	require.Equal(t, n, sum.Succeeded)
}
