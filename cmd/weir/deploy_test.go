package main

import (
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeployLocalThenEndpoint is the deploy of the README: the hello flow
// on the local host, a weir serve child process, then the same flow as a
// new version of that server through the endpoint host; then both go.
func TestDeployLocalThenEndpoint(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	home := t.TempDir()
	r := runBinary(t, bin, root, "deploy", "--home", home, "examples/hello/flow.cue", "--host", "local")
	require.Equal(t, 0, r.code, r.stderr)
	url := strings.TrimSpace(r.stdout)
	require.Regexp(t, `^http://127\.0\.0\.1:\d+$`, url)
	assert.Regexp(t, `^deployed flow "hello" \(sha256:[0-9a-f]{12}\) on local as "hello"\n$`, r.stderr)
	t.Cleanup(func() { runBinary(t, bin, root, "deployments", "delete", "--home", home, "hello") })

	assert.Equal(t, `{"message":"Hello, Ada!","shouted":null}`, score(t, url, `{"name":"Ada"}`))

	r = runBinary(t, bin, root, "deploy", "--home", home, "--name", "hello-v2", "examples/hello/flow.cue", "--host", "endpoint", "--url", url)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, url+"\n", r.stdout)
	assert.Equal(t, `{"message":"Hello, Ada!","shouted":null}`, score(t, url, `{"name":"Ada"}`))

	r = runBinary(t, bin, root, "deployments", "list", "--home", home)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `(?m)^hello +local +hello +- +sha256:[0-9a-f]{12} +`+url+` `, r.stdout)
	assert.Regexp(t, `(?m)^hello-v2 +endpoint +hello +[0-9a-f]{12} +sha256:[0-9a-f]{12} +`+url+` `, r.stdout)

	r = runBinary(t, bin, root, "deployments", "status", "--home", home, "hello")
	assert.Regexp(t, `^hello: ready on local at `+url+` \(running, pid \d+\)\n$`, r.stdout)
	r = runBinary(t, bin, root, "deployments", "status", "--home", home, "hello-v2")
	assert.Regexp(t, `^hello-v2: ready on endpoint at `+url+` \(version [0-9a-f]{12} of flow "hello", 100% of its traffic\)\n$`, r.stdout)
	r = runBinary(t, bin, root, "deployments", "logs", "--home", home, "hello")
	assert.Contains(t, r.stdout, `serving flow "hello" at `+url)

	r = runBinary(t, bin, root, "deployments", "delete", "--home", home, "hello-v2")
	assert.Equal(t, result{0, "deleted hello-v2\n", ""}, r)
	r = runBinary(t, bin, root, "deployments", "delete", "--home", home, "hello")
	assert.Equal(t, result{0, "deleted hello\n", ""}, r)
	_, err := http.Get(url + "/healthz")
	assert.Error(t, err, "the server is gone")
	r = runBinary(t, bin, root, "deployments", "list", "--home", home)
	assert.Equal(t, result{0, "no deployments: make one with weir deploy FLOW --host local\n", ""}, r)
	entries, err := os.ReadDir(home + "/deployments")
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing left behind")
}

