package endpoint_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
)

// TestSplitUnderLoad hammers a flow of two versions split 50/50 while
// another goroutine keeps changing the split and deploying and deleting a
// third version: every request must succeed, on a version that existed.
func TestSplitUnderLoad(t *testing.T) {
	t.Parallel()
	workers, perWorker := 16, 150
	if testing.Short() {
		workers, perWorker = 4, 25
	}
	fx := newFixture(t, endpoint.Options{InsecureAdmin: true}, engine.Options{})
	c := &endpoint.Client{URL: fx.url}
	ctx := context.Background()
	fx.deploy(t, "blue", versionFlow("blue"))
	fx.deploy(t, "green", versionFlow("green"))
	require.NoError(t, c.SetSplit(ctx, "split", map[string]int{"blue": 50, "green": 50}))
	red := buildBundle(t, "flow.cue", versionFlow("red"))

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	var (
		mu       sync.Mutex
		seen     = map[string]int{}
		failures []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}

	stop := make(chan struct{})
	changes := make(chan error, 1)
	var rounds atomic.Int64
	go func() {
		// Each round walks the table through every kind of change.
		for i := 0; ; i++ {
			select {
			case <-stop:
				changes <- nil
				return
			default:
			}
			v := fmt.Sprintf("red-%d", i)
			steps := []func() error{
				func() error { _, err := c.Upload(ctx, red, v); return err },
				func() error {
					return c.SetSplit(ctx, "split", map[string]int{"blue": 34, "green": 33, v: 33})
				},
				func() error { return c.SetSplit(ctx, "split", map[string]int{"blue": 100}) },
				func() error { return c.SetSplit(ctx, "split", map[string]int{"blue": 50, "green": 50}) },
				func() error { return c.Delete(ctx, "split", v) },
			}
			for _, step := range steps {
				if err := step(); err != nil {
					changes <- err
					return
				}
			}
			rounds.Add(1)
		}
	}()

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				url, body := fx.url+"/score", `{}`
				if (w+i)%2 == 1 {
					url, body = fx.url+"/v1/flows/split/runs", `{"inputs": {}}`
				}
				resp, err := client.Post(url, "application/json", strings.NewReader(body))
				if err != nil {
					fail("request: %v", err)
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				version := resp.Header.Get("Weir-Version")
				switch {
				case err != nil:
					fail("read: %v", err)
				case resp.StatusCode != http.StatusOK:
					fail("%d %s", resp.StatusCode, b)
				case !strings.Contains(string(b), `"version":"`+strings.Split(version, "-")[0]+`"`):
					fail("version %s answered %s", version, b)
				default:
					mu.Lock()
					seen[strings.Split(version, "-")[0]]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	require.NoError(t, <-changes)
	assert.Empty(t, failures, "failed requests")
	assert.Positive(t, seen["blue"])
	assert.Positive(t, seen["green"])
	assert.Equal(t, workers*perWorker, seen["blue"]+seen["green"]+seen["red"])
	t.Logf("%d requests over %d rounds of changes: %v", workers*perWorker, rounds.Load(), seen)
}

// TestTraceparent: the server span continues the caller's trace, and the
// engine's run span is its child.
func TestTraceparent(t *testing.T) {
	t.Parallel()
	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		parent  = "00f067aa0ba902b7"
	)
	header := "traceparent: 00-" + traceID + "-" + parent + "-01"

	t.Run("server and engine traced", func(t *testing.T) {
		t.Parallel()
		exp := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		fx := newFixture(t, endpoint.Options{TracerProvider: tp}, engine.Options{TracerProvider: tp})
		fx.deploy(t, "v1", helloFlow)
		got := do(t, "POST", fx.url+"/v1/flows/hello/runs", `{"inputs": {"name": "Ada"}}`, header)
		require.Equal(t, http.StatusOK, got.status)

		var server, run tracetest.SpanStub
		require.Eventually(t, func() bool {
			for _, s := range exp.GetSpans() {
				switch s.Name {
				case "POST /v1/flows/{flow}/runs":
					server = s
				case "run hello":
					run = s
				}
			}
			return server.SpanContext.IsValid() && run.SpanContext.IsValid()
		}, 10*time.Second, time.Millisecond)
		assert.Equal(t, traceID, server.SpanContext.TraceID().String())
		assert.Equal(t, parent, server.Parent.SpanID().String())
		assert.True(t, server.Parent.IsRemote())
		assert.Equal(t, trace.SpanKindServer, server.SpanKind)
		assert.Equal(t, map[string]any{
			"http.request.method":       "POST",
			"http.route":                "/v1/flows/{flow}/runs",
			"url.path":                  "/v1/flows/hello/runs",
			"http.response.status_code": int64(200),
			"weir.flow.name":            "hello",
			"weir.flow.version":         "v1",
		}, attrs(server.Attributes))
		assert.Equal(t, "00-"+traceID+"-"+server.SpanContext.SpanID().String()+"-01", got.header.Get("traceresponse"),
			"the answer names the trace and the server's span")
		missing := do(t, "POST", fx.url+"/v1/flows/nope/runs", `{"inputs": {}}`, header)
		require.Equal(t, http.StatusNotFound, missing.status)
		assert.Regexp(t, "^00-"+traceID+"-[0-9a-f]{16}-01$", missing.header.Get("traceresponse"), "error answers too")

		assert.Equal(t, traceID, run.SpanContext.TraceID().String())
		assert.Equal(t, server.SpanContext.SpanID(), run.Parent.SpanID(), "the run span is the server span's child")
	})

	t.Run("engine traced alone", func(t *testing.T) {
		t.Parallel()
		exp := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		fx := newFixture(t, endpoint.Options{}, engine.Options{TracerProvider: tp})
		fx.deploy(t, "v1", helloFlow)
		got := do(t, "POST", fx.url+"/score", `{"name": "Ada"}`, header)
		require.Equal(t, http.StatusOK, got.status)
		assert.Empty(t, got.header.Values("traceresponse"), "no server span, no span to name")
		var run tracetest.SpanStub
		for _, s := range exp.GetSpans() {
			if s.Name == "run hello" {
				run = s
			}
		}
		require.True(t, run.SpanContext.IsValid())
		assert.Equal(t, traceID, run.SpanContext.TraceID().String())
		assert.Equal(t, parent, run.Parent.SpanID().String(), "the caller's span is the run's parent")
	})
}

func attrs(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}
