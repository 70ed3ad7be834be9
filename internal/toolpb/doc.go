// Package toolpb is the Go code generated from proto/weir/tool/v1/tools.proto
// (`make proto`): the gRPC protocol between weir and a go-plugin tool
// executable. Plugin authors in Go use goplugin.Serve; authors in other
// languages generate their own code from the .proto, which is public.
package toolpb
