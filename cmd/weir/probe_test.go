package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProbe(t *testing.T) {
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ready.Close)
	draining := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(draining.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	runCases(t, []commandCase{
		{
			name:   "ready",
			args:   []string{"probe", ready.URL},
			stdout: ready.URL + "/readyz: 200 OK\n",
		},
		{
			name:   "another path",
			args:   []string{"probe", "--path", "/healthz", ready.URL + "/"},
			code:   1,
			stderr: "weir: probe: " + ready.URL + "/healthz answered 404 Not Found\n",
		},
		{
			name:   "not ready",
			args:   []string{"probe", draining.URL},
			code:   1,
			stderr: "weir: probe: " + draining.URL + "/readyz answered 503 Service Unavailable\n",
		},
		{
			name:   "nothing there",
			args:   []string{"probe", gone.URL},
			code:   1,
			stderr: "weir: probe: Get \"" + gone.URL + "/readyz\": dial tcp " + gone.Listener.Addr().String() + ": connect: connection refused\n",
		},
	})
}

func TestProbeBadURL(t *testing.T) {
	runCases(t, []commandCase{
		{
			name:   "unknown scheme",
			args:   []string{"probe", "ftp://127.0.0.1:21"},
			code:   2,
			stderr: "weir: probe: URL \"ftp://127.0.0.1:21\": use http://HOST:PORT, https://HOST:PORT, grpc://HOST:PORT or grpcs://HOST:PORT\n" + usage("probe"),
		},
		{
			name:   "no scheme",
			args:   []string{"probe", "localhost:9090"},
			code:   2,
			stderr: "weir: probe: URL \"localhost:9090\": use http://HOST:PORT, https://HOST:PORT, grpc://HOST:PORT or grpcs://HOST:PORT\n" + usage("probe"),
		},
		{
			name:   "gRPC without a port",
			args:   []string{"probe", "grpc://127.0.0.1"},
			code:   2,
			stderr: "weir: probe: URL \"grpc://127.0.0.1\": want grpc://HOST:PORT\n" + usage("probe"),
		},
		{
			name:   "gRPC with a path",
			args:   []string{"probe", "grpc://127.0.0.1:9090/readyz"},
			code:   2,
			stderr: "weir: probe: URL \"grpc://127.0.0.1:9090/readyz\": want grpc://HOST:PORT\n" + usage("probe"),
		},
		{
			name:   "a path over gRPC",
			args:   []string{"probe", "--path", "/healthz", "grpc://127.0.0.1:9090"},
			code:   2,
			stderr: "weir: probe: --path goes with an http:// URL; over gRPC, --service says what to ask\n" + usage("probe"),
		},
		{
			name:   "a service over HTTP",
			args:   []string{"probe", "--service", "weir.flow.v1.Flows", "http://127.0.0.1:8080"},
			code:   2,
			stderr: "weir: probe: --service goes with a grpc:// URL; over HTTP, --path says what to ask\n" + usage("probe"),
		},
		{
			name:   "a CA without TLS",
			args:   []string{"probe", "--cacert", "ca.pem", "grpc://127.0.0.1:9090"},
			code:   2,
			stderr: "weir: probe: --cacert goes with an https:// or grpcs:// URL, not grpc://\n" + usage("probe"),
		},
		{
			name:   "a CA that is not there",
			args:   []string{"probe", "--cacert", "nowhere.pem", "https://127.0.0.1:8443"},
			code:   1,
			stderr: "weir: probe: --cacert: open nowhere.pem: no such file or directory\n",
		},
	})
}

// TestProbeGRPC asks gRPC health of a real weir serve --grpc-addr through
// the built binary, as a container's health check does: SERVING with a
// flow, NOT_SERVING with none, and the errors of a port where nothing
// listens and of a service the server does not have.
func TestProbeGRPC(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	s := startServe(t, root, nil, 2, "--grpc-addr", "127.0.0.1:0", "examples/hello/flow.cue")
	m := grpcAt.FindStringSubmatch(s.start[1])
	require.NotNil(t, m, "start line %q", s.start[1])
	addr := m[1]
	r := runBinary(t, bin, root, "probe", "grpc://"+addr)
	assert.Equal(t, result{0, "grpc://" + addr + ": SERVING\n", ""}, r)
	r = runBinary(t, bin, root, "probe", "--service", "weir.flow.v1.Flows", "grpc://"+addr+"/")
	assert.Equal(t, result{0, "grpc://" + addr + " (service weir.flow.v1.Flows): SERVING\n", ""}, r)
	r = runBinary(t, bin, root, "probe", "--service", "weir.nope.v1.Nope", "grpc://"+addr)
	assert.Equal(t, result{1, "", "weir: probe: grpc://" + addr + " has no service \"weir.nope.v1.Nope\"\n"}, r)

	// No flow yet: /readyz answers 503, and gRPC health NOT_SERVING.
	empty := startServe(t, t.TempDir(), []string{"WEIR_ADMIN_TOKEN="}, 3, "--admin", "--grpc-addr", "127.0.0.1:0")
	m = grpcAt.FindStringSubmatch(empty.start[2])
	require.NotNil(t, m, "start line %q", empty.start[2])
	r = runBinary(t, bin, root, "probe", "grpc://"+m[1])
	assert.Equal(t, result{1, "", "weir: probe: grpc://" + m[1] + " answered NOT_SERVING\n"}, r)
	r = runBinary(t, bin, root, "probe", "--service", "weir.flow.v1.Flows", "grpc://"+m[1])
	assert.Equal(t, result{1, "", "weir: probe: grpc://" + m[1] + " (service weir.flow.v1.Flows) answered NOT_SERVING\n"}, r)

	// Nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gone := l.Addr().String()
	l.Close()
	r = runBinary(t, bin, root, "probe", "grpc://"+gone)
	assert.Equal(t, result{1, "", "weir: probe: grpc://" + gone + ": dial tcp " + gone + ": connect: connection refused\n"}, r)

	// The HTTP port is not a gRPC one.
	r = runBinary(t, bin, root, "probe", "grpc://"+strings.TrimPrefix(s.url, "http://"))
	assert.Equal(t, 1, r.code)
	assert.True(t, strings.HasPrefix(r.stderr, "weir: probe: grpc://"+strings.TrimPrefix(s.url, "http://")+": rpc error: code = Unavailable desc = "), r.stderr)
}
