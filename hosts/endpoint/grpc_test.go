package endpoint_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/internal/flowpb"
	"github.com/weirflow/weir/internal/mockllm"
)

// grpcServe serves fx's server over gRPC on a loopback port and returns a
// client connection to it.
func (fx *fixture) grpcServe(t testing.TB) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := fx.s.NewGRPCServer()
	go func() { _ = gs.Serve(ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		conn.Close()
		gs.Stop()
	})
	return conn
}

// grpcFlows is a Flows client of fx, and a context that ends a test whose
// answer never comes.
func (fx *fixture) grpcFlows(t *testing.T) (flowpb.FlowsClient, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return flowpb.NewFlowsClient(fx.grpcServe(t)), ctx
}

func structOf(t *testing.T, m map[string]any) *flowpb.RunRequest_InputsStruct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	require.NoError(t, err)
	return &flowpb.RunRequest_InputsStruct{InputsStruct: s}
}

// TestGRPCRun runs a flow with inputs in either form, and its default
// flow by no name.
func TestGRPCRun(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", helloFlow)
	fx.deploy(t, "v1", typedFlow)
	c, ctx := fx.grpcFlows(t)

	resp, err := c.Run(ctx, &flowpb.RunRequest{Flow: "hello", Inputs: structOf(t, map[string]any{"name": "Ada"}), RunId: "req-1"})
	require.NoError(t, err)
	assert.Equal(t, "req-1", resp.RunId)
	assert.Equal(t, "hello", resp.Flow)
	assert.Equal(t, "v1", resp.Version)
	assert.Equal(t, "succeeded", resp.Status)
	assert.Equal(t, `{"message":"Hello, Ada!"}`, resp.OutputsJson)
	assert.Equal(t, map[string]any{"message": "Hello, Ada!"}, resp.Outputs.AsMap())
	require.Len(t, resp.Nodes, 1)
	n := resp.Nodes[0]
	assert.Equal(t, []any{"greet", "builtin.template", "builtin", "builtin", "succeeded", int32(1), ""},
		[]any{n.Node, n.Tool, n.Plugin, n.Kind, n.Status, n.Attempts, n.Error})

	// JSON text keeps an integer past a double's precision.
	resp, err = c.Run(ctx, &flowpb.RunRequest{Flow: "typed", Inputs: &flowpb.RunRequest_InputsJson{InputsJson: `{"n": 9007199254740993, "s": "x"}`}})
	require.NoError(t, err)
	assert.Equal(t, `{"n":9007199254740993,"s":"x"}`, resp.OutputsJson)

	resp, err = c.Run(ctx, &flowpb.RunRequest{Inputs: structOf(t, map[string]any{"name": "Bo"})})
	require.NoError(t, err)
	assert.Equal(t, "hello", resp.Flow, "no flow named runs the default flow")
}

// TestGRPCErrors: each error has its code and weir's message, the one
// HTTP answers.
func TestGRPCErrors(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", helloFlow)
	c, ctx := fx.grpcFlows(t)
	for _, tc := range []struct {
		name string
		req  *flowpb.RunRequest
		code codes.Code
		msg  string
	}{
		{"unknown flow", &flowpb.RunRequest{Flow: "nope"}, codes.NotFound, `flow "nope" is not deployed (deployed: hello)`},
		{"unknown version", &flowpb.RunRequest{Flow: "hello", Version: "v9"}, codes.NotFound, `flow "hello" has no version "v9" (versions: v1)`},
		{"invalid input", &flowpb.RunRequest{Flow: "hello", Inputs: structOf(t, map[string]any{"name": ""})}, codes.InvalidArgument, `flow "hello": invalid inputs: name: must not be ""`},
		{"missing input", &flowpb.RunRequest{Flow: "hello"}, codes.InvalidArgument, `flow "hello": invalid inputs: name: is required`},
		{"not JSON", &flowpb.RunRequest{Flow: "hello", Inputs: &flowpb.RunRequest_InputsJson{InputsJson: `{"name": }`}}, codes.InvalidArgument, `decode inputs_json: invalid character '}' looking for beginning of value, at byte 10`},
		{"bad run id", &flowpb.RunRequest{Flow: "hello", RunId: "a b"}, codes.InvalidArgument, `run_id: want 1 to 128 visible ASCII characters`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Run(ctx, tc.req)
			assert.Equal(t, tc.code, status.Code(err), err)
			assert.Equal(t, tc.msg, status.Convert(err).Message())
		})
	}
	// The same through RunStream, which ends with the status.
	stream, err := c.RunStream(ctx, &flowpb.RunRequest{Flow: "nope"})
	require.NoError(t, err)
	_, err = stream.Recv()
	assert.Equal(t, codes.NotFound, status.Code(err))
	assert.Equal(t, `flow "nope" is not deployed (deployed: hello)`, status.Convert(err).Message())
}

