// Package endpoint is weir's runtime server: the engine behind an HTTP API,
// as weir serve runs it, and the client of its admin API that the endpoint
// host deploys bundles with. The runs may go elsewhere (Options.Runner: a
// work pool's workers, as weir serve --pool sends them) while reading
// requests, routing, limits and answers stay here.
//
// Routes (every body is JSON; every error is {"error": {"code", "message"}},
// but on /score and under /v2):
//
//	POST   /v1/flows/{flow}/runs        {"inputs": {...}} -> run_id, flow, version, status, outputs, nodes
//	                                    (Accept: text/event-stream streams "node" events, "chunk"
//	                                    events of the streamed output, then "result")
//	POST   /score                       the default flow on a flat inputs object -> the outputs object
//	                                    (Accept: text/event-stream streams the streamed output)
//	GET    /healthz                     200 while the process serves
//	GET    /readyz                      200 when a flow is deployed and the server is not draining
//	GET    /metrics                     Prometheus text
//	GET    /openapi.json                OpenAPI 3.0, from the deployed flows' input and output types
//	GET    /health, /version            prompt flow's probes: {"status": "Healthy", "version"}
//	GET    /swagger.json                the default flow's document, as prompt flow's server lays it out
//	POST   /feedback                    any body, recorded on a span of its own, never logged
//	POST   /v1/admin/deployments?version=V   a bundle (application/octet-stream) -> 201 Deployment
//	GET    /v1/admin/deployments        every version of every flow, with its weight
//	PUT    /v1/admin/flows/{flow}/split {"blue": 90, "green": 10}
//	DELETE /v1/admin/flows/{flow}/versions/{version}
//	GET    /v2/health/live, /v2/health/ready, /v2      the Open Inference Protocol's probes and server metadata
//	GET    /v2/models/{model}[/versions/{version}]    a flow as a model: its tensors' metadata
//	GET    /v2/models/{model}[/versions/{version}]/ready
//	POST   /v2/models/{model}[/versions/{version}]/infer   input tensors -> output tensors
//
// Status codes of a run: 400 invalid_json or invalid_input (the message has
// the input's path, as the engine words it), 404 not_found, 408
// request_timeout (the body did not arrive whole within BodyTimeout; the
// connection is closed), 413 too_large, 429 too_many_requests (with
// Retry-After: 1; a request takes its slot before its body is read, and
// past the limit its body is never read), 502 node_failed (a tool
// failed, a node's own timeout included: the server works, what it fronts
// did not, as for a gateway; the message names the node, its tool and
// plugin), 504 timeout (the request's or the flow's run deadline passed: the
// message names the nodes that were running), 503 unavailable (with
// Retry-After: 1; under Options.Runner, nothing can run the flow now, as a
// work pool with no worker), 500 run_failed for anything else. Every answer is encoded into a buffer before it is sent: one that
// does not encode (outputs that are not JSON in UTF-8) is a 500 internal
// error body, or an "error" event once a stream has begun; so is a
// handler's panic, which is logged with its stack. A client that goes away
// cancels its run; the metrics count it as 499. Run answers carry the
// headers Weir-Version and, but for streams, Weir-Run-Id. When the server
// traces (Options.TracerProvider), the answers of runs and of the admin
// API carry traceresponse (W3C Trace Context Level 2:
// 00-TRACEID-SPANID-FLAGS), naming the request's trace and the server's
// span, error answers included; a W3C traceparent in the request makes
// that trace the caller's.
//
// Under /v2 the server speaks the Open Inference Protocol v2 (oip.go): a
// flow is a model, its tensors mapped from its types by package tensor,
// one run per row of a request's batch. Inference goes through the run
// path of the other run routes, with their statuses, but its errors are
// the protocol's {"error": "message"}. A batch runs its rows on its own
// slot of MaxConcurrent and on those free when it starts, at most
// maxBatchWorkers; its first failing row answers for it.
//
// /score answers prompt flow's clients as prompt flow's server does
// (promptflow.go): its errors are {"error": {"code": "UserError" or
// "SystemError", "message", "innerError": {"code": weir's code}}}, and a
// node's failure there is a 400 when its tool reported it (an exception,
// a model's refusal) and a 500 when the host could not carry the call out
// (a sandbox or time limit, a plugin process that exited or never
// started); a body that is not JSON is the text of a flow's one input,
// and a flow without inputs ignores its body. Both run routes take
// X-Request-Id, else X-Ms-Client-Request-Id, as the run's id, and answer
// it in X-Request-Id.
//
// A flow's output streams when it is exactly the text of a builtin.llm
// node that nothing else uses (engine.Flow.StreamOutput). /score
// negotiates as prompt flow's server does: Accept: text/event-stream gets
// text/event-stream; charset=utf-8, one event with the other outputs
// first if the flow has any (sent as soon as the nodes they use have
// ended; chunks made before then wait for it), then data: {"<output>": "<chunk>"} per chunk as the model
// writes it; a client that accepts only event streams gets 406
// not_acceptable from a flow that cannot stream, as does one that accepts
// neither JSON nor event streams (*/* and application/* are JSON). A
// stream that fails after its first event ends with an "error" event.
// /metrics counts the models' tokens in weir_tokens_total by plugin and
// type (input, output).
//
// Server.NewGRPCServer serves the same runs over gRPC (grpc.go): weir's own
// API, weir.flow.v1.Flows (Run, RunStream, Describe; internal/flowpb, from
// proto/weir/flow/v1), with gRPC health, which follows Ready, and server
// reflection. HTTP's run routes and the gRPC services go through one core
// (core.go): routing and the traffic split, MaxConcurrent, RequestTimeout,
// traceparent, and the run metrics, labelled by protocol. gRPC's codes map
// from the HTTP statuses above: 400 INVALID_ARGUMENT, 404 NOT_FOUND, 429
// and 413 RESOURCE_EXHAUSTED, 502 UNKNOWN, 503 UNAVAILABLE, 504
// DEADLINE_EXCEEDED, 500 INTERNAL, with weir's message.
//
// Versions of a flow are immutable. Each request picks one at random by the
// flow's traffic split: the routing table is copied on every change and
// swapped atomically, so a change never blocks or fails a request, and runs
// finish on the version they started on. With no split set, the newest
// version takes all the traffic, and deleting it hands the traffic back to
// the one before. Once a split is set, a new version takes none until a
// split names it, and a version with a weight cannot be deleted unless it
// is the flow's last: set a split without it first (409 otherwise).
//
// The admin API needs Authorization: Bearer with Options.AdminToken
// (compared in constant time). Without a token (Options.InsecureAdmin, for
// loopback servers) it answers only requests whose Host is localhost or a
// loopback IP, and every upload must say application/octet-stream, so that
// a web page in a local browser cannot reach it. An upload's bundle is
// extracted and loaded (plugins described, contracts checked) outside the
// lock that changes of the routing table take, so a bundle whose plugin is
// slow or hostile at load holds up no other admin call, request or
// shutdown; its load is canceled when its client goes away or Close is
// called, and /metrics counts the loads in progress (weir_bundles_loading).
//
// Beside HTTP, Hydrosphere (hydro.go) serves Hydrosphere's model runtime
// API on a gRPC server: Predict runs the default flow, as /score does, on
// tensors mapped to and from the flow's typed inputs and outputs
// (hydrotensor.go), as weir serve does on APP_PORT.
package endpoint
