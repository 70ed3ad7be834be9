package endpoint

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/bundle"
)

// Options configure a Server. Every field but Engine has a useful zero
// value: the default in its comment.
type Options struct {
	// Engine loads the flows and, without a Runner, runs them; required.
	// The server does not close it.
	Engine *engine.Engine
	// Runner, when set, runs each request's flow in place of the engine:
	// a work pool's client (hosts/pool) sends it to workers elsewhere. Nil
	// runs it here. The server still reads the body, routes, limits and
	// answers as it does for a run here: the Runner's error maps to the
	// same status codes (an *engine.InputError is a 400, an
	// *engine.NodeError a 502, one wrapping engine.ErrRunTimeout, or the
	// request's deadline, a 504), and an *UnavailableError is a 503. It
	// gets opts with RunID, Timeout, NoCache and NodeValues only: a
	// stream's node events are sent from the Result's nodes once the
	// Runner returns, and a streamed output arrives as one chunk. It must
	// be safe for concurrent use.
	Runner func(ctx context.Context, f *engine.Flow, inputs []byte, opts engine.RunOptions) (*engine.Result, error)
	// AdminToken turns the admin API on, behind Authorization: Bearer
	// AdminToken.
	AdminToken string
	// InsecureAdmin turns the admin API on without a token: only for a
	// server that listens on loopback, as weir serve --admin does when it
	// has no token.
	InsecureAdmin bool
	// MaxBodyBytes bounds the body of a run request (1 MiB); a larger one
	// gets 413. It bounds a gRPC message too (RESOURCE_EXHAUSTED).
	MaxBodyBytes int64
	// MaxBundleBytes bounds an uploaded bundle (512 MiB).
	MaxBundleBytes int64
	// RequestTimeout bounds each run (60s); a run that hits it gets 504,
	// naming the nodes that were running. A flow's own deadline, when
	// shorter, still applies.
	RequestTimeout time.Duration
	// MaxConcurrent bounds the runs in flight (4096), counting from before
	// the request's body is read; a request over it gets 429 with
	// Retry-After: 1, its body unread.
	MaxConcurrent int
	// BodyTimeout bounds reading a request's body, an upload's included
	// (30s): past it the client gets 408 and the connection is closed. It
	// needs a ResponseWriter with SetReadDeadline, as net/http's has.
	BodyTimeout time.Duration
	// Trust, when not nil, makes the server deploy only bundles signed by
	// one of its keys, from DeployBundle and admin uploads alike: others
	// are refused with 403 before any of their flows is parsed. Nil
	// deploys signed and unsigned bundles.
	Trust *bundle.Trust
	// WorkDir is where uploaded bundles are extracted, one folder per
	// digest. Empty means a temporary folder, made on the first upload and
	// removed by Close.
	WorkDir string
	// TracerProvider receives a server span per run and admin request, the
	// parent of the engine's run span: give the engine the same provider. A
	// W3C traceparent header on the request is honoured even when nil.
	// The server's spans pass through the engine's Redactor.
	TracerProvider trace.TracerProvider
	// Logger receives uploads, traffic splits and deletions (Info), failed
	// runs (Debug for node failures and timeouts, Warn for the rest), and
	// deployments from Go (Debug); nil means slog.Default(). Its records
	// pass through the engine's Redactor.
	Logger *slog.Logger
	// OnRun, when set, is called after each run with the flow version's
	// Flow and what the run returned, before the answer is sent, from the
	// goroutine that ran it (many at once): weir serve --record keeps the
	// runs so. Runs made here then keep their nodes' values
	// (engine.AllNodeValues) for it; a Runner's have what it sends.
	OnRun func(f *engine.Flow, res *engine.Result, err error)
}

// The defaults of Options.
const (
	defaultMaxBody        = 1 << 20
	defaultMaxBundle      = 512 << 20
	defaultRequestTimeout = 60 * time.Second
	defaultMaxConcurrent  = 4096
	defaultBodyTimeout    = 30 * time.Second
)