// TestGRPCMaxConcurrent: a call past MaxConcurrent gets RESOURCE_EXHAUSTED,
// whatever protocol holds the slots.
func TestGRPCMaxConcurrent(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{MaxConcurrent: 1}, engine.Options{})
	fx.deploy(t, "v1", gatedFlow)
	c, ctx := fx.grpcFlows(t)
	held := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, &flowpb.RunRequest{Flow: "gated"})
		held <- err
	}()
	<-fx.entered // the first run holds the only slot
	_, err := c.Run(ctx, &flowpb.RunRequest{Flow: "gated"})
	assert.Equal(t, codes.ResourceExhausted, status.Code(err))
	assert.Equal(t, "too many runs in flight: the limit is 1", status.Convert(err).Message())
	got := do(t, "POST", fx.url+"/v1/flows/gated/runs", `{}`)
	assert.Equal(t, http.StatusTooManyRequests, got.status, "HTTP counts the gRPC run")
	close(fx.release)
	require.NoError(t, <-held)
}

// TestGRPCTimeout: the request's deadline is DEADLINE_EXCEEDED, naming the
// node that was running, as HTTP's 504 does.
func TestGRPCTimeout(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{RequestTimeout: 50 * time.Millisecond}, engine.Options{})
	fx.deploy(t, "v1", sleepyFlow)
	c, ctx := fx.grpcFlows(t)
	_, err := c.Run(ctx, &flowpb.RunRequest{Flow: "sleepy"})
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
	assert.Equal(t, `run timed out after 50ms while node "nap" (tool builtin.sleep) was running`, status.Convert(err).Message())
}

// TestGRPCTooLarge: a message larger than MaxBodyBytes is refused before
// it is decoded.
func TestGRPCTooLarge(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{MaxBodyBytes: 1024}, engine.Options{})
	fx.deploy(t, "v1", helloFlow)
	c, ctx := fx.grpcFlows(t)
	req := &flowpb.RunRequest{Flow: "hello", Inputs: &flowpb.RunRequest_InputsJson{InputsJson: `{"name": "` + strings.Repeat("a", 1024) + `"}`}}
	_, err := c.Run(ctx, req)
	assert.Equal(t, codes.ResourceExhausted, status.Code(err))
	assert.Equal(t, "grpc: received message larger than max ("+strconv.Itoa(proto.Size(req))+" vs. 1024)", status.Convert(err).Message())
	_, err = c.Run(ctx, &flowpb.RunRequest{Flow: "hello", Inputs: &flowpb.RunRequest_InputsJson{InputsJson: `{"name": "` + strings.Repeat("a", 900) + `"}`}})
	assert.NoError(t, err, "a message within the limit runs")
}

