package goplugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/stats"

	"github.com/weirflow/weir/plugins"
)

// Options configure a Provider. The zero value is a useful default.
type Options struct {
	// StartTimeout bounds the start of a process: spawn, go-plugin's
	// handshake and the first Describe (10s).
	StartTimeout time.Duration
	// MaxMessageSize bounds each gRPC message, inputs or outputs, on both
	// sides (MaxMessageSize, 16 MiB). A call over it fails with a Limit error.
	MaxMessageSize int
	// StderrLines is how many of a plugin's last lines of standard error
	// errors quote (20).
	StderrLines int
	// MinBackoff and MaxBackoff bound the wait before a process is started
	// again after it crashed or failed to start; the wait doubles with each
	// failure in a row (100ms, 10s).
	MinBackoff, MaxBackoff time.Duration
	// Logger receives the plugins' standard error lines at level Debug and
	// their starts and exits. Nil means slog.Default().
	Logger *slog.Logger
	// TracerProvider makes the client spans of the calls made under a span
	// (a node's, a plugin's start), whose trace context crosses to the
	// plugin. Nil means the TracerProvider of that span: the engine's.
	// Calls under no span are never traced: health checks, and go-plugin's
	// broker and stdio streams, start no trace.
	TracerProvider trace.TracerProvider
	// HealthInterval is how often a running process is asked for its
	// contract as a health check; one that does not answer within
	// HealthTimeout is stopped, and the next call starts it again (10s, 2s).
	HealthInterval, HealthTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.StartTimeout <= 0 {
		o.StartTimeout = 10 * time.Second
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = MaxMessageSize
	}
	if o.StderrLines <= 0 {
		o.StderrLines = 20
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(10*time.Second, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = 10 * time.Second
	}
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = 2 * time.Second
	}
	return o
}

// ErrClosed is returned by Open after Provider.Close, and by calls on a
// closed Plugin.
var ErrClosed = errors.New("goplugin: closed")

// Provider opens go-plugin executables. It is safe for concurrent use.
// Close stops every process of every plugin it opened.
type Provider struct {
	opts    Options
	tracing stats.Handler // every process's gRPC client's

	mu     sync.Mutex
	open   map[*Plugin]struct{}
	closed bool
}

// NewProvider returns a Provider of the "goplugin" plugin kind.
func NewProvider(opts Options) *Provider {
	return &Provider{opts: opts.withDefaults(), tracing: clientTracing(opts.TracerProvider), open: map[*Plugin]struct{}{}}
}

// Kind returns "goplugin".
func (p *Provider) Kind() string { return "goplugin" }

// entry is what a goplugin entry of a flow holds besides its path.
type entry struct {
	Args []string          `json:"args"`
	Env  map[string]string `json:"env"`
}

