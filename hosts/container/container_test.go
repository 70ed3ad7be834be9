package container

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts"
	"github.com/weirflow/weir/hosts/internal/hostutil"
	"github.com/weirflow/weir/hosts/pool"
	"github.com/weirflow/weir/internal/flowpb"
	"github.com/weirflow/weir/internal/hoststest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	hoststest.Cleanup()
	os.Exit(code)
}

// engineOrSkip returns a client of the Docker engine the tests use, or
// skips the test (fails it in CI) when there is none.
func engineOrSkip(t testing.TB) *docker {
	t.Helper()
	d, err := newDocker(cmp.Or(os.Getenv("DOCKER_HOST"), DefaultDocker))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = d.version(ctx)
	hoststest.Need(t, "Docker engine", err)
	return d
}

func TestImage(t *testing.T) {
	t.Parallel()
	h := &Host{Binary: hoststest.Weir(t), Env: []string{"WEIR_LOG=debug"}}
	req := hoststest.HelloRequest(t, "hello")
	img, err := h.Image(req, "")
	require.NoError(t, err)

	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "linux", cfg.OS)
	assert.Equal(t, hostutil.HostArch, cfg.Architecture)
	c := cfg.Config
	assert.Equal(t, []string{"/weir", "serve"}, c.Entrypoint)
	assert.Equal(t, []string{"--addr", ":8080", "/srv/bundle.weir"}, c.Cmd)
	assert.Equal(t, "65532:65532", c.User)
	assert.Equal(t, []string{"HOME=/tmp", "WEIR_LOG=debug"}, c.Env)
	assert.Equal(t, map[string]struct{}{"8080/tcp": {}}, c.ExposedPorts)
	assert.Equal(t, []string{"CMD", "/weir", "probe", "http://127.0.0.1:8080"}, c.Healthcheck.Test)
	assert.Equal(t, "hello", c.Labels[LabelFlow])
	assert.Equal(t, req.Digest, c.Labels[LabelDigest])
	assert.Equal(t, engine.Version(), c.Labels[LabelVersion])
	assert.Equal(t, "hello", c.Labels["org.opencontainers.image.title"])

	// Two layers: the binary (and /tmp), then the bundle; nothing else.
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 2)
	bin, err := os.ReadFile(h.Binary)
	require.NoError(t, err)
	bundle, err := os.ReadFile(req.Bundle)
	require.NoError(t, err)
	assert.Equal(t, []entry{{"tmp/", 0o1777, nil}, {"weir", 0o755, bin}}, entries(t, layers[0].Uncompressed))
	assert.Equal(t, []entry{{"srv/", 0o755, nil}, {"srv/bundle.weir", 0o444, bundle}}, entries(t, layers[1].Uncompressed))

	// The same inputs make the same image.
	again, err := h.Image(req, "")
	require.NoError(t, err)
	d1, err := img.Digest()
	require.NoError(t, err)
	d2, err := again.Digest()
	require.NoError(t, err)
	assert.Equal(t, d1, d2)

	// What --output writes, docker load and registry tools read back.
	var buf bytes.Buffer
	require.NoError(t, h.writeImage(req, &buf))
	tag, err := name.NewTag(imageTag(req))
	require.NoError(t, err)
	back, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }, &tag)
	require.NoError(t, err)
	// The tarball keeps the config and the layers; the manifest is made
	// again in Docker's media type when read.
	c1, err := img.ConfigName()
	require.NoError(t, err)
	c2, err := back.ConfigName()
	require.NoError(t, err)
	assert.Equal(t, c1, c2)
	t.Logf("hello image: %d bytes as a tarball", buf.Len())
}

type entry struct {
	name string
	mode int64
	data []byte
}

// count reads rc to its end and returns how many bytes it had.
func count(t testing.TB, rc io.ReadCloser) int64 {
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	require.NoError(t, err)
	return n
}