func TestDeployErrors(t *testing.T) {
	home := t.TempDir()
	runCases(t, []commandCase{
		{
			name:   "no host",
			args:   []string{"deploy", "--home", home, hello},
			code:   2,
			stderr: "weir: deploy needs --host (one of: local, container, vm, kubernetes, endpoint)\n" + usage("deploy"),
		},
		{
			name:   "unknown host",
			args:   []string{"deploy", "--home", home, hello, "--host", "mars"},
			code:   2,
			stderr: "weir: --host \"mars\": unknown host; use one of: local, container, vm, kubernetes, endpoint\n" + usage("deploy"),
		},
		{
			name:   "endpoint without url",
			args:   []string{"deploy", "--home", home, "testdata/scores.cue", "--host", "endpoint"},
			code:   2,
			stderr: "weir: --host endpoint needs --url, the address of a weir serve with --admin\n" + usage("deploy"),
		},
		{
			name:   "a flag of another host",
			args:   []string{"deploy", "--home", home, hello, "--host", "local", "--memory", "1GiB"},
			code:   2,
			stderr: "weir: --memory is for --host container, vm or kubernetes, not local\n" + usage("deploy"),
		},
		{
			name:   "env without a value",
			args:   []string{"deploy", "--home", home, hello, "--host", "container", "--env", "WEIR_LOG"},
			code:   2,
			stderr: "weir: --env \"WEIR_LOG\": want KEY=VALUE\n" + usage("deploy"),
		},
		{
			name:   "bad memory",
			args:   []string{"deploy", "--home", home, hello, "--host", "container", "--memory", "lots"},
			code:   2,
			stderr: "weir: --memory: \"lots\" is not a size such as 1048576, 512KiB or 1MiB\n" + usage("deploy"),
		},
		{
			name:   "no docker engine",
			args:   []string{"deploy", "--home", home, hello, "--host", "container", "--docker", "unix://" + home + "/docker.sock"},
			code:   1,
			stderr: "weir: deploy \"hello\" on container: docker engine at unix://" + home + "/docker.sock is not reachable: dial unix " + home + "/docker.sock: connect: no such file or directory; start dockerd, or point DOCKER_HOST at a running engine\n",
		},
		{
			name:   "bad name",
			args:   []string{"deploy", "--home", home, "testdata/scores.cue", "--host", "local", "--name", "Bad_Name"},
			code:   2,
			stderr: "weir: deployment name \"Bad_Name\": use lower-case letters, digits and -, at most 63, starting and ending with a letter or digit\n" + usage("deploy"),
		},
		{
			name:   "a flow with problems",
			args:   []string{"deploy", "--home", home, "testdata/cycle.cue", "--host", "local"},
			code:   1,
			stderr: "testdata/cycle.cue:4:2: cycle: a -> b -> a: break it by removing one of these references\n",
		},
		{
			name:   "unknown deployment",
			args:   []string{"deployments", "status", "--home", home, "nope"},
			code:   1,
			stderr: "weir: deployment not found: no deployment \"nope\"; see weir deployments list\n",
		},
		{
			name: "nothing to reach",
			args: []string{"deploy", "--home", home, "testdata/scores.cue", "--host", "endpoint", "--url", "http://127.0.0.1:1"},
			code: 1,
			// The version is the start of the bundle's digest.
			stderr: "weir: deploy \"scores\" on endpoint http://127.0.0.1:1: upload bundle: Post \"http://127.0.0.1:1/v1/admin/deployments?version=8fd055a67a01\": dial tcp 127.0.0.1:1: connect: connection refused\n",
		},
	})
}

// score posts body to url's /score and returns the answer.
func score(t *testing.T, url, body string) string {
	t.Helper()
	a := postScore(t, url, body)
	require.Equal(t, http.StatusOK, a.code, a.body)
	return strings.TrimSpace(a.body)
}

// TestDeployLocalPortTaken deploys on a port another program holds: the
// server exits at start and the deploy fails with the end of its log,
// leaving no deployment behind.
func TestDeployLocalPortTaken(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	home := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	r := runBinary(t, bin, root, "deploy", "--home", home, "--addr", l.Addr().String(), "cmd/weir/testdata/scores.cue", "--host", "local")
	assert.Equal(t, 1, r.code)
	assert.Regexp(t, `^weir: deploy "scores" on local: weir serve exited before it was ready \(exit status 1\); its log ends with:\n(  .*\n)*  .*address already in use`, r.stderr)
	r = runBinary(t, bin, root, "deployments", "list", "--home", home)
	assert.Equal(t, result{0, "no deployments: make one with weir deploy FLOW --host local\n", ""}, r)
	entries, err := os.ReadDir(home + "/deployments")
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing left behind")
}