// TestGRPCRunStream streams the model's chunks as they come, the nodes as
// they end, then the result.
func TestGRPCRunStream(t *testing.T) {
	t.Parallel()
	fx := askFixture(t, mockllm.Options{Text: "A B"}, `answer: "${chat.output.text}"`)
	c, ctx := fx.grpcFlows(t)
	stream, err := c.RunStream(ctx, &flowpb.RunRequest{Flow: "ask", Inputs: structOf(t, map[string]any{"question": "q"})})
	require.NoError(t, err)
	var got []string
	var nodes []string
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		switch e := ev.Event.(type) {
		case *flowpb.RunEvent_Node:
			nodes = append(nodes, e.Node.Node+" "+e.Node.Status)
			if e.Node.Node == "count" {
				continue // the other node, in parallel
			}
			got = append(got, "node "+e.Node.Node+" "+e.Node.Tool)
		case *flowpb.RunEvent_Chunk:
			got = append(got, "chunk "+e.Chunk.Output+" "+e.Chunk.Text)
		case *flowpb.RunEvent_Result:
			got = append(got, "result "+e.Result.OutputsJson)
			assert.Len(t, e.Result.Nodes, 2)
		}
	}
	assert.Equal(t, []string{
		"chunk answer A ",
		"chunk answer B",
		"node chat openai.llm",
		`result {"answer":"A B"}`,
	}, got)
	assert.ElementsMatch(t, []string{"chat succeeded", "count succeeded"}, nodes)
}

// TestGRPCDescribe lists the flows, their versions and split, and types.
func TestGRPCDescribe(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", helloFlow)
	fx.deploy(t, "v2", helloFlow)
	fx.deploy(t, "v1", typedFlow)
	c, ctx := fx.grpcFlows(t)
	resp, err := c.Describe(ctx, &flowpb.DescribeRequest{Flow: "hello"})
	require.NoError(t, err)
	require.Len(t, resp.Flows, 1)
	f := resp.Flows[0]
	assert.Equal(t, "hello", f.Name)
	assert.Equal(t, "Greets someone.", f.Description)
	require.Len(t, f.Versions, 2)
	assert.Equal(t, []any{"v1", int32(0), "v2", int32(100)}, []any{f.Versions[0].Name, f.Versions[0].Weight, f.Versions[1].Name, f.Versions[1].Weight})
	require.Len(t, f.Inputs, 1)
	assert.Equal(t, []any{"name", []string{"string"}, true}, []any{f.Inputs[0].Name, f.Inputs[0].Types, f.Inputs[0].Required})
	require.Len(t, f.Outputs, 1)
	assert.Equal(t, "message", f.Outputs[0].Name)
	assert.JSONEq(t, string(fxFlow(t, fx, helloFlow).InputSchema()), f.InputSchema)
	assert.Contains(t, f.OutputSchema, `"message"`)

	resp, err = c.Describe(ctx, &flowpb.DescribeRequest{})
	require.NoError(t, err)
	require.Len(t, resp.Flows, 2)
	assert.Equal(t, []string{"hello", "typed"}, []string{resp.Flows[0].Name, resp.Flows[1].Name})

	_, err = c.Describe(ctx, &flowpb.DescribeRequest{Flow: "nope"})
	assert.Equal(t, codes.NotFound, status.Code(err))
	assert.Equal(t, `flow "nope" is not deployed (deployed: hello, typed)`, status.Convert(err).Message())
}

func fxFlow(t *testing.T, fx *fixture, src string) *engine.Flow {
	t.Helper()
	f, err := fx.e.Parse(context.Background(), "flow.cue", []byte(src))
	require.NoError(t, err)
	return f
}

// TestGRPCHealth: SERVING once a flow is deployed, NOT_SERVING when the
// server drains, as /readyz.
func TestGRPCHealth(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	conn := fx.grpcServe(t)
	h := healthpb.NewHealthClient(conn)
	ctx := context.Background()
	check := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		resp, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		require.NoError(t, err)
		return resp.Status
	}
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, check(""), "no flow deployed")
	fx.deploy(t, "v1", helloFlow)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, check(""))
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, check("weir.flow.v1.Flows"))
	_, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"})
	assert.Equal(t, codes.NotFound, status.Code(err))

	require.NoError(t, fx.s.Close())
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, check(""), "draining")
	assert.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, check("weir.flow.v1.Flows"))
}