// entries lists the files of a layer.
func entries(t *testing.T, open func() (io.ReadCloser, error)) []entry {
	rc, err := open()
	require.NoError(t, err)
	defer rc.Close()
	var out []entry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		assert.Equal(t, 0, h.Uid)
		assert.True(t, h.ModTime.IsZero() || h.ModTime.Unix() == 0, "mod time %v", h.ModTime)
		data, err := io.ReadAll(tr)
		require.NoError(t, err)
		if len(data) == 0 {
			data = nil
		}
		out = append(out, entry{h.Name, h.Mode, data})
	}
}

func TestImageBadInput(t *testing.T) {
	t.Parallel()
	weir := hoststest.Weir(t)
	req := hoststest.HelloRequest(t, "hello")
	missing := req
	missing.Bundle = filepath.Join(t.TempDir(), "gone.weir")
	cases := []struct {
		name string
		host *Host
		req  hosts.DeployRequest
		arch string
		want string
	}{
		{"missing bundle", &Host{Binary: weir}, missing, "", "build image: read bundle: open " + missing.Bundle + ": no such file or directory"},
		{"python tools", &Host{Binary: weir}, hoststest.PythonRequest(t, "py"), "", pythonRefused},
		{"dynamic binary", &Host{Binary: "/bin/sh"}, req, "", "weir binary /bin/sh is linked dynamically (built with cgo), and the target has no C library to load; build one with CGO_ENABLED=0 GOOS=linux GOARCH=" + hostutil.HostArch + " go build -o weir ./cmd/weir (make build does this for this machine) and pass it with --binary"},
		{"wrong architecture", &Host{Binary: weir}, req, "s390x", "weir binary " + weir + " is for linux/" + hostutil.HostArch + ", the target is linux/s390x; build one with CGO_ENABLED=0 GOOS=linux GOARCH=s390x go build -o weir ./cmd/weir (make build does this for this machine) and pass it with --binary"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.host.Image(c.req, c.arch)
			require.EqualError(t, err, c.want)
		})
	}
}

// pythonRefused is what a deploy of a flow with Python tools says.
const pythonRefused = `build image: plugin "desk" runs Python tools, but the image holds only the static weir binary, with no Python to run them: deploy the flow with --host local, or --host vm on a machine with python3, or run weir serve on the bundle in an image of your own with Python installed`

// A flow with Python tools is refused before the engine is asked
// anything, let alone an image built: the engine here does not exist.
func TestDeployPython(t *testing.T) {
	t.Parallel()
	socket := filepath.Join(t.TempDir(), "docker.sock")
	h := &Host{Docker: "unix://" + socket, Binary: hoststest.Weir(t)}
	_, err := h.Deploy(context.Background(), hoststest.PythonRequest(t, "py"))
	require.EqualError(t, err, `deploy "py" on container: `+pythonRefused)
}

func TestDockerNotReachable(t *testing.T) {
	req := hoststest.HelloRequest(t, "hello")
	socket := filepath.Join(t.TempDir(), "docker.sock")
	h := &Host{Docker: "unix://" + socket, Binary: "/bin/sh"}
	_, err := h.Deploy(context.Background(), req)
	require.EqualError(t, err, `deploy "hello" on container: docker engine at unix://`+socket+` is not reachable: dial unix `+socket+`: connect: no such file or directory; start dockerd, or point DOCKER_HOST at a running engine`)

	h = &Host{Docker: "ssh://me@box"}
	_, err = h.Deploy(context.Background(), req)
	require.EqualError(t, err, `deploy "hello" on container: docker engine address "ssh://me@box": use unix:///path/to/docker.sock or tcp://host:port`)
}

