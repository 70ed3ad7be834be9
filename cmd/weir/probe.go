package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func newProbe() *cobra.Command {
	var path, service string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "probe [flags] URL",
		Short: "Exit 0 when the weir serve at URL is ready",
		Long: `Ask a weir serve whether it is ready and exit 0 when it is, 1 otherwise.
An http:// or https:// URL is asked GET URL/readyz, which must answer 200.
A grpc://HOST:PORT URL, where weir serve --grpc-addr listens, is asked
gRPC health (grpc.health.v1.Health/Check, for the whole server or for
--service), which must answer SERVING: it does exactly when /readyz
answers 200. Container images that weir builds have no shell or curl;
their health check runs this.`,
		Example: `  weir probe http://127.0.0.1:8080
  weir probe --path /healthz http://127.0.0.1:8080
  weir probe grpc://127.0.0.1:9090
  weir probe --service weir.flow.v1.Flows grpc://127.0.0.1:9090`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			u, err := url.Parse(a[0])
			if err != nil {
				return usageError{fmt.Errorf("probe: %w", err)}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			switch u.Scheme {
			case "http", "https":
				if cmd.Flags().Changed("service") {
					return usageError{errors.New("probe: --service goes with a grpc:// URL; over HTTP, --path says what to ask")}
				}
				return probeHTTP(ctx, cmd, strings.TrimRight(a[0], "/")+path)
			case "grpc":
				if cmd.Flags().Changed("path") {
					return usageError{errors.New("probe: --path goes with an http:// URL; over gRPC, --service says what to ask")}
				}
				if u.Port() == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
					return usageError{fmt.Errorf("probe: URL %q: want grpc://HOST:PORT", a[0])}
				}
				return probeGRPC(ctx, cmd, u.Host, service)
			}
			return usageError{fmt.Errorf("probe: URL %q: use http://HOST:PORT, https://HOST:PORT or grpc://HOST:PORT", a[0])}
		},
	}
	cmd.Flags().StringVar(&path, "path", "/readyz", "http: the path to ask")
	cmd.Flags().StringVar(&service, "service", "", "grpc: the service whose health to ask, like weir.flow.v1.Flows (default: the whole server)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	return cmd
}

// probeHTTP asks GET u and wants 200.
func probeHTTP(ctx context.Context, cmd *cobra.Command, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return usageError{fmt.Errorf("probe: %w", err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe: %s answered %s", u, resp.Status)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", u, resp.Status)
	return nil
}

// probeGRPC asks the gRPC health of service ("" for the whole server) at
// addr, HOST:PORT, and wants SERVING.
func probeGRPC(ctx context.Context, cmd *cobra.Command, addr, service string) error {
	target := "grpc://" + addr
	what := target
	if service != "" {
		what += " (service " + service + ")"
	}
	// gRPC words a failed connection as a transport error around the
	// dialer's; the dialer's own error says it plainly.
	var dialed struct {
		sync.Mutex
		err error
	}
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			dialed.Lock()
			dialed.err = err
			dialed.Unlock()
		}
		return c, err
	}
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithContextDialer(dial))
	if err != nil {
		return usageError{fmt.Errorf("probe: %s: %w", target, err)}
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		dialed.Lock()
		defer dialed.Unlock()
		switch {
		case status.Code(err) == codes.NotFound:
			return fmt.Errorf("probe: %s has no service %q", target, service)
		case dialed.err != nil:
			return fmt.Errorf("probe: %s: %w", target, dialed.err)
		}
		return fmt.Errorf("probe: %s: %w", target, err)
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("probe: %s answered %s", what, resp.Status)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", what, resp.Status)
	return nil
}
