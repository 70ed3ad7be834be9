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
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/weirflow/weir/internal/toolpb"
	"github.com/weirflow/weir/plugins"
)

// Serve serves tools to weir: it is the whole main function of a go-plugin
// executable. Make the tools with plugins.Func (a typed Go function, its
// contract from the Go types) or plugins.RawFunc (JSON in, JSON out). It is
// ServeWith with the zero ServeOptions.
//
// Calls run concurrently, so the tools must be safe for concurrent use. A
// call's context carries the node's deadline and its trace context: spans
// the tool starts under it are children of the node's span. An error's
// plugins.Kind reaches weir; a panic in a tool is recovered and reported
// as an internal error, its stack written to standard error.
//
// Serve returns once weir has stopped the plugin, so that main can return;
// the process also exits when its parent process dies, and takes with it
// the processes its tools started, unless they left its process group
// (setsid, setpgid): weir makes the plugin the leader of a group of its
// own. Run by hand, outside weir, Serve prints that it is a plugin and
// exits with status 1. Serve panics on two tools of one name: a
// programming error.
func Serve(tools ...plugins.Tool) { ServeWith(ServeOptions{}, tools...) }

// ServeOptions configure ServeWith. The zero value serves as Serve does.
type ServeOptions struct {
	// TracerProvider makes a server span for each call weir makes under a
	// span of its own (a node's, the plugin's start), the child of weir's
	// client span; calls that carry no trace context (health checks,
	// go-plugin's own streams) make none. Nil means otel's global
	// provider, which records nothing unless the plugin sets one. weir
	// starts the process with OTEL_SERVICE_NAME set to the plugin's name
	// in the flow, which resource.WithFromEnv and resource.Default read;
	// the exporter's own OTEL_* variables reach the plugin only as the
	// flow grants them (grants.env).
	TracerProvider trace.TracerProvider
	// Shutdown, when not nil, is called once weir has stopped the plugin
	// and before ServeWith returns: the place to flush telemetry, with a
	// TracerProvider's Shutdown. Its context ends after 1.5s, as weir
	// kills a plugin that has not exited two seconds after asking it to
	// stop. Its error is written to standard error. A plugin that weir
	// kills (a call that outlived its deadline, a failed health check) or
	// that outlives weir is not shut down.
	Shutdown func(context.Context) error
}

// shutdownGrace bounds ServeOptions.Shutdown.
const shutdownGrace = 1500 * time.Millisecond

// ServeWith is Serve with options: see Serve for what it does.
func ServeWith(opts ServeOptions, tools ...plugins.Tool) {
	srv := newServer(tools)
	stderr := os.Stderr // go-plugin's Serve replaces it by a stream that ends with it
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
		GRPCServer: func(gopts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(gopts,
				grpc.MaxRecvMsgSize(limit),
				grpc.MaxSendMsgSize(limit),
				grpc.StatsHandler(serverTracing(opts.TracerProvider)),
			)...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Warn}),
	})
	if opts.Shutdown != nil {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := opts.Shutdown(ctx); err != nil {
			fmt.Fprintf(stderr, "weir plugin: shut down: %v\n", err)
		}
	}
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
