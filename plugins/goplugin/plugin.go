package goplugin

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weirflow/weir/internal/bytesize"
	"github.com/weirflow/weir/internal/procgroup"
	"github.com/weirflow/weir/internal/toolpb"
	"github.com/weirflow/weir/internal/tracing"
	"github.com/weirflow/weir/plugins"
)

// Plugin is an opened go-plugin executable: its tools and the process that
// serves them, started again when it dies. It is safe for concurrent use.
type Plugin struct {
	provider *Provider
	name     string // the executable's file name, for messages
	label    string // the plugin's name in the flow that opened it
	exe      string // an absolute path
	args     []string
	env      []string
	sha256   []byte
	tools    []plugins.Tool
	closing  chan struct{}

	digestOnce sync.Once
	digest     string
	digestErr  error

	mu          sync.Mutex
	proc        *process     // the running process, nil when there is none
	starting    *startOp     // the start under way, nil when there is none
	failures    atomic.Int32 // crashes and failed starts since the last good call
	lastFailure time.Time
	closed      bool
	wg          sync.WaitGroup // starts and kills under way
	stats       Stats
}

// Stats are counters about a Plugin's processes.
type Stats struct {
	// PID is the running process's id, 0 when none runs.
	PID int
	// Starts counts the processes started, Crashes those that exited
	// during use, and Kills those weir stopped because a call outlived its
	// context or failed a health check.
	Starts, Crashes, Kills int
	// HealthChecks counts the health checks made.
	HealthChecks int
}

// startOp is one start of the process, which every caller that needs the
// process waits for.
type startOp struct {
	done chan struct{}
	pr   *process
	err  error
}

// process is one run of the executable.
type process struct {
	client    *plugin.Client
	runner    *procRunner
	rpc       toolpb.ToolsClient
	pid       int
	contracts []plugins.Contract
	stderr    *procgroup.Tail
	killed    atomic.Bool            // weir stopped it
	exit      atomic.Pointer[string] // how it exited, from go-plugin's log
}

func (pr *process) dead() bool { return pr.killed.Load() || pr.client.Exited() }

// Tools returns the plugin's tools. The contract is the one its first
// process published.
func (pl *Plugin) Tools() []plugins.Tool { return append([]plugins.Tool(nil), pl.tools...) }

// Stats returns the plugin's counters.
func (pl *Plugin) Stats() Stats {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	s := pl.stats
	if pl.proc != nil && !pl.proc.dead() {
		s.PID = pl.proc.pid
	}
	return s
}

// PoolStats counts the plugin's process: Live is 1 while it runs. A
// process is never idle to the engine, since one process serves every
// call at once (see plugins.Pooled).
func (pl *Plugin) PoolStats() plugins.PoolStats {
	if pl.Stats().PID != 0 {
		return plugins.PoolStats{Live: 1}
	}
	return plugins.PoolStats{}
}

// Close stops the plugin's process and waits until it is gone. Calls after
// Close fail with ErrClosed. It is idempotent.
func (pl *Plugin) Close() error {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return nil
	}
	pl.closed = true
	close(pl.closing)
	pr := pl.proc
	pl.proc = nil
	pl.mu.Unlock()
	if pr != nil {
		pr.killed.Store(true)
		pr.client.Kill()
	}
	pl.wg.Wait()
	pl.provider.forget(pl)
	return nil
}

