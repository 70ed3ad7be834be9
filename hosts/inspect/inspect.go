package inspect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/engine/record"
	"github.com/weirflow/weir/hosts/endpoint"
	"github.com/weirflow/weir/hosts/pool"
)

// assets are the files the pages load: scripts, style sheet, icon.
//
//go:embed assets
var assets embed.FS

// pageHTML is every page, with its title and its script.
//
//go:embed page.html
var pageHTML string

// pages are the pages by path, each with its title and script.
var pages = map[string]struct{ Title, Script string }{
	"/":                 {"Runs", "runs.js"},
	"/run.html":         {"Batch", "run.js"},
	"/line.html":        {"Run", "line.js"},
	"/flow.html":        {"Flow", "flow.js"},
	"/deployments.html": {"Deployments", "deployments.js"},
}

// Options configure a Handler. Every field but Store may be left zero.
type Options struct {
	// Store is the run record the pages show; required. The handler does
	// not close it.
	Store *record.Store
	// Load parses a flow whose text is src as if it were the file
	// filename, for its graph and its tools' contracts: the snapshot of a
	// run's flow, under its original path so that its plugins' paths
	// resolve. engine.Engine.Parse, on an engine that reads no secrets
	// (engine.PlaceholderSecrets), is one. Nil shows no graph or flow.
	Load func(ctx context.Context, filename string, src []byte) (*engine.Flow, error)
	// TraceURL links a run's trace id to a trace viewer: a URL in which
	// {trace_id} is replaced, such as https://tracing.example/trace/{trace_id}.
	// Empty shows the trace id without a link.
	TraceURL string
	// Deployments, when set, lists the deployments of the server the
	// inspector is part of (weir serve), for the deployments page.
	Deployments func() []endpoint.Deployment
	// DeployedFlow, when set, returns the flow of a deployed version, for
	// its page: endpoint.Server.Flow is one.
	DeployedFlow func(flow, version string) (*engine.Flow, bool)
	// Pool, when set, reports the work pool the server sends its runs to.
	Pool func(ctx context.Context) (*pool.Status, error)
	// Token, when set, is required of every request: as Authorization:
	// Bearer TOKEN, or as the password of basic authentication. Empty
	// serves requests for a loopback Host only.
	Token string
	// Poll is how often the events of a running batch look at the record
	// (250ms).
	Poll time.Duration
	// Logger receives the errors the pages get (Warn); nil means
	// slog.Default().
	Logger *slog.Logger
}

// Handler serves the inspector at "/". It is safe for concurrent use.
// Mount it elsewhere with http.StripPrefix, as weir serve does at /ui/:
// its pages link relatively.
type Handler struct {
	opts   Options
	key    [sha256.Size]byte
	mux    *http.ServeMux
	static http.Handler
	log    *slog.Logger

	// flows caches the flows the pages loaded, by the path and digest of
	// their snapshot: many runs share one flow. mu guards it, and lets
	// one Graphviz layout run at a time.
	mu    sync.Mutex
	flows map[flowKey]*loaded
}

// csp allows the handler's own scripts, styles, images and fetches, and
// nothing inline.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// New returns a Handler for opts.
func New(opts Options) (*Handler, error) {
	if opts.Store == nil {
		return nil, errors.New("new inspector: Options.Store is required")
	}
	if opts.TraceURL != "" && !strings.Contains(opts.TraceURL, "{trace_id}") {
		return nil, fmt.Errorf("new inspector: the trace URL %q has no {trace_id} to replace", opts.TraceURL)
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, fmt.Errorf("new inspector: %w", err)
	}
	h := &Handler{
		opts:   opts,
		key:    sha256.Sum256([]byte(opts.Token)),
		static: http.FileServerFS(sub),
		log:    opts.Logger,
		flows:  map[flowKey]*loaded{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/config", h.serveConfig)
	mux.HandleFunc("GET /api/runs", h.serveRuns)
	mux.HandleFunc("GET /api/runs/{id}", h.serveRun)
	mux.HandleFunc("GET /api/runs/{id}/events", h.serveEvents)
	mux.HandleFunc("GET /api/runs/{id}/lines/{line}", h.serveLine)
	mux.HandleFunc("GET /api/runs/{id}/flow", h.serveFlow)
	mux.HandleFunc("GET /api/runs/{id}/graph.svg", h.serveGraph)
	mux.HandleFunc("GET /api/deployments", h.serveDeployments)
	mux.HandleFunc("GET /api/deployments/{flow}/{version}/flow", h.serveFlow)
	mux.HandleFunc("GET /api/deployments/{flow}/{version}/graph.svg", h.serveGraph)
	mux.HandleFunc("GET /api/pool", h.servePool)
	mux.HandleFunc("GET /api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route "+r.URL.Path)
	})
	page := template.Must(template.New("page").Parse(pageHTML))
	for path, p := range pages {
		var b bytes.Buffer
		if err := page.Execute(&b, p); err != nil {
			return nil, fmt.Errorf("new inspector: page %s: %w", path, err)
		}
		if path == "/" {
			path = "/{$}"
		}
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(b.Bytes())
		})
	}
	mux.Handle("GET /", h.static)
	h.mux = mux
	return h, nil
}

// ServeHTTP checks the request's method and authorization, then serves it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "the inspector is read-only: "+r.Method+" is not allowed")
		return
	}
	if !h.authorized(w, r) {
		return
	}
	h.mux.ServeHTTP(w, r)
}

// authorized checks the token, or that a handler without one is reached
// by a loopback name, and answers the request when not.
func (h *Handler) authorized(w http.ResponseWriter, r *http.Request) bool {
	if h.opts.Token == "" {
		if endpoint.LoopbackHost(r.Host) {
			return true
		}
		writeError(w, http.StatusForbidden, fmt.Sprintf("the inspector has no token, so it answers requests for localhost only, not for Host %q", r.Host))
		return false
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		_, token, ok = r.BasicAuth()
	}
	if !ok {
		// Basic, so that a browser asks for the token.
		w.Header().Set("WWW-Authenticate", `Basic realm="weir inspector", charset="UTF-8"`)
		writeError(w, http.StatusUnauthorized, "missing token: send Authorization: Bearer TOKEN, or the token as the password")
		return false
	}
	// Hashing first makes the comparison constant-time whatever the
	// token's length.
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], h.key[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="weir inspector", charset="UTF-8"`)
		writeError(w, http.StatusUnauthorized, "wrong token")
		return false
	}
	return true
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encode the answer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError answers {"error": msg}, which the pages show.
func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeFailure answers an error of the record: 404 for an unknown run,
// 500 for the rest, which is logged.
func (h *Handler) writeFailure(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, record.ErrNotFound) || errors.Is(err, record.ErrNoLine) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	h.log.Warn("inspector", "path", r.URL.Path, "error", err)
	writeError(w, http.StatusInternalServerError, err.Error())
}
