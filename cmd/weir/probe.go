package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func newProbe() *cobra.Command {
	var path, service, cacert string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "probe [flags] URL",
		Short: "Exit 0 when the weir serve at URL is ready",
		Long: `Ask a weir serve whether it is ready and exit 0 when it is, 1 otherwise.
An http:// or https:// URL is asked GET URL/readyz, which must answer 200.
A grpc://HOST:PORT URL, where weir serve --grpc-addr listens, is asked
gRPC health (grpc.health.v1.Health/Check, for the whole server or for
--service), which must answer SERVING: it does exactly when /readyz
answers 200. A grpcs://HOST:PORT URL asks the same over TLS, as weir
serve --tls-cert serves it. --cacert trusts the CA in FILE for https://
and grpcs://, beside the system's. Container images that weir builds have
no shell or curl; their health check runs this.`,
		Example: `  weir probe http://127.0.0.1:8080
  weir probe --path /healthz http://127.0.0.1:8080
  weir probe grpc://127.0.0.1:9090
  weir probe --service weir.flow.v1.Flows grpc://127.0.0.1:9090
  weir probe --cacert ca.pem grpcs://127.0.0.1:9090`,
		Args: args(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			u, err := url.Parse(a[0])
			if err != nil {
				return usageError{fmt.Errorf("probe: %w", err)}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var tlsCfg *tls.Config
			if u.Scheme == "https" || u.Scheme == "grpcs" {
				if tlsCfg, err = probeTLS(cacert); err != nil {
					return err
				}
			} else if cacert != "" {
				return usageError{fmt.Errorf("probe: --cacert goes with an https:// or grpcs:// URL, not %s://", u.Scheme)}
			}
			switch u.Scheme {
			case "http", "https":
				if cmd.Flags().Changed("service") {
					return usageError{errors.New("probe: --service goes with a grpc:// URL; over HTTP, --path says what to ask")}
				}
				return probeHTTP(ctx, cmd, strings.TrimRight(a[0], "/")+path, tlsCfg)
			case "grpc", "grpcs":
				if cmd.Flags().Changed("path") {
					return usageError{errors.New("probe: --path goes with an http:// URL; over gRPC, --service says what to ask")}
				}
				if u.Port() == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
					return usageError{fmt.Errorf("probe: URL %q: want %s://HOST:PORT", a[0], u.Scheme)}
				}
				return probeGRPC(ctx, cmd, u.Scheme, u.Host, service, tlsCfg)
			}
			return usageError{fmt.Errorf("probe: URL %q: use http://HOST:PORT, https://HOST:PORT, grpc://HOST:PORT or grpcs://HOST:PORT", a[0])}
		},
	}
	cmd.Flags().StringVar(&path, "path", "/readyz", "http: the path to ask")
	cmd.Flags().StringVar(&service, "service", "", "grpc: the service whose health to ask, like weir.flow.v1.Flows (default: the whole server)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	cmd.Flags().StringVar(&cacert, "cacert", "", "https and grpcs: trust the CA certificates in `FILE` too")
	return cmd
}

// probeTLS is the TLS of a probe: the system's roots, and those in the
// file cacert when it is given.
func probeTLS(cacert string) (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if cacert != "" {
		if err := addCAs(roots, cacert); err != nil {
			return nil, fmt.Errorf("probe: --cacert: %w", err)
		}
	}
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}

// probeHTTP asks GET u and wants 200, over tlsCfg for an https URL.
func probeHTTP(ctx context.Context, cmd *cobra.Command, u string, tlsCfg *tls.Config) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return usageError{fmt.Errorf("probe: %w", err)}
	}
	client := http.DefaultClient
	if tlsCfg != nil {
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	}
	resp, err := client.Do(req)
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
// addr, HOST:PORT, and wants SERVING; over TLS when tlsCfg is not nil.
func probeGRPC(ctx context.Context, cmd *cobra.Command, scheme, addr, service string, tlsCfg *tls.Config) error {
	target := scheme + "://" + addr
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
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds), grpc.WithContextDialer(dial))
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
