package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/weirflow/weir/internal/bytesize"
	"github.com/weirflow/weir/internal/cachefile"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/wasm/internal/guard"
)

// Options configure a Provider. The zero value is a useful default.
type Options struct {
	// CacheDir holds compiled modules across processes. Empty means
	// $WEIR_CACHE_DIR/wasm when that is set, else weir/wasm under the
	// user cache directory. "-" keeps compiled modules in memory only.
	CacheDir string
	// Limits apply to plugins whose flow entry does not set its own.
	Limits Limits
	// Logger receives the guests' log lines; nil means slog.Default().
	Logger *slog.Logger
	// IdleTimeout closes instances unused for this long, keeping one warm
	// per module (5s). An idle instance holds its guest's memory, a few
	// MiB for a Go guest, and a new one takes a few milliseconds to start.
	IdleTimeout time.Duration
}

// Provider opens Wasm plugins. It is safe for concurrent use. Close
// releases the compiled modules and the runtimes.
type Provider struct {
	opts  Options
	cache wazero.CompilationCache

	mu       sync.Mutex
	runtimes map[uint32]*wruntime // by memory limit, a runtime setting
	modules  map[string]*compiled // by memory limit and digest
	closed   bool
}

// wruntime is a wazero runtime with the host modules instantiated.
type wruntime struct {
	r     wazero.Runtime
	hosts *hostFuncs
}

// compiled is one module compiled once; ready closes when it is.
type compiled struct {
	ready chan struct{}
	mod   wazero.CompiledModule
	err   error
	refs  int
}

// NewProvider returns a Provider of the "wasm" plugin kind.
func NewProvider(opts Options) *Provider {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 5 * time.Second
	}
	opts.Limits = opts.Limits.withDefaults()
	return &Provider{opts: opts, runtimes: map[uint32]*wruntime{}, modules: map[string]*compiled{}}
}

// Kind returns "wasm".
func (p *Provider) Kind() string { return "wasm" }

// Open reads and checks the module of a flow's entry and returns the
// plugin with its contract. A module this provider's cache folder holds
// the contract of (for the same memory limit) is compiled, and its first
// instance started, on its first call: loading a flow to check it starts
// nothing. Another is compiled, and described by an instance that stays
// warm in the pool, now, and its contract kept.
func (p *Provider) Open(ctx context.Context, spec plugins.Spec) (plugins.Plugin, error) {
	limits, config, err := parseEntry(spec.Options, p.opts.Limits)
	if err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(spec.Source)
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	sum := sha256.Sum256(bin)
	digest := hex.EncodeToString(sum[:])
	name := filepath.Base(spec.Source)
	if spec.SHA256 != "" && spec.SHA256 != digest {
		return nil, fmt.Errorf("refuse %s: its sha256 is %s, but the flow pins %s", name, digest, spec.SHA256)
	}
	pl, err := newPlugin(p, spec, name, limits, config, bin, digest)
	if err != nil {
		return nil, err
	}
	cached := p.contractFile(digest, limits.MemoryPages)
	if raw, err := os.ReadFile(cached); cached != "" && err == nil && pl.setContract(raw) == nil {
		return pl, nil
	}
	raw, err := pl.describe(ctx)
	if err == nil {
		err = pl.setContract(raw)
	}
	if err != nil {
		_ = pl.Close()
		return nil, err
	}
	if cached != "" {
		cachefile.Keep(cached, raw)
	}
	return pl, nil
}

// contractFile is where the cache folder keeps the contract of the module
// of digest under a memory limit, or "" when modules are kept in memory.
// The guard's version is in the name: the rewrite changes what runs.
func (p *Provider) contractFile(digest string, pages uint32) string {
	dir := CacheDir(p.opts.CacheDir)
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "contracts", fmt.Sprintf("%s-%d-v%d.json", digest, pages, guard.Version))
}

// runtime returns the runtime for a memory limit, creating it on first use.
func (p *Provider) runtime(ctx context.Context, pages uint32) (*wruntime, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("wasm provider is closed")
	}
	if rt := p.runtimes[pages]; rt != nil {
		return rt, nil
	}
	if p.cache == nil {
		cache, err := p.newCache()
		if err != nil {
			return nil, err
		}
		p.cache = cache
	}
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(p.cache).
		WithMemoryLimitPages(pages).
		WithCloseOnContextDone(true).
		WithCustomSections(true)
	r := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		_ = r.Close(ctx)
		return nil, fmt.Errorf("start wasi: %w", err)
	}
	hosts, err := instantiateHost(ctx, r)
	if err != nil {
		_ = r.Close(ctx)
		return nil, err
	}
	rt := &wruntime{r: r, hosts: hosts}
	p.runtimes[pages] = rt
	return rt, nil
}

func (p *Provider) newCache() (wazero.CompilationCache, error) {
	dir := CacheDir(p.opts.CacheDir)
	if dir == "" {
		return wazero.NewCompilationCache(), nil
	}
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open compilation cache %s: %w", dir, err)
	}
	return cache, nil
}

