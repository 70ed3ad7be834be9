package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/hosts/pool"
)

type workerFlags struct {
	pool        string
	concurrency int
	labels      []string
	healthAddr  string
	cache       string
	id          string
	nats        *natsFlags
}

func newWorker(app *app) *cobra.Command {
	var fl workerFlags
	cmd := &cobra.Command{
		Use:   "worker --pool NAME [flags]",
		Short: "Run the lines and runs of a work pool",
		Long: `Pull lines of batches and single runs from a work pool on NATS JetStream
and run them: the same engine as weir run, on any machine that reaches the
NATS server. Start as many as you like, anywhere: each takes work as it has
room for it (--concurrency), and a worker that dies has its lines run again
by the others.

A worker fetches each bundle a line names from the pool once, checks it
against its digest, keeps it under --cache, and keeps its flow loaded.
Secrets a flow declares are read from the worker's environment, as weir run
reads them.

SIGTERM or Ctrl-C drains: the worker pulls nothing new, finishes the lines
it holds, publishes their results and exits 0. A second signal stops at
once; the lines it held go to other workers after the pool's ack wait.

--health-addr serves GET /healthz (200 while the process runs) and /readyz
(200 while it is connected and pulling, 503 when draining or disconnected),
for the probes of the host running it.`,
		Example: `  weir worker --pool batch --nats nats://10.0.0.5:4222 --concurrency 16
  weir worker --pool batch --labels zone=eu --labels gpu=a10 --health-addr :8081`,
		Args: args(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return app.worker(cmd.Context(), cmd.ErrOrStderr(), fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.pool, "pool", "", "the work pool to pull from (required)")
	f.IntVar(&fl.concurrency, "concurrency", 4, "lines held at once, and runs answered at once")
	f.StringArrayVar(&fl.labels, "labels", nil, "a label shown by weir pool status, as key=value (repeatable)")
	f.StringVar(&fl.healthAddr, "health-addr", "", "serve /healthz and /readyz on `ADDR`")
	f.StringVar(&fl.cache, "cache", "", "keep fetched bundles in `DIR` (default $WEIR_HOME/pool-bundles)")
	f.StringVar(&fl.id, "id", "", "the worker's id in weir pool status (default host-pid-random)")
	fl.nats = addNATSFlags(cmd)
	return cmd
}

func (app *app) worker(ctx context.Context, stderr io.Writer, fl workerFlags) error {
	if fl.pool == "" {
		return usageError{errors.New("worker needs --pool NAME")}
	}
	if fl.concurrency < 1 {
		return usageError{fmt.Errorf("--concurrency must be at least 1, got %d", fl.concurrency)}
	}
	labels, err := parseLabels(fl.labels)
	if err != nil {
		return err
	}
	if fl.cache == "" {
		if fl.cache, err = app.inHome(poolBundles); err != nil {
			return err
		}
	}
	var current atomic.Pointer[pool.Worker]
	if fl.healthAddr != "" {
		ln, err := net.Listen("tcp", fl.healthAddr)
		if err != nil {
			return fmt.Errorf("worker: --health-addr: %w", err)
		}
		health := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: healthHandler(func() bool {
			w := current.Load()
			return w != nil && w.Ready()
		})}
		defer health.Close()
		go func() { _ = health.Serve(ln) }()
	}
	conn, p, err := app.connectPool(ctx, fl.nats, fl.pool)
	if err != nil {
		return err
	}
	defer conn.Close()
	e, closeEngine, err := app.newEngine(ctx, nil)
	if err != nil {
		return err
	}
	defer closeEngine()
	w, err := pool.NewWorker(p, pool.WorkerOptions{
		Engine: e, CacheDir: fl.cache, Concurrency: fl.concurrency, Labels: labels, ID: fl.id,
		Logger: slog.New(app.redactor.Handler(slog.Default().Handler())),
	})
	if err != nil {
		return err
	}
	current.Store(w)
	fmt.Fprintf(stderr, "worker %s: pulling from pool %q on %s, %d at a time\n", w.ID(), p.Name(), conn.URL(), fl.concurrency)
	if err := w.Run(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "worker %s: drained\n", w.ID())
	return nil
}

// healthHandler answers the probes of a process: /healthz while it runs,
// /readyz while ready says so.
func healthHandler(ready func() bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "not ready: connecting, draining or disconnected", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// parseLabels reads --labels key=value flags.
func parseLabels(pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("--labels %q: write key=value", p)}
		}
		m[k] = v
	}
	return m, nil
}