// UnavailableError is returned by a Runner that has nowhere to run a
// flow now, as a work pool with no worker: the server answers 503
// unavailable with Retry-After: 1, and Err's text as the message.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Errors of Deploy.
var (
	// ErrClosed is returned by Deploy after Close.
	ErrClosed = errors.New("server is closed")
	// ErrVersionExists is wrapped by the error of deploying a version a
	// flow already has: versions are immutable.
	ErrVersionExists = errors.New("version exists")
)

// Server serves deployed flows over HTTP, and over gRPC through
// NewGRPCServer. It is safe for concurrent use:
// requests, Deploy and the admin API may all run at once.
type Server struct {
	opts         Options
	log          *slog.Logger
	tracer       trace.Tracer // nil: no server spans
	metrics      *metrics
	handler      http.Handler
	timeoutCause error
	adminKey     [sha256.Size]byte

	// table is the routing table: immutable, replaced whole under mu.
	table    atomic.Pointer[table]
	inflight atomic.Int64
	closed   atomic.Bool
	idle     chan struct{} // a token when the last run ends after Close
	uploads  uploads
	health   grpcHealth

	// mu serializes changes of the table, uploads, and Close's cleanup.
	mu      sync.Mutex
	workDir string // where bundles go; made on first use when temp
	temp    bool   // workDir is ours to remove

	closeOnce sync.Once
	closeErr  error
}

