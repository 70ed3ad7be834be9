package main

import (
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/hoststest"
)

// TestDeployContainer deploys the hello flow as the README does, onto the
// local Docker engine, scores it, and deletes it without a trace.
func TestDeployContainer(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	if err := exec.Command("docker", "version").Run(); err != nil {
		hoststest.Need(t, "Docker engine", err)
	}
	home := t.TempDir()
	r := runBinary(t, bin, root, "deploy", "--home", home, "--name", "hello-cli", "--memory", "256MiB", "examples/hello/flow.cue", "--host", "container")
	require.Equal(t, 0, r.code, r.stderr)
	url := strings.TrimSpace(r.stdout)
	require.Regexp(t, `^http://127\.0\.0\.1:\d+$`, url)
	assert.Regexp(t, `^deployed flow "hello" \(sha256:[0-9a-f]{12}\) on container as "hello-cli"\n$`, r.stderr)
	t.Cleanup(func() { runBinary(t, bin, root, "deployments", "delete", "--home", home, "hello-cli") })

	assert.Equal(t, `{"message":"Hello, Ada!","shouted":null}`, score(t, url, `{"name":"Ada"}`))

	r = runBinary(t, bin, root, "deployments", "status", "--home", home, "hello-cli")
	// Ready, and never "starting" with it: Docker's first health check
	// runs 10s after the start.
	assert.Regexp(t, `^hello-cli: ready on container at `+url+` \(container weir-hello-cli running, (health check pending|healthy)\)\n$`, r.stdout)
	assert.NotContains(t, r.stdout, "starting")
	r = runBinary(t, bin, root, "deployments", "logs", "--home", home, "hello-cli")
	assert.Contains(t, r.stdout, `serving flow "hello" at http://0.0.0.0:8080`)

	r = runBinary(t, bin, root, "deployments", "delete", "--home", home, "hello-cli")
	assert.Equal(t, result{0, "deleted hello-cli\n", ""}, r)
	out, err := exec.Command("docker", "ps", "--all", "--quiet", "--filter", "name=^weir-hello-cli$").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Empty(t, string(out), "a container is left behind")
}

// TestDeployContainerGRPC deploys the hello flow with gRPC on: the deploy
// and the status name the gRPC address, where weir probe finds it
// serving, as the container's own health check does.
func TestDeployContainerGRPC(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	if err := exec.Command("docker", "version").Run(); err != nil {
		hoststest.Need(t, "Docker engine", err)
	}
	home := t.TempDir()
	r := runBinary(t, bin, root, "deploy", "--home", home, "--name", "hello-grpc", "--grpc-port", "9090", "examples/hello/flow.cue", "--host", "container")
	require.Equal(t, 0, r.code, r.stderr)
	t.Cleanup(func() { runBinary(t, bin, root, "deployments", "delete", "--home", home, "hello-grpc") })
	url := strings.TrimSpace(r.stdout)
	require.Regexp(t, `^http://127\.0\.0\.1:\d+$`, url)
	m := regexp.MustCompile(`^deployed flow "hello" \(sha256:[0-9a-f]{12}\) on container as "hello-grpc"\ngRPC at (127\.0\.0\.1:\d+)\n$`).FindStringSubmatch(r.stderr)
	require.NotNil(t, m, r.stderr)
	addr := m[1]

	r = runBinary(t, bin, root, "probe", "grpc://"+addr)
	assert.Equal(t, result{0, "grpc://" + addr + ": SERVING\n", ""}, r)
	r = runBinary(t, bin, root, "deployments", "status", "--home", home, "hello-grpc")
	assert.Regexp(t, `^hello-grpc: ready on container at `+url+`, gRPC at `+addr+` \(container weir-hello-grpc running, (health check pending|healthy)\)\n$`, r.stdout)
	r = runBinary(t, bin, root, "deployments", "logs", "--home", home, "hello-grpc")
	assert.Contains(t, r.stdout, "gRPC at 0.0.0.0:9090 (weir.flow.v1.Flows")
	r = runBinary(t, bin, root, "deployments", "delete", "--home", home, "hello-grpc")
	assert.Equal(t, result{0, "deleted hello-grpc\n", ""}, r)
}

