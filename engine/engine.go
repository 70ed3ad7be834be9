package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/weirflow/weir/plugins"
)

// Options configure an Engine. The zero value is an engine that runs the
// tools a program registers and sub-flows, without tracing, with the
// default limits below; weir.New adds the plugin kinds that ship with weir.
type Options struct {
	// TracerProvider receives a span per load, plugin open, run, node
	// attempt and batch; the plugin kinds trace their own work (a Wasm
	// compile, a go-plugin's start and calls) under those spans, in the
	// same provider. When nil the engine does not trace at all, at no
	// cost. The README's Observability section names the spans.
	TracerProvider trace.TracerProvider
	// Providers open the plugin entries of flows, one per kind. With none
	// (nil or empty), a flow can use only registered tools and sub-flows;
	// weir.Providers returns the kinds that ship with weir (builtin, wasm,
	// goplugin). The engine owns them: Close closes those that implement
	// io.Closer.
	Providers []plugins.Provider
	// Defaults apply where a flow does not say otherwise.
	Defaults Defaults
	// Secrets returns the values of the secrets flows declare, when a flow
	// loads. Nil means ReadSecret: environment variables and files.
	// PlaceholderSecrets reads none, for programs that only check flows.
	Secrets SecretResolver
	// Redactor learns the value of every secret and hides it in what the
	// engine returns and traces. Nil means a new one; give one to wrap the
	// loggers of plugins with it before the engine exists.
	Redactor *Redactor
	// Cache keeps the outputs of the nodes whose flow sets cache, to
	// reuse on the same inputs. When nil nothing is cached, whatever the
	// flows say; weir.New sets the store under the weir home folder
	// (package engine/cache).
	Cache Cache
}

// Defaults are the limits a flow gets when it does not set its own. Zero
// fields take the value in their comment.
type Defaults struct {
	// Concurrency bounds the nodes of one run that execute at once (16).
	Concurrency int
	// NodeTimeout bounds one attempt of a node. Zero leaves nodes bounded by
	// the run's deadline only, unless the flow sets a timeout.
	NodeTimeout time.Duration
	// RunTimeout bounds a whole run (10m).
	RunTimeout time.Duration
	// MaxBackoff caps the wait between retries (10s).
	MaxBackoff time.Duration
}

func (d Defaults) withZeros() Defaults {
	if d.Concurrency <= 0 {
		d.Concurrency = 16
	}
	if d.RunTimeout <= 0 {
		d.RunTimeout = 10 * time.Minute
	}
	if d.MaxBackoff <= 0 {
		d.MaxBackoff = 10 * time.Second
	}
	return d
}

// ErrClosed is returned by the methods of an Engine after Close.
var ErrClosed = errors.New("engine is closed")

// Engine loads flows and runs them. It is safe for concurrent use: load any
// number of flows and run each of them from many goroutines at once. Plugins
// are opened once per engine and shared by every flow that declares the same
// entry. Close releases them.
type Engine struct {
	defaults  Defaults
	tracer    trace.Tracer
	providers map[string]plugins.Provider
	workers   workers
	resolve   SecretResolver
	redactor  *Redactor
	cache     Cache

	mu     sync.Mutex
	native map[string][]plugins.Tool
	opened map[string]*openPlugin
	closed bool
}

// openPlugin is one plugin entry, opened once and shared. ready closes when
// Open has returned, so concurrent loads of one entry wait for one Open.
type openPlugin struct {
	spec   plugins.Spec
	ready  chan struct{}
	plugin plugins.Plugin
	tools  map[string]plugins.Tool
	err    error
}

// New returns an Engine configured by opts.
func New(opts Options) (*Engine, error) {
	e := &Engine{
		defaults:  opts.Defaults.withZeros(),
		providers: map[string]plugins.Provider{},
		native:    map[string][]plugins.Tool{},
		opened:    map[string]*openPlugin{},
		resolve:   opts.Secrets,
		redactor:  cmp.Or(opts.Redactor, NewRedactor()),
		cache:     opts.Cache,
	}
	if e.resolve == nil {
		e.resolve = ReadSecret
	}
	if opts.TracerProvider != nil {
		e.tracer = e.redactor.TracerProvider(opts.TracerProvider).Tracer("github.com/weirflow/weir/engine")
	}
	for _, p := range opts.Providers {
		if _, dup := e.providers[p.Kind()]; dup {
			return nil, fmt.Errorf("new engine: two providers of plugin kind %q", p.Kind())
		}
		e.providers[p.Kind()] = p
	}
	return e, nil
}

