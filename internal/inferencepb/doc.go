// Package inferencepb is the Go code generated from
// proto/inference/v1/grpc_predict_v2.proto (`make proto`): the gRPC form of
// the Open Inference Protocol v2, package inference, as KServe, Triton and
// Seldon MLServer serve it.
package inferencepb
