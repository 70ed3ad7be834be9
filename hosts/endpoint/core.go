package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/engine"
)

// The protocols a run arrives by: the protocol label of the run metrics.
const (
	protocolHTTP        = "http"        // weir's HTTP routes and /score
	protocolGRPC        = "grpc"        // weir.flow.v1.Flows
	protocolOIPREST     = "oip_rest"    // the Open Inference Protocol over HTTP
	protocolOIPGRPC     = "oip_grpc"    // the Open Inference Protocol over gRPC
	protocolHydrosphere = "hydrosphere" // Hydrosphere's runtime Predict
)

// call is one run request, whatever protocol brought it: what invoke
// needs to route, limit and run it.
type call struct {
	// Protocol is the run metrics' protocol label: one of the
	// protocol constants.
	Protocol string
	// Flow names the deployed flow, "" the default flow (which /score
	// runs); Version one of its versions, or "" for one picked by the
	// flow's traffic split.
	Flow, Version string
	// Inputs is the inputs object, still encoded: the engine checks it.
	Inputs []byte
	// Options are the run's: its id (random when empty), OnNode and
	// Stream for a streamed answer.
	Options engine.RunOptions
}

// invoke is the server core every protocol but HTTP's own routes calls (those
// take their slot before reading the body, then call execute): it routes c
// to a version, takes a slot of MaxConcurrent, runs it under
// RequestTimeout, records the metrics and returns the version that ran and
// the run's Result. Its errors are those of a run (see runError), and
// *httpError for those before a run starts: 404 not_found for an unknown
// flow or version, 429 too_many_requests past MaxConcurrent. A protocol
// maps them to its own codes through s.failure, as grpcStatus does. v and
// res are nil when no run started. ctx carries the caller's deadline and
// span: the run's spans are its children.
//
// Another protocol serves on the same grpc.Server by registering its
// service in NewGRPCServer, next to registerGRPC's, and calling invoke.
func (s *Server) invoke(ctx context.Context, c call) (*version, *engine.Result, error) {
	t := s.table.Load()
	if c.Flow == "" {
		if len(t.order) == 0 {
			return nil, nil, fail(http.StatusNotFound, codeNotFound, errors.New("no flow is deployed"))
		}
		c.Flow = t.order[0]
	}
	rt := t.flows[c.Flow]
	if rt == nil {
		return nil, nil, fail(http.StatusNotFound, codeNotFound, errors.New(flowNotFound(t, c.Flow)))
	}
	v, err := pickVersion(rt, c.Version)
	if err != nil {
		return nil, nil, err
	}
	if !s.startRun() {
		return nil, nil, fail(http.StatusTooManyRequests, codeTooMany, fmt.Errorf("too many runs in flight: the limit is %d", s.opts.MaxConcurrent))
	}
	defer s.endRun()
	tagSpan(ctx, v)
	res, err := s.execute(ctx, c.Protocol, v, c.Inputs, c.Options)
	return v, res, err
}

// pickVersion returns version name of rt, or one by its traffic split when
// name is empty.
func pickVersion(rt *route, name string) (*version, error) {
	if name == "" {
		return rt.pick(), nil
	}
	if v := rt.version(name); v != nil {
		return v, nil
	}
	return nil, fail(http.StatusNotFound, codeNotFound, fmt.Errorf("flow %q has no version %q (versions: %s)", rt.name, name, rt.versionList()))
}

// tagSpan names the flow and version a request runs on its server span,
// the one in ctx, if any.
func tagSpan(ctx context.Context, v *version) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attribute.String("weir.flow.name", v.flow.Name()), attribute.String("weir.flow.version", v.name))
	}
}

// execute runs version v on inputs under RequestTimeout and records the
// run in the metrics under protocol: the part of a run that every
// protocol shares. The caller holds a slot (startRun).
func (s *Server) execute(ctx context.Context, protocol string, v *version, inputs []byte, opts engine.RunOptions) (*engine.Result, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, s.opts.RequestTimeout, s.timeoutCause)
	defer cancel()
	res, err := s.runFlow(ctx, v.flow, inputs, opts)
	s.metrics.observe(protocol, v, res)
	return res, err
}

// failure maps an error of invoke, with the version and Result it
// returned, to an HTTP status, weir's code and the message: the one
// mapping every protocol translates to its own codes.
func (s *Server) failure(v *version, res *engine.Result, err error) (int, string, string) {
	if he, ok := err.(*httpError); ok {
		return he.status, he.code, he.err.Error()
	}
	return s.runError(v.flow.Name(), v, res, err)
}

// validRunID reports whether id may name a run: 1 to maxRequestID visible
// ASCII characters.
func validRunID(id string) bool {
	valid := id != "" && len(id) <= maxRequestID
	for i := 0; valid && i < len(id); i++ {
		valid = id[i] > ' ' && id[i] < 0x7f
	}
	return valid
}

// runIDRule says what validRunID wants, for error messages.
var runIDRule = "want 1 to " + strconv.Itoa(maxRequestID) + " visible ASCII characters"
