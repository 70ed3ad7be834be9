// Command rawserve is a plugin written without goplugin.Serve: go-plugin's
// own Serve and weir's protocol, no tools. Nothing of weir's runs in it,
// so only what weir does from outside stops it.
package main

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/weirflow/weir/internal/toolpb"
)

type tools struct {
	plugin.NetRPCUnsupportedPlugin
}

func (tools) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	toolpb.RegisterToolsServer(s, server{})
	return nil
}

func (tools) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil
}

type server struct {
	toolpb.UnimplementedToolsServer
}

func (server) Describe(context.Context, *toolpb.DescribeRequest) (*toolpb.DescribeResponse, error) {
	return &toolpb.DescribeResponse{Abi: "weir-tool-v1"}, nil
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "WEIR_PLUGIN", MagicCookieValue: "weir.tool.v1.Tools"},
		Plugins:         plugin.PluginSet{"tools": tools{}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