func TestDeployBadFlags(t *testing.T) {
	cases := []struct {
		host *Host
		want string
	}{
		{&Host{Restart: "sometimes"}, `restart policy "sometimes": use always, on-failure, unless-stopped or no`},
		{&Host{Addr: "8080"}, `address "8080": want HOST:PORT, like 127.0.0.1:8080 or :8080`},
		{&Host{Addr: ":http"}, `address ":http": port must be a number from 0 to 65535`},
		{&Host{GRPCPort: 8080}, `gRPC port 8080: want 1 to 65535, and not 8080, the HTTP port`},
		{&Host{GRPCPort: -1}, `gRPC port -1: want 1 to 65535, and not 8080, the HTTP port`},
		{&Host{GRPCPort: 70000}, `gRPC port 70000: want 1 to 65535, and not 8080, the HTTP port`},
		{&Host{Addr: "127.0.0.1:9090", GRPCPort: 9090}, `gRPC port 9090: --addr publishes HTTP on that port of the Docker host already; pick another for one of them`},
	}
	for _, c := range cases {
		_, err := c.host.Deploy(context.Background(), hosts.DeployRequest{Name: "hello"})
		require.EqualError(t, err, `deploy "hello" on container: `+c.want)
	}
	// A worker serves nothing, over gRPC or not: refused before the
	// engine is asked anything.
	worker := hosts.DeployRequest{Name: "worker-batch", Worker: &hosts.WorkerSpec{Pool: "batch", NATS: "nats://10.0.0.5:4222"}}
	_, err := (&Host{GRPCPort: 9090}).Deploy(context.Background(), worker)
	require.EqualError(t, err, `deploy "worker-batch" on container: --grpc-port serves a flow over gRPC; a worker serves nothing`)
}

// TestImageGRPC: with a gRPC port, the image runs weir serve with
// --grpc-addr, exposes the port, and its health check asks gRPC health
// there; the container publishes it beside HTTP.
func TestImageGRPC(t *testing.T) {
	t.Parallel()
	h := &Host{Binary: hoststest.Weir(t), GRPCPort: 9090}
	req := hoststest.HelloRequest(t, "hello")
	img, err := h.Image(req, "")
	require.NoError(t, err)
	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	c := cfg.Config
	assert.Equal(t, []string{"/weir", "serve"}, c.Entrypoint)
	assert.Equal(t, []string{"--addr", ":8080", "--grpc-addr", ":9090", "/srv/bundle.weir"}, c.Cmd)
	assert.Equal(t, map[string]struct{}{"8080/tcp": {}, "9090/tcp": {}}, c.ExposedPorts)
	assert.Equal(t, []string{"CMD", "/weir", "probe", "grpc://127.0.0.1:9090"}, c.Healthcheck.Test)

	// On a free loopback port by default, as HTTP is.
	nw, err := h.network(req)
	require.NoError(t, err)
	assert.Equal(t, network{bindIP: "127.0.0.1", grpc: &portBinding{HostIP: "127.0.0.1"}}, nw)
	spec, err := h.spec(img, "weir/hello:x", "hello", "always", nw)
	require.NoError(t, err)
	assert.Equal(t, map[string]struct{}{"8080/tcp": {}, "9090/tcp": {}}, spec.ExposedPorts)
	assert.Equal(t, map[string][]portBinding{
		"8080/tcp": {{HostIP: "127.0.0.1"}},
		"9090/tcp": {{HostIP: "127.0.0.1"}},
	}, spec.HostConfig.PortBindings)
	// With an HTTP port, on the port of the gRPC port's number, at the
	// same IP.
	h.Addr = ":8080"
	nw, err = h.network(req)
	require.NoError(t, err)
	spec, err = h.spec(img, "weir/hello:x", "hello", "always", nw)
	require.NoError(t, err)
	assert.Equal(t, map[string][]portBinding{
		"8080/tcp": {{HostPort: "8080"}},
		"9090/tcp": {{HostPort: "9090"}},
	}, spec.HostConfig.PortBindings)

	for _, c := range []struct {
		host *Host
		req  hosts.DeployRequest
		want string
	}{
		{&Host{Binary: h.Binary, GRPCPort: 8080}, req, "gRPC port 8080: want 1 to 65535, and not 8080, the HTTP port"},
		{&Host{Binary: h.Binary, GRPCPort: 65536}, req, "gRPC port 65536: want 1 to 65535, and not 8080, the HTTP port"},
		{&Host{Binary: h.Binary, GRPCPort: 9090}, hosts.DeployRequest{Name: "worker-batch", Worker: &hosts.WorkerSpec{Pool: "batch", NATS: "nats://10.0.0.5:4222"}},
			"--grpc-port serves a flow over gRPC; a worker serves nothing"},
	} {
		_, err := c.host.Image(c.req, "")
		assert.EqualError(t, err, c.want)
	}
}