// TestGRPCTraceparent: the call's span continues the caller's trace from
// its metadata, and the engine's run span is its child.
func TestGRPCTraceparent(t *testing.T) {
	t.Parallel()
	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		parent  = "00f067aa0ba902b7"
	)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	fx := newFixture(t, endpoint.Options{TracerProvider: tp}, engine.Options{TracerProvider: tp})
	fx.deploy(t, "v1", helloFlow)
	c, ctx := fx.grpcFlows(t)
	ctx = metadata.AppendToOutgoingContext(ctx, "traceparent", "00-"+traceID+"-"+parent+"-01")
	var header metadata.MD
	_, err := c.Run(ctx, &flowpb.RunRequest{Flow: "hello", Inputs: structOf(t, map[string]any{"name": "Ada"})}, grpc.Header(&header))
	require.NoError(t, err)

	// The interceptor ends the call's span before the answer is sent.
	var server, run tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		switch s.Name {
		case "weir.flow.v1.Flows/Run":
			server = s
		case "run hello":
			run = s
		}
	}
	require.True(t, server.SpanContext.IsValid())
	require.True(t, run.SpanContext.IsValid())
	assert.Equal(t, traceID, server.SpanContext.TraceID().String())
	assert.Equal(t, parent, server.Parent.SpanID().String())
	assert.True(t, server.Parent.IsRemote())
	assert.Equal(t, trace.SpanKindServer, server.SpanKind)
	assert.Equal(t, map[string]any{
		"rpc.system":           "grpc",
		"rpc.service":          "weir.flow.v1.Flows",
		"rpc.method":           "Run",
		"rpc.grpc.status_code": int64(0),
		"weir.flow.name":       "hello",
		"weir.flow.version":    "v1",
	}, attrs(server.Attributes))
	assert.Equal(t, server.SpanContext.SpanID(), run.Parent.SpanID(), "the run span is the call's span's child")
	assert.Equal(t, []string{"00-" + traceID + "-" + server.SpanContext.SpanID().String() + "-01"}, header.Get("traceresponse"))
}

// TestGRPCMetrics: gRPC runs are counted with protocol="grpc", and the
// calls by method and code.
func TestGRPCMetrics(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	fx.deploy(t, "v1", helloFlow)
	c, ctx := fx.grpcFlows(t)
	_, err := c.Run(ctx, &flowpb.RunRequest{Flow: "hello", Inputs: structOf(t, map[string]any{"name": "Ada"})})
	require.NoError(t, err)
	_, err = c.Run(ctx, &flowpb.RunRequest{Flow: "nope"})
	require.Error(t, err)
	require.Equal(t, http.StatusOK, do(t, "POST", fx.url+"/score", `{"name": "Bo"}`).status)
	metrics := do(t, "GET", fx.url+"/metrics", "").body
	assert.Contains(t, metrics, `weir_runs_total{flow="hello",protocol="grpc",status="succeeded",version="v1"} 1`+"\n")
	assert.Contains(t, metrics, `weir_runs_total{flow="hello",protocol="http",status="succeeded",version="v1"} 1`+"\n")
	assert.Contains(t, metrics, `weir_run_duration_seconds_count{flow="hello",protocol="grpc",status="succeeded",version="v1"} 1`+"\n")
	assert.Contains(t, metrics, `weir_grpc_request_duration_seconds_count{code="OK",method="/weir.flow.v1.Flows/Run"} 1`+"\n")
	assert.Contains(t, metrics, `weir_grpc_request_duration_seconds_count{code="NotFound",method="/weir.flow.v1.Flows/Run"} 1`+"\n")
}

// TestGRPCSilentConnection: a connection that never starts its HTTP/2
// preface is closed by the server, well before gRPC's own two minutes.
func TestGRPCSilentConnection(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, endpoint.Options{}, engine.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := fx.s.NewGRPCServer()
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute)))
	_, err = io.ReadAll(c)
	require.NoError(t, err, "the server closes the connection (EOF), rather than the read's deadline of a minute passing")
}
