package python

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/weirflow/weir/plugins"
)

// Options configure a Provider. The zero value is a useful default.
type Options struct {
	// CacheDir holds weir's Python module, the contracts read from tools'
	// files, and the virtual environments made for requirements. Empty
	// means $WEIR_CACHE_DIR/python when that is set, else weir/python
	// under the user cache directory; "-" a temporary folder that Close
	// removes.
	CacheDir string
	// Interpreter is the Python a plugin runs with when its entry names
	// none ("python3", looked up on PATH).
	Interpreter string
	// Limits apply to plugins whose flow entry does not set its own.
	Limits Limits
	// StartTimeout bounds the start of a process (its imports included)
	// and the reading of contracts (30s).
	StartTimeout time.Duration
	// StderrLines is how many of a process's last lines of standard error
	// the error of a crash quotes (20).
	StderrLines int
	// Logger receives what tools print, to stdout or stderr, a record a
	// line; nil means slog.Default().
	Logger *slog.Logger
}

// ABI names the protocol between weir and its runner of Python tools, as
// weir plugin describe shows it.
const ABI = "weir-python-1"

// ErrClosed is returned by Open after Provider.Close, and by calls on a
// closed Plugin.
var ErrClosed = errors.New("python: closed")

// Provider opens Python plugins. It is safe for concurrent use. Close
// stops the processes of every plugin it opened.
type Provider struct {
	opts Options

	dirOnce sync.Once
	dir     string // the cache folder; "" when none could be made
	temp    bool   // dir is removed by Close
	dirErr  error

	mu     sync.Mutex
	open   map[*Plugin]struct{}
	venvs  map[string]*venv
	closed bool
}