// TestDeploy runs the hello bundle in a real container, scores it, and
// deletes it without a trace.
func TestDeploy(t *testing.T) {
	t.Parallel()
	d := engineOrSkip(t)
	ctx := context.Background()
	h := &Host{Binary: hoststest.Weir(t), Memory: 256 << 20, CPUs: 1, Env: []string{"GREETING_TEST=1"}}
	req := hoststest.HelloRequest(t, "hello-test")
	dep, err := h.Deploy(ctx, req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Delete(context.Background(), dep) })

	assert.Equal(t, "container", dep.Host)
	assert.True(t, strings.HasPrefix(dep.URL, "http://127.0.0.1:"), dep.URL)
	code, out := hoststest.Score(t, dep.URL, `{"name":"Ada"}`)
	require.Equal(t, http.StatusOK, code, "%v", out)
	assert.Equal(t, "Hello, Ada!", out["message"])

	info, err := d.inspect(ctx, containerName("hello-test"))
	require.NoError(t, err)
	assert.Equal(t, dep.State["container"], info.ID)
	assert.Equal(t, "hello-test", info.Config.Labels[LabelDeployment])
	assert.Equal(t, req.Digest, info.Config.Labels[LabelDigest])

	st, err := h.Status(ctx, dep)
	require.NoError(t, err)
	assert.True(t, st.Ready, st.Detail)
	assert.True(t, strings.HasPrefix(st.Detail, "container weir-hello-test running"), st.Detail)

	var logs bytes.Buffer
	require.NoError(t, h.Logs(ctx, dep, &logs))
	assert.Contains(t, logs.String(), "hello")

	require.NoError(t, h.Delete(ctx, dep))
	_, err = d.inspect(ctx, containerName("hello-test"))
	assert.True(t, isStatus(err, http.StatusNotFound), "container left behind: %v", err)
	err = d.call(ctx, http.MethodGet, "/images/"+dep.State["image"]+"/json", nil, nil, nil)
	assert.True(t, isStatus(err, http.StatusNotFound), "image left behind: %v", err)
	require.NoError(t, h.Delete(ctx, dep), "deleting what is gone")

	st, err = h.Status(ctx, dep)
	require.NoError(t, err)
	assert.Equal(t, hosts.Status{Detail: "no container weir-hello-test"}, st)
}

func TestDeployPortTaken(t *testing.T) {
	t.Parallel()
	d := engineOrSkip(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	h := &Host{Binary: hoststest.Weir(t), Addr: l.Addr().String()}
	req := hoststest.HelloRequest(t, "port-taken")
	removeImageAfter(t, d, req)
	_, err = h.Deploy(context.Background(), req)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), `deploy "port-taken" on container: port `+l.Addr().String()+` is taken on the Docker host; free it, or pick another with --addr (leave it out for a free port): `), err.Error())
	assertGone(t, d, req)
}

func TestDeployExitsAtStart(t *testing.T) {
	t.Parallel()
	d := engineOrSkip(t)
	bin := filepath.Join(t.TempDir(), "exits")
	build := exec.Command("go", "build", "-o", bin, "./testdata/exits")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	h := &Host{Binary: bin, Restart: "no"}
	req := hoststest.HelloRequest(t, "exits")
	removeImageAfter(t, d, req)
	_, err = h.Deploy(context.Background(), req)
	require.EqualError(t, err, `deploy "exits" on container: container exited at start (exit code 3); its log ends with:
  weir serve: load /srv/bundle.weir: the bundle is damaged`)
	assertGone(t, d, req)

	// With a restart policy the container restarts instead of staying
	// down; that fails the deploy the same way.
	h.Restart = "always"
	_, err = h.Deploy(context.Background(), req)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "weir serve: load /srv/bundle.weir: the bundle is damaged")
	assertGone(t, d, req)
}

