package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/internal/hydropb"
)

// serveHydro serves Hydrosphere's runtime API of s, and gRPC health, on
// port (APP_PORT, which Hydrosphere gives its runtime images): on the host
// of --addr when it was given, else on every interface, as a runtime image
// listens. It drains when ctx ends, as the HTTP server does; stop ends it
// and returns once it has.
func serveHydro(ctx context.Context, stderr io.Writer, port string, fl serveFlags, s *endpoint.Server, maxBody int64) (stop func(), err error) {
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("APP_PORT %q: want a port number, or 0 for a free one", port)
	}
	host := ""
	if fl.addrSet {
		host, _, _ = net.SplitHostPort(fl.addr)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("serve APP_PORT: %w: another program listens there; pick another port", err)
	}
	if err != nil {
		return nil, fmt.Errorf("serve APP_PORT: %w", err)
	}
	g := grpc.NewServer(grpc.MaxRecvMsgSize(int(maxBody)))
	endpoint.NewHydrosphere(s).Register(g)
	healthpb.RegisterHealthServer(g, readyHealth{s: s})
	fmt.Fprintf(stderr, "serving the default flow to Hydrosphere clients at %s (APP_PORT): gRPC %s/Predict, and grpc.health.v1.Health\n",
		displayAddr(ln.Addr().(*net.TCPAddr)), hydropb.PredictionService_ServiceDesc.ServiceName)

	ctx, cancel := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = g.Serve(ln) // ends when g stops
	}()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		stopped := make(chan struct{})
		go func() { g.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(fl.grace):
			g.Stop() // cancels the calls left, and so their runs
			<-stopped
		}
	}()
	return func() { cancel(); <-drained; <-served }, nil
}

// readyHealth answers gRPC health checks by the server's readiness, as
// /readyz does: SERVING while a flow is deployed and the server does not
// drain. It knows the whole server ("") and the PredictionService.
type readyHealth struct {
	healthpb.UnimplementedHealthServer
	s *endpoint.Server
}

func (h readyHealth) Check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	switch req.Service {
	case "", hydropb.PredictionService_ServiceDesc.ServiceName:
	default:
		return nil, status.Errorf(codes.NotFound, "unknown service %q", req.Service)
	}
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if h.s.Ready() {
		st = healthpb.HealthCheckResponse_SERVING
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}