// New returns a Server for opts, with no flow deployed.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Engine == nil:
		return nil, errors.New("new endpoint server: Options.Engine is required")
	case opts.MaxBodyBytes < 0, opts.MaxBundleBytes < 0, opts.RequestTimeout < 0, opts.MaxConcurrent < 0, opts.BodyTimeout < 0:
		return nil, errors.New("new endpoint server: a limit in Options is negative")
	case opts.AdminToken != "" && opts.InsecureAdmin:
		return nil, errors.New("new endpoint server: AdminToken and InsecureAdmin are both set: pick one")
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = defaultMaxBody
	}
	if opts.MaxBundleBytes == 0 {
		opts.MaxBundleBytes = defaultMaxBundle
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = defaultRequestTimeout
	}
	if opts.MaxConcurrent == 0 {
		opts.MaxConcurrent = defaultMaxConcurrent
	}
	if opts.BodyTimeout == 0 {
		opts.BodyTimeout = defaultBodyTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	// What the server logs and traces passes through the engine's
	// redactor, which knows the secrets of the flows it serves.
	red := opts.Engine.Redactor()
	opts.Logger = slog.New(red.Handler(opts.Logger.Handler()))
	opts.TracerProvider = red.TracerProvider(opts.TracerProvider)
	s := &Server{
		opts:         opts,
		log:          opts.Logger,
		workDir:      opts.WorkDir,
		timeoutCause: fmt.Errorf("%w after %s", engine.ErrRunTimeout, opts.RequestTimeout),
		adminKey:     sha256.Sum256([]byte(opts.AdminToken)),
		idle:         make(chan struct{}, 1),
	}
	if opts.TracerProvider != nil {
		s.tracer = opts.TracerProvider.Tracer("github.com/weirflow/weir/hosts/endpoint")
	}
	s.table.Store(&table{flows: map[string]*route{}})
	s.uploads.init()
	s.metrics = newMetrics(s)
	s.handler = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler. It is the same on every call.
func (s *Server) Handler() http.Handler { return s.handler }

// Deployments lists every version of every deployed flow, as GET
// /v1/admin/deployments does: flows in deployment order, versions oldest
// first. The list is the caller's.
func (s *Server) Deployments() []Deployment { return s.table.Load().deployments() }

// Flow returns the flow of a deployed version, and whether it is deployed.
// The flow stays the server's: the caller reads it, never runs or closes
// it.
func (s *Server) Flow(name, version string) (*engine.Flow, bool) {
	rt := s.table.Load().flows[name]
	if rt == nil {
		return nil, false
	}
	for _, v := range rt.versions {
		if v.name == version {
			return v.flow, true
		}
	}
	return nil, false
}

// Ready reports whether the server should get traffic: a flow is deployed
// (so loaded, its plugins compiled and an instance of each warm) and Close
// has not been called. /readyz answers by it.
func (s *Server) Ready() bool {
	return !s.closed.Load() && len(s.table.Load().flows) > 0
}

// Deploy adds version of the flow f.Name(). The first flow deployed is the
// default flow, which /score runs. A flow's newest version takes all its
// traffic until a split is set; after that a new version takes none until
// a split names it. Deploying a version the flow already has fails with
// ErrVersionExists; after Close, with ErrClosed.
func (s *Server) Deploy(ctx context.Context, version string, f *engine.Flow) error {
	if f == nil {
		return errors.New("deploy: the flow is nil")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deploy flow %q version %q: %w", f.Name(), version, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _, err := s.deployLocked(version, f, "")
	return err
}

// versionPattern is what a version may be: it goes in URLs and metrics.
var versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

func checkVersion(v string) error {
	if !versionPattern.MatchString(v) {
		return fmt.Errorf("version %q: use letters, digits, '.', '_' and '-', at most 63, starting with a letter or digit", v)
	}
	return nil
}

// deployLocked adds a version under s.mu. A version with the same non-empty
// digest as an existing one is that one: uploading a bundle twice is not an
// error, and existed says so.
func (s *Server) deployLocked(name string, f *engine.Flow, digest string) (d Deployment, existed bool, err error) {
	if s.closed.Load() {
		return Deployment{}, false, fmt.Errorf("deploy flow %q version %q: %w", f.Name(), name, ErrClosed)
	}
	if err := checkVersion(name); err != nil {
		return Deployment{}, false, fmt.Errorf("deploy flow %q: %w", f.Name(), err)
	}
	t := s.table.Load()
	old := t.flows[f.Name()]
	if old != nil {
		if v := old.version(name); v != nil {
			if digest != "" && v.digest == digest {
				return old.deployment(v, t), true, nil
			}
			return Deployment{}, false, fmt.Errorf("deploy flow %q version %q: %w: delete it first, or pick another version", f.Name(), name, ErrVersionExists)
		}
	}
	v := s.newVersion(name, f, digest)
	var r *route
	if old == nil {
		r = (&route{name: f.Name(), versions: []*version{v}}).build()
	} else {
		r = old.with(v)
	}
	nt := t.with(r)
	s.storeTable(nt)
	d = r.deployment(v, nt)
	s.log.Debug("deployed", "flow", d.Flow, "version", d.Version, "digest", d.Digest, "weight", d.Weight)
	return d, false, nil
}

// Close marks the server as draining: Ready turns false, /readyz answers
// 503 and gRPC health NOT_SERVING, uploads are refused and those loading are canceled, while requests
// still get served (the http.Server in front decides which ones it
// accepts). Close then waits for the runs in flight, which RequestTimeout
// and BodyTimeout bound, and removes the temporary work folder. Call it when the http.Server's Shutdown starts. It
// does not close the engine. Close is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.syncHealth()
		s.uploads.stop()
		for s.inflight.Load() > 0 {
			<-s.idle
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.temp && s.workDir != "" {
			if err := os.RemoveAll(s.workDir); err != nil {
				s.closeErr = fmt.Errorf("close endpoint server: %w", err)
			}
		}
	})
	return s.closeErr
}

// startRun counts a run in flight, or reports that MaxConcurrent are.
func (s *Server) startRun() bool {
	if s.inflight.Add(1) > int64(s.opts.MaxConcurrent) {
		s.endRun()
		return false
	}
	return true
}

func (s *Server) endRun() {
	if s.inflight.Add(-1) == 0 && s.closed.Load() {
		select {
		case s.idle <- struct{}{}:
		default:
		}
	}
}