// current returns the running process, starting one if there is none, once
// the backoff after a failure has passed. Every caller waits for the same
// start, each until its own ctx ends.
func (pl *Plugin) current(ctx context.Context) (*process, error) {
	pl.mu.Lock()
	if pl.closed {
		pl.mu.Unlock()
		return nil, fmt.Errorf("call plugin %s: %w", pl.name, ErrClosed)
	}
	pr := pl.proc
	if pr != nil && !pr.dead() {
		pl.mu.Unlock()
		return pr, nil
	}
	if pr != nil {
		pl.dropLocked(pr, !pr.killed.Load())
	}
	op := pl.starting
	if op == nil {
		op = &startOp{done: make(chan struct{})}
		pl.starting = op
		var wait time.Duration
		if n := pl.failures.Load(); n > 0 {
			o := pl.provider.opts
			backoff := min(o.MinBackoff<<min(n-1, 20), o.MaxBackoff)
			wait = time.Until(pl.lastFailure.Add(backoff))
		}
		pl.wg.Add(1)
		// The start outlives the caller that asked for it, but is part of
		// its trace.
		go pl.start(trace.ContextWithSpan(context.Background(), trace.SpanFromContext(ctx)), op, wait)
	}
	pl.mu.Unlock()
	select {
	case <-op.done:
		return op.pr, op.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dropLocked forgets pr, which died (a crash, when crashed) or was killed,
// and reaps it in the background.
func (pl *Plugin) dropLocked(pr *process, crashed bool) {
	if pl.proc != pr {
		return // someone else dropped it
	}
	pl.proc = nil
	pl.failures.Add(1)
	pl.lastFailure = time.Now()
	if crashed {
		pl.stats.Crashes++
	} else {
		pl.stats.Kills++
	}
	pl.wg.Add(1)
	go func() {
		defer pl.wg.Done()
		pr.client.Kill()
	}()
}

func (pl *Plugin) start(ctx context.Context, op *startOp, wait time.Duration) {
	defer pl.wg.Done()
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-pl.closing:
		}
	}
	var pr *process
	err := fmt.Errorf("start plugin %s: %w", pl.name, ErrClosed)
	select {
	case <-pl.closing:
	default:
		pr, err = pl.launch(ctx)
	}
	pl.mu.Lock()
	pl.starting = nil
	switch {
	case pl.closed:
		if pr != nil {
			pr.killed.Store(true)
			pr.client.Kill()
		}
		pr, err = nil, fmt.Errorf("start plugin %s: %w", pl.name, ErrClosed)
	case err != nil:
		pl.failures.Add(1)
		pl.lastFailure = time.Now()
	default:
		pl.proc = pr
		pl.stats.Starts++
	}
	pl.mu.Unlock()
	op.pr, op.err = pr, err
	close(op.done)
}

// launch starts the executable, completes go-plugin's handshake, and reads
// the contract, which doubles as a health check.
func (pl *Plugin) launch(ctx context.Context) (_ *process, err error) {
	ctx, span := tracing.Child(ctx, "start_plugin "+pl.label,
		attribute.String("weir.plugin.name", pl.label), attribute.String("process.executable.name", pl.name))
	defer func() { tracing.End(span, err, "") }()
	// go-plugin checks a pin only on a Cmd of its own, which RunnerFunc
	// replaces; the check is the same: the file's digest before each start.
	if pl.sha256 != nil {
		sum, err := fileSHA256(pl.exe)
		if err != nil {
			return nil, fmt.Errorf("start plugin %s: %w", pl.name, err)
		}
		if !bytes.Equal(sum, pl.sha256) {
			return nil, fmt.Errorf("refuse %s: it changed since the flow pinned its sha256", pl.name)
		}
	}
	o := pl.provider.opts
	log := o.Logger.With("plugin", pl.name)
	pr := &process{stderr: procgroup.NewTail(o.StderrLines, func(line string) {
		log.Debug(line, "stream", "stderr")
	})}
	logger := hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "goplugin", Output: hclog.DefaultOutput, Level: hclog.Off})
	logger.RegisterSink(exitSink{pr})

	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{pluginName: &toolsPlugin{}},
		RunnerFunc: func(_ hclog.Logger, handshake *exec.Cmd, _ string) (runner.Runner, error) {
			// handshake.Env is go-plugin's variables only (SkipHostEnv);
			// they come last, so that a flow's env cannot replace them.
			pr.runner = newRunner(pl.exe, pl.args, append(slices.Clip(pl.env), handshake.Env...))
			return pr.runner, nil
		},
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     o.StartTimeout,
		Logger:           logger,
		Stderr:           pr.stderr,
		SyncStderr:       pr.stderr, // what the plugin writes to os.Stderr after Serve
		SyncStdout:       pr.stderr, // and to os.Stdout: no use to weir but for a log
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(o.MaxMessageSize), grpc.MaxCallSendMsgSize(o.MaxMessageSize)),
			grpc.WithStatsHandler(pl.provider.tracing),
		},
	})
	pr.client = client
	fail := func(err error) (*process, error) {
		client.Kill()
		return nil, err
	}
	rpc, err := client.Client()
	if err != nil {
		return fail(pl.startError(err, pr))
	}
	raw, err := rpc.Dispense(pluginName)
	if err != nil {
		return fail(fmt.Errorf("start plugin %s: %w%s", pl.name, err, pr.stderr))
	}
	pr.rpc = raw.(toolpb.ToolsClient)
	pr.pid, _ = strconv.Atoi(client.ID())
	span.SetAttributes(attribute.Int("process.pid", pr.pid))

	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	desc, err := pr.rpc.Describe(ctx, &toolpb.DescribeRequest{})
	if err != nil {
		return fail(fmt.Errorf("describe plugin %s: %w%s", pl.name, err, pr.stderr))
	}
	if desc.Abi != ABI {
		return fail(fmt.Errorf("describe plugin %s: it speaks %q, not %q", pl.name, desc.Abi, ABI))
	}
	for _, c := range desc.Tools {
		if !json.Valid(c.Inputs) || !json.Valid(c.Outputs) {
			return fail(fmt.Errorf("describe plugin %s: tool %q: its schemas are not valid JSON", pl.name, c.Name))
		}
		pr.contracts = append(pr.contracts, plugins.Contract{
			Name: c.Name, Description: c.Description, Inputs: c.Inputs, Outputs: c.Outputs,
		})
	}
	log.Debug("plugin started", "pid", pr.pid)
	return pr, nil
}

