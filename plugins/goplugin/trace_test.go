package goplugin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weirflow/weir/internal/tracing/tracingtest"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/goplugin"
)

// TestTraces opens the tools plugin under a span, lets the health check
// run many times, calls a tool under another span and stops the plugin.
// weir's side has a client span for each call made under a span, in that
// span's TracerProvider though the provider was given none, and nothing
// else: no health check, no go-plugin stream or shutdown starts a trace.
// The plugin's side has a server span under each client span, from the
// service OTEL_SERVICE_NAME names, flushed by ServeWith's Shutdown.
func TestTraces(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tracer := tp.Tracer("test")
	spansFile := filepath.Join(t.TempDir(), "spans.jsonl")

	p := goplugin.NewProvider(goplugin.Options{Logger: quiet, HealthInterval: time.Millisecond, HealthTimeout: time.Second})
	t.Cleanup(func() { _ = p.Close() })
	ctx, open := tracer.Start(context.Background(), "open")
	opened, err := p.Open(ctx, plugins.Spec{
		Name: "tools", Kind: "goplugin", Source: filepath.Join(bin, "tools"),
		Options: json.RawMessage(`{"env":{"WEIR_TEST_SPANS":` + quoteJSON(spansFile) + `}}`),
	})
	open.End()
	require.NoError(t, err)
	pl := opened.(*goplugin.Plugin)
	require.Eventually(t, func() bool { return pl.Stats().HealthChecks >= 5 }, 10*time.Second, time.Millisecond)

	ctx, node := tracer.Start(context.Background(), "node")
	_, err = toolNamed(pl, "upper").Invoke(ctx, []byte(`{"text":"hi"}`))
	node.End()
	require.NoError(t, err)
	require.NoError(t, pl.Close())

	spans := exp.GetSpans()
	assert.Equal(t, `node
  weir.tool.v1.Tools/Invoke
open
  start_plugin tools
    weir.tool.v1.Tools/Describe
`, tracingtest.Tree(spans))
	start := attrsOf(named(spans, "start_plugin tools").Attributes)
	assert.Equal(t, "tools", start["weir.plugin.name"])
	assert.Equal(t, "tools", start["process.executable.name"])
	assert.NotZero(t, start["process.pid"])

	// The plugin's spans, as its exporter wrote them.
	f, err := os.Open(spansFile)
	require.NoError(t, err)
	defer f.Close()
	type spanContext struct{ TraceID, SpanID string }
	var got []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s struct {
			Name        string
			SpanContext spanContext
			Parent      spanContext
			SpanKind    int
			Resource    []struct {
				Key   string
				Value struct{ Value any }
			}
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &s), sc.Text())
		got = append(got, s.Name)
		client := named(spans, s.Name)
		assert.Equal(t, client.SpanContext.TraceID().String(), s.SpanContext.TraceID, s.Name)
		assert.Equal(t, client.SpanContext.SpanID().String(), s.Parent.SpanID, "%s: the child of weir's client span", s.Name)
		assert.Equal(t, 2, s.SpanKind, "server")
		service := ""
		for _, kv := range s.Resource {
			if kv.Key == "service.name" {
				service, _ = kv.Value.Value.(string)
			}
		}
		assert.Equal(t, "tools", service, "the plugin's name in the flow")
	}
	require.NoError(t, sc.Err())
	slices.Sort(got)
	assert.Equal(t, []string{"weir.tool.v1.Tools/Describe", "weir.tool.v1.Tools/Invoke"}, got)
}

// An explicit TracerProvider makes the client spans, still only for the
// calls made under a span: not for the others, nor the health checks.
func TestTracesOwnProvider(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	other := tracetest.NewInMemoryExporter()
	callers := sdktrace.NewTracerProvider(sdktrace.WithSyncer(other))
	pl, tools := openTools(t, goplugin.Options{TracerProvider: tp, HealthInterval: time.Millisecond, HealthTimeout: time.Second})
	require.Eventually(t, func() bool { return pl.Stats().HealthChecks >= 5 }, 10*time.Second, time.Millisecond)
	_, err := tools["upper"].Invoke(context.Background(), []byte(`{"text":"no span"}`))
	require.NoError(t, err)
	ctx, node := callers.Tracer("test").Start(context.Background(), "node")
	_, err = tools["upper"].Invoke(ctx, []byte(`{"text":"hi"}`))
	node.End()
	require.NoError(t, err)
	require.NoError(t, pl.Close())
	require.Equal(t, "weir.tool.v1.Tools/Invoke\n", tracingtest.Tree(exp.GetSpans()))
	assert.Equal(t, node.SpanContext().SpanID(), exp.GetSpans()[0].Parent.SpanID())
	assert.Equal(t, "node\n", tracingtest.Tree(other.GetSpans()))
}

func toolNamed(pl *goplugin.Plugin, name string) plugins.Tool {
	for _, tl := range pl.Tools() {
		if tl.Contract().Name == name {
			return tl
		}
	}
	return nil
}

func named(spans []tracetest.SpanStub, name string) tracetest.SpanStub {
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	return tracetest.SpanStub{}
}

func attrsOf(s []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range s {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
