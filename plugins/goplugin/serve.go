package goplugin

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"

	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/internal/toolpb"
)

// Serve serves tools to weir and does not return: it is the whole main
// function of a go-plugin executable. Make the tools with plugins.Func (a
// typed Go function, its contract from the Go types) or plugins.RawFunc
// (JSON in, JSON out).
//
// Calls run concurrently, so the tools must be safe for concurrent use. A
// call's context carries the node's deadline and its trace context: spans
// the tool starts under it (with the plugin's global TracerProvider) are
// children of the node's span. An error's plugins.Kind reaches weir; a
// panic in a tool is recovered and reported as an internal error, its
// stack written to standard error.
//
// The process exits when weir stops it or when its parent process dies,
// and takes with it the processes its tools started, unless they left its
// process group (setsid, setpgid): weir makes the plugin the leader of a
// group of its own.
// Run by hand, outside weir, Serve prints that it is a plugin and exits
// with status 1. Serve panics on two tools of one name: a programming
// error.
func Serve(tools ...plugins.Tool) {
	srv := newServer(tools)
	limit := MaxMessageSize
	if n, err := strconv.Atoi(os.Getenv(envMaxMessage)); err == nil && n > 0 {
		limit = n
	}
	if os.Getenv(Handshake.MagicCookieKey) == Handshake.MagicCookieValue {
		go exitWithParent(os.Getppid())
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{pluginName: &toolsPlugin{server: srv}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts,
				grpc.MaxRecvMsgSize(limit),
				grpc.MaxSendMsgSize(limit),
				grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithPropagators(propagator))),
			)...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Warn}),
	})
}

// exitWithParent ends the process and its group once its parent is gone,
// which a process sees as a new parent (init or a subreaper). go-plugin
// does not: a plugin whose host was killed would otherwise run forever. On
// Linux the kernel tells sooner (serve_linux.go); this covers the other
// systems, and a plugin that weir did not start as a group leader.
func exitWithParent(ppid int) {
	for range time.Tick(200 * time.Millisecond) {
		if os.Getppid() != ppid {
			leaveWithGroup("the host process is gone")
		}
	}
}

// server is the Tools service over a set of tools.
type server struct {
	toolpb.UnimplementedToolsServer
	describe *toolpb.DescribeResponse
	tools    map[string]plugins.Tool
}

func newServer(tools []plugins.Tool) *server {
	s := &server{describe: &toolpb.DescribeResponse{Abi: ABI}, tools: map[string]plugins.Tool{}}
	for _, t := range tools {
		c := t.Contract()
		if _, dup := s.tools[c.Name]; dup {
			panic(fmt.Sprintf("goplugin.Serve: two tools named %q", c.Name))
		}
		s.tools[c.Name] = t
		s.describe.Tools = append(s.describe.Tools, &toolpb.Contract{
			Name: c.Name, Description: c.Description, Inputs: c.Inputs, Outputs: c.Outputs,
		})
	}
	return s
}

func (s *server) Describe(context.Context, *toolpb.DescribeRequest) (*toolpb.DescribeResponse, error) {
	return s.describe, nil
}

// Invoke runs a tool. Tool failures travel in the response, not as gRPC
// status errors, so that weir can tell them from transport failures.
func (s *server) Invoke(ctx context.Context, req *toolpb.InvokeRequest) (*toolpb.InvokeResponse, error) {
	t, ok := s.tools[req.Tool]
	if !ok {
		return failure(plugins.Errorf(plugins.InvalidInput, "no tool %q in this plugin", req.Tool)), nil
	}
	if req.DeadlineUnixNano != 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Unix(0, req.DeadlineUnixNano))
		defer cancel()
	}
	out, err := invoke(ctx, t, req)
	if err != nil {
		return failure(err), nil
	}
	return &toolpb.InvokeResponse{Outputs: out}, nil
}

// invoke calls t, turning a panic into an internal error.
func invoke(ctx context.Context, t plugins.Tool, req *toolpb.InvokeRequest) (out []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(os.Stderr, "weir plugin: tool %s panicked: %v\n%s", req.Tool, v, debug.Stack())
			out, err = nil, plugins.Errorf(plugins.Internal, "tool %s panicked: %v", req.Tool, v)
		}
	}()
	return t.Invoke(ctx, req.Inputs)
}

func failure(err error) *toolpb.InvokeResponse {
	return &toolpb.InvokeResponse{Error: &toolpb.Error{Kind: kindToWire(plugins.KindOf(err)), Message: err.Error()}}
}
