package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/otel/attribute"
	"golang.org/x/time/rate"

	"github.com/weirflow/weir/internal/granthttp"
	"github.com/weirflow/weir/internal/tracing"
	"github.com/weirflow/weir/plugins"
	"github.com/weirflow/weir/plugins/wasm/internal/guard"
)

// ABI is the name of the guest/host contract this package implements.
const ABI = "weir-abi-1"

// Plugin is an opened Wasm module: its tools, and the pool of instances
// that serves their calls.
type Plugin struct {
	p       *Provider
	name    string // the module's file name, for messages
	spec    plugins.Spec
	limits  Limits
	guard   guard.Limits
	config  map[string]string
	log     *slog.Logger
	logRate *rate.Limiter
	web     *granthttp.Client // serves http_request
	http    plugins.Tool      // web's http tool
	tools   []plugins.Tool
	dirs    []mount // the granted folders, open until Close (sandbox.go)

	// The module is compiled, and its pool made, by start: at Open, or on
	// the first call of a plugin opened from a cached contract. Until then
	// bin and digest are the module's; the fields below them are set once
	// started is.
	startMu     sync.Mutex
	started     atomic.Bool
	bin         []byte
	digest      string
	rt          *wruntime
	mod         wazero.CompiledModule
	release     func()
	command     bool          // the module runs in command mode
	slots       chan struct{} // command mode: one per call running
	commandRuns atomic.Int64  // command mode: the instances it made
	pool        *pool
}

// describeDoc is the JSON weir_describe returns.
type describeDoc struct {
	ABI   string             `json:"abi"`
	Tools []plugins.Contract `json:"tools"`
}

var toolName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// newPlugin makes the plugin of the module bin, not started yet.
func newPlugin(p *Provider, spec plugins.Spec, name string, limits Limits, config map[string]string, bin []byte, digest string) (*Plugin, error) {
	pl := &Plugin{
		p:       p,
		name:    name,
		spec:    spec,
		limits:  limits,
		config:  config,
		log:     p.opts.Logger.With("plugin", spec.Name),
		logRate: rate.NewLimiter(logsPerSecond, logsPerSecond),
		guard:   guardLimits(limits.MemoryPages),
		bin:     bin,
		digest:  digest,
	}
	if err := granthttp.CheckHosts(spec.Grants.Hosts); err != nil {
		return nil, fmt.Errorf("open plugin %q: %w", spec.Name, err)
	}
	if err := pl.openDirs(); err != nil {
		return nil, err
	}
	pl.web = granthttp.New(spec.Name, spec.Grants.Hosts, 0)
	pl.http = pl.web.Tool()
	return pl, nil
}

// start compiles the module, checks its exports and makes its pool, once.
// It fails, and may be tried again, when ctx ends first.
func (pl *Plugin) start(ctx context.Context) error {
	if pl.started.Load() {
		return nil
	}
	pl.startMu.Lock()
	defer pl.startMu.Unlock()
	switch {
	case pl.started.Load():
		return nil
	case pl.bin == nil:
		return errClosed
	}
	rt, err := pl.p.runtime(ctx, pl.limits.MemoryPages)
	if err != nil {
		return err
	}
	cctx, span := tracing.Child(ctx, "compile_wasm "+pl.spec.Name, attribute.String("weir.plugin.name", pl.spec.Name), attribute.Int("weir.wasm.bytes", len(pl.bin)))
	mod, key, err := pl.p.compile(cctx, rt, pl.limits.MemoryPages, pl.digest, pl.bin)
	tracing.End(span, err, "")
	if err != nil {
		return fmt.Errorf("compile %s: %w", pl.name, err)
	}
	mode, err := checkExports(pl.name, mod)
	if err != nil {
		pl.p.release(key)
		return err
	}
	pl.rt, pl.mod, pl.release = rt, mod, func() { pl.p.release(key) }
	pl.command = mode == commandMode
	if pl.command {
		pl.slots = make(chan struct{}, pl.limits.Instances)
	} else {
		pl.pool = newPool(pl, pl.limits.Instances, pl.p.opts.IdleTimeout)
	}
	pl.bin = nil
	pl.started.Store(true)
	return nil
}

