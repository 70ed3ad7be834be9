package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/internal/flowpb"
)

// grpcHandshakeTimeout bounds how long a new connection may take to
// finish its TLS handshake and send HTTP/2's preface, as weir serve's
// HTTP header timeout bounds a request's: gRPC's own default holds a
// silent connection for two minutes.
const grpcHandshakeTimeout = 10 * time.Second

// NewGRPCServer returns a grpc.Server that serves weir's gRPC API
// (weir.flow.v1.Flows), gRPC health checking (grpc.health.v1.Health:
// SERVING while Ready, for the whole server and for each service by its
// name) and server reflection, with the server's limits: a message larger
// than MaxBodyBytes is refused (RESOURCE_EXHAUSTED), and runs count
// against MaxConcurrent and RequestTimeout as HTTP's do. Its calls are
// traced as HTTP's runs are, a traceparent in the call's metadata
// honoured, and measured in weir_grpc_request_duration_seconds. opts come
// after the server's own: TLS credentials go there.
//
// Serve it on a listener of its own. To stop, call Close, which turns
// health to NOT_SERVING and waits for the runs in flight, beside the
// grpc.Server's GracefulStop. NewGRPCServer is safe to call more than
// once; each server shares the Server's routing table and limits.
func (s *Server) NewGRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	gs := grpc.NewServer(append([]grpc.ServerOption{
		grpc.ConnectionTimeout(grpcHandshakeTimeout),
		grpc.MaxRecvMsgSize(int(s.opts.MaxBodyBytes)),
		grpc.ChainUnaryInterceptor(s.interceptUnary),
		grpc.ChainStreamInterceptor(s.interceptStream),
	}, opts...)...)
	s.registerGRPC(gs)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	services := []string{""} // the whole server
	for name := range gs.GetServiceInfo() {
		services = append(services, name)
	}
	s.health.mu.Lock()
	s.health.servers = append(s.health.servers, healthServer{hs, services})
	s.health.mu.Unlock()
	s.syncHealth()
	return gs
}

// registerGRPC registers the gRPC services of the server core on gs:
// weir.flow.v1.Flows, the Open Inference Protocol's
// inference.GRPCInferenceService and Hydrosphere's PredictionService. It is the hook for the other protocols over gRPC:
// each registers its service here, as a type whose methods turn their
// request into a call, run it through s.invoke (routing, traffic split,
// MaxConcurrent, RequestTimeout, metrics under protocolGRPC), and map its
// error with s.grpcStatus. NewGRPCServer adds health, reflection and the
// interceptors (tracing from the metadata's traceparent, the
// weir_grpc_request_duration_seconds histogram, panics as INTERNAL)
// around every service registered here.
func (s *Server) registerGRPC(gs *grpc.Server) {
	flowpb.RegisterFlowsServer(gs, flowsService{s: s})
	s.oipService().Register(gs)
	NewHydrosphere(s).Register(gs)
}

// grpcHealth holds the health servers of the server's grpc.Servers.
type grpcHealth struct {
	mu      sync.Mutex
	servers []healthServer
}

type healthServer struct {
	hs       *health.Server
	services []string
}

// syncHealth sets the health of every grpc.Server to Ready's. The lock
// spans Ready too, so that two calls cannot set their answers out of order.
func (s *Server) syncHealth() {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if s.Ready() {
		st = healthpb.HealthCheckResponse_SERVING
	}
	for _, h := range s.health.servers {
		for _, name := range h.services {
			h.hs.SetServingStatus(name, st)
		}
	}
}

// storeTable makes t the routing table, and gRPC health follow.
func (s *Server) storeTable(t *table) {
	s.table.Store(t)
	s.syncHealth()
}

// grpcStatus maps an error of invoke to a gRPC status with weir's message:
// the HTTP mapping's meaning (see failure), in gRPC's codes. A call whose
// client went away, or whose own deadline passed, gets its context's code.
func (s *Server) grpcStatus(ctx context.Context, v *version, res *engine.Result, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && res != nil:
		// The client's deadline, which gRPC carries: name what was running.
		return status.Error(codes.DeadlineExceeded, timeoutMessage(res, err))
	case ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	}
	httpStatus, _, msg := s.failure(v, res, err)
	return status.Error(grpcCode(httpStatus), msg)
}

// grpcCode is the gRPC code of an HTTP status of a run.
func grpcCode(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusTooManyRequests, http.StatusRequestEntityTooLarge:
		return codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case http.StatusBadGateway:
		// A node failed: the server works, a tool it called did not. Not
		// UNAVAILABLE, which clients may retry by themselves, nor
		// FAILED_PRECONDITION, which blames the caller's state: UNKNOWN is
		// an error from another address space, as the tool's is.
		return codes.Unknown
	}
	return codes.Internal
}

// flowsService serves weir.flow.v1.Flows.
type flowsService struct {
	flowpb.UnimplementedFlowsServer
	s *Server
}