// Open checks the executable of a flow's entry against the digest the flow
// pins, starts it, reads its contract and returns the plugin, whose process
// keeps running until Close. The returned plugin is a *Plugin.
//
// A relative spec.Source is taken from the current folder. The process gets
// only the environment childEnv says, and of the grants only env: a
// go-plugin executable is not sandboxed, so Open refuses hosts and dirs,
// which weir could not enforce.
func (p *Provider) Open(ctx context.Context, spec plugins.Spec) (plugins.Plugin, error) {
	var e entry
	if len(spec.Options) > 0 {
		if err := json.Unmarshal(spec.Options, &e); err != nil {
			return nil, fmt.Errorf("read goplugin entry: %w", err)
		}
	}
	for _, g := range []struct {
		field string
		set   bool
	}{{"hosts", len(spec.Grants.Hosts) > 0}, {"dirs", len(spec.Grants.Dirs) > 0}} {
		if g.set {
			return nil, fmt.Errorf("open plugin %q: grants.%s cannot be enforced on a go-plugin executable, which runs as a process of its own: remove it (only grants.env applies)", spec.Name, g.field)
		}
	}
	env, err := childEnv(spec.Name, e.Env, spec.Grants.Env, p.opts.MaxMessageSize)
	if err != nil {
		return nil, fmt.Errorf("open plugin %q: %w", spec.Name, err)
	}
	// A relative path names a file in the current folder (the flow's, as
	// schemas joins it), never a program that exec would find on $PATH.
	exe, err := filepath.Abs(spec.Source)
	if err != nil {
		return nil, fmt.Errorf("open plugin %q: %w", spec.Name, err)
	}
	name := filepath.Base(exe)
	info, err := os.Stat(exe)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("open plugin %q: %s does not exist", spec.Name, exe)
	case err != nil:
		return nil, fmt.Errorf("open plugin %q: %w", spec.Name, err)
	case info.IsDir() || info.Mode()&0o111 == 0:
		return nil, fmt.Errorf("open plugin %q: %s is not an executable file", spec.Name, exe)
	}
	var sum []byte
	if spec.SHA256 != "" {
		got, err := fileSHA256(exe)
		if err != nil {
			return nil, fmt.Errorf("open plugin %q: %w", spec.Name, err)
		}
		if hex.EncodeToString(got) != spec.SHA256 {
			return nil, fmt.Errorf("refuse %s: its sha256 is %x, but the flow pins %s", name, got, spec.SHA256)
		}
		sum = got
	}
	pl := &Plugin{
		provider: p,
		name:     name,
		label:    spec.Name,
		exe:      exe,
		args:     e.Args,
		env:      env,
		sha256:   sum,
		closing:  make(chan struct{}),
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	p.open[pl] = struct{}{}
	p.mu.Unlock()

	pr, err := pl.current(ctx)
	if err != nil {
		_ = pl.Close()
		return nil, err
	}
	for _, c := range pr.contracts {
		pl.tools = append(pl.tools, &tool{pl: pl, contract: c})
	}
	pl.wg.Add(1)
	go pl.watch(p.opts.HealthInterval, p.opts.HealthTimeout)
	return pl, nil
}

// childEnv is the whole environment of a plugin process, besides what
// go-plugin adds for its handshake (WEIR_PLUGIN, PLUGIN_*): a plugin must
// not read weir's own secrets, WEIR_ADMIN_TOKEN or a cloud key, by
// default. It holds, later ones winning:
//
//   - PATH=/usr/local/bin:/usr/bin:/bin, so that a plugin can run the
//     system's programs the same way whoever starts weir, and TMPDIR when
//     weir has one, which says where temporary files may go and is no
//     secret. HOME is left out: under it are the user's credentials.
//   - OTEL_SERVICE_NAME, the plugin's name in the flow: the service its
//     spans come from, when it exports any (see ServeWith).
//   - the variables the flow grants by name (grants.env), with weir's
//     values; a name weir does not have stays unset;
//   - the flow's env map, as written;
//   - the message size limit, which Serve reads.
func childEnv(service string, vars map[string]string, granted []string, maxMessage int) ([]string, error) {
	env := []string{"OTEL_SERVICE_NAME=" + service}
	if runtime.GOOS == "windows" {
		// Windows programs fail to start, or to open sockets, without these.
		granted = append([]string{"SystemRoot", "PATH", "TEMP", "TMP"}, granted...)
	} else {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
		granted = append([]string{"TMPDIR"}, granted...)
	}
	for _, name := range granted {
		if err := checkEnvName(name); err != nil {
			return nil, fmt.Errorf("grants.env: %w", err)
		}
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if err := checkEnvName(name); err != nil {
			return nil, fmt.Errorf("env: %w", err)
		}
		if strings.ContainsRune(vars[name], 0) {
			return nil, fmt.Errorf("env: the value of %s holds a NUL byte", name)
		}
		env = append(env, name+"="+vars[name])
	}
	return append(env, fmt.Sprintf("%s=%d", envMaxMessage, maxMessage)), nil
}

func checkEnvName(name string) error {
	if name == "" || strings.ContainsAny(name, "=\x00") {
		return fmt.Errorf("%q is not a variable name", name)
	}
	return nil
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// Close stops the processes of every plugin the provider opened and makes
// later Opens fail. It is idempotent.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.closed = true
	open := make([]*Plugin, 0, len(p.open))
	for pl := range p.open {
		open = append(open, pl)
	}
	p.mu.Unlock()
	var errs []error
	for _, pl := range open {
		errs = append(errs, pl.Close())
	}
	return errors.Join(errs...)
}

func (p *Provider) forget(pl *Plugin) {
	p.mu.Lock()
	delete(p.open, pl)
	p.mu.Unlock()
}

var (
	_ plugins.Provider = (*Provider)(nil)
	_ io.Closer        = (*Provider)(nil)
)
