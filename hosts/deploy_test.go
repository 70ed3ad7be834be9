package hosts_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/builtin"
)

// fakeHost records what Deploy and Delete were asked; a unit test's double
// of a real host, whose own tests run it against the real thing.
type fakeHost struct {
	deployErr error
	deployed  []string
	deleted   []string
}

func (h *fakeHost) Name() string { return "fake" }
func (h *fakeHost) Deploy(_ context.Context, req hosts.DeployRequest) (hosts.Deployment, error) {
	if h.deployErr != nil {
		return hosts.Deployment{}, h.deployErr
	}
	h.deployed = append(h.deployed, req.Name)
	return hosts.Deployment{Name: req.Name, Host: "fake", Flow: req.Flow, Digest: req.Digest}, nil
}
func (h *fakeHost) Status(context.Context, hosts.Deployment) (hosts.Status, error) {
	return hosts.Status{}, nil
}
func (h *fakeHost) Logs(context.Context, hosts.Deployment, io.Writer) error { return nil }
func (h *fakeHost) Delete(_ context.Context, d hosts.Deployment) error {
	h.deleted = append(h.deleted, d.Name)
	return nil
}

var _ hosts.Host = (*fakeHost)(nil)

func TestStoreDeploy(t *testing.T) {
	ctx := context.Background()
	s, err := hosts.NewStore(t.TempDir())
	require.NoError(t, err)
	h := &fakeHost{}
	d, err := s.Deploy(ctx, h, hosts.DeployRequest{Name: "hello", Flow: "hello"})
	require.NoError(t, err)
	got, err := s.Get("hello")
	require.NoError(t, err)
	assert.Equal(t, d, got)

	// A name the store has is refused before the host is asked.
	_, err = s.Deploy(ctx, h, hosts.DeployRequest{Name: "hello"})
	require.EqualError(t, err, `deploy: a deployment "hello" exists; delete it with weir deployments delete hello, or pass --name`)
	assert.Equal(t, []string{"hello"}, h.deployed)

	// A host that fails leaves the store as it was.
	h.deployErr = errors.New("no room")
	_, err = s.Deploy(ctx, h, hosts.DeployRequest{Name: "other"})
	require.EqualError(t, err, "no room")
	_, err = s.Get("other")
	require.ErrorIs(t, err, hosts.ErrNotFound)
}

// A deployment the store cannot keep is deleted from the host again.
func TestStoreDeployRollsBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deployments")
	s, err := hosts.NewStore(dir)
	require.NoError(t, err)
	require.NoError(t, os.Remove(dir)) // Put cannot write its file
	h := &fakeHost{}
	_, err = s.Deploy(context.Background(), h, hosts.DeployRequest{Name: "hello"})
	require.Error(t, err)
	assert.Regexp(t, `^save deployment "hello": open .*: no such file or directory$`, err.Error())
	assert.Equal(t, []string{"hello"}, h.deleted)
}

func TestBuildBundle(t *testing.T) {
	dir := t.TempDir()
	flow := filepath.Join(dir, "My_Flow.cue")
	require.NoError(t, os.WriteFile(flow, []byte(`name: "My_Flow"
nodes: a: {tool: "builtin.json", inputs: value: 1}
outputs: v: "${a.output.value}"
`), 0o644))
	e, err := engine.New(engine.Options{Providers: []plugins.Provider{builtin.NewProvider()}})
	require.NoError(t, err)
	defer e.Close()
	f, err := e.Load(context.Background(), flow)
	require.NoError(t, err)
	b, err := hosts.BuildBundle(f)
	require.NoError(t, err)
	assert.Equal(t, "My_Flow", b.Manifest.Flow)
	req := b.Request(hosts.DNSName(b.Manifest.Flow))
	assert.Equal(t, hosts.DeployRequest{Name: "my-flow", Bundle: b.Path, Flow: "My_Flow", Digest: b.Manifest.Digest}, req)

	// The bundle opens as it is, and closing that removes nothing.
	opened, err := hosts.OpenBundle(b.Path)
	require.NoError(t, err)
	assert.Equal(t, b.Manifest, opened.Manifest)
	require.NoError(t, opened.Close())
	assert.FileExists(t, b.Path)

	require.NoError(t, b.Close())
	assert.NoFileExists(t, b.Path)
	require.NoError(t, b.Close(), "a second Close")
}

func TestDNSName(t *testing.T) {
	for in, want := range map[string]string{"My_Flow": "my-flow", "hello": "hello", "--a  b--": "a-b", "ünï": "n", "é": ""} {
		assert.Equal(t, want, hosts.DNSName(in), in)
	}
}

func TestRegistry(t *testing.T) {
	newFake := func(s hosts.Settings) (hosts.Host, error) {
		if s.URL == "" {
			return nil, errors.New("needs a URL")
		}
		return &fakeHost{}, nil
	}
	r := hosts.NewRegistry(
		hosts.Kind{Name: "a", Takes: []string{"addr", "url"}, New: newFake},
		hosts.Kind{Name: "b", Takes: []string{"addr"}, New: newFake},
	)
	assert.Equal(t, []string{"a", "b"}, r.Names())
	assert.Equal(t, []string{"a", "b"}, r.Taking("addr"))
	assert.Equal(t, []string{"a"}, r.Taking("url"))
	assert.Empty(t, r.Taking("image"))
	_, err := r.New("c", hosts.Settings{})
	require.EqualError(t, err, `unknown host "c"; use one of: a, b`)
	_, err = r.New("a", hosts.Settings{})
	require.EqualError(t, err, "needs a URL")
	h, err := r.Reach(hosts.Deployment{Host: "a", URL: "http://x"}, t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, "fake", h.Name())
	assert.PanicsWithValue(t, "hosts: two kinds of host named a", func() { hosts.NewRegistry(hosts.Kind{Name: "a"}, hosts.Kind{Name: "a"}) })
}
