package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
	"github.com/weirflow/weir/hosts/inspect"
)

func newUI(app *app) *cobra.Command {
	var addr, traceURL, token string
	cmd := &cobra.Command{
		Use:   "ui [flags]",
		Short: "Browse the run record in a web page",
		Long: `Serve the run inspector for the run record (--home): web pages of the runs,
each batch with its progress live while it runs, its latencies, nodes and
failed lines, each line's DAG with the status of every node, a timeline of
the nodes, their inputs, outputs, logs and errors, and the flows the runs
ran with their tools' contracts. weir serve serves the same pages at /ui/,
with its deployments.

The pages are read-only. On a loopback address (the default) they need no
token; on any other address every request needs --token (default
$WEIR_ADMIN_TOKEN), as a bearer token or as the password the browser asks
for.

--trace-url links each run's trace id to a trace viewer: {trace_id} in it
is replaced.`,
		Example: `  weir ui
  weir ui --addr 127.0.0.1:9000 --trace-url 'http://localhost:16686/trace/{trace_id}'
  weir ui --home ./runs --addr :8070 --token "$TOKEN"`,
		Args: args(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("token") {
				token = os.Getenv("WEIR_ADMIN_TOKEN")
			}
			return app.ui(cmd.Context(), cmd.ErrOrStderr(), addr, traceURL, token)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8070", "listen on `HOST:PORT`; :8070 listens on every interface")
	f.StringVar(&traceURL, "trace-url", "", "link trace ids to `URL`, in which {trace_id} is replaced")
	f.StringVar(&token, "token", "", "require `TOKEN` of every request (default $WEIR_ADMIN_TOKEN); needed beyond loopback")
	return cmd
}

func (app *app) ui(ctx context.Context, stderr io.Writer, addr, traceURL, token string) error {
	if err := checkAddr("--addr", addr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("ui: %w: another program listens there; pick another port with --addr, or --addr 127.0.0.1:0 for a free one", err)
	}
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	defer ln.Close()
	loopback := ln.Addr().(*net.TCPAddr).IP.IsLoopback()
	if !loopback && token == "" {
		return usageError{fmt.Errorf("--addr %s is not a loopback address: the inspector needs a token there (--token or $WEIR_ADMIN_TOKEN)", addr)}
	}
	if loopback {
		token = "" // the Host check guards a loopback listener
	}
	s, err := app.openStore()
	if err != nil {
		return err
	}
	defer s.Close()
	load, closeLoad := app.flowLoader()
	defer closeLoad()
	h, err := inspect.New(inspect.Options{Store: s, Load: load, TraceURL: traceURL, Token: token})
	if err != nil {
		return usageError{fmt.Errorf("--trace-url: %w", err)}
	}
	fmt.Fprintf(stderr, "inspecting the run record %s at http://%s/\n", s.Dir(), displayAddr(ln.Addr().(*net.TCPAddr)))
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("ui: %w", err)
	case <-ctx.Done():
	}
	// The pages' event streams end with the server: no grace to wait for.
	_ = hs.Close()
	return nil
}

// flowLoader returns an inspect.Options.Load that parses flows on an
// engine which reads no secrets, opened at the first call, and the func
// that closes it.
func (app *app) flowLoader() (func(context.Context, string, []byte) (*engine.Flow, error), func()) {
	var (
		mu       sync.Mutex
		e        *engine.Engine
		closeAll = func() {}
	)
	load := func(ctx context.Context, filename string, src []byte) (*engine.Flow, error) {
		mu.Lock()
		defer mu.Unlock()
		if e == nil {
			var err error
			if e, closeAll, err = app.newEngine(ctx, engine.PlaceholderSecrets); err != nil {
				return nil, err
			}
		}
		return e.Parse(ctx, filename, src)
	}
	return load, func() {
		mu.Lock()
		defer mu.Unlock()
		closeAll()
	}
}

// uiMount serves the inspector under /ui/ beside weir serve's routes. It
// opens the run record and builds the inspector at the first request
// there, so that a server whose inspector nobody opens never touches the
// record; one that fails to open is answered 503 and tried again by the
// next request. It is safe for concurrent use.
type uiMount struct {
	app  *app
	opts inspect.Options // without Store and Load

	mu        sync.Mutex
	h         http.Handler
	closeLoad func()
	store     *record.Store
}

// handler returns next with the inspector at /ui/.
func (m *uiMount) handler(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", next)
	mux.Handle("/ui/", http.StripPrefix("/ui", http.HandlerFunc(m.serve)))
	mux.Handle("/ui", http.RedirectHandler("/ui/", http.StatusMovedPermanently))
	return mux
}

func (m *uiMount) serve(w http.ResponseWriter, r *http.Request) {
	h, err := m.inspector()
	if err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "the inspector is off: %v\n", err)
		return
	}
	h.ServeHTTP(w, r)
}

func (m *uiMount) inspector() (http.Handler, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h != nil {
		return m.h, nil
	}
	s, err := m.app.openStore()
	if err != nil {
		return nil, err
	}
	load, closeLoad := m.app.flowLoader()
	o := m.opts
	o.Store, o.Load = s, load
	h, err := inspect.New(o)
	if err != nil {
		closeLoad()
		s.Close()
		return nil, err
	}
	m.h, m.store, m.closeLoad = h, s, closeLoad
	return h, nil
}

// close closes the record and the engine the inspector opened, if it did.
func (m *uiMount) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h != nil {
		m.closeLoad()
		m.store.Close()
	}
}