// TestDeployConverges deploys over what an interrupted deploy left: the
// leftover container is replaced. A container of that name that weir did
// not make is refused and left alone.
func TestDeployConverges(t *testing.T) {
	t.Parallel()
	d := engineOrSkip(t)
	ctx := context.Background()
	h := &Host{Binary: hoststest.Weir(t)}
	req := hoststest.HelloRequest(t, "converge")
	first, err := h.Deploy(ctx, req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Delete(context.Background(), first) })

	// The record of the first deploy is lost, as when weir deploy is
	// killed before it saves it: deploying again replaces the container.
	second, err := h.Deploy(ctx, req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Delete(context.Background(), second) })
	assert.NotEqual(t, first.State["container"], second.State["container"])
	_, err = d.inspect(ctx, first.State["container"])
	assert.True(t, isStatus(err, http.StatusNotFound), "the leftover container is still there: %v", err)
	code, _ := hoststest.Score(t, second.URL, `{"name":"Ada"}`)
	assert.Equal(t, http.StatusOK, code)

	id, err := d.create(ctx, containerName("foreign"), containerSpec{Image: second.State["image"]})
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.remove(context.Background(), id) })
	foreign := hoststest.HelloRequest(t, "foreign")
	removeImageAfter(t, d, foreign)
	_, err = h.Deploy(ctx, foreign)
	require.EqualError(t, err, `deploy "foreign" on container: a container named weir-foreign exists and weir did not make it; remove it, or deploy with another --name`)
	_, err = d.inspect(ctx, id)
	require.NoError(t, err, "the container weir did not make was removed")
	tag := imageTag(foreign)
	err = d.call(ctx, http.MethodGet, "/images/"+tag+"/json", nil, nil, nil)
	assert.True(t, isStatus(err, http.StatusNotFound), "image %s left behind: %v", tag, err)
}

// removeImageAfter removes the image of req when the test ends: a deploy
// that leaves it fails assertGone, and the next run starts clean anyway.
func removeImageAfter(t *testing.T, d *docker, req hosts.DeployRequest) {
	t.Cleanup(func() { _ = d.removeImage(context.Background(), imageTag(req)) })
}

// assertGone checks that the deploy of req left no container and no
// image.
func assertGone(t *testing.T, d *docker, req hosts.DeployRequest) {
	t.Helper()
	_, err := d.inspect(context.Background(), containerName(req.Name))
	assert.True(t, isStatus(err, http.StatusNotFound), "container %s left behind: %v", containerName(req.Name), err)
	tag := imageTag(req)
	err = d.call(context.Background(), http.MethodGet, "/images/"+tag+"/json", nil, nil, nil)
	assert.True(t, isStatus(err, http.StatusNotFound), "image %s left behind: %v", tag, err)
}

func TestHealthText(t *testing.T) {
	assert.Equal(t, "health check pending", healthText("starting"))
	assert.Equal(t, "healthy", healthText("healthy"))
	assert.Equal(t, "unhealthy", healthText("unhealthy"))
}

// TestLayerSameBytes checks that a layer's bytes depend on its files only.
func TestLayerSameBytes(t *testing.T) {
	files := []file{{path: "srv/", mode: 0o755 | int64(os.ModeDir)}, {path: "srv/a", mode: 0o444, data: []byte("a")}}
	l1, err := layer(files...)
	require.NoError(t, err)
	time.Sleep(time.Second) // a clock in the tar or gzip header would show
	l2, err := layer(files...)
	require.NoError(t, err)
	d1, err := l1.Digest()
	require.NoError(t, err)
	d2, err := l2.Digest()
	require.NoError(t, err)
	assert.Equal(t, d1, d2)
}

