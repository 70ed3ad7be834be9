package hosts_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/internal/hoststest"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
)

// TestBundleSecrets builds the bundle of a flow with secrets, from the
// flow and from the bundle file: both know the declarations and hold no
// value, and weir deploy reads the values on this machine.
func TestBundleSecrets(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flow.cue"), []byte(hoststest.SecretFlow), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "keys"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keys", "token"), []byte("tok-bundle-planted\n"), 0o600))
	t.Setenv("WEIR_TEST_API_KEY", "sk-bundle-planted")

	e, err := engine.New(engine.Options{Providers: []plugins.Provider{builtin.NewProvider()}})
	require.NoError(t, err)
	defer e.Close()
	f, err := e.Load(context.Background(), filepath.Join(dir, "flow.cue"))
	require.NoError(t, err)
	built, err := hosts.BuildBundle(f)
	require.NoError(t, err)
	defer built.Close()
	want := []engine.Secret{
		{Name: "api_key", SecretSource: engine.SecretSource{Env: "WEIR_TEST_API_KEY"}},
		{Name: "token", SecretSource: engine.SecretSource{File: filepath.Join(dir, "keys", "token")}},
	}
	assert.Equal(t, want, built.Secrets)
	noValueIn(t, built.Path, "sk-bundle-planted", "tok-bundle-planted")

	// An opened bundle file finds a file secret beside itself.
	path := filepath.Join(dir, "flow.weir")
	b, err := os.ReadFile(built.Path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	opened, err := hosts.OpenBundle(path)
	require.NoError(t, err)
	assert.Equal(t, want, opened.Secrets)

	env, err := hosts.ResolveSecrets(opened.Secrets)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"WEIR_TEST_API_KEY": "sk-bundle-planted", "WEIR_SECRET_TOKEN": "tok-bundle-planted"}, env)
	assert.Equal(t, []string{"WEIR_SECRET_TOKEN=tok-bundle-planted", "WEIR_TEST_API_KEY=sk-bundle-planted"}, hosts.SecretEnv(env))
	assert.Equal(t, map[string]string{"WEIR_TEST_API_KEY": "", "WEIR_SECRET_TOKEN": ""}, hosts.SecretKeys(opened.Secrets))

	os.Unsetenv("WEIR_TEST_API_KEY")
	_, err = hosts.ResolveSecrets(opened.Secrets)
	assert.EqualError(t, err, `secret "api_key": environment variable WEIR_TEST_API_KEY is not set`)
	require.NoError(t, os.Remove(filepath.Join(dir, "keys", "token")))
	_, err = hosts.ResolveSecrets(opened.Secrets[1:])
	assert.EqualError(t, err, `secret "token": read `+filepath.Join(dir, "keys", "token")+`: no such file or directory`)
}

// noValueIn fails t when a file of the bundle at path holds a value.
func noValueIn(t *testing.T, path string, values ...string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	files := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		files++
		for _, v := range values {
			assert.False(t, bytes.Contains(b, []byte(v)), "%s holds a secret", hdr.Name)
		}
	}
	assert.Equal(t, 2, files, "the manifest and the flow, not the secret's file")
}
