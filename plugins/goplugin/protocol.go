package goplugin

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"

	"github.com/weirflow/weir/internal/toolpb"
	"github.com/weirflow/weir/plugins"
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

// wireKinds maps plugins.Kind to the wire; Internal is the wire's zero, and
// an unknown wire kind reads as Internal.
var wireKinds = map[plugins.Kind]toolpb.Kind{
	plugins.Retryable:    toolpb.Kind_KIND_RETRYABLE,
	plugins.Timeout:      toolpb.Kind_KIND_TIMEOUT,
	plugins.Limit:        toolpb.Kind_KIND_LIMIT,
	plugins.InvalidInput: toolpb.Kind_KIND_INVALID_INPUT,
}

func kindToWire(k plugins.Kind) toolpb.Kind { return wireKinds[k] }

func kindFromWire(w toolpb.Kind) plugins.Kind {
	for k, v := range wireKinds {
		if v == w {
			return k
		}
	}
	return plugins.Internal
}

// envMaxMessage tells the plugin the host's message size limit.
const envMaxMessage = "WEIR_PLUGIN_MAX_MESSAGE_SIZE"