func TestDemux(t *testing.T) {
	frame := func(stream byte, s string) []byte {
		return append([]byte{stream, 0, 0, 0, 0, 0, 0, byte(len(s))}, s...)
	}
	var in bytes.Buffer
	in.Write(frame(1, "out\n"))
	in.Write(frame(2, "err\n"))
	var out bytes.Buffer
	require.NoError(t, demux(&in, &out))
	assert.Equal(t, "out\nerr\n", out.String())

	in.Reset()
	in.Write(frame(1, "cut")[:9])
	assert.ErrorIs(t, demux(&in, &out), io.EOF)
}

// noSecretIn fails t when the image holds a value: its config, or any
// byte of its layers, uncompressed.
func noSecretIn(t *testing.T, img v1.Image, values ...string) {
	t.Helper()
	cfg, err := img.RawConfigFile()
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	require.NotEmpty(t, layers)
	for _, v := range values {
		assert.NotContains(t, string(cfg), v, "image config")
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		for _, v := range values {
			assert.False(t, bytes.Contains(b, []byte(v)), "layer %d holds a secret", i)
		}
	}
}

// TestImageHoldsNoSecret builds the image of a flow deployed with secrets:
// neither its config nor a layer holds them.
func TestImageHoldsNoSecret(t *testing.T) {
	t.Parallel()
	req := hoststest.SecretRequest(t, "secret", "sk-image-planted", "tok-image-planted")
	img, err := (&Host{Binary: hoststest.Weir(t)}).Image(req, "")
	require.NoError(t, err)
	noSecretIn(t, img, "sk-image-planted", "tok-image-planted")
}

// TestDeploySecrets deploys a flow with secrets on Docker: the container
// gets them in its environment at create, the image as Docker keeps it
// (its config and the layers docker save writes) holds none.
func TestDeploySecrets(t *testing.T) {
	t.Parallel()
	d := engineOrSkip(t)
	ctx := context.Background()
	key, token := "sk-docker-"+strconv.FormatInt(time.Now().UnixNano(), 36), "tok-docker-planted"
	h := &Host{Binary: hoststest.Weir(t)}
	dep, err := h.Deploy(ctx, hoststest.SecretRequest(t, "secret-test", key, token))
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Delete(context.Background(), dep) })

	code, out := hoststest.Score(t, dep.URL, `{}`)
	require.Equal(t, http.StatusOK, code, "%v", out)
	assert.Equal(t, map[string]any{"text": strings.ToUpper(key) + " " + strings.ToUpper(token), "raw": "***"}, out)

	var c struct{ Config struct{ Env []string } }
	require.NoError(t, d.call(ctx, http.MethodGet, "/containers/"+dep.State["container"]+"/json", nil, nil, &c))
	assert.Contains(t, c.Config.Env, "WEIR_TEST_API_KEY="+key)
	var img struct{ Config struct{ Env []string } }
	require.NoError(t, d.call(ctx, http.MethodGet, "/images/"+dep.State["image"]+"/json", nil, nil, &img))
	assert.NotContains(t, strings.Join(img.Config.Env, "\n"), key)
	resp, err := d.do(ctx, http.MethodGet, "/images/"+dep.State["image"]+"/get", nil, nil, "")
	require.NoError(t, err)
	saved, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.False(t, bytes.Contains(saved, []byte(key)), "docker save of the image holds the secret")
	var logs bytes.Buffer
	require.NoError(t, h.Logs(ctx, dep, &logs))
	assert.NotContains(t, logs.String(), key)
}

