package goplugin

import (
	"context"
	"crypto/sha256"
	"errors"
	"hash"

	"github.com/hashicorp/go-plugin"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/goplugin/toolpb"
)

// ABI names the contract a go-plugin executable speaks: the gRPC service
// weir.tool.v1.Tools, version 1 of go-plugin's handshake.
const ABI = "weir-tool-v1"

// MaxMessageSize bounds a gRPC message either way, inputs or outputs, unless
// Options.MaxMessageSize says otherwise: 16 MiB.
const MaxMessageSize = 16 << 20

// Handshake is the go-plugin handshake between weir and a plugin. The magic
// cookie only stops a user from running a plugin by hand by mistake; it is
// not a security measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "WEIR_PLUGIN",
	MagicCookieValue: "weir.tool.v1.Tools",
}

// pluginName is the one go-plugin plugin an executable serves.
const pluginName = "tools"

// propagator carries trace context across the gRPC boundary whatever the
// global propagator of the host or the plugin is.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// toolsPlugin is the go-plugin plugin on both sides: server holds the tools
// on the plugin's side; the host's side uses only GRPCClient.
type toolsPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	server toolpb.ToolsServer
}

func (p *toolsPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.server == nil {
		return errors.New("goplugin: no tools to serve")
	}
	toolpb.RegisterToolsServer(s, p.server)
	return nil
}

func (p *toolsPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return toolpb.NewToolsClient(c), nil
}

var _ plugin.GRPCPlugin = (*toolsPlugin)(nil)

// Kinds between plugins.Kind and the wire; an unknown wire kind is internal.

func kindToWire(k plugins.Kind) toolpb.Kind {
	switch k {
	case plugins.Retryable:
		return toolpb.Kind_KIND_RETRYABLE
	case plugins.Timeout:
		return toolpb.Kind_KIND_TIMEOUT
	case plugins.Limit:
		return toolpb.Kind_KIND_LIMIT
	case plugins.InvalidInput:
		return toolpb.Kind_KIND_INVALID_INPUT
	}
	return toolpb.Kind_KIND_INTERNAL
}

func kindFromWire(k toolpb.Kind) plugins.Kind {
	switch k {
	case toolpb.Kind_KIND_RETRYABLE:
		return plugins.Retryable
	case toolpb.Kind_KIND_TIMEOUT:
		return plugins.Timeout
	case toolpb.Kind_KIND_LIMIT:
		return plugins.Limit
	case toolpb.Kind_KIND_INVALID_INPUT:
		return plugins.InvalidInput
	}
	return plugins.Internal
}

// envMaxMessage tells the plugin the host's message size limit.
const envMaxMessage = "WEIR_PLUGIN_MAX_MESSAGE_SIZE"

func newSHA256() hash.Hash { return sha256.New() }