// Register makes tools available to every flow loaded afterwards as
// "<plugin>.<tool>", without a plugins entry in the flow. Use plugins.Func to
// make a Tool from a Go function. Registering a plugin name twice, or the
// name "builtin", is an error.
func (e *Engine) Register(plugin string, tools ...plugins.Tool) error {
	if !validName(plugin) {
		return fmt.Errorf("register %q: invalid plugin name: use letters, digits, _ and -, starting with a letter or _", plugin)
	}
	names := map[string]bool{}
	for _, t := range tools {
		name := t.Contract().Name
		if !validName(name) {
			return fmt.Errorf("register %s.%s: invalid tool name", plugin, name)
		}
		if names[name] {
			return fmt.Errorf("register %s: tool %q given twice", plugin, name)
		}
		names[name] = true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return ErrClosed
	case plugin == builtinName:
		return fmt.Errorf("register %q: the name is taken by weir's builtin tools", plugin)
	case e.native[plugin] != nil:
		return fmt.Errorf("register %q: plugin already registered", plugin)
	}
	e.native[plugin] = tools
	return nil
}

// Redactor returns the engine's redactor, which knows the values of the
// secrets of every flow the engine loaded.
func (e *Engine) Redactor() *Redactor { return e.redactor }

// Close releases every plugin the engine opened. Runs still in progress
// may fail. Close is safe to call more than once.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.workers.stop()
	opened := e.opened
	e.opened = nil
	e.mu.Unlock()

	var errs []error
	keys := make([]string, 0, len(opened))
	for k := range opened {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		op := opened[k]
		<-op.ready
		if op.plugin != nil {
			if err := op.plugin.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, p := range e.providers {
		if c, ok := p.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// PluginStats is how one plugin the engine opened is doing.
type PluginStats struct {
	// Name is the plugin's name in the flow that opened it (flows sharing
	// the plugin may name it otherwise), Source its file, Kind its kind:
	// wasm, goplugin.
	Name, Source, Kind string
	// Live counts its instances (Wasm) or processes (go-plugin) now; Idle
	// those of them waiting for a call.
	plugins.PoolStats
}

// Plugins reports the instance pools of the plugins the engine opened that
// keep one (those implementing plugins.Pooled: Wasm and go-plugin), ordered
// by source. It is safe to call at any time, as a metrics scrape does.
func (e *Engine) Plugins() []PluginStats {
	e.mu.Lock()
	ops := make([]*openPlugin, 0, len(e.opened))
	for _, op := range e.opened {
		ops = append(ops, op)
	}
	e.mu.Unlock()
	var out []PluginStats
	for _, op := range ops {
		select {
		case <-op.ready:
		default:
			continue // still opening
		}
		if pl, ok := op.plugin.(plugins.Pooled); ok {
			out = append(out, PluginStats{Name: op.spec.Name, Source: op.spec.Source, Kind: op.spec.Kind, PoolStats: pl.PoolStats()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// open returns the opened plugin for spec, opening it on first use. Entries
// with the same kind, source and options share one plugin.
func (e *Engine) open(ctx context.Context, spec plugins.Spec) (*openPlugin, error) {
	p, ok := e.providers[spec.Kind]
	if !ok {
		return nil, e.noProvider(spec.Kind)
	}
	key := spec.Kind + "\x00" + spec.Source + "\x00" + spec.SHA256 + "\x00" + string(spec.Options)
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	op, found := e.opened[key]
	if !found {
		op = &openPlugin{spec: spec, ready: make(chan struct{})}
		e.opened[key] = op
	}
	e.mu.Unlock()
	if found {
		select {
		case <-op.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return op, op.err
	}

	octx, span := e.startSpan(ctx, "open_plugin "+spec.Name, attrPluginName.String(spec.Name), attrPluginKind.String(spec.Kind))
	op.plugin, op.err = p.Open(octx, spec)
	endSpan(span, op.err)
	if op.err == nil {
		op.tools = toolMap(op.plugin.Tools())
	} else {
		// A failed open is not cached: the file may be fixed before the next load.
		e.mu.Lock()
		if e.opened != nil {
			delete(e.opened, key)
		}
		e.mu.Unlock()
	}
	close(op.ready)
	return op, op.err
}

// noProvider says how to give the engine a plugin kind it lacks.
func (e *Engine) noProvider(kind string) error {
	list := "none"
	if len(e.providers) > 0 {
		list = strings.Join(slices.Sorted(maps.Keys(e.providers)), ", ")
	}
	return fmt.Errorf("this engine has no provider of plugin kind %q (it has: %s): create it with weir.New, or add one to engine.Options.Providers", kind, list)
}

func toolMap(tools []plugins.Tool) map[string]plugins.Tool {
	m := make(map[string]plugins.Tool, len(tools))
	for _, t := range tools {
		m[t.Contract().Name] = t
	}
	return m
}