// TestDeployContainerGRPCRefused: a gRPC port weir serve cannot take, or
// a worker's, is refused before the Docker engine is asked anything.
func TestDeployContainerGRPCRefused(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	docker := "unix://" + filepath.Join(home, "no-docker.sock")
	runCases(t, []commandCase{
		{
			name:   "the HTTP port",
			args:   []string{"deploy", "--home", home, "--docker", docker, "--grpc-port", "8080", hello, "--host", "container"},
			code:   1,
			stderr: "weir: deploy \"hello\" on container: gRPC port 8080: want 1 to 65535, and not 8080, the HTTP port\n",
		},
		{
			name:   "out of range",
			args:   []string{"deploy", "--home", home, "--docker", docker, "--grpc-port", "70000", hello, "--host", "container"},
			code:   1,
			stderr: "weir: deploy \"hello\" on container: gRPC port 70000: want 1 to 65535, and not 8080, the HTTP port\n",
		},
		{
			name:   "the port --addr publishes",
			args:   []string{"deploy", "--home", home, "--docker", docker, "--addr", ":9090", "--grpc-port", "9090", hello, "--host", "container"},
			code:   1,
			stderr: "weir: deploy \"hello\" on container: gRPC port 9090: --addr publishes HTTP on that port of the Docker host already; pick another for one of them\n",
		},
		{
			name:   "a worker",
			args:   []string{"deploy", "--home", home, "--docker", docker, "--grpc-port", "9090", "--worker", "--pool", "batch", "--nats", "nats://10.0.0.5:4222", "--host", "container"},
			code:   1,
			stderr: "weir: deploy \"worker-batch\" on container: --grpc-port serves a flow over gRPC; a worker serves nothing\n",
		},
		{
			name:   "a host without gRPC",
			args:   []string{"deploy", "--home", home, "--grpc-port", "9090", hello, "--host", "local"},
			code:   2,
			stderr: "weir: --grpc-port is for --host container or kubernetes, not local\n" + usage("deploy"),
		},
	})
}

// TestDeployContainerOutput writes the image instead of running it.
func TestDeployContainerOutput(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	out := filepath.Join(t.TempDir(), "hello.tar")
	r := runBinary(t, bin, root, "deploy", "--home", t.TempDir(), "examples/hello/flow.cue", "--host", "container", "--output", out)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	assert.Regexp(t, `^wrote the image weir/hello:[0-9a-f]{12} of flow "hello" \(sha256:[0-9a-f]{12}, \d+\.\d MB\) to `+out+`; load it with docker load -i `+out+`\n$`, r.stderr)
	fi, err := os.Stat(out)
	require.NoError(t, err)
	assert.Greater(t, fi.Size(), int64(1<<20))
}

