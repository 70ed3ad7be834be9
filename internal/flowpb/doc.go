// Package flowpb is the Go code generated from proto/weir/flow/v1/flows.proto
// (`make proto`): weir's own gRPC API, weir.flow.v1.Flows, which the runtime
// server (hosts/endpoint) serves. Clients in other languages generate their
// own code from the .proto, which is public.
package flowpb
