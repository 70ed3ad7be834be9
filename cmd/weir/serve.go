package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/bundle"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/hosts/inspect"
	"github.com/weirflow/weir/hosts/pool"
	"github.com/weirflow/weir/internal/bytesize"
	"github.com/weirflow/weir/internal/hydropb"
)

type serveFlags struct {
	addr           string
	addrSet        bool // --addr was given: its host is APP_PORT's too
	grpcAddr       string
	grpcSame       bool // --grpc: gRPC on --addr too
	admin          bool
	adminToken     string
	maxBody        string
	requestTimeout time.Duration
	bodyTimeout    time.Duration
	maxConcurrent  int
	grace          time.Duration
	workDir        string
	trust          []string
	pool           string
	record         bool // --record: served runs go to the run record
	recordLines    int
	nats           *natsFlags
	traceURL       string
	tlsCert        string
	tlsKey         string
	tlsCA          string
}

func newServe(app *app) *cobra.Command {
	var fl serveFlags
	cmd := &cobra.Command{
		Use:   "serve [flags] [FLOW|BUNDLE.weir]...",
		Short: "Serve flows over HTTP (and gRPC)",
		Long: `Serve flows over HTTP: the runtime server. Each FLOW (a flow file, or a
folder holding one) or BUNDLE.weir is loaded (Wasm modules compiled, one
instance of each warm) and deployed as version v1, or as the version the
flow declares; the first is the default flow, which POST /score runs on
a flat JSON object of inputs:

  curl -s localhost:8080/score -d '{"name":"Ada"}'

Routes: POST /v1/flows/{flow}/runs with {"inputs": {...}} (Accept:
text/event-stream streams node events), POST /score, GET /healthz, /readyz,
/metrics (Prometheus) and /openapi.json. /ui/ is the run inspector (weir ui)
of the run record (--home) with the deployments; beyond loopback it needs
the admin token.

Routes of the Open Inference Protocol v2 (KServe, Triton, MLServer):
GET /v2/health/live, /v2/health/ready, /v2/models/{flow}[/versions/{v}],
.../ready, and POST .../infer.

--grpc-addr serves weir's gRPC API (weir.flow.v1.Flows: Run, RunStream,
Describe), the Open Inference Protocol's inference.GRPCInferenceService and
Hydrosphere's PredictionService on a port of its own, with gRPC health
checking and server reflection, under the same limits; grpcurl finds it by
itself:

  grpcurl -plaintext -d '{"flow":"hello","inputs":{"name":"Ada"}}' \
    127.0.0.1:9090 weir.flow.v1.Flows/Run

--grpc serves the same gRPC API on --addr, beside HTTP: requests with
content-type application/grpc over HTTP/2 without TLS (h2c, as gRPC
clients send them) go to gRPC, the rest to HTTP. A port of its own is
faster; one port is simpler behind a proxy.

--tls-cert and --tls-key serve every listener over TLS: HTTPS on --addr
(HTTP/2 included, and gRPC beside it with --grpc), gRPC over TLS on
--grpc-addr and APP_PORT. --tls-ca asks each client for a certificate
signed by that CA (mutual TLS). Without them serve speaks plain HTTP and
gRPC, for a proxy in front or a loopback address.

--admin turns on the admin API under /v1/admin: upload bundles, list
deployments, split traffic between versions, delete. It needs a bearer token
(--admin-token, or $WEIR_ADMIN_TOKEN), unless the server listens on a
loopback address only; --admin-token implies --admin. With --admin, serve
may start with no flow and take them by upload.

--trust KEY.pub makes serve deploy only bundles signed by that key (weir
bundle --sign), on the command line and by upload alike: an unsigned
bundle, or one signed by another key, is refused (403 for an upload).
Repeat it, or give a file of several keys, one a line as authorized_keys
holds them. FLOW files on the command line are served as they are.

With APP_PORT set, as Hydrosphere sets it for its runtime images, serve
also answers Hydrosphere's gRPC PredictionService/Predict on that port (on
every interface, or on the host of --addr when given), running the
default flow on tensors, with gRPC health checking.

--pool NAME runs each request on the workers of a work pool (weir worker
--pool NAME, on any machine that reaches its NATS server: --nats and the
other NATS flags) instead of in this process, so that serving scales by
adding workers. Routes, checks, limits and answers stay the same; each
FLOW's bundle goes into the pool at start, a BUNDLE.weir's or an
upload's at its first run. A request while the pool has no worker gets
503 with Retry-After; a streamed answer arrives whole when the run ends.

--record keeps each run served in the run record, with what each node got
and returned (secrets redacted): a run of kind serve per flow version,
which weir runs list and show read, a line per request. Once a run has
--record-lines lines it is finished, a new one started and the one before
deleted, so the record keeps the latest requests, never more than twice
--record-lines per version.

SIGTERM or Ctrl-C drains: /readyz answers 503 (gRPC health NOT_SERVING),
no new connection is accepted, and requests in flight get up to --grace to finish; then weir
exits 0, or 1 if some had to be cut off. A second signal stops at once.`,
		Example: `  weir serve examples/hello/flow.cue
  weir serve --addr :8080 --admin-token "$TOKEN" hello.weir
  weir serve --admin --request-timeout 10s --max-concurrent 500
  weir serve --grpc-addr 127.0.0.1:9090 examples/hello/flow.cue
  weir serve --pool scoring --nats nats://10.0.0.5:4222 examples/hello/flow.cue`,
		RunE: func(cmd *cobra.Command, a []string) error {
			if cmd.Flags().Changed("admin-token") {
				fl.admin = true
			} else if fl.admin {
				fl.adminToken = os.Getenv("WEIR_ADMIN_TOKEN")
			}
			fl.addrSet = cmd.Flags().Changed("addr")
			return app.serve(cmd.Context(), cmd.ErrOrStderr(), a, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT`; :8080 listens on every interface")
	f.StringVar(&fl.grpcAddr, "grpc-addr", "", "also serve weir's gRPC API on `HOST:PORT`")
	f.BoolVar(&fl.grpcSame, "grpc", false, "also serve weir's gRPC API on --addr, beside HTTP (h2c)")
	f.BoolVar(&fl.admin, "admin", false, "turn on the admin API (uploads, traffic split, delete)")
	f.StringVar(&fl.adminToken, "admin-token", "", "the admin API's bearer `TOKEN` (default $WEIR_ADMIN_TOKEN)")
	f.StringVar(&fl.maxBody, "max-body", "1MiB", "the largest run request body or gRPC message, in bytes or with KiB, MiB, GiB")
	f.DurationVar(&fl.requestTimeout, "request-timeout", time.Minute, "bound each run; 504 past it")
	f.DurationVar(&fl.bodyTimeout, "body-timeout", 30*time.Second, "bound reading a request's body, an upload's too; 408 past it")
	f.IntVar(&fl.maxConcurrent, "max-concurrent", 4096, "runs at once; 429 past it")
	f.DurationVar(&fl.grace, "grace", 30*time.Second, "on SIGTERM, how long requests in flight get to finish")
	f.StringVar(&fl.workDir, "work-dir", "", "extract uploaded bundles into `DIR` (default: a temporary folder)")
	f.StringArrayVar(&fl.trust, "trust", nil, "deploy only bundles signed by a key in `FILE` (a .pub file or authorized_keys); repeatable")
	f.StringVar(&fl.pool, "pool", "", "run the requests on the workers of the work pool `NAME`, not here")
	f.BoolVar(&fl.record, "record", false, "keep the runs served in the run record (see weir runs)")
	f.IntVar(&fl.recordLines, "record-lines", 10000, "with --record, the lines of a record run before the next one starts")
	f.StringVar(&fl.traceURL, "trace-url", "", "the inspector at /ui/ links trace ids to `URL`, in which {trace_id} is replaced")
	f.StringVar(&fl.tlsCert, "tls-cert", "", "serve HTTPS and gRPC over TLS with the certificate in `FILE`")
	f.StringVar(&fl.tlsKey, "tls-key", "", "the key `FILE` of --tls-cert")
	f.StringVar(&fl.tlsCA, "tls-ca", "", "with --tls-cert: clients must show a certificate signed by the CA in `FILE`")
	fl.nats = addNATSFlags(cmd)
	noCacheFlag(cmd, app)
	return cmd
}

func (app *app) serve(ctx context.Context, stderr io.Writer, paths []string, fl serveFlags) error {
	maxBody, err := parseSize(fl.maxBody)
	if err != nil {
		return usageError{fmt.Errorf("--max-body: %w", err)}
	}
	switch {
	case len(paths) == 0 && !fl.admin:
		return usageError{errors.New("serve needs a FLOW or BUNDLE.weir to serve, or --admin to take uploads")}
	case fl.requestTimeout <= 0:
		return usageError{fmt.Errorf("--request-timeout must be positive, got %s", fl.requestTimeout)}
	case fl.bodyTimeout <= 0:
		return usageError{fmt.Errorf("--body-timeout must be positive, got %s", fl.bodyTimeout)}
	case fl.maxConcurrent < 1:
		return usageError{fmt.Errorf("--max-concurrent must be at least 1, got %d", fl.maxConcurrent)}
	case fl.grace < 0:
		return usageError{fmt.Errorf("--grace must not be negative, got %s", fl.grace)}
	}
	tlsCfg, err := serveTLS(fl.tlsCert, fl.tlsKey, fl.tlsCA)
	if err != nil {
		return err
	}
	var trust *bundle.Trust
	if len(fl.trust) > 0 {
		if trust, err = bundle.LoadTrust(fl.trust...); err != nil {
			return fmt.Errorf("--trust: %w", err)
		}
	}
	ln, err := listen("--addr", fl.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	var grpcLns []net.Listener
	if fl.grpcAddr != "" {
		grpcLn, err := listen("--grpc-addr", fl.grpcAddr)
		if err != nil {
			return err
		}
		defer grpcLn.Close()
		grpcLns = append(grpcLns, grpcLn)
	}
	hydroLn, err := listenHydro(fl)
	if err != nil {
		return err
	}
	if hydroLn != nil {
		defer hydroLn.Close()
		grpcLns = append(grpcLns, hydroLn)
	}
	loopback := ln.Addr().(*net.TCPAddr).IP.IsLoopback()
	if fl.admin && fl.adminToken == "" && !loopback {
		return usageError{fmt.Errorf("--admin on %s needs a token (--admin-token or $WEIR_ADMIN_TOKEN): only a loopback address may go without", fl.addr)}
	}

	// As app.newEngine, but the server traces with the engine's provider.
	tp, shutdownTracing, err := tracerFromEnv(ctx)
	if err != nil {
		return err
	}
	defer shutdownTracing()
	e, err := engine.New(engine.Options{TracerProvider: tp, Providers: app.providers(), Redactor: app.redactor, Cache: app.nodeCache()})
	if err != nil {
		return err
	}
	defer e.Close()
	var runner *poolRunner
	if fl.pool != "" {
		c, p, err := app.connectPool(ctx, fl.nats, fl.pool)
		if err != nil {
			return err
		}
		defer c.Close()
		runner = &poolRunner{p: p, noCache: app.noCache, bundles: map[*engine.Flow]*poolBundle{}}
	}
	rec, err := app.servedRecord(fl, stderr)
	if err != nil {
		return err
	}
	defer rec.close(stderr)
	s, err := endpoint.New(endpoint.Options{
		OnRun:          rec.onRun(),
		Engine:         e,
		Runner:         runner.runFunc(),
		AdminToken:     fl.adminToken,
		InsecureAdmin:  fl.admin && fl.adminToken == "",
		MaxBodyBytes:   maxBody,
		RequestTimeout: fl.requestTimeout,
		BodyTimeout:    fl.bodyTimeout,
		MaxConcurrent:  fl.maxConcurrent,
		WorkDir:        fl.workDir,
		Trust:          trust,
		TracerProvider: tp,
		Logger:         slog.New(slog.NewTextHandler(stderr, nil)),
	})
	if err != nil {
		return err
	}
	defer s.Close()

	var flows []string
	for _, p := range paths {
		f, name, err := deployPath(ctx, e, s, p)
		if err != nil {
			return err
		}
		if f != nil && runner != nil {
			// Now rather than at the first request: a bundle the pool
			// refuses stops weir serve at once.
			if _, err := runner.digest(ctx, f); err != nil {
				return err
			}
		}
		flows = append(flows, name)
	}
	ui := &uiMount{app: app, opts: inspect.Options{TraceURL: fl.traceURL, Deployments: s.Deployments, DeployedFlow: s.Flow}}
	if !loopback {
		ui.opts.Token = fl.adminToken
	}
	if runner != nil {
		ui.opts.Pool = runner.p.Status
	}
	defer ui.close()
	scheme, grpcTLS := "http://", ""
	if tlsCfg != nil {
		scheme, grpcTLS = "https://", ", over TLS"
	}
	printServing(stderr, scheme+displayAddr(ln.Addr().(*net.TCPAddr)), flows, fl)
	var gs *grpc.Server
	if len(grpcLns) > 0 || fl.grpcSame {
		var opts []grpc.ServerOption
		if tlsCfg != nil {
			opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
		}
		gs = s.NewGRPCServer(opts...)
	}
	if fl.grpcSame {
		beside := "HTTP (h2c)"
		if tlsCfg != nil {
			beside = "HTTPS (HTTP/2 over TLS)"
		}
		fmt.Fprintf(stderr, "gRPC at %s too, beside %s\n", displayAddr(ln.Addr().(*net.TCPAddr)), beside)
	}
	if fl.grpcAddr != "" {
		fmt.Fprintf(stderr, "gRPC at %s (weir.flow.v1.Flows, inference.GRPCInferenceService, %s, health, reflection)%s\n",
			displayAddr(grpcLns[0].Addr().(*net.TCPAddr)), hydropb.PredictionService_ServiceDesc.ServiceName, grpcTLS)
	}
	if hydroLn != nil {
		fmt.Fprintf(stderr, "serving the default flow to Hydrosphere clients at %s (APP_PORT): gRPC %s/Predict, and the rest of the gRPC API\n",
			displayAddr(hydroLn.Addr().(*net.TCPAddr)), hydropb.PredictionService_ServiceDesc.ServiceName)
	}
	return serveUntil(ctx, stderr, ln, tlsCfg, s, ui.handler(s.Handler()), gs, grpcLns, fl.grpcSame, fl.grace)
}

// listen listens on addr, the value of flag.
func listen(flag, addr string) (net.Listener, error) {
	if err := checkAddr(flag, addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("serve: %w: another program listens there (a weir serve still running?); pick another port with %s, or %s 127.0.0.1:0 for a free one", err, flag, flag)
	}
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	return ln, nil
}

// printServing says where each flow is served, and the admin API.
func printServing(stderr io.Writer, base string, flows []string, fl serveFlags) {
	for i, name := range flows {
		routes := "/v1/flows/" + name + "/runs"
		if i == 0 {
			routes = "/score, " + routes
		}
		fmt.Fprintf(stderr, "serving flow %q at %s (POST %s)\n", name, base, routes)
	}
	if len(flows) == 0 {
		fmt.Fprintf(stderr, "serving no flow yet at %s: upload a bundle to POST /v1/admin/deployments\n", base)
	}
	if fl.pool != "" {
		fmt.Fprintf(stderr, "runs go to the workers of pool %q\n", fl.pool)
	}
	if fl.admin {
		auth := "bearer token required"
		if fl.adminToken == "" {
			auth = "no token: loopback only"
		}
		fmt.Fprintf(stderr, "admin API at %s/v1/admin, %s\n", base, auth)
	}
}

// serveUntil serves h, s's handler or one around it, on ln, and over gRPC
// as gs on each of grpcLns when gs is not nil, and on ln too when
// grpcOnHTTP, until ctx ends, then drains: new requests are refused, and
// those in flight have grace to finish before they are cut off.
func serveUntil(ctx context.Context, stderr io.Writer, ln net.Listener, tlsCfg *tls.Config, s *endpoint.Server, h http.Handler, gs *grpc.Server, grpcLns []net.Listener, grpcOnHTTP bool, grace time.Duration) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		TLSConfig:         tlsCfg,
	}
	if grpcOnHTTP {
		hs.Handler = grpcOrHTTP(gs, hs.Handler)
		hs.Protocols = new(http.Protocols)
		hs.Protocols.SetHTTP1(true)
		hs.Protocols.SetHTTP2(true)
		hs.Protocols.SetUnencryptedHTTP2(tlsCfg == nil)
	}
	served := make(chan error, 1+len(grpcLns))
	go func() {
		if tlsCfg != nil {
			served <- hs.ServeTLS(ln, "", "") // the certificate is in TLSConfig
			return
		}
		served <- hs.Serve(ln)
	}()
	grpcStopped := make(chan struct{})
	if gs != nil {
		for _, l := range grpcLns {
			go func() {
				if err := gs.Serve(l); err != nil { // nil once stopped
					served <- fmt.Errorf("gRPC: %w", err)
				}
			}()
		}
		defer gs.Stop() // after a failure to serve
	}
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintf(stderr, "draining: no new requests; those in flight have %s to finish\n", grace)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }() // /readyz answers 503 from now on
	drainCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if gs != nil {
		go func() {
			gs.GracefulStop() // returns when the calls in flight have
			close(grpcStopped)
		}()
	} else {
		close(grpcStopped)
	}
	cut := hs.Shutdown(drainCtx) != nil
	select {
	case <-grpcStopped:
	case <-drainCtx.Done():
		cut = true
	}
	if cut {
		_ = hs.Close() // ends the requests left, and so their runs
		if gs != nil {
			gs.Stop()
		}
	}
	<-served
	if err := <-closed; err != nil {
		return err
	}
	if cut {
		return fmt.Errorf("drain: requests still running after %s were cut off", grace)
	}
	return nil
}

// grpcOrHTTP sends gRPC's requests, HTTP/2 with content-type
// application/grpc, to gs, and the others to h.
func grpcOrHTTP(gs *grpc.Server, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			gs.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// checkAddr checks that addr, the value of flag, is HOST:PORT as a usage
// error, guessing what a bare port or host meant.
func checkAddr(flag, addr string) error {
	_, _, err := net.SplitHostPort(addr)
	if err == nil {
		return nil
	}
	if _, perr := strconv.ParseUint(addr, 10, 16); perr == nil {
		return usageError{fmt.Errorf("%s %s: did you mean :%s (every interface) or 127.0.0.1:%s (this machine only)?", flag, addr, addr, addr)}
	}
	return usageError{fmt.Errorf("%s %s: want HOST:PORT, as 127.0.0.1:8080, or :8080 for every interface", flag, addr)}
}

// deployPath loads the flow or bundle at path and deploys it, as the
// version it declares or v1, and returns the flow's name, and the flow
// itself unless it came from a bundle.
func deployPath(ctx context.Context, e *engine.Engine, s *endpoint.Server, path string) (*engine.Flow, string, error) {
	if filepath.Ext(path) == ".weir" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("read bundle: %w", err)
		}
		d, err := s.DeployBundle(ctx, data, "")
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", path, err)
		}
		return nil, d.Flow, nil
	}
	f, err := loadFlow(ctx, e, path)
	if err != nil {
		return nil, "", err
	}
	if err := s.Deploy(ctx, "v1", f); err != nil {
		return nil, "", err
	}
	return f, f.Name(), nil
}

// poolRunner runs the flows weir serve --pool serves on the workers of a
// work pool: each flow's bundle is built and put in the pool once, by the
// flow, before its first run there. It is safe for concurrent use.
type poolRunner struct {
	p       *pool.Pool
	noCache bool
	mu      sync.Mutex
	bundles map[*engine.Flow]*poolBundle
}

// poolBundle is the bundle of a flow in the pool; mu is held while it is
// put there, so that concurrent first runs put it once.
type poolBundle struct {
	mu     sync.Mutex
	digest string
}

// runFunc returns r.run as an endpoint.Options.Runner, or nil when r is
// nil: the flows run here.
func (r *poolRunner) runFunc() func(context.Context, *engine.Flow, []byte, engine.RunOptions) (*engine.Result, error) {
	if r == nil {
		return nil
	}
	return r.run
}

// run runs f on a worker of the pool. A pool with no worker is an
// endpoint.UnavailableError, a 503.
func (r *poolRunner) run(ctx context.Context, f *engine.Flow, inputs []byte, opts engine.RunOptions) (*engine.Result, error) {
	digest, err := r.digest(ctx, f)
	if err != nil {
		return nil, err
	}
	res, err := r.p.Run(ctx, digest, inputs, pool.RunOptions{RunID: opts.RunID, Timeout: opts.Timeout, NoCache: opts.NoCache || r.noCache, NodeValues: opts.NodeValues})
	if errors.Is(err, pool.ErrNoWorkers) {
		return res, &endpoint.UnavailableError{Err: err}
	}
	return res, err
}

// digest returns the digest of f's bundle in the pool, building it and
// putting it there first if no run did. A put that fails is tried again
// by the next run.
func (r *poolRunner) digest(ctx context.Context, f *engine.Flow) (string, error) {
	r.mu.Lock()
	b := r.bundles[f]
	if b == nil {
		b = &poolBundle{}
		r.bundles[f] = b
	}
	r.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.digest != "" {
		return b.digest, nil
	}
	digest, err := putBundle(ctx, r.p, f)
	if err != nil {
		return "", fmt.Errorf("put flow %q in pool %q: %w", f.Name(), r.p.Name(), err)
	}
	b.digest = digest
	return digest, nil
}

// displayAddr is the address to print: an unspecified IP (every
// interface) shows as 0.0.0.0.
func displayAddr(a *net.TCPAddr) string {
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "0.0.0.0"
	}
	return net.JoinHostPort(host, strconv.Itoa(a.Port))
}

// parseSize reads a size in bytes for a flag: a whole number, or one with
// a suffix KiB, MiB or GiB (powers of 1024) or KB, MB or GB (powers of 1000).
func parseSize(s string) (int64, error) {
	n, ok := bytesize.Parse(s)
	if !ok {
		return 0, fmt.Errorf("%q is not a size such as 1048576, 512KiB or 1MiB", s)
	}
	return n, nil
}