// TestDeployVM deploys the hello flow over SSH to the loopback sshd that
// .ci/sshd starts, scores it, and deletes it without a trace.
func TestDeployVM(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	target, key, knownHosts := os.Getenv("WEIR_TEST_SSH"), os.Getenv("WEIR_TEST_SSH_KEY"), os.Getenv("WEIR_TEST_SSH_KNOWN_HOSTS")
	if target == "" || key == "" || knownHosts == "" {
		hoststest.Need(t, "SSH server", errors.New(`WEIR_TEST_SSH, WEIR_TEST_SSH_KEY and WEIR_TEST_SSH_KNOWN_HOSTS are not set: eval "$(.ci/sshd)"`))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	home, dir := t.TempDir(), filepath.Join(t.TempDir(), "hello-vm")
	r := runBinary(t, bin, root, "deploy", "--home", home, "--name", "hello-vm", "--ssh", target, "--identity", key, "--known-hosts", knownHosts,
		"--addr", addr, "--dir", dir, "examples/hello/flow.cue", "--host", "vm")
	require.Equal(t, 0, r.code, r.stderr)
	url := strings.TrimSpace(r.stdout)
	assert.Equal(t, "http://"+addr, url)
	assert.Regexp(t, `^deployed flow "hello" \(sha256:[0-9a-f]{12}\) on vm as "hello-vm"\n$`, r.stderr)
	t.Cleanup(func() { runBinary(t, bin, root, "deployments", "delete", "--home", home, "hello-vm") })

	assert.Equal(t, `{"message":"Hello, Ada!","shouted":null}`, score(t, url, `{"name":"Ada"}`))

	r = runBinary(t, bin, root, "deployments", "status", "--home", home, "hello-vm")
	assert.Regexp(t, `^hello-vm: ready on vm at `+url+` \(.*supervis.*\)\n$`, r.stdout)
	r = runBinary(t, bin, root, "deployments", "logs", "--home", home, "hello-vm")
	assert.Contains(t, r.stdout, `serving flow "hello" at http://`+addr)

	r = runBinary(t, bin, root, "deployments", "delete", "--home", home, "hello-vm")
	assert.Equal(t, result{0, "deleted hello-vm\n", ""}, r)
	_, err = http.Get(url + "/healthz")
	assert.Error(t, err, "weir serve is still running")
	assert.NoDirExists(t, dir)
}

// TestDeployCloudInit prints the user-data of a new VM instead of
// deploying.
func TestDeployCloudInit(t *testing.T) {
	home, weirBin := t.TempDir(), builtWeir(t)
	r := weir(t, "", "deploy", "--home", home, hello, "--host", "vm", "--cloud-init", "--binary", weirBin,
		"--binary-url", "https://files.example.com/weir", "--bundle-url", "https://files.example.com/hello.weir")
	require.Equal(t, 0, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "#cloud-config\n"), r.stdout)
	assert.Contains(t, r.stdout, "https://files.example.com/hello.weir")
	assert.Contains(t, r.stdout, "/etc/systemd/system/weir-hello.service")

	runCases(t, []commandCase{
		{
			name:   "no URLs",
			args:   []string{"deploy", "--home", home, hello, "--host", "vm", "--cloud-init"},
			code:   1,
			stderr: "weir: cloud-init for \"hello\": no URL for the weir binary (--binary-url) and the bundle (--bundle-url): the new VM downloads them, as user-data cannot hold the binary; put them where it can download them and give their URLs\n",
		},
		{
			name:   "URLs without --cloud-init",
			args:   []string{"deploy", "--home", home, hello, "--host", "vm", "--ssh", "root@127.0.0.1:1", "--bundle-url", "https://files.example.com/hello.weir"},
			code:   2,
			stderr: "weir: --binary-url, --bundle-url and --arch go with --cloud-init: a VM reached over SSH says its own architecture\n" + usage("deploy"),
		},
	})
}

// TestDeployKubernetesDryRun prints the manifests, with the digest of the
// image a push would make.
func TestDeployKubernetesDryRun(t *testing.T) {
	home, weirBin := t.TempDir(), builtWeir(t)
	r := weir(t, "", "deploy", "--home", home, hello, "--host", "kubernetes", "--image", "registry.example.com/flows/hello", "--binary", weirBin,
		"--max-replicas", "5", "--cpus", "1", "--memory", "256MiB", "--dry-run")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `^apiVersion: apps/v1\nkind: Deployment\n`, r.stdout)
	assert.Regexp(t, `\n      - image: registry\.example\.com/flows/hello@sha256:[0-9a-f]{64}\n`, r.stdout)
	assert.Contains(t, r.stdout, "\n---\napiVersion: v1\nkind: Service\n")
	assert.Contains(t, r.stdout, "\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n")
	assert.Contains(t, r.stdout, "\n            cpu: \"1\"\n            memory: 256Mi\n")

	// --grpc-port: weir serve serves gRPC there, probed by gRPC health.
	r = weir(t, "", "deploy", "--home", home, hello, "--host", "kubernetes", "--image", "registry.example.com/flows/hello", "--binary", weirBin,
		"--grpc-port", "9090", "--dry-run")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "\n      - args:\n        - --addr\n        - :8080\n        - --grpc-addr\n        - :9090\n        - /srv/bundle.weir\n")
	assert.Contains(t, r.stdout, "\n        readinessProbe:\n          failureThreshold: 3\n          grpc:\n            port: 9090\n")
	assert.Contains(t, r.stdout, "\n  - appProtocol: kubernetes.io/h2c\n    name: grpc\n    port: 9090\n")

	r = weir(t, "", "deploy", "--home", home, hello, "--host", "kubernetes", "--image", "registry.example.com/flows/hello", "--binary", weirBin, "--dry-run", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n"), r.stdout)

	runCases(t, []commandCase{
		{
			name:   "bad format",
			args:   []string{"deploy", "--home", home, hello, "--host", "kubernetes", "--image", "r.example.com/x", "--dry-run", "-o", "xml"},
			code:   2,
			stderr: "weir: -o must be yaml or json, not \"xml\"\n" + usage("deploy"),
		},
		{
			name:   "format without --dry-run",
			args:   []string{"deploy", "--home", home, hello, "--host", "kubernetes", "--image", "r.example.com/x", "-o", "yaml"},
			code:   2,
			stderr: "weir: -o goes with --dry-run on --host kubernetes\n" + usage("deploy"),
		},
	})
}