// TestWorkerImage: a worker's image is the weir binary alone, running
// weir worker, its health checked on its port.
func TestWorkerImage(t *testing.T) {
	t.Parallel()
	h := &Host{Binary: hoststest.Weir(t)}
	req := hosts.DeployRequest{Name: "worker-batch", Worker: &hosts.WorkerSpec{Pool: "batch", NATS: "nats://10.0.0.5:4222", Labels: []string{"zone=a"}}}
	img, err := h.Image(req, "")
	require.NoError(t, err)
	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	c := cfg.Config
	assert.Equal(t, []string{"/weir"}, c.Entrypoint)
	assert.Equal(t, []string{"worker", "--pool", "batch", "--nats", "nats://10.0.0.5:4222", "--labels", "zone=a", "--health-addr", ":8080"}, c.Cmd)
	assert.Equal(t, []string{"CMD", "/weir", "probe", "http://127.0.0.1:8080"}, c.Healthcheck.Test)
	assert.Equal(t, "batch", c.Labels[LabelPool])
	assert.Empty(t, c.Labels[LabelDigest])
	layers, err := img.Layers()
	require.NoError(t, err)
	assert.Len(t, layers, 1, "the binary, and no bundle")
	assert.Equal(t, "weir/worker-batch:worker", imageTag(req))

	// Host networking for a NATS server on loopback, which only the
	// Docker host's network reaches; a published port otherwise.
	nw, err := h.network(req)
	require.NoError(t, err)
	assert.Equal(t, network{bindIP: "127.0.0.1"}, nw)
	req.Worker.NATS = "nats://127.0.0.1:4222"
	nw, err = h.network(req)
	require.NoError(t, err)
	assert.True(t, nw.host)
	assert.Regexp(t, `^127\.0\.0\.1:\d+$`, nw.health)
	h.Addr = ":9090"
	nw, err = h.network(req)
	require.NoError(t, err)
	assert.Equal(t, network{host: true, health: ":9090"}, nw)
	assert.Equal(t, "127.0.0.1:9090", loopbackIfAny(nw.health))
	h.Addr = "127.0.0.1:0"
	_, err = h.network(req)
	require.EqualError(t, err, `address "127.0.0.1:0": a worker on the Docker host's network needs a port of its own for its health checks, not 0`)
	h.Addr = ""
	nw, err = h.network(req)
	require.NoError(t, err)
	spec, err := h.spec(img, "weir/worker-batch:x", "worker-batch", "always", nw)
	require.NoError(t, err)
	assert.Equal(t, "host", spec.HostConfig.NetworkMode)
	assert.Nil(t, spec.HostConfig.PortBindings)
	assert.Equal(t, []string{"worker", "--pool", "batch", "--nats", "nats://10.0.0.5:4222", "--labels", "zone=a", "--health-addr", nw.health}, spec.Cmd)
	assert.Equal(t, []string{"CMD", "/weir", "probe", "http://" + nw.health}, spec.Healthcheck.Test)
}

