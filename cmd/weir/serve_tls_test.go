package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/internal/testcerts"
)

var httpsAt = regexp.MustCompile(` at (https://127\.0\.0\.1:\d+)`)

// TestServeTLS serves HTTPS and gRPC over TLS from --tls-cert and
// --tls-key: a client that trusts the CA gets its answers, over HTTP/1.1
// and HTTP/2 and through grpcurl; a plain one gets none. With --tls-ca a
// client must show a certificate of that CA.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	_, root := weirBinary(t)
	grpcurl := grpcurlBinary(t)
	dir := t.TempDir()
	ca := testcerts.NewCA(t, dir, "ca")
	cert, key := ca.Leaf(t, dir, "server", "127.0.0.1")
	clientCert, clientKey := ca.Leaf(t, dir, "client", "127.0.0.1")

	s := startListening(t, root, nil, 2, httpsAt, "serve", "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
		"--tls-cert", cert, "--tls-key", key, "examples/hello/flow.cue")
	require.NotEmpty(t, s.url, "start lines %q", s.start)
	m := regexp.MustCompile(`^gRPC at (127\.0\.0\.1:\d+) \(.*\), over TLS$`).FindStringSubmatch(s.start[1])
	require.NotNil(t, m, "start line %q", s.start[1])
	grpcAddr := m[1]

	pemCA, err := os.ReadFile(ca.File)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pemCA))
	client := func(certs ...tls.Certificate) *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}, ForceAttemptHTTP2: true}
		return &http.Client{Transport: tr}
	}
	resp, err := client().Post(s.url+"/score", "application/json", strings.NewReader(`{"name":"Ada"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "HTTP/2.0", resp.Proto, "HTTP/2 over TLS")
	http1 := client()
	http1.Transport.(*http.Transport).ForceAttemptHTTP2 = false
	http1.Transport.(*http.Transport).TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	resp, err = http1.Get(s.url + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "HTTP/1.1", resp.Proto)

	plain := strings.Replace(s.url, "https://", "http://", 1)
	resp, err = http.Post(plain+"/score", "application/json", strings.NewReader(`{"name":"Ada"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "plain HTTP to the TLS port")

	grpcCall := func(args ...string) (string, int) {
		out, err := exec.Command(grpcurl, args...).CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			require.NoError(t, err)
		}
		code := 0
		if exit != nil {
			code = exit.ExitCode()
		}
		return string(out), code
	}
	out, code := grpcCall("-cacert", ca.File, "-d", `{"flow":"hello","inputs":{"name":"Ada"}}`, grpcAddr, "weir.flow.v1.Flows/Run")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, `"message": "Hello, Ada!"`)
	out, code = grpcCall("-plaintext", grpcAddr, "list")
	assert.NotEqual(t, 0, code, "plaintext gRPC to the TLS port: %s", out)

	// weir probe, as a health check would ask it.
	bin, _ := weirBinary(t)
	probe := func(args ...string) result { return runBinary(t, bin, root, append([]string{"probe"}, args...)...) }
	assert.Equal(t, result{0, s.url + "/readyz: 200 OK\n", ""}, probe("--cacert", ca.File, s.url))
	assert.Equal(t, result{0, "grpcs://" + grpcAddr + ": SERVING\n", ""}, probe("--cacert", ca.File, "grpcs://"+grpcAddr))
	got := probe(s.url)
	assert.Equal(t, 1, got.code)
	assert.Contains(t, got.stderr, "certificate signed by unknown authority", "without the CA")

	// Mutual TLS: the client shows a certificate of the CA, or gets no answer.
	mutual := startListening(t, root, nil, 1, httpsAt, "serve", "--addr", "127.0.0.1:0",
		"--tls-cert", cert, "--tls-key", key, "--tls-ca", ca.File, "examples/hello/flow.cue")
	_, err = client().Get(mutual.url + "/healthz")
	require.Error(t, err, "a client without a certificate")
	pair, err := tls.LoadX509KeyPair(clientCert, clientKey)
	require.NoError(t, err)
	resp, err = client(pair).Get(mutual.url + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