// NewProvider returns a Provider of the "python" plugin kind.
func NewProvider(opts Options) *Provider {
	if opts.Interpreter == "" {
		opts.Interpreter = "python3"
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.StderrLines <= 0 {
		opts.StderrLines = 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Limits = opts.Limits.withDefaults()
	return &Provider{opts: opts, open: map[*Plugin]struct{}{}, venvs: map[string]*venv{}}
}

// Kind returns "python".
func (p *Provider) Kind() string { return "python" }

// CacheDir returns the folder Options.CacheDir names: see there. It is
// empty for "-".
func CacheDir(dir string) string {
	switch dir {
	case "-":
		return ""
	case "":
		if env := os.Getenv("WEIR_CACHE_DIR"); env != "" {
			return filepath.Join(env, "python")
		}
		if base, err := os.UserCacheDir(); err == nil {
			return filepath.Join(base, "weir", "python")
		}
		return ""
	}
	return dir
}

// cacheDir makes the cache folder on first use.
func (p *Provider) cacheDir() (string, error) {
	p.dirOnce.Do(func() {
		p.dir = CacheDir(p.opts.CacheDir)
		if p.dir == "" {
			p.dir, p.dirErr = os.MkdirTemp("", "weir-python-")
			p.temp = p.dirErr == nil
			return
		}
		p.dirErr = os.MkdirAll(p.dir, 0o755)
	})
	if p.dirErr != nil {
		return "", fmt.Errorf("make the Python cache folder: %w", p.dirErr)
	}
	return p.dir, nil
}

// runtime writes weir's Python module into the cache folder, once, and
// returns its folder.
func (p *Provider) runtime() (string, error) {
	dir, err := p.cacheDir()
	if err != nil {
		return "", err
	}
	return writeRuntime(dir)
}

// Open reads the contracts of the tools at spec.Source, a .py file or a
// folder of them, from their source (no tool's file is imported, and no
// process is started to serve them), checks the digest the flow pins, and
// returns the plugin. Its processes start on the first calls. The
// returned plugin is a *Plugin.
//
// A Python tool runs as a process, not in a sandbox: Open refuses
// grants.hosts and grants.dirs, which weir could not enforce. grants.env
// names variables of weir's environment passed to the processes.
func (p *Provider) Open(ctx context.Context, spec plugins.Spec) (plugins.Plugin, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	e, src, limits, err := parseEntry(spec.Options, p.opts.Limits)
	if err != nil {
		return nil, err
	}
	for _, g := range []struct {
		field string
		set   bool
	}{{"hosts", len(spec.Grants.Hosts) > 0}, {"dirs", len(spec.Grants.Dirs) > 0}} {
		if g.set {
			return nil, fmt.Errorf("grants.%s cannot be enforced on Python tools, which run as processes of their own: remove it (only grants.env applies)", g.field)
		}
	}
	env, err := childEnv(e.Env, spec.Grants.Env)
	if err != nil {
		return nil, err
	}
	t, err := readTree(spec.Source)
	if err != nil {
		return nil, fmt.Errorf("read Python tools: %w", err)
	}
	if spec.SHA256 != "" && spec.SHA256 != t.digest {
		return nil, fmt.Errorf("refuse %s: its sha256 is %s, but the flow pins %s", filepath.Base(spec.Source), t.digest, spec.SHA256)
	}
	base := src.Interpreter
	if base == "" {
		base = p.opts.Interpreter
	}
	base, err = exec.LookPath(base)
	if err != nil {
		return nil, fmt.Errorf("find the Python interpreter: %w", err)
	}
	specs, err := p.readContracts(ctx, base, t)
	if err != nil {
		return nil, err
	}
	rt, err := p.runtime()
	if err != nil {
		return nil, err
	}
	pl := &Plugin{
		p:       p,
		name:    spec.Name,
		tree:    t,
		limits:  limits,
		env:     env,
		runner:  filepath.Join(rt, "_weir_runner.py"),
		log:     p.opts.Logger.With("plugin", spec.Name),
		logRate: rate.NewLimiter(logsPerSecond, logsPerSecond),
		slots:   make(chan struct{}, limits.Instances),
		live:    map[*process]struct{}{},
		init: initFrame{
			Root:   t.root,
			Files:  t.tools,
			Tools:  make(map[string]initToolSpec, len(specs)),
			Memory: limits.Memory,
			Output: limits.Output,
		},
	}
	pl.interpreter = func(context.Context) (string, error) { return base, nil }
	pl.digest = sync.OnceValues(func() (string, error) { return codeDigest(t, base, src.Requirements) })
	if src.Requirements != "" {
		pl.interpreter = func(ctx context.Context) (string, error) { return p.venv(ctx, base, src.Requirements) }
	}
	for i := range specs {
		s := &specs[i]
		if src.Returns == "value" {
			s.returnsValue()
		}
		pl.init.Tools[s.Name] = initToolSpec{File: s.File, Wrap: s.Wrap, Connections: s.Connections}
		name, _ := json.Marshal(s.Name)
		pl.tools = append(pl.tools, &tool{
			pl:       pl,
			contract: s.contract(),
			head:     []byte(`{"tool":` + string(name) + `,"inputs":`),
		})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	p.open[pl] = struct{}{}
	return pl, nil
}

// codeDigest names the code a plugin's tools run: its files, weir's module
// for Python, the interpreter and the requirements.
func codeDigest(t *tree, interpreter, requirements string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "weir-python\x00%s\x00%s\x00%s\x00", t.digest, runtimeDigest(), interpreter)
	if requirements != "" {
		b, err := os.ReadFile(requirements)
		if err != nil {
			return "", fmt.Errorf("read requirements: %w", err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// childEnv is the whole environment of a process: a Python tool must not
// read weir's own secrets or a cloud key by default. It holds, later ones
// winning, PATH=/usr/local/bin:/usr/bin:/bin and TMPDIR when weir has one
// (HOME is left out: under it are the user's credentials), the variables
// the flow grants by name (grants.env) with weir's values, and the flow's
// env map as written.
func childEnv(vars map[string]string, granted []string) ([]string, error) {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	for _, name := range append([]string{"TMPDIR"}, granted...) {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return nil, fmt.Errorf("grants.env: %q is not a variable name", name)
		}
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if name == "" || strings.ContainsAny(name, "=\x00") || strings.ContainsRune(vars[name], 0) {
			return nil, fmt.Errorf("env: %q is not a variable name, or its value holds a NUL byte", name)
		}
		env = append(env, name+"="+vars[name])
	}
	return env, nil
}

// Close stops the processes of every plugin the provider opened, makes
// later Opens fail, and removes a temporary cache folder. It is
// idempotent.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.closed = true
	open := slices.Collect(maps.Keys(p.open))
	p.mu.Unlock()
	for _, pl := range open {
		_ = pl.Close()
	}
	p.dirOnce.Do(func() {}) // no folder made after this; see one made before
	if p.temp {
		return os.RemoveAll(p.dir)
	}
	return nil
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