// TestBinaryDeployKubernetesDryRunWithoutImage prints the manifests of a
// dry run that names no registry: they name a placeholder, and say so.
func TestBinaryDeployKubernetesDryRunWithoutImage(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	r := runBinary(t, bin, root, "deploy", "--home", t.TempDir(), "examples/hello/flow.cue", "--host", "kubernetes", "--dry-run")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `\n      - image: registry\.invalid/weir/hello@sha256:[0-9a-f]{64}\n`, r.stdout)
	assert.Equal(t, "the manifests name the placeholder image registry.invalid/weir/hello, as no --image was given; to deploy, give --image REGISTRY/REPOSITORY[:TAG], a registry the cluster pulls from\n", r.stderr)

	// Deploying needs the registry.
	r = runBinary(t, bin, root, "deploy", "--home", t.TempDir(), "examples/hello/flow.cue", "--host", "kubernetes", "--kubeconfig", filepath.Join(t.TempDir(), "none"))
	assert.Equal(t, result{1, "", "weir: deploy \"hello\" on kubernetes: no image to push to: give REGISTRY/REPOSITORY[:TAG] with --image, a registry the cluster can pull from\n"}, r)
}

// TestDeployHelpListsHosts checks that weir deploy --help names every
// host, with what it does and an example.
func TestDeployHelpListsHosts(t *testing.T) {
	r := weir(t, "", "deploy", "--help")
	require.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "where to deploy: local, container, vm, kubernetes, endpoint")
	for _, h := range hostKinds().Names() {
		assert.Regexp(t, `\n  `+h+` +\S`, r.stdout, "the Hosts list has no %s", h)
		assert.Contains(t, r.stdout, "--host "+h, "no example for %s", h)
	}
}

// builtWeir is the static weir the tests build, for --binary.
func builtWeir(t *testing.T) string {
	bin, _ := weirBinary(t)
	return bin
}

// TestDeployExportSecrets exports a flow with secrets that this machine
// does not have: the manifests hold a Secret of their keys with empty
// values, and the other exports say where the values must go.
func TestDeployExportSecrets(t *testing.T) {
	home, weirBin := t.TempDir(), builtWeir(t)
	dir := t.TempDir()
	flow := filepath.Join(dir, "flow.cue")
	require.NoError(t, os.WriteFile(flow, []byte(hoststest.SecretFlow), 0o644))
	r := weir(t, "", "deploy", "--home", home, flow, "--host", "kubernetes", "--image", "registry.example.com/flows/secret", "--binary", weirBin, "--dry-run")
	require.Equal(t, 0, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "apiVersion: v1\nkind: Secret\n"), r.stdout)
	assert.Contains(t, r.stdout, "stringData:\n  WEIR_SECRET_TOKEN: \"\"\n  WEIR_TEST_API_KEY: \"\"\ntype: Opaque\n---\n")
	assert.Contains(t, r.stdout, "      - envFrom:\n        - secretRef:\n            name: secret\n")
	assert.Equal(t, "the Secret secret holds the keys of the flow's secrets with empty values, never theirs: fill them in before applying\n", r.stderr)

	r = weir(t, "", "deploy", "--home", home, flow, "--host", "vm", "--cloud-init", "--binary", weirBin,
		"--binary-url", "https://files.example.com/weir", "--bundle-url", "https://files.example.com/secret.weir")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "the flow's secrets are not in what was written: set WEIR_SECRET_TOKEN, WEIR_TEST_API_KEY in weir serve's environment where it runs\n")

	// Deploying needs the values, here.
	r = weir(t, "", "deploy", "--home", home, flow, "--host", "local")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, flow+":3:2: secret \"api_key\": environment variable WEIR_TEST_API_KEY is not set\n"+
		flow+":4:2: secret \"token\": read "+filepath.Join(dir, "keys", "token")+": no such file or directory\n", r.stderr)
}
