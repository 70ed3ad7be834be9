package endpoint_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/internal/mockllm"
)

// elsewhere is a Runner that runs the flow with the engine, as a worker
// would, and counts the runs it made: what a work pool's client does,
// without the pool.
type elsewhere struct {
	mu   sync.Mutex
	runs []engine.RunOptions
}

func (r *elsewhere) run(ctx context.Context, f *engine.Flow, inputs []byte, opts engine.RunOptions) (*engine.Result, error) {
	r.mu.Lock()
	r.runs = append(r.runs, opts)
	r.mu.Unlock()
	return f.RunWith(ctx, inputs, opts)
}

func (r *elsewhere) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.runs)
}

// TestRunner: with a Runner, every run goes through it, and the answers,
// errors included, are those of a run here.
func TestRunner(t *testing.T) {
	t.Parallel()
	here := newFixture(t, endpoint.Options{}, engine.Options{})
	var r elsewhere
	there := newFixture(t, endpoint.Options{Runner: r.run}, engine.Options{})
	for _, fx := range []*fixture{here, there} {
		fx.deploy(t, "v1", helloFlow)
		fx.deploy(t, "v1", `name: "broken"
nodes: bad: {tool: "builtin.sleep", inputs: duration: "soon"}
outputs: v: "${bad.output.value}"
`)
	}
	for _, tc := range []struct{ path, body string }{
		{"/score", `{"name": "Ada"}`},
		{"/score", `{"name": ""}`},
		{"/score", `{"nom": "Ada"}`},
		{"/v1/flows/broken/runs", `{}`},
	} {
		want := do(t, "POST", here.url+tc.path, tc.body)
		got := do(t, "POST", there.url+tc.path, tc.body)
		assert.Equal(t, want.status, got.status, "%s %s", tc.path, tc.body)
		assert.Equal(t, want.body, got.body, "%s %s", tc.path, tc.body)
	}
	assert.Equal(t, 4, r.count(), "every run went through the Runner")

	got := do(t, "POST", there.url+"/v1/flows/hello/runs", `{"inputs": {"name": "Ada"}}`)
	require.Equal(t, http.StatusOK, got.status, got.body)
	var body struct {
		RunID   string `json:"run_id"`
		Outputs map[string]any
		Nodes   []engine.NodeResult
	}
	require.NoError(t, json.Unmarshal([]byte(got.body), &body))
	assert.Equal(t, map[string]any{"message": "Hello, Ada!"}, body.Outputs)
	assert.Equal(t, body.RunID, got.header.Get("Weir-Run-Id"))
	require.Len(t, body.Nodes, 1)
	assert.Equal(t, engine.Succeeded, body.Nodes[0].Status)

	// The metrics count the runs made elsewhere as those made here.
	metrics := do(t, "GET", there.url+"/metrics", "").body
	assert.Contains(t, metrics, `weir_runs_total{flow="hello",protocol="http",status="succeeded",version="v1"} 2`)
}

// TestRunnerUnavailable: a Runner with nowhere to run answers 503 with
// its message and Retry-After.
func TestRunnerUnavailable(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{Runner: func(context.Context, *engine.Flow, []byte, engine.RunOptions) (*engine.Result, error) {
		return nil, &endpoint.UnavailableError{Err: errors.New(`pool "p" has no worker: start one with weir worker --pool p`)}
	}}, engine.Options{})
	fx.deploy(t, "v1", helloFlow)
	got := do(t, "POST", fx.url+"/score", `{"name": "Ada"}`)
	assert.Equal(t, http.StatusServiceUnavailable, got.status)
	assert.Equal(t, scoreError("SystemError", "unavailable", `pool "p" has no worker: start one with weir worker --pool p`), got.body)
	assert.Equal(t, "1", got.header.Get("Retry-After"))
	assert.Empty(t, got.header.Get("Weir-Run-Id"), "no run began")

	// An Accept that /score cannot answer is answered here, before the
	// Runner.
	got = do(t, "POST", fx.url+"/score", `{"name": "Ada"}`, "Accept: text/html")
	assert.Equal(t, scoreError("UserError", "not_acceptable", `cannot answer Accept "text/html": /score answers application/json, or text/event-stream for a flow that streams`), got.body)
}

// TestRunnerTimeout: a Runner that returns its context's error when the
// request's deadline passes gets the 504 of a run here.
func TestRunnerTimeout(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{RequestTimeout: 50 * time.Millisecond, Runner: func(ctx context.Context, _ *engine.Flow, _ []byte, _ engine.RunOptions) (*engine.Result, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}, engine.Options{})
	fx.deploy(t, "v1", helloFlow)
	got := do(t, "POST", fx.url+"/score", `{"name": "Ada"}`)
	assert.Equal(t, http.StatusGatewayTimeout, got.status)
	assert.Equal(t, scoreError("SystemError", "timeout", "run timed out after 50ms"), got.body)
}

// TestRunnerStream: a stream through a Runner sends the node events from
// the Result, then the result.
func TestRunnerStream(t *testing.T) {
	t.Parallel()
	var r elsewhere
	fx := newFixture(t, endpoint.Options{Runner: r.run}, engine.Options{})
	fx.deploy(t, "v1", gatedFlow)
	close(fx.release)
	resp := stream(t, context.Background(), fx.url+"/v1/flows/gated/runs", `{"inputs": {}}`)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	events := sse{bufio.NewReader(resp.Body)}
	for _, node := range []string{"first", "held"} {
		event, data := events.next(t)
		assert.Equal(t, "node", event)
		var n engine.NodeResult
		require.NoError(t, json.Unmarshal([]byte(data), &n))
		assert.Equal(t, node, n.Node)
		assert.Equal(t, engine.Succeeded, n.Status)
	}
	event, data := events.next(t)
	assert.Equal(t, "result", event)
	assert.Contains(t, data, `"outputs":{"v":"released"}`)
	_, err := events.r.ReadByte()
	assert.Equal(t, io.EOF, err, "the stream ends after the result")
	assert.Equal(t, []engine.RunOptions{{}}, r.runs, "the Runner gets no callbacks")
}

// TestRunnerScoreStream: /score's stream through a Runner sends the other
// outputs, then the streamed output whole.
func TestRunnerScoreStream(t *testing.T) {
	t.Parallel()
	s := mockllm.Start(mockllm.Options{Text: "Three chunks here."})
	t.Cleanup(s.Close)
	var r elsewhere
	fx := newFixture(t, endpoint.Options{Runner: r.run}, engine.Options{})
	fx.deploy(t, "v1", askFlow(s, `question: "${inputs.question}", answer: "${chat.output.text}", n: "${count.output.value}"`))
	resp := post(t, fx.url+"/score", "text/event-stream", `{"question": "Hi?"}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "data: {\"n\":3,\"question\":\"Hi?\"}\n\ndata: {\"answer\":\"Three chunks here.\"}\n\n", string(rest))
}
