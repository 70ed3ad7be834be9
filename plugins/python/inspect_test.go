package python_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/python"
)

// TestInspectConnections: Inspect names the connection classes a
// parameter admits, unions included, and a call builds the class of a
// union that the object's fields fit.
func TestInspectConnections(t *testing.T) {
	needPython(t)
	p := python.NewProvider(python.Options{CacheDir: t.TempDir()})
	defer p.Close()
	tools, err := p.Inspect(context.Background(), filepath.Join("testdata", "conns", "which.py"), "")
	require.NoError(t, err)
	require.Len(t, tools, 1)
	require.Equal(t, "which", tools[0].Contract.Name)
	require.Equal(t, "which.py", tools[0].File)
	require.Equal(t, map[string]string{"model": "AzureOpenAIConnection|OpenAIConnection", "other": "CustomConnection"}, tools[0].Connections)

	tls, _, _ := open(t, "conns", `{"python": {"path": "x", "returns": "value"}}`)
	for in, want := range map[string]string{
		`{"model": {"api_type": "azure", "api_base": "https://a", "api_key": "k"}}`:                                     `{"value":["AzureOpenAIConnection"]}`,
		`{"model": {"base_url": "https://b", "api_key": "k"}, "other": {"configs": {"a": "1"}, "secrets": {"s": "2"}}}`: `{"value":["OpenAIConnection","CustomConnection"]}`,
	} {
		got, err := invoke(t, tls["which"], in)
		require.NoError(t, err)
		require.JSONEq(t, want, got)
	}
}

// TestSameBytesTwoFiles: two tool files with the same bytes are two
// plugins, each calling its own file, though their contracts are cached
// by their bytes' digest.
func TestSameBytesTwoFiles(t *testing.T) {
	needPython(t)
	dir := t.TempDir()
	src := []byte("from promptflow.core import tool\n\n\n@tool\ndef echo(x: str) -> str:\n    return x\n")
	for _, name := range []string{"a.py", "b.py"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), src, 0o644))
	}
	p := python.NewProvider(python.Options{CacheDir: t.TempDir()})
	defer p.Close()
	for _, name := range []string{"a.py", "b.py"} {
		pl, err := p.Open(context.Background(), plugins.Spec{Name: "t", Kind: "python", Source: filepath.Join(dir, name), Options: json.RawMessage(`{}`)})
		require.NoError(t, err)
		out, err := pl.Tools()[0].Invoke(context.Background(), []byte(`{"x":"hi"}`))
		require.NoError(t, err, name)
		require.JSONEq(t, `{"value":"hi"}`, string(out))
		require.NoError(t, pl.Close())
	}
}
