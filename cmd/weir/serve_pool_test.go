package main

import (
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// answer is a reply of weir serve.
type answer struct {
	code   int
	header http.Header
	body   string
}

func postScore(t *testing.T, url, body string) answer {
	t.Helper()
	resp, err := http.Post(url+"/score", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// TestServePoolNoWorker serves the hello flow through a work pool that has
// no worker, each part a process of the built binary: weir pool serve,
// weir pool create, weir serve --pool. A request gets 503, saying what to
// do; a pool that does not exist stops weir serve at start.
func TestServePoolNoWorker(t *testing.T) {
	t.Parallel()
	_, root := weirBinary(t)
	ns := startPoolServe(t, t.TempDir())
	r := weirNATS(t, nil, "pool", "create", "--nats", ns.url, "web")
	require.Equal(t, 0, r.code, r.stderr)
	env := append(append([]string{}, noNATSEnv...), "NATS_URL="+ns.url, "WEIR_HOME="+t.TempDir())

	s := startServe(t, root, env, 2, "--pool", "web", "examples/hello/flow.cue")
	assert.Equal(t, []string{`serving flow "hello" at ` + s.url + ` (POST /score, /v1/flows/hello/runs)`, `runs go to the workers of pool "web"`}, s.start)
	got := postScore(t, s.url, `{"name":"Ada"}`)
	assert.Equal(t, http.StatusServiceUnavailable, got.code)
	assert.Equal(t, `{"error":{"code":"unavailable","message":"pool \"web\": pool has no worker: start one with weir worker --pool web"}}`+"\n", got.body)
	assert.Equal(t, "1", got.header.Get("Retry-After"))
	// A body that is not JSON is answered here, as without --pool.
	got = postScore(t, s.url, `{"name":`)
	assert.Equal(t, `{"error":{"code":"invalid_json","message":"decode body: unexpected end of JSON input, at byte 8"}}`+"\n", got.body)
	code, rest := s.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, code, "%q", rest)

	r = weirNATS(t, []string{"NATS_URL=" + ns.url}, "serve", "--addr", "127.0.0.1:0", "--pool", "nope", root+"/examples/hello/flow.cue")
	assert.Equal(t, result{1, "", `weir: pool "nope" does not exist on ` + ns.url + "; create it with weir pool create nope\n"}, r)
}
