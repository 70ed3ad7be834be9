package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/internal/tracing/tracingtest"
)

// TestBinaryConsoleTraces runs the mixed example with the console
// exporter: the spans go to standard error, one JSON object a line, and
// standard output holds the outputs alone, as valid JSON as without
// tracing. The spans are the load's tree and the run's, the go-plugin's
// gRPC calls under the spans that made them.
func TestBinaryConsoleTraces(t *testing.T) {
	t.Parallel()
	bin, root := weirBinary(t)
	cmd := exec.Command(bin, "run", "-o", "json", "examples/mixed/flow.cue", "--input", "text=weir")
	cmd.Dir = root
	// A cache of its own: a plugin described before would be compiled on
	// its first call instead of as the flow loads.
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=console", "OTEL_SERVICE_NAME=", "OTEL_RESOURCE_ATTRIBUTES=", "WEIR_CACHE_DIR="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())

	assert.True(t, json.Valid(stdout.Bytes()), stdout.String())
	assert.Equal(t, "{\n  \"report\": \"WEIR has sha256 "+mixedSum+"\",\n  \"sha256\": \""+mixedSum+"\"\n}\n", stdout.String())

	var spans []tracetest.SpanStub
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		spans = append(spans, consoleSpan(t, sc.Bytes()))
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, `load mixed
  open_plugin builtin
  open_plugin native
    start_plugin native
      weir.tool.v1.Tools/Describe
  open_plugin text
    compile_wasm text
run mixed
  node digest
    weir.tool.v1.Tools/Invoke
  node report
  node shout
`, tracingtest.Tree(spans))
}

// consoleSpan reads one line of the console exporter: the fields of a span
// that a tree needs, and its service, which must be weir.
func consoleSpan(t *testing.T, line []byte) tracetest.SpanStub {
	t.Helper()
	type spanContext struct{ TraceID, SpanID string }
	var s struct {
		Name        string
		SpanContext spanContext
		Parent      spanContext
		StartTime   time.Time
		Resource    []struct {
			Key   string
			Value struct{ Value any }
		}
	}
	require.NoError(t, json.Unmarshal(line, &s), "a line of stderr that is not a span: %s", line)
	for _, kv := range s.Resource {
		if kv.Key == "service.name" {
			assert.Equal(t, "weir", kv.Value.Value, s.Name)
		}
	}
	ctx := func(c spanContext) trace.SpanContext {
		if strings.Trim(c.SpanID, "0") == "" {
			return trace.SpanContext{}
		}
		tid, err := trace.TraceIDFromHex(c.TraceID)
		require.NoError(t, err)
		sid, err := trace.SpanIDFromHex(c.SpanID)
		require.NoError(t, err)
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})
	}
	return tracetest.SpanStub{Name: s.Name, SpanContext: ctx(s.SpanContext), Parent: ctx(s.Parent), StartTime: s.StartTime}
}

// weir --help says which variables turn tracing on.
func TestHelpSaysHowToTrace(t *testing.T) {
	t.Parallel()
	got := weir(t, "", "--help")
	require.Equal(t, 0, got.code)
	for _, v := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT=URL", "OTEL_TRACES_EXPORTER=otlp", "OTEL_TRACES_EXPORTER=console", "standard error"} {
		assert.Contains(t, got.stdout, v)
	}
}