func (f flowsService) Run(ctx context.Context, req *flowpb.RunRequest) (*flowpb.RunResponse, error) {
	c, err := runCall(req)
	if err != nil {
		return nil, err
	}
	v, res, err := f.s.invoke(ctx, c)
	if err != nil {
		return nil, f.s.grpcStatus(ctx, v, res, err)
	}
	return f.s.runResponse(v, res)
}

func (f flowsService) RunStream(req *flowpb.RunRequest, stream grpc.ServerStreamingServer[flowpb.RunEvent]) error {
	c, err := runCall(req)
	if err != nil {
		return err
	}
	q := newSendQueue(stream)
	c.Options.OnNode = func(n engine.NodeResult) {
		q.push(&flowpb.RunEvent{Event: &flowpb.RunEvent_Node{Node: nodeResult(n)}})
	}
	// The engine calls it only for a flow that streams an output.
	c.Options.Stream = func(output, chunk string) {
		q.push(&flowpb.RunEvent{Event: &flowpb.RunEvent_Chunk{Chunk: &flowpb.Chunk{Output: output, Text: chunk}}})
	}
	ctx := stream.Context()
	v, res, err := f.s.invoke(ctx, c)
	if qerr := q.close(); qerr != nil {
		return qerr // the client is gone
	}
	if err != nil {
		return f.s.grpcStatus(ctx, v, res, err)
	}
	resp, err := f.s.runResponse(v, res)
	if err != nil {
		return err
	}
	return stream.Send(&flowpb.RunEvent{Event: &flowpb.RunEvent_Result{Result: resp}})
}

func (f flowsService) Describe(_ context.Context, req *flowpb.DescribeRequest) (*flowpb.DescribeResponse, error) {
	t := f.s.table.Load()
	resp := &flowpb.DescribeResponse{}
	for _, name := range t.order {
		if req.GetFlow() != "" && req.GetFlow() != name {
			continue
		}
		resp.Flows = append(resp.Flows, describeFlow(t.flows[name]))
	}
	if req.GetFlow() != "" && len(resp.Flows) == 0 {
		return nil, status.Error(codes.NotFound, flowNotFound(t, req.GetFlow()))
	}
	return resp, nil
}

// describeFlow describes rt, with its newest version's types.
func describeFlow(rt *route) *flowpb.Flow {
	f := rt.versions[len(rt.versions)-1].flow
	out := &flowpb.Flow{
		Name:         rt.name,
		Description:  f.Description(),
		InputSchema:  string(f.InputSchema()),
		OutputSchema: string(f.OutputSchema()),
		StreamOutput: f.StreamOutput(),
	}
	for _, v := range rt.versions {
		out.Versions = append(out.Versions, &flowpb.Version{Name: v.name, Weight: int32(rt.weight(v)), Digest: v.digest})
	}
	for _, in := range f.Inputs() {
		out.Inputs = append(out.Inputs, &flowpb.Field{Name: in.Name, Types: in.Types, Required: in.Required})
	}
	for _, o := range f.Outputs() {
		out.Outputs = append(out.Outputs, &flowpb.Field{Name: o.Name, Types: o.Types})
	}
	return out
}

// runCall reads a run request. An empty flow is the default flow, which
// /score runs.
func runCall(req *flowpb.RunRequest) (call, error) {
	c := call{Protocol: protocolGRPC, Flow: req.GetFlow(), Version: req.GetVersion(), Inputs: []byte("{}")}
	if id := req.GetRunId(); id != "" {
		if !validRunID(id) {
			return call{}, status.Error(codes.InvalidArgument, "run_id: "+runIDRule)
		}
		c.Options.RunID = id
	}
	switch in := req.GetInputs().(type) {
	case *flowpb.RunRequest_InputsStruct:
		b, err := protojson.Marshal(in.InputsStruct)
		if err != nil {
			return call{}, status.Error(codes.InvalidArgument, "encode inputs: "+err.Error())
		}
		c.Inputs = b
	case *flowpb.RunRequest_InputsJson:
		b := []byte(in.InputsJson)
		if !json.Valid(b) {
			return call{}, status.Error(codes.InvalidArgument, "decode inputs_json: "+strings.TrimPrefix(syntaxError(b), "decode body: "))
		}
		c.Inputs = b
	}
	return c, nil
}

// runResponse is the answer of a run of v that succeeded.
func (s *Server) runResponse(v *version, res *engine.Result) (*flowpb.RunResponse, error) {
	// Checked as HTTP checks it: a client must never read outputs that are
	// not JSON.
	var outputs structpb.Struct
	err := checkJSON(res.Outputs)
	if err == nil {
		err = protojson.Unmarshal(res.Outputs, &outputs)
	}
	if err != nil {
		msg := encodeFailure(err)
		s.log.Error("answer did not encode", "flow", res.Flow, "version", v.name, "run_id", res.RunID, "error", msg)
		return nil, status.Error(codes.Internal, msg)
	}
	resp := &flowpb.RunResponse{
		RunId:       res.RunID,
		Flow:        res.Flow,
		Version:     v.name,
		Status:      string(res.Status),
		Outputs:     &outputs,
		OutputsJson: string(res.Outputs),
		Nodes:       make([]*flowpb.NodeResult, len(res.Nodes)),
	}
	for i, n := range res.Nodes {
		resp.Nodes[i] = nodeResult(n)
	}
	return resp, nil
}