// startError says why go-plugin could not start a process, in words about
// the executable rather than go-plugin's internals.
func (pl *Plugin) startError(err error, pr *process) error {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "Unrecognized remote plugin message: "):
		line, _, _ := strings.Cut(strings.TrimPrefix(msg, "Unrecognized remote plugin message: "), "\n")
		if line == "" && pl.waitExit(pr, time.Second) {
			return fmt.Errorf("start plugin %s: it exited%s before go-plugin's handshake%s", pl.name, pr.exitText(), pr.stderr)
		}
		if line == "" {
			return fmt.Errorf("start plugin %s: not a go-plugin executable: it closed stdout without go-plugin's handshake%s", pl.name, pr.stderr)
		}
		pl.waitExit(pr, 500*time.Millisecond) // for its stderr, when it ends by itself
		return fmt.Errorf("start plugin %s: not a go-plugin executable, or one that writes to stdout before goplugin.Serve: its first line on stdout is %q, not go-plugin's handshake%s", pl.name, line, pr.stderr)
	case msg == "plugin exited before we could connect":
		return fmt.Errorf("start plugin %s: it exited%s before go-plugin's handshake%s", pl.name, pr.exitText(), pr.stderr)
	case msg == "timeout while waiting for plugin to start":
		return fmt.Errorf("start plugin %s: no go-plugin handshake within %v%s", pl.name, pl.provider.opts.StartTimeout, pr.stderr)
	}
	return fmt.Errorf("start plugin %s: %w%s", pl.name, err, pr.stderr)
}

// exitText is " (exit status 3)" once go-plugin has seen the process exit
// with an error, and "" otherwise.
func (pr *process) exitText() string {
	if s := pr.exit.Load(); s != nil {
		return " (" + *s + ")"
	}
	return ""
}

// exitSink picks how the process exited out of go-plugin's log.
type exitSink struct{ pr *process }

func (s exitSink) Accept(_ string, _ hclog.Level, msg string, args ...any) {
	if msg != "plugin process exited" {
		return
	}
	for i := 0; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k == "error" {
			v := fmt.Sprint(args[i+1])
			s.pr.exit.Store(&v)
		}
	}
}

// tool is one tool of a Plugin.
type tool struct {
	pl       *Plugin
	contract plugins.Contract
}

func (t *tool) Contract() plugins.Contract { return t.contract }

// Invoke calls the tool in the plugin's process, starting the process if
// none runs. See the package doc for what happens when it dies or ctx ends.
func (t *tool) Invoke(ctx context.Context, in []byte) ([]byte, error) {
	pl := t.pl
	if limit := pl.provider.opts.MaxMessageSize; len(in) > limit-len(t.contract.Name)-64 {
		return nil, plugins.Errorf(plugins.Limit, "call %s.%s: inputs of %d bytes are over the message limit of %s",
			pl.name, t.contract.Name, len(in), bytesize.Format(int64(limit)))
	}
	pr, err := pl.current(ctx)
	if err != nil {
		if ctx.Err() == nil {
			err = plugins.Exited(err) // no process to call
		}
		return nil, err
	}
	req := &toolpb.InvokeRequest{Tool: t.contract.Name, Inputs: in}
	if d, ok := ctx.Deadline(); ok {
		req.DeadlineUnixNano = d.UnixNano()
	}
	// The deadline travels in the request. The call itself is canceled when
	// ctx ends, without gRPC's own deadline, which costs a timer on each
	// side of every call.
	callCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	resp, err := pr.rpc.Invoke(callCtx, req)
	if err != nil {
		return nil, pl.callFailed(ctx, pr, t.contract.Name, err)
	}
	if pl.failures.Load() != 0 {
		pl.failures.Store(0)
	}
	if e := resp.Error; e != nil {
		return nil, &plugins.Error{Kind: kindFromWire(e.Kind), Err: errors.New(e.Message)}
	}
	return resp.Outputs, nil
}