// describe starts the plugin and returns its contract, as JSON: read from
// a first instance, which stays warm in the pool, or from a command
// module's custom section.
func (pl *Plugin) describe(ctx context.Context) ([]byte, error) {
	if err := pl.start(ctx); err != nil {
		return nil, err
	}
	if pl.command {
		return commandContract(pl.name, pl.mod)
	}
	in, err := pl.pool.get(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := in.describe(ctx)
	if err != nil {
		err = pl.explain(ctx, in, err)
		pl.pool.discard(in)
		return nil, fmt.Errorf("%s: weir_describe: %w", pl.name, err)
	}
	pl.pool.put(in)
	return raw, nil
}

// setContract makes the plugin's tools from its contract.
func (pl *Plugin) setContract(raw []byte) error {
	var doc describeDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: weir_describe returned a contract that is not JSON: %w", pl.name, err)
	}
	if doc.ABI != ABI {
		return fmt.Errorf("%s speaks ABI %q; this weir speaks %q", pl.name, doc.ABI, ABI)
	}
	tools := make([]plugins.Tool, 0, len(doc.Tools))
	for _, c := range doc.Tools {
		if !toolName.MatchString(c.Name) {
			return fmt.Errorf("%s describes a tool named %q: use letters, digits, _ and -", pl.name, c.Name)
		}
		tools = append(tools, &tool{plugin: pl, contract: c})
	}
	sort.Slice(tools, func(i, j int) bool { return tools[i].Contract().Name < tools[j].Contract().Name })
	pl.tools = tools
	return nil
}

type mode int

const (
	reactorMode mode = iota
	commandMode
)

// abiExports are the reactor exports and their signatures.
var abiExports = map[string]struct{ params, results []api.ValueType }{
	"weir_alloc":    {[]api.ValueType{i32}, []api.ValueType{i32}},
	"weir_describe": {nil, []api.ValueType{api.ValueTypeI64}},
	"weir_invoke":   {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{api.ValueTypeI64}},
}