func nodeResult(n engine.NodeResult) *flowpb.NodeResult {
	return &flowpb.NodeResult{
		Node:     n.Node,
		Tool:     n.Tool,
		Plugin:   n.Plugin,
		Kind:     n.Kind,
		Status:   string(n.Status),
		Attempts: int32(n.Attempts),
		Duration: durationpb.New(n.Duration),
		Error:    n.Error,
		Cached:   n.Cached,
	}
}

// sendQueue sends a stream's events from a goroutine of its own, so that
// a slow client never holds up the run's scheduler nor its model; they
// wait in a queue, which is bounded by what the run produces.
type sendQueue struct {
	mu     sync.Mutex
	queue  []*flowpb.RunEvent
	closed bool
	wake   chan struct{}
	done   chan struct{}
	err    error // the first failed send's; read after done
}

func newSendQueue(stream grpc.ServerStreamingServer[flowpb.RunEvent]) *sendQueue {
	q := &sendQueue{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.loop(stream)
	return q
}

// push queues an event; it never blocks.
func (q *sendQueue) push(e *flowpb.RunEvent) {
	q.mu.Lock()
	q.queue = append(q.queue, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// close sends what is queued, stops the goroutine and returns the error
// of a send that failed: then the client is gone.
func (q *sendQueue) close() error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	<-q.done
	return q.err
}

func (q *sendQueue) loop(stream grpc.ServerStreamingServer[flowpb.RunEvent]) {
	defer close(q.done)
	for range q.wake {
		q.mu.Lock()
		batch, closed := q.queue, q.closed
		q.queue = nil
		q.mu.Unlock()
		for _, e := range batch {
			if q.err == nil {
				q.err = stream.Send(e)
			}
		}
		if closed {
			return
		}
	}
}

// mdCarrier reads a traceparent from gRPC metadata.
type mdCarrier metadata.MD

func (c mdCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c mdCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c mdCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// startCall starts what every gRPC call gets: a server span for weir's
// calls (not health's nor reflection's), a child of the traceparent in
// the metadata, and its latency in the metrics. end ends them with the
// call's error, and the returned context carries the span.
func (s *Server) startCall(ctx context.Context, method string, setHeader func(metadata.MD) error) (context.Context, func(error)) {
	start := time.Now()
	var span trace.Span
	if !strings.HasPrefix(method, "/grpc.") {
		if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("traceparent")) > 0 {
			ctx = traceContext.Extract(ctx, mdCarrier(md))
		}
		if s.tracer != nil {
			service, name, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
			ctx, span = s.tracer.Start(ctx, strings.TrimPrefix(method, "/"), trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
				attribute.String("rpc.system", "grpc"),
				attribute.String("rpc.service", service),
				attribute.String("rpc.method", name),
			))
			// As HTTP's traceresponse header: the client learns the trace
			// its call made.
			sc := span.SpanContext()
			_ = setHeader(metadata.Pairs("traceresponse", "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-"+sc.TraceFlags().String()))
		}
	}
	return ctx, func(err error) {
		code := status.Code(err)
		s.metrics.grpc.WithLabelValues(method, code.String()).Observe(time.Since(start).Seconds())
		if span != nil {
			span.SetAttributes(attribute.Int("rpc.grpc.status_code", int(code)))
			if serverFault(code) {
				span.SetStatus(otelcodes.Error, code.String())
			}
			span.End()
		}
	}
}

// serverFault reports whether a gRPC code is the server's fault, as
// OpenTelemetry's conventions for gRPC servers say.
func serverFault(c codes.Code) bool {
	switch c {
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented, codes.Internal, codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}

// recoverCall, deferred, turns a panic in a call into INTERNAL, logged with
// its stack, as recoverPanic does for HTTP: else it would end the process.
func (s *Server) recoverCall(method string, err *error) {
	if p := recover(); p != nil {
		s.log.Error("handler panicked", "route", method, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		*err = status.Error(codes.Internal, "internal error: the server failed on this request, and logged why")
	}
}

func (s *Server) interceptUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	ctx, end := s.startCall(ctx, info.FullMethod, func(md metadata.MD) error { return grpc.SetHeader(ctx, md) })
	defer func() { end(err) }()
	defer s.recoverCall(info.FullMethod, &err)
	return handler(ctx, req)
}

func (s *Server) interceptStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	ctx, end := s.startCall(ss.Context(), info.FullMethod, ss.SetHeader)
	defer func() { end(err) }()
	defer s.recoverCall(info.FullMethod, &err)
	return handler(srv, contextStream{ss, ctx})
}

// contextStream is a ServerStream with the context of its call's span.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c contextStream) Context() context.Context { return c.ctx }

var _ propagation.TextMapCarrier = mdCarrier{}
