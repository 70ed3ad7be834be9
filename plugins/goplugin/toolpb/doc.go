// Package toolpb is the Go code generated from proto/weir/tool/v1/tools.proto
// (`make proto`): the gRPC protocol between weir and a go-plugin tool
// executable. Plugin authors use goplugin.Serve instead; the package is
// public for tools that speak the protocol directly, such as benchmarks.
package toolpb
