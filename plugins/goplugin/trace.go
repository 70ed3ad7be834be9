package goplugin

import (
	"context"
	"reflect"
	"sync"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
)

// joinTraces is a gRPC stats handler that traces only the calls that join
// a trace, as handler says: weir's calls for a node (or for a plugin's
// start) on one side, the calls that carry their trace context on the
// other. The rest (health checks, go-plugin's broker and stdio streams,
// its shutdown call) would otherwise start a root trace each, every few
// seconds and for the whole life of a process.
type joinTraces struct {
	// handler returns the otelgrpc handler of a call, nil for a call that
	// joins no trace.
	handler func(ctx context.Context) stats.Handler
}

// traced marks the context of a call that a handler traces, with it.
type traced struct{}

func (j joinTraces) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	h := j.handler(ctx)
	if h == nil {
		return ctx
	}
	return context.WithValue(h.TagRPC(ctx, info), traced{}, h)
}

func (j joinTraces) HandleRPC(ctx context.Context, s stats.RPCStats) {
	// Never to otelgrpc for a call it did not tag: it would take the
	// caller's span for its own and end it.
	if h, ok := ctx.Value(traced{}).(stats.Handler); ok {
		h.HandleRPC(ctx, s)
	}
}

func (joinTraces) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (joinTraces) HandleConn(context.Context, stats.ConnStats)                       {}

// clientTracing returns weir's side of joinTraces: a call made under a span
// gets a client span from tp, or, when tp is nil, from the TracerProvider
// of that span, the engine's. One otelgrpc handler is made per provider.
func clientTracing(tp trace.TracerProvider) stats.Handler {
	var (
		mu       sync.Mutex
		handlers = map[trace.TracerProvider]stats.Handler{}
	)
	newHandler := func(tp trace.TracerProvider) stats.Handler {
		return otelgrpc.NewClientHandler(otelgrpc.WithPropagators(propagator), otelgrpc.WithTracerProvider(tp))
	}
	return joinTraces{handler: func(ctx context.Context) stats.Handler {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			return nil
		}
		p := tp
		if p == nil {
			p = trace.SpanFromContext(ctx).TracerProvider()
		}
		if !reflect.TypeOf(p).Comparable() {
			return newHandler(p) // cannot be a map key
		}
		mu.Lock()
		defer mu.Unlock()
		h := handlers[p]
		if h == nil {
			h = newHandler(p)
			handlers[p] = h
		}
		return h
	}}
}

// serverTracing returns the plugin's side of joinTraces: a call that
// carries a trace context gets a server span from tp, nil meaning the
// global TracerProvider.
func serverTracing(tp trace.TracerProvider) stats.Handler {
	opts := []otelgrpc.Option{otelgrpc.WithPropagators(propagator)}
	if tp != nil {
		opts = append(opts, otelgrpc.WithTracerProvider(tp))
	}
	h := otelgrpc.NewServerHandler(opts...)
	return joinTraces{handler: func(ctx context.Context) stats.Handler {
		if md, _ := metadata.FromIncomingContext(ctx); len(md.Get("traceparent")) == 0 {
			return nil
		}
		return h
	}}
}