// TestDeployWorker deploys a worker of a pool whose NATS server runs on
// this machine's loopback and asks for a password: the container shares
// the host's network, gets the credentials in its environment, is ready
// once connected, runs the pool's flows, and drains when deleted.
func TestDeployWorker(t *testing.T) {
	t.Parallel()
	d := engineOrSkip(t)
	ctx := context.Background()
	s, p := hoststest.Pool(t, "docker", "weir", "pw-docker-planted")
	h := &Host{Binary: hoststest.Weir(t)}
	req := hosts.DeployRequest{
		Name:    "worker-test",
		Worker:  &hosts.WorkerSpec{Pool: "docker", NATS: s.URL(), Concurrency: 2, Labels: []string{"where=docker"}},
		Secrets: map[string]string{"NATS_USER": "weir", "NATS_PASSWORD": "pw-docker-planted"},
	}
	dep, err := h.Deploy(ctx, req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Delete(context.Background(), dep) })
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+$`, dep.URL)
	assert.Equal(t, "docker", dep.State["pool"])

	workers := hoststest.Workers(t, p, "where", "docker", nil)
	require.Len(t, workers, 1)
	assert.Equal(t, 2, workers[0].Concurrency)
	// It takes lines of a batch: all of them, as the pool's only worker.
	hoststest.BatchHello(t, p, 20)
	assert.Equal(t, int64(20), hoststest.Workers(t, p, "where", "docker", func(w pool.WorkerInfo) bool { return w.Lines == 20 })[0].Lines)

	st, err := h.Status(ctx, dep)
	require.NoError(t, err)
	assert.True(t, st.Ready, st.Detail)
	var c struct {
		Config     struct{ Env []string }
		HostConfig struct{ NetworkMode string }
	}
	require.NoError(t, d.call(ctx, http.MethodGet, "/containers/"+dep.State["container"]+"/json", nil, nil, &c))
	assert.Equal(t, "host", c.HostConfig.NetworkMode)
	assert.Contains(t, c.Config.Env, "NATS_PASSWORD=pw-docker-planted")
	img, err := h.Image(req, "")
	require.NoError(t, err)
	noSecretIn(t, img, "pw-docker-planted")

	require.NoError(t, h.Delete(ctx, dep))
	_, err = d.inspect(ctx, dep.State["container"])
	assert.True(t, isStatus(err, http.StatusNotFound), "container left behind: %v", err)
	// Stopped by SIGTERM, the worker drained: it left the pool's status
	// as it exited, where a killed one would stay, lost.
	st2, err := p.Status(ctx)
	require.NoError(t, err)
	for _, w := range st2.Workers {
		assert.NotEqual(t, workers[0].ID, w.ID, "the worker did not leave the pool: killed, not drained?")
	}
}

// TestDeployGRPC runs the hello bundle in a real container with gRPC on:
// a Run over the published gRPC port, gRPC health SERVING there, and
// Docker's health check, weir probe over gRPC inside the container,
// healthy.
func TestDeployGRPC(t *testing.T) {
	t.Parallel()
	d := engineOrSkip(t)
	ctx := context.Background()
	h := &Host{Binary: hoststest.Weir(t), GRPCPort: 9090}
	dep, err := h.Deploy(ctx, hoststest.HelloRequest(t, "grpc-test"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Delete(context.Background(), dep) })
	require.Regexp(t, `^127\.0\.0\.1:\d+$`, dep.GRPC)
	assert.NotEqual(t, strings.TrimPrefix(dep.URL, "http://"), dep.GRPC)

	conn, err := grpc.NewClient(dep.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	health, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, health.Status)
	inputs, err := structpb.NewStruct(map[string]any{"name": "Ada"})
	require.NoError(t, err)
	run, err := flowpb.NewFlowsClient(conn).Run(ctx, &flowpb.RunRequest{Flow: "hello", Inputs: &flowpb.RunRequest_InputsStruct{InputsStruct: inputs}})
	require.NoError(t, err)
	assert.Equal(t, "succeeded", run.Status)
	assert.Equal(t, "Hello, Ada!", run.Outputs.AsMap()["message"])
	// HTTP answers beside it.
	code, out := hoststest.Score(t, dep.URL, `{"name":"Ada"}`)
	require.Equal(t, http.StatusOK, code, "%v", out)

	var c struct {
		Config struct {
			Cmd         []string
			Healthcheck struct{ Test []string }
		}
	}
	require.NoError(t, d.call(ctx, http.MethodGet, "/containers/"+dep.State["container"]+"/json", nil, nil, &c))
	assert.Equal(t, []string{"--addr", ":8080", "--grpc-addr", ":9090", "/srv/bundle.weir"}, c.Config.Cmd)
	assert.Equal(t, []string{"CMD", "/weir", "probe", "grpc://127.0.0.1:9090"}, c.Config.Healthcheck.Test)
	// Docker runs the first check one interval (10s) after the start,
	// and says healthy or, after 3 failures, unhealthy.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for range tick.C {
		info, err := d.inspect(ctx, dep.State["container"])
		require.NoError(t, err)
		require.NotNil(t, info.State.Health)
		if s := info.State.Health.Status; s != "starting" {
			require.Equal(t, "healthy", s, "its log ends with:\n%s", logTail(d, info.ID))
			break
		}
	}
	st, err := h.Status(ctx, dep)
	require.NoError(t, err)
	assert.Equal(t, hosts.Status{Ready: true, Detail: "container weir-grpc-test running, healthy"}, st)
}