// watch health-checks the running process every interval, until Close: a
// process that does not answer Describe within timeout is stopped, and the
// next call starts a new one. No process is started to be checked.
func (pl *Plugin) watch(interval, timeout time.Duration) {
	defer pl.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-pl.closing:
			return
		case <-t.C:
		}
		pl.mu.Lock()
		pr := pl.proc
		pl.mu.Unlock()
		if pr == nil || pr.dead() {
			continue
		}
		// Under no span: a health check joins no trace, and starts none.
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		_, err := pr.rpc.Describe(ctx, &toolpb.DescribeRequest{})
		cancel()
		pl.mu.Lock()
		pl.stats.HealthChecks++
		pl.mu.Unlock()
		if err == nil || pr.dead() {
			continue
		}
		pl.provider.opts.Logger.Warn("plugin failed its health check; it starts again on the next call",
			"plugin", pl.name, "pid", pr.pid, "err", err)
		pr.killed.Store(true)
		// A frozen process would not take go-plugin's graceful shutdown.
		_ = pr.runner.Kill(context.Background())
		pl.mu.Lock()
		pl.dropLocked(pr, false)
		pl.mu.Unlock()
	}
}

// callFailed turns a failed gRPC call into the error a node reports, and
// drops a process that died or can no longer be trusted.
func (pl *Plugin) callFailed(ctx context.Context, pr *process, tool string, err error) error {
	if ctx.Err() != nil {
		// The tool may be stuck; a stuck process cannot be trusted with the
		// next call.
		pr.killed.Store(true)
		pl.mu.Lock()
		pl.dropLocked(pr, false)
		pl.mu.Unlock()
		return fmt.Errorf("call %s.%s: %w; the plugin was stopped and starts again on the next call", pl.name, tool, ctx.Err())
	}
	st, _ := status.FromError(err)
	if st.Code() == codes.ResourceExhausted {
		return plugins.Errorf(plugins.Limit, "call %s.%s: a message is over the limit of %s: %s",
			pl.name, tool, bytesize.Format(int64(pl.provider.opts.MaxMessageSize)), st.Message())
	}
	if pr.killed.Load() {
		return plugins.Exited(plugins.Errorf(plugins.Retryable, "call %s.%s: the plugin was stopped during the call, after another call outlived its deadline", pl.name, tool))
	}
	if pl.waitExit(pr, 2*time.Second) {
		pl.mu.Lock()
		pl.dropLocked(pr, true)
		pl.mu.Unlock()
		return plugins.Exited(plugins.Errorf(plugins.Retryable, "call %s.%s: the plugin exited%s during the call%s",
			pl.name, tool, pr.exitText(), pr.stderr))
	}
	return fmt.Errorf("call %s.%s: %w", pl.name, tool, err)
}

// waitExit reports whether pr exits within d: a broken connection comes a
// moment before go-plugin sees the process end.
func (pl *Plugin) waitExit(pr *process, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !pr.client.Exited() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-pl.closing:
			return pr.client.Exited()
		}
	}
	return true
}

// Digest returns the sha256 of the executable in hex, which names its
// tools' code for the node result cache: the pinned one, else the file's,
// read on the first call. It is safe for concurrent use.
func (pl *Plugin) Digest() (string, error) {
	pl.digestOnce.Do(func() {
		sum := pl.sha256
		if sum == nil {
			sum, pl.digestErr = fileSHA256(pl.exe)
		}
		if pl.digestErr != nil {
			pl.digestErr = fmt.Errorf("digest %s: %w", pl.name, pl.digestErr)
		}
		pl.digest = hex.EncodeToString(sum)
	})
	return pl.digest, pl.digestErr
}

var (
	_ plugins.Plugin   = (*Plugin)(nil)
	_ plugins.Pooled   = (*Plugin)(nil)
	_ plugins.Digester = (*Plugin)(nil)
	_ plugins.Tool     = (*tool)(nil)
)
