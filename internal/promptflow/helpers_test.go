package promptflow

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/mockllm"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
	"github.com/weirflow/weir/plugins/python"
)

// need skips a test that lacks what it needs, loudly, and fails it under
// WEIR_REQUIRE_TOOLS, as CI sets it.
func need(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("WEIR_REQUIRE_TOOLS") != "" {
		t.Fatalf("needs "+format, args...)
	}
	t.Skipf("needs "+format, args...)
}

// corpus is the folder of prompt flow's real flows kept beside the
// repository as test data (shared/promptflow/flows, found going up from
// the repository), or $WEIR_PROMPTFLOW_FLOWS. A checkout without it skips
// the tests that need it, saying so: it is data, not a tool CI could
// install.
func corpus(t testing.TB) string {
	t.Helper()
	dir := findCorpus()
	if dir == "" {
		t.Skip("prompt flow's flows are not here: shared/promptflow/flows beside the repository, or $WEIR_PROMPTFLOW_FLOWS")
	}
	return dir
}

func findCorpus() string {
	if dir := os.Getenv("WEIR_PROMPTFLOW_FLOWS"); dir != "" {
		return dir
	}
	dir, err := filepath.Abs("../..")
	if err != nil {
		return ""
	}
	for {
		c := filepath.Join(dir, "shared", "promptflow", "flows")
		if _, err := os.Stat(filepath.Join(c, "web-classification", "flow.dag.yaml")); err == nil {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// toolPython is the interpreter the corpus's Python tools run with: one
// that imports bs4 and requests, which they import (Debian's python3
// with python3-bs4 and python3-requests, as CI installs them).
func toolPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(py); err == nil && exec.Command(path, "-c", "import bs4, requests, pip").Run() == nil {
			return path
		}
	}
	need(t, "a python3 that imports bs4, requests and pip (apt-get install python3-bs4 python3-requests python3-pip)")
	return ""
}

// openAI and azure describe connections that call the mock.
func openAI(m *mockllm.Server) Connection {
	return Connection{Type: "open_ai", Fields: map[string]string{"base_url": m.URL + "/v1"}, Secrets: []string{"api_key"}}
}

func azure(m *mockllm.Server) Connection {
	return Connection{Type: "azure_open_ai", Fields: map[string]string{"api_base": m.URL, "api_version": "2024-02-01"}, Secrets: []string{"api_key"}}
}

// imported imports a corpus flow into a folder and loads it with an
// engine whose secrets are all the mock's key.
func imported(t *testing.T, name string, opts Options) *engine.Flow {
	t.Helper()
	res, err := Import(context.Background(), filepath.Join(corpus(t), name), opts)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), name)
	require.NoError(t, res.Write(dir))
	return load(t, filepath.Join(dir, "flow.cue"), func(string, engine.SecretSource) (string, error) { return mockllm.DefaultKey, nil })
}

// load loads a flow with weir's builtin and Python tools.
func load(t *testing.T, path string, secrets engine.SecretResolver) *engine.Flow {
	t.Helper()
	e, err := engine.New(engine.Options{
		Providers: []plugins.Provider{builtin.NewProvider(), python.NewProvider(python.Options{Interpreter: toolPython(t), CacheDir: filepath.Join(t.TempDir(), "py")})},
		Secrets:   secrets,
	})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	f, err := e.Load(context.Background(), path)
	require.NoError(t, err)
	return f
}

// outputs decodes a run's outputs.
func outputs(t *testing.T, r *engine.Result) map[string]any {
	t.Helper()
	var out map[string]any
	require.NoError(t, json.Unmarshal(r.Outputs, &out))
	return out
}

// statuses maps each node of a run to its status.
func statuses(r *engine.Result) map[string]engine.Status {
	s := map[string]engine.Status{}
	for _, n := range r.Nodes {
		s[n.Node] = n.Status
	}
	return s
}