// checkExports decides the module's mode and refuses one that cannot be a
// weir plugin, before any instance runs.
func checkExports(name string, mod wazero.CompiledModule) (mode, error) {
	exports := mod.ExportedFunctions()
	if _, ok := exports["weir_invoke"]; !ok {
		if _, ok := exports["_start"]; ok {
			return commandMode, nil
		}
		return 0, fmt.Errorf("%s is not a weir plugin: it exports neither weir_invoke (%s) nor _start (command mode)", name, ABI)
	}
	_, start := exports["_start"]
	if _, init := exports["_initialize"]; start && !init {
		// A Go plugin built without -buildmode=c-shared: its runtime would
		// only start with _start, which also runs main and exits.
		return 0, fmt.Errorf("%s exports weir_invoke and _start but no _initialize: build it as a reactor (Go: -buildmode=c-shared)", name)
	}
	for _, fn := range []string{"weir_alloc", "weir_describe", "weir_invoke"} {
		def, ok := exports[fn]
		want := abiExports[fn]
		if !ok {
			return 0, fmt.Errorf("%s does not export %s, which %s needs", name, fn, ABI)
		}
		if !sameTypes(def.ParamTypes(), want.params) || !sameTypes(def.ResultTypes(), want.results) {
			return 0, fmt.Errorf("%s exports %s%s, but %s needs %s%s", name, fn,
				signature(def.ParamTypes(), def.ResultTypes()), ABI, fn, signature(want.params, want.results))
		}
	}
	return reactorMode, nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func signature(params, results []api.ValueType) string {
	s := "("
	for i, p := range params {
		if i > 0 {
			s += ", "
		}
		s += api.ValueTypeName(p)
	}
	s += ")"
	if len(results) > 0 {
		s += " -> " + api.ValueTypeName(results[0])
	}
	return s
}

// Tools returns the module's tools, sorted by name.
func (pl *Plugin) Tools() []plugins.Tool { return append([]plugins.Tool(nil), pl.tools...) }

// Stats counts a plugin's instances, for tests and metrics.
type Stats struct {
	// Live instances exist now: Idle of them wait in the pool.
	Live, Idle int
	// Created and Discarded count since the plugin opened; an instance is
	// discarded after a trap, a timeout, a limit, or Limits.Recycle calls.
	Created, Discarded int
}

// Stats returns the pool's counts. A command-mode plugin has no pool: its
// Live instances are the calls running, and every one it created is
// discarded when its call ends.
func (pl *Plugin) Stats() Stats {
	if !pl.started.Load() {
		return Stats{}
	}
	if pl.pool == nil {
		runs := int(pl.commandRuns.Load())
		live := len(pl.slots)
		return Stats{Live: live, Created: runs, Discarded: max(0, runs-live)}
	}
	return pl.pool.stats()
}

// PoolStats returns the Live and Idle counts of Stats: the engine reports
// them for every opened plugin (see plugins.Pooled).
func (pl *Plugin) PoolStats() plugins.PoolStats {
	st := pl.Stats()
	return plugins.PoolStats{Live: st.Live, Idle: st.Idle}
}

// Close closes every instance and releases the compiled module. A plugin
// closed before it started never starts.
func (pl *Plugin) Close() error {
	pl.startMu.Lock()
	pl.bin = nil
	pool, release := pl.pool, pl.release
	pl.startMu.Unlock()
	if pool != nil {
		pool.close()
	}
	pl.closeDirs()
	pl.web.CloseIdleConnections()
	if release != nil {
		release()
	}
	return nil
}

// doHTTP serves a guest's http_request: the request JSON goes to the http
// tool of weir's HTTP client, as builtin.http's does, which refuses hosts
// the flow did not grant.
func (pl *Plugin) doHTTP(ctx context.Context, req []byte) []byte {
	out, err := pl.http.Invoke(ctx, req)
	if err != nil {
		return httpError(err)
	}
	return out
}

// tool is one tool of a Wasm plugin.
type tool struct {
	plugin   *Plugin
	contract plugins.Contract
}

func (t *tool) Contract() plugins.Contract { return t.contract }

// Invoke runs the tool on an instance of its own, under the plugin's
// timeout. An instance that fails in any way but a tool's own error is
// discarded.
func (t *tool) Invoke(ctx context.Context, in []byte) ([]byte, error) {
	pl := t.plugin
	if err := pl.start(ctx); err != nil {
		return nil, err
	}
	if pl.command {
		return pl.runCommand(ctx, in)
	}
	inst, err := pl.pool.get(ctx)
	if err != nil {
		return nil, err
	}
	// The pool's watchdog enforces limits.timeout: no timer per call.
	inst.deadline.Store(time.Now().Add(pl.limits.Timeout).UnixNano())
	out, err := inst.invoke(ctx, t.contract.Name, in)
	inst.deadline.Store(0)
	if inst.droppedLogs > 0 {
		pl.log.Warn(fmt.Sprintf("dropped %d log lines of the call: a call logs at most %d lines, a plugin %d a second", inst.droppedLogs, maxLogsPerCall, logsPerSecond), "tool", t.contract.Name)
	}
	var te *toolError
	switch {
	case inst.halted.Load() != 0:
		// The watchdog stopped the call, or a host call ran out of its
		// time: whatever the guest did after that, the call is late.
		pl.pool.discard(inst)
		return nil, pl.explain(ctx, inst, errHalted)
	case err == nil || errors.As(err, &te):
		pl.pool.put(inst)
	default:
		pl.pool.discard(inst)
		err = pl.explain(ctx, inst, err)
	}
	return out, err
}

// Digest returns the module's sha256 in hex, which names its tools' code
// for the node result cache. It is safe for concurrent use.
func (pl *Plugin) Digest() (string, error) { return pl.digest, nil }

var (
	_ plugins.Plugin   = (*Plugin)(nil)
	_ plugins.Pooled   = (*Plugin)(nil)
	_ plugins.Digester = (*Plugin)(nil)
	_ plugins.Tool     = (*tool)(nil)
)
