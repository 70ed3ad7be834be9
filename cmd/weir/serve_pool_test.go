package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitReady waits until the /readyz of a worker's --health-addr says it
// is connected and pulling, for at most a minute.
func waitReady(t *testing.T, health string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + health + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		require.True(t, time.Now().Before(deadline), "the worker at %s is not ready after a minute", health)
		time.Sleep(50 * time.Millisecond)
	}
}

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

// TestServePool serves the hello flow through a work pool, each part a
// process of the built binary: weir pool serve, weir pool create, weir
// serve --pool, then two weir workers. Without a worker a request gets
// 503; with two, the runs land on both, and the answers, errors included,
// are those of weir serve without --pool. A pool that does not exist stops
// weir serve at start.
func TestServePool(t *testing.T) {
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
	assert.Equal(t, `{"error":{"code":"SystemError","message":"pool \"web\" has no worker: start one with weir worker --pool web","innerError":{"code":"unavailable"}}}`+"\n", got.body)
	assert.Equal(t, "1", got.header.Get("Retry-After"))
	// A body that is not JSON is answered here, as without --pool.
	got = postScore(t, s.url, `{"name":`)
	assert.Equal(t, `{"error":{"code":"UserError","message":"decode body: unexpected end of JSON input, at byte 8","innerError":{"code":"invalid_json"}}}`+"\n", got.body)

	for _, n := range []string{"1", "2"} {
		health := freePort(t)
		startWorker(t, ns.url, "web", "--labels", "n="+n, "--health-addr", health)
		waitReady(t, health)
	}
	const runs = 20
	for range runs {
		got = postScore(t, s.url, `{"name":"Ada"}`)
		require.Equal(t, http.StatusOK, got.code, got.body)
		assert.Equal(t, `{"message":"Hello, Ada!","shouted":null}`+"\n", got.body)
	}
	got = postScore(t, s.url, `{"name":""}`)
	assert.Equal(t, http.StatusBadRequest, got.code)
	assert.Equal(t, `{"error":{"code":"UserError","message":"flow \"hello\": invalid inputs: name: must not be \"\"","innerError":{"code":"invalid_input"}}}`+"\n", got.body)

	// Each worker answered some of the runs, as its heartbeat says.
	deadline := time.Now().Add(time.Minute)
	for {
		byLabel := map[string]int64{}
		for _, w := range statusOf(t, ns.url, "web").Workers {
			byLabel[w.Labels["n"]] += w.Runs
		}
		if byLabel["1"]+byLabel["2"] == runs+1 {
			assert.Positive(t, byLabel["1"], "worker 1 ran none of the runs")
			assert.Positive(t, byLabel["2"], "worker 2 ran none of the runs")
			break
		}
		require.True(t, time.Now().Before(deadline), "the workers' heartbeats count %v runs, not %d", byLabel, runs+1)
		time.Sleep(200 * time.Millisecond)
	}

	// The inspector shows the live pool and its workers.
	code, body := fetch(t, s.url+"/ui/api/pool")
	require.Equal(t, http.StatusOK, code, body)
	var st struct {
		Name    string            `json:"name"`
		Workers []json.RawMessage `json:"workers"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	assert.Equal(t, "web", st.Name)
	assert.Len(t, st.Workers, 2)

	code, rest := s.stop(t, syscall.SIGTERM)
	assert.Equal(t, 0, code, "%q", rest)

	r = weirNATS(t, []string{"NATS_URL=" + ns.url}, "serve", "--addr", "127.0.0.1:0", "--pool", "nope", root+"/examples/hello/flow.cue")
	assert.Equal(t, result{1, "", `weir: pool "nope" does not exist on ` + ns.url + "; create it with weir pool create nope\n"}, r)
}