// CacheDir returns the folder compiled modules are kept in for the given
// Options.CacheDir: see there. It is empty when modules are kept in memory.
// The folder's name holds the versions of wazero and weir, so that a new
// version of either never reads an entry the old one wrote.
func CacheDir(dir string) string {
	switch dir {
	case "-":
		return ""
	case "":
		if env := os.Getenv("WEIR_CACHE_DIR"); env != "" {
			dir = filepath.Join(env, "wasm")
		} else if base, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(base, "weir", "wasm")
		} else {
			return ""
		}
	}
	return filepath.Join(dir, versionKey())
}

// versionKey names the wazero and weir builds, from the binary's build info.
func versionKey() string {
	wazeroVersion, weirVersion := "unknown", "devel"
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Path == "github.com/weirflow/weir" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			weirVersion = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				weirVersion += "-" + s.Value[:12]
			}
		}
		for _, d := range info.Deps {
			switch d.Path {
			case "github.com/tetratelabs/wazero":
				wazeroVersion = d.Version
			case "github.com/weirflow/weir":
				weirVersion = d.Version
			}
		}
	}
	return "wazero-" + wazeroVersion + "_weir-" + weirVersion
}

// compile compiles bin once per runtime, however many callers ask at once.
func (p *Provider) compile(ctx context.Context, rt *wruntime, pages uint32, digest string, bin []byte) (wazero.CompiledModule, string, error) {
	key := fmt.Sprintf("%d/%s", pages, digest)
	p.mu.Lock()
	c, found := p.modules[key]
	if !found {
		c = &compiled{ready: make(chan struct{})}
		p.modules[key] = c
	}
	c.refs++
	p.mu.Unlock()
	if !found {
		c.mod, c.err = p.compileGuarded(ctx, rt, pages, digest, bin)
		close(c.ready)
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		p.release(key)
		return nil, "", ctx.Err()
	}
	if c.err != nil {
		p.release(key)
		return nil, "", c.err
	}
	return c.mod, key, nil
}

// release drops one reference to a compiled module, closing it with the last.
func (p *Provider) release(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.modules[key]
	if c == nil {
		return
	}
	if c.refs--; c.refs > 0 {
		return
	}
	delete(p.modules, key)
	if c.mod != nil {
		_ = c.mod.Close(context.Background())
	}
}

// Close releases the runtimes and everything compiled in them. Plugins
// opened from the provider must be closed first.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	var errs []error
	for _, rt := range p.runtimes {
		errs = append(errs, rt.r.Close(context.Background()))
	}
	if p.cache != nil {
		errs = append(errs, p.cache.Close(context.Background()))
	}
	return errors.Join(errs...)
}

// compileGuarded compiles the module as internal/guard rewrites it for the
// memory limit, so that its tables and call stack count against the limit.
// The rewrite is kept in the cache folder, beside the compiled code, so
// that a new process does not do it again.
func (p *Provider) compileGuarded(ctx context.Context, rt *wruntime, pages uint32, digest string, bin []byte) (wazero.CompiledModule, error) {
	gl := guardLimits(pages)
	var cached string
	if dir := CacheDir(p.opts.CacheDir); dir != "" {
		cached = filepath.Join(dir, "guarded", fmt.Sprintf("%s-%d-%d-v%d.wasm", digest, gl.TableElements, gl.StackBytes, guard.Version))
	}
	guarded, err := os.ReadFile(cached)
	if cached == "" || err != nil {
		guarded, err = guard.Rewrite(bin, gl)
		if err != nil {
			var te *guard.TableError
			if errors.As(err, &te) {
				return nil, &limitError{what: "limits.memory", value: bytesize.Format(int64(pages) * pageSize), detail: te.Error()}
			}
			return nil, err
		}
		if cached != "" {
			cachefile.Keep(cached, guarded)
		}
	}
	mod, err := rt.r.CompileModule(ctx, guarded)
	if err != nil {
		return nil, describeCompileError(err)
	}
	return mod, nil
}

// guardLimits shares limits.memory out to the parts of an instance wazero
// does not count: its tables get 1/8 of it (8 bytes an element; at least
// 65536 elements) and its call stack 1/16 (at least 256 KiB, at most
// 16 MiB, below wazero's own ceiling).
func guardLimits(pages uint32) guard.Limits {
	bytes := int64(pages) * pageSize
	return guard.Limits{
		TableElements: uint32(max(65536, bytes/64)),
		StackBytes:    uint32(min(max(256<<10, bytes/16), 16<<20)),
	}
}

// describeCompileError says plainly when a file is not Wasm at all.
func describeCompileError(err error) error {
	if strings.Contains(err.Error(), "invalid magic number") {
		return fmt.Errorf("not a WebAssembly module (no \\0asm header)")
	}
	return err
}

var (
	_ plugins.Provider = (*Provider)(nil)
	_ io.Closer        = (*Provider)(nil)
)
